"""The concern form: any member of staff records a concern, with the policy's guidance beside
each field; a recorded concern starts its case's run."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from foundations.audit import acting
from foundations.db import session_scope
from models.access import Action
from models.messages.cases import case_reference
from models.sharing.concern import Category, ConcernFacts
from models.tables.directory import Child
from safeshare.web.sessions import allowed_to, csrf_for, csrf_ok
from safeshare.web.site import SigningKey, message, page
from tasks.accounts import SignedIn
from tasks.concerns import record_concern
from tasks.directory import DirectoryError
from tasks.starting import start_case_run

ENGLAND = ZoneInfo("Europe/London")
#: Guidance shown beside the concern form's fields (the policy and DOMAIN.md).
GUIDANCE = {
    "what": "Facts, apart from opinion: what you saw and heard. Use full names, not initials.",
    "child_words": "The child's own words, exactly as said. Never promise a child to keep a "
    "secret: tell them you have to pass it on to keep them safe.",
    "action_taken": "What you did: who you spoke to, what you said.",
    "who_told": "Who you have told so far (names and roles). Tell the DSL at once.",
}
LABELS = {
    "child_ref": "Pupil",
    "category": "Category",
    "what_happened": "What happened",
    "place": "Where",
    "child_words": "The child's words",
    "action_taken": "Action taken",
    "who_told": "Who you have told",
    "allegation_against": "Allegation against (staff id)",
    "occurred_at": "When",
}

router = APIRouter()
may_record = allowed_to(Action.RECORD_CONCERN)


def _concern_page(
    request: Request, key: bytes, status: int, values: dict[str, str], problems: list[str]
) -> HTMLResponse:
    with session_scope() as session:
        children = list(session.scalars(select(Child.child_ref).order_by(Child.child_ref)))
    return page(
        request,
        "concern.html",
        status,
        children=children,
        categories=[c.value for c in Category],
        guidance=GUIDANCE,
        values=values,
        problems=problems,
        csrf=csrf_for(request, key),
        # one value per form shown, kept through corrections: sending it twice records once
        submission=values.get("submission") or secrets.token_urlsafe(16),
    )


@router.get("/concerns/new", dependencies=[Depends(may_record)])
def concern_form(request: Request, key: SigningKey) -> Response:
    return _concern_page(request, key, 200, {}, [])


@router.post("/concerns/new")
def record(
    request: Request,
    who: Annotated[SignedIn, Depends(may_record)],
    key: SigningKey,
    csrf: str = Form(default=""),
    child: str = Form(default=""),
    category: str = Form(default=""),
    when: str = Form(default=""),
    where: str = Form(default=""),
    what: str = Form(default=""),
    child_words: str = Form(default=""),
    action_taken: str = Form(default=""),
    who_told: str = Form(default=""),
    allegation_against: str = Form(default=""),
    submission: str = Form(default=""),
) -> Response:
    if not csrf_ok(request, key, csrf) or not 16 <= len(submission) <= 64:
        return message(request, 403, "Form not accepted", "Open the form again and send it.")
    values = {
        "submission": submission,
        "child": child,
        "category": category,
        "when": when,
        "where": where,
        "what": what,
        "child_words": child_words,
        "action_taken": action_taken,
        "who_told": who_told,
        "allegation_against": allegation_against,
    }
    problems: list[str] = []
    occurred = _local_time(when)
    if occurred is None:
        problems.append("When it happened: give the date and time.")
    try:
        facts = ConcernFacts(
            child_ref=child,
            raised_by=who.staff_id,
            category=category,  # type: ignore[arg-type]
            occurred_at=occurred or datetime.now(ENGLAND),
            place=where.strip() or None,
            what_happened=what,
            child_words=child_words.strip() or None,
            action_taken=action_taken.strip() or None,
            who_told=who_told.strip() or None,
            allegation_against=allegation_against.strip() or None,
        )
    except ValidationError as exc:
        problems.extend(_form_problems(exc))
        facts = None
    if problems or facts is None:
        return _concern_page(request, key, 422, values, problems)

    try:
        with acting(who.staff_id, "concern form"):
            case_id = record_concern(facts, submission_key=submission)
    except DirectoryError as exc:
        return _concern_page(request, key, 422, values, [str(exc)])
    _, problem = start_case_run(case_id)
    return page(
        request, "recorded.html", 200, reference=case_reference(case_id), started=problem is None
    )


def _local_time(text: str) -> datetime | None:
    """A time typed in a datetime-local field: wall-clock time in England."""
    try:
        naive = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return naive.replace(tzinfo=ENGLAND) if naive.tzinfo is None else naive


def _form_problems(exc: ValidationError) -> list[str]:
    return sorted(
        {
            f"{LABELS.get(str(e['loc'][0]), str(e['loc'][0]))}: "
            + {
                "enum": "choose one.",
                "literal_error": "choose one.",
                "string_pattern_mismatch": "give an id as the directory has it.",
            }.get(e["type"], "fill this in.")
            for e in exc.errors(include_input=False)
        }
    )
