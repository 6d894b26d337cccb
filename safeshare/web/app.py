"""The sign-off web app: a senior leader answers a waiting step through their personal link.

GET and HEAD only show (mail scanners open links); POST, with the page's anti-forgery value,
checks the whole answer, uses the link once, records the answer and wakes the waiting run
(which reads the answer from the case database: nothing typed passes through Prefect).
Every attempt, failed ones too, is recorded; repeated failures are refused for a while.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy.exc import StatementError

from foundations.audit import acting, append, record_read
from foundations.db import session_scope
from foundations.sealing import SealError
from foundations.settings import get_settings, secret_key
from foundations.tokens import (
    LINK_SALT,
    NOTICE_SALT,
    RECEIPT_SALT,
    ExpiredToken,
    ForgedToken,
    csrf_token,
    csrf_valid,
    read_token,
)
from models.accounts import someone_elses_link
from models.domain import AgencyReceipt, Step
from models.forms import InvalidAnswer, parse_answer
from models.lifetimes import LONGEST
from models.links import LINK_MESSAGES, LINK_STATUS, LinkOutcome
from models.messages import case_reference
from models.tables import utcnow
from safeshare.web.front import COOKIE, add_front_door
from tasks import accounts
from tasks.cp_file import child_file, child_of_case
from tasks.links import check_link, claim_and_record, is_throttled, record_attempt
from tasks.notices import check_notice_link, open_notice
from tasks.receipts import check_receipt_link, confirm_receipt, link_holder
from tasks.run_input import Woken, hand_over
from tasks.steps import answer_problems
from tasks.summaries import disclosure_summary, signoff_summary
from tasks.transfers import transfer_kind

logger = logging.getLogger("safeshare.web")

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
#: Signatures older than this are refused whatever the database says; the link's own expiry
#: (models/lifetimes.py: never later than this after it was issued) is the one that applies.
TOKEN_MAX_AGE_SECONDS = int(LONGEST.total_seconds())
#: Headers on every page: nothing cached, nothing framed, no address leaked onwards.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}


@dataclass(frozen=True)
class Door:
    """A kind of personal link: how its token is signed, how its row is judged, and how its
    attempts are named in the attempt log."""

    salt: str
    check: Callable[..., Any]
    attempt_prefix: str
    holder: Callable[[Any], str]  # who the audit trail says acted through such a link
    reason: str
    staff_holder: bool = True  # held by a member of staff (else by an agency or a school)

    def acting(self, link: Any) -> AbstractContextManager[None]:
        return acting(self.holder(link), self.reason)


ANSWER = Door(
    salt=LINK_SALT,
    check=check_link,
    attempt_prefix="",
    holder=lambda link: str(link.staff_id),
    reason="sign-off link",
)
RECEIPT = Door(
    salt=RECEIPT_SALT,
    check=check_receipt_link,
    attempt_prefix="receipt-",
    holder=link_holder,
    reason="receipt link",
    staff_holder=False,
)

NOTICE = Door(
    salt=NOTICE_SALT,
    check=check_notice_link,
    attempt_prefix="notice-",
    holder=lambda link: str(link.staff_id),
    reason="notice link",
)

HEADINGS = {
    LinkOutcome.FORGED: "Link not valid",
    LinkOutcome.WRONG_PERSON: "Not allowed",
    LinkOutcome.EXPIRED: "Link expired",
    LinkOutcome.USED: "Link already used",
    LinkOutcome.SUPERSEDED: "A newer link was sent",
    LinkOutcome.ANSWERED: "Already answered",
    LinkOutcome.WRONG_STEP: "No longer waiting",
    LinkOutcome.THROTTLED: "Please wait",
}


class SomeoneElseSignedIn(Exception):
    """A valid link, opened in a browser signed in as another person than its holder."""

    def __init__(self, token: str, door: Door, link: Any, signed_in: str) -> None:
        super().__init__(signed_in)
        self.token, self.door, self.link, self.signed_in = token, door, link, signed_in


def create_app() -> FastAPI:
    app = FastAPI(title="safeshare", docs_url=None, redoc_url=None, openapi_url=None)
    key = secret_key(get_settings())

    def page(request: Request, template: str, status: int, **context: Any) -> HTMLResponse:
        response = TEMPLATES.TemplateResponse(request, template, context, status_code=status)
        response.headers.update(SECURITY_HEADERS)
        return response

    def refusal(request: Request, outcome: LinkOutcome) -> HTMLResponse:
        response = page(
            request,
            "message.html",
            LINK_STATUS[outcome],
            heading=HEADINGS[outcome],
            message=LINK_MESSAGES[outcome],
        )
        if outcome is LinkOutcome.THROTTLED:
            response.headers["Retry-After"] = "60"
        return response

    def address(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    def judge(
        request: Request, token: str, now: datetime, *, door: Door = ANSWER
    ) -> tuple[LinkOutcome, Any]:
        """The link's outcome before anything else is looked at, and its row when valid."""
        with session_scope() as session:
            if is_throttled(session, token, address(request), now=now):
                return LinkOutcome.THROTTLED, None
            try:
                link_id = read_token(
                    key, token, max_age_seconds=TOKEN_MAX_AGE_SECONDS, salt=door.salt
                )
            except ExpiredToken:
                return LinkOutcome.EXPIRED, None
            except ForgedToken:
                return LinkOutcome.FORGED, None
            check = door.check(session, link_id, token, now=now)
        if check.outcome is LinkOutcome.VALID:
            someone_else(request, token, check.link, door)
        return check.outcome, check.link

    def someone_else(request: Request, token: str, link: Any, door: Door) -> None:
        """Every door's first question once its link is valid, before anything is shown or
        recorded: is this browser signed in as someone else than the link's holder?"""
        who = accounts.session_for(request.cookies.get(COOKIE))
        holder = door.holder(link) if door.staff_holder else None
        if who is not None and someone_elses_link(who.staff_id, holder):
            raise SomeoneElseSignedIn(token, door, link, who.staff_id)

    @app.exception_handler(SomeoneElseSignedIn)
    def refuse_someone_else(request: Request, exc: SomeoneElseSignedIn) -> Response:
        """403, saying who is signed in; nothing recorded but the refused attempt, in the
        attempt log and the audit trail."""
        link, door = exc.link, exc.door
        with acting(exc.signed_in, door.reason), session_scope() as session:
            append(
                session.connection(),
                "denied:link",
                case_id=link.case_id,
                detail={
                    "link": link.id,
                    "door": door.reason,
                    "holder": door.holder(link),
                    "why": "signed-in-as-someone-else",
                },
            )
        response = page(
            request,
            "message.html",
            403,
            heading="This link is someone else's",
            message=f"This link belongs to someone else, and this browser is signed in as "
            f"{exc.signed_in}. Nothing was done with it (this attempt is recorded). If the link "
            "was sent to you, sign out (or use a browser that is not signed in) and open it "
            "again; if it was not, tell the Designated Safeguarding Lead.",
        )
        return finish(request, exc.token, link, "someone-else", 403, response, door=door)

    def finish(
        request: Request,
        token: str,
        link: Any,
        outcome: str,
        status: int,
        response: Response,
        *,
        door: Door = ANSWER,
    ) -> Response:
        """Record the attempt (failed ones too: they feed the throttle) and answer it."""
        record_attempt(
            token,
            link.id if link is not None and door is ANSWER else None,
            address(request),
            request.method,
            f"{door.attempt_prefix}{outcome}",
            status,
        )
        return response

    def refused(
        request: Request, token: str, link: Any, outcome: LinkOutcome, *, door: Door = ANSWER
    ) -> Response:
        status = LINK_STATUS[outcome]
        response = refusal(request, outcome)
        return finish(request, token, link, outcome.value, status, response, door=door)

    def forged_form(
        request: Request, token: str, link: Any, verb: str, *, door: Door = ANSWER
    ) -> Response:
        """A POST without this page's anti-forgery value: nothing is looked at or changed."""
        response = page(
            request,
            "message.html",
            403,
            heading="Form not accepted",
            message=f"Open your link again and {verb} on the page it shows.",
        )
        return finish(request, token, link, "csrf", 403, response, door=door)

    @app.exception_handler(SealError)
    @app.exception_handler(StatementError)
    def sealed_shut(request: Request, exc: Exception) -> Response:
        """The data keys are missing or wrong: say so, show nothing, change nothing."""
        cause = exc.orig if isinstance(exc, StatementError) else exc
        if not isinstance(cause, SealError):
            raise exc
        logger.error("case records cannot be opened: %s", cause)
        return page(
            request,
            "message.html",
            503,
            heading="Records unavailable",
            message="The case records cannot be opened on this server just now. Please tell "
            "the school's IT support; nothing has been recorded.",
        )

    @app.get("/health")
    def health() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.api_route("/answer/{token}", methods=["GET", "HEAD"])
    def show(request: Request, token: str) -> Response:
        now = utcnow()
        outcome, link = judge(request, token, now)
        if outcome is not LinkOutcome.VALID:
            return refused(request, token, link, outcome)
        with ANSWER.acting(link), session_scope() as session:
            case = signoff_summary(session, link.case_id)
            record_read(session, "signoff", case_id=link.case_id, link=link.id)
        response = page(
            request,
            "signoff.html",
            200,
            case=case,
            ratifying=link.step == Step.RATIFICATION.value,
            signer=link.staff_id,
            csrf=csrf_token(key, token),
            values={},
            problems=[],
        )
        return finish(request, token, link, "shown", 200, response)

    @app.post("/answer/{token}")
    def answer(
        request: Request,
        token: str,
        csrf: str = Form(default=""),
        decision: str = Form(default=""),
        reason: str = Form(default=""),
    ) -> Response:
        now = utcnow()
        outcome, link = judge(request, token, now)
        if outcome is not LinkOutcome.VALID:
            return refused(request, token, link, outcome)
        if not csrf_valid(key, token, csrf, max_age_seconds=TOKEN_MAX_AGE_SECONDS):
            return forged_form(request, token, link, "answer")

        values = {"decision": decision, "reason": reason}
        raw = {"answered_by": link.staff_id, "decision": decision or None}
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
                signer=link.staff_id,
                csrf=csrf,
                values=values,
                problems=[p.message for p in exc.problems],
            )
            return finish(request, token, link, "invalid", 422, response)

        with ANSWER.acting(link):
            claim = claim_and_record(link.id, signoff, now=now)
        if claim.outcome is not LinkOutcome.VALID:
            return refused(request, token, link, claim.outcome)
        woken = hand_over(claim.flow_run_id, link.case_id, str(claim.key))
        message = (
            "Thank you: your decision is recorded and the case has moved on."
            if woken in (Woken.WOKEN, Woken.MOVED_ON)
            else "Thank you: your decision is recorded. The case will move on shortly."
        )
        response = page(request, "message.html", 200, heading="Decision recorded", message=message)
        return finish(request, token, link, "answered", 200, response)

    # -- an agency confirms receipt of a disclosure ---------------------------------------------

    def receipt_page(
        request: Request,
        link: Any,
        status: int,
        csrf: str,
        values: dict[str, str],
        problems: list[str],
    ) -> HTMLResponse:

        with RECEIPT.acting(link), session_scope() as session:
            shared = disclosure_summary(session, link.disclosure_id)
            record_read(session, "disclosure", case_id=link.case_id, link=link.id)
            file = transfer_kind(session, link.case_id) == "file"
        return page(
            request,
            "receipt.html",
            status,
            shared=shared,
            csrf=csrf,
            values=values,
            problems=problems,
            file_url=f"{request.url.path.rstrip('/')}/file" if file else None,
        )

    @app.get("/receipt/{token}/file")
    def receipt_file(request: Request, token: str) -> Response:
        """The child protection file a transfer sends, for the new school's DSL to download
        (as often as they need while the link lasts; confirming receipt spends it)."""

        outcome, link = judge(request, token, utcnow(), door=RECEIPT)
        if outcome is not LinkOutcome.VALID:
            return refused(request, token, link, outcome, door=RECEIPT)
        with session_scope() as session:
            is_file = transfer_kind(session, link.case_id) == "file"
        if not is_file:
            return refused(request, token, link, LinkOutcome.FORGED, door=RECEIPT)
        child_ref = child_of_case(link.case_id)
        with RECEIPT.acting(link):
            document = child_file(child_ref, purpose=f"for {link.agency_code}, on transfer")
            with session_scope() as session:
                # the digest of exactly what went: a copy kept by the new school can be
                # checked against the record years later
                digest = hashlib.sha256(document).hexdigest()
                record_read(session, "cp-file", case_id=link.case_id, link=link.id, sha256=digest)
        response = Response(
            content=document,
            media_type="application/pdf",
            headers={
                **SECURITY_HEADERS,
                "Content-Disposition": f'attachment; filename="cp-file-{child_ref}.pdf"',
            },
        )
        return finish(request, token, link, "downloaded", 200, response, door=RECEIPT)

    @app.api_route("/receipt/{token}", methods=["GET", "HEAD"])
    def show_receipt(request: Request, token: str) -> Response:
        outcome, link = judge(request, token, utcnow(), door=RECEIPT)
        if outcome is not LinkOutcome.VALID:
            return refused(request, token, link, outcome, door=RECEIPT)
        response = receipt_page(request, link, 200, csrf_token(key, token), {}, [])
        return finish(request, token, link, "shown", 200, response, door=RECEIPT)

    @app.post("/receipt/{token}")
    def confirm(
        request: Request,
        token: str,
        csrf: str = Form(default=""),
        name: str = Form(default=""),
        role: str = Form(default=""),
        reference: str = Form(default=""),
    ) -> Response:
        now = utcnow()
        outcome, link = judge(request, token, now, door=RECEIPT)
        if outcome is not LinkOutcome.VALID:
            return refused(request, token, link, outcome, door=RECEIPT)
        if not csrf_valid(key, token, csrf, max_age_seconds=TOKEN_MAX_AGE_SECONDS):
            return forged_form(request, token, link, "confirm", door=RECEIPT)
        values = {"name": name, "role": role, "reference": reference}
        try:
            given = AgencyReceipt(
                confirmed_by_name=name, confirmed_by_role=role, agency_reference=reference
            )
        except ValidationError as exc:
            labels = {"confirmed_by_name": "Your name", "confirmed_by_role": "Your role"}
            problems = sorted(
                {
                    f"{labels.get(str(e['loc'][0]), 'Your reference')}: give it, in full."
                    for e in exc.errors(include_input=False)
                }
            )
            response = receipt_page(request, link, 422, csrf, values, problems)
            return finish(request, token, link, "invalid", 422, response, door=RECEIPT)
        with RECEIPT.acting(link):
            claim = confirm_receipt(link.id, given, now=now)
        if claim.outcome is not LinkOutcome.VALID:
            return refused(request, token, link, claim.outcome, door=RECEIPT)
        if claim.key is not None:
            hand_over(claim.flow_run_id, link.case_id, claim.key)
        response = page(
            request,
            "message.html",
            200,
            heading="Receipt confirmed",
            message="Thank you: your confirmation of receipt is recorded with the school.",
        )
        return finish(request, token, link, "confirmed", 200, response, door=RECEIPT)

    # -- a member of staff reads a need-to-know notice -----------------------------------------

    @app.api_route("/notice/{token}", methods=["GET", "HEAD"])
    def notice_gate(request: Request, token: str) -> Response:
        """Says whose notice it is; shows nothing of it (mail scanners open links)."""
        outcome, link = judge(request, token, utcnow(), door=NOTICE)
        if outcome is not LinkOutcome.VALID:
            return refused(request, token, link, outcome, door=NOTICE)

        response = page(
            request,
            "notice_gate.html",
            200,
            holder=link.staff_id,
            reference=case_reference(link.case_id),
            csrf=csrf_token(key, token),
        )
        return finish(request, token, link, "shown", 200, response, door=NOTICE)

    @app.post("/notice/{token}")
    def notice_open(request: Request, token: str, csrf: str = Form(default="")) -> Response:
        """The minimal view, to its holder, with the opening recorded."""
        now = utcnow()
        outcome, link = judge(request, token, now, door=NOTICE)
        if outcome is not LinkOutcome.VALID:
            return refused(request, token, link, outcome, door=NOTICE)
        if not csrf_valid(key, token, csrf, max_age_seconds=TOKEN_MAX_AGE_SECONDS):
            return forged_form(request, token, link, "open it", door=NOTICE)
        with NOTICE.acting(link):
            shown = open_notice(link.id, now=now)
            with session_scope() as session:
                record_read(session, "notice", case_id=link.case_id, link=link.id)
        response = page(request, "notice.html", 200, notice=shown)
        return finish(request, token, link, "opened", 200, response, door=NOTICE)

    add_front_door(app, page, key, address)
    return app
