"""A senior leader answers a waiting step through their personal link: management sign-off,
the ratification of an emergency share, or another decision a link asks for.

GET and HEAD only show (mail scanners open links); POST, with the page's anti-forgery value,
checks the whole answer, uses the link once, records the answer and wakes the waiting run
(which reads the answer from the case database: nothing typed passes through Prefect).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from foundations.audit import record_read
from foundations.db import session_scope
from foundations.tokens import csrf_token, csrf_valid
from models.forms.registry import parse_answer
from models.kernel.problems import InvalidAnswer, Problem
from models.kernel.steps import Step
from models.links import LinkOutcome
from safeshare.web.links import ANSWER, TOKEN_MAX_AGE_SECONDS, Judged, judged_by
from safeshare.web.site import SigningKey, message, page
from tasks.links import claim_and_record
from tasks.run_input import Woken, hand_over
from tasks.steps import answer_problems
from tasks.summaries import signoff_summary

router = APIRouter()
JudgedAnswer = Annotated[Judged, Depends(judged_by(ANSWER))]


@router.api_route("/answer/{token}", methods=["GET", "HEAD"])
def show(request: Request, judged: JudgedAnswer, key: SigningKey) -> Response:
    link = judged.link
    with ANSWER.acting(link), session_scope() as session:
        case = signoff_summary(session, link.case_id)
        record_read(session, "signoff", case_id=link.case_id, link=link.id)
    response = page(
        request,
        "signoff.html",
        200,
        case=case,
        ratifying=link.step == Step.RATIFICATION.value,
        signer=link.holder,
        csrf=csrf_token(key, judged.token),
        values={},
        errors={},
    )
    return judged.finish(request, "shown", 200, response)


@router.post("/answer/{token}")
def answer(
    request: Request,
    judged: JudgedAnswer,
    key: SigningKey,
    csrf: str = Form(default=""),
    decision: str = Form(default=""),
    reason: str = Form(default=""),
) -> Response:
    link = judged.link
    if not csrf_valid(key, judged.token, csrf, max_age_seconds=TOKEN_MAX_AGE_SECONDS):
        return judged.forged_form(request, "answer")
    assert link.step is not None  # an answer link is issued for a step

    values = {"decision": decision, "reason": reason}
    raw = {"answered_by": link.holder, "decision": decision or None}
    if reason.strip():
        raw["reason"] = reason
    try:
        signoff = parse_answer(Step(link.step), raw)
        with session_scope() as session:
            problems = answer_problems(session, link.case_id, Step(link.step), signoff)
        if problems:
            raise InvalidAnswer(problems)
    except InvalidAnswer as exc:
        with session_scope() as session:
            case = signoff_summary(session, link.case_id)
        response = page(
            request,
            "signoff.html",
            422,
            case=case,
            ratifying=link.step == Step.RATIFICATION.value,
            signer=link.holder,
            csrf=csrf,
            values=values,
            errors=_decision_errors(decision, exc.problems),
        )
        return judged.finish(request, "invalid", 422, response)

    with ANSWER.acting(link):
        claim = claim_and_record(link.id, signoff, now=judged.now)
    if claim.outcome is not LinkOutcome.VALID:
        return judged.refused(request, claim.outcome)
    woken = hand_over(claim.flow_run_id, link.case_id, str(claim.key))
    text = (
        "Thank you: your decision is recorded and the case has moved on."
        if woken in (Woken.WOKEN, Woken.MOVED_ON)
        else "Thank you: your decision is recorded. The case will move on shortly."
    )
    return judged.finish(request, "answered", 200, message(request, 200, "Decision recorded", text))


#: The sign-off form's field a problem is shown beside (others: in the summary alone).
FIELD_OF_PROBLEM = {"decline-reason-missing": "reason"}


def _decision_errors(decision: str, problems: list[Problem]) -> dict[str, str]:
    """The answer's problems, each beside its field: a decision not chosen, a reason missing."""
    errors: dict[str, str] = {}
    if decision not in ("approve", "decline"):
        errors["decision"] = "Choose whether you approve sharing or decline"
    for p in problems:
        field = FIELD_OF_PROBLEM.get(p.code, "")
        if field not in errors and not (field == "" and "decision" in errors):
            errors[field] = p.message
    return errors
