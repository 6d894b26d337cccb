"""A personal link, judged before anything is shown or recorded: the kinds of link (doors),
the dependency that verifies a link's token and loads its row, and the attempt log every
answer through a link is entered in (failed ones too: they feed the throttle)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from foundations.audit import acting, append
from foundations.db import session_scope
from foundations.tokens import (
    LINK_SALT,
    NOTICE_SALT,
    RECEIPT_SALT,
    ExpiredToken,
    ForgedToken,
    read_token,
)
from models.accounts import someone_elses_link
from models.lifetimes import LONGEST
from models.links import LINK_MESSAGES, LINK_STATUS, LinkOutcome
from models.tables.base import utcnow
from safeshare.web.sessions import signed_in
from safeshare.web.site import Refused, SigningKey, address, message
from tasks.links import check_link, is_throttled, record_attempt
from tasks.notices import check_notice_link
from tasks.receipts import check_receipt_link, link_holder

#: Signatures older than this are refused whatever the database says; the link's own expiry
#: (models/lifetimes.py: never later than this after it was issued) is the one that applies.
TOKEN_MAX_AGE_SECONDS = int(LONGEST.total_seconds())


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


def finish(
    request: Request,
    token: str,
    link: Any,
    door: Door,
    outcome: str,
    status: int,
    response: Response,
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


def refused(request: Request, token: str, link: Any, door: Door, outcome: LinkOutcome) -> Response:
    """The page for a link that may not be used, its attempt recorded."""
    status = LINK_STATUS[outcome]
    response: HTMLResponse = message(request, status, HEADINGS[outcome], LINK_MESSAGES[outcome])
    if outcome is LinkOutcome.THROTTLED:
        response.headers["Retry-After"] = "60"
    return finish(request, token, link, door, outcome.value, status, response)


@dataclass(frozen=True)
class Judged:
    """A valid link, as its route gets it: the URL's token, the link's row, its door, and the
    time it was judged at."""

    token: str
    link: Any
    door: Door
    now: datetime

    def finish(self, request: Request, outcome: str, status: int, response: Response) -> Response:
        return finish(request, self.token, self.link, self.door, outcome, status, response)

    def refused(self, request: Request, outcome: LinkOutcome) -> Response:
        return refused(request, self.token, self.link, self.door, outcome)

    def forged_form(self, request: Request, verb: str) -> Response:
        """A POST without this page's anti-forgery value: nothing is looked at or changed."""
        text = f"Open your link again and {verb} on the page it shows."
        response = message(request, 403, "Form not accepted", text)
        return self.finish(request, "csrf", 403, response)


def _judge(
    request: Request, token: str, now: datetime, key: bytes, door: Door
) -> tuple[LinkOutcome, Any]:
    """The link's outcome before anything else is looked at, and its row when valid."""
    with session_scope() as session:
        if is_throttled(session, token, address(request), now=now):
            return LinkOutcome.THROTTLED, None
        try:
            link_id = read_token(key, token, max_age_seconds=TOKEN_MAX_AGE_SECONDS, salt=door.salt)
        except ExpiredToken:
            return LinkOutcome.EXPIRED, None
        except ForgedToken:
            return LinkOutcome.FORGED, None
        check = door.check(session, link_id, token, now=now)
    return check.outcome, check.link


def _someone_elses(
    request: Request, token: str, link: Any, door: Door, signed_in_as: str
) -> Response:
    """A valid link opened in a browser signed in as someone else than its holder: 403, saying
    who is signed in; nothing recorded but the refused attempt, in the attempt log and the
    audit trail."""
    with acting(signed_in_as, door.reason), session_scope() as session:
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
    response = message(
        request,
        403,
        "This link is someone else's",
        f"This link belongs to someone else, and this browser is signed in as "
        f"{signed_in_as}. Nothing was done with it (this attempt is recorded). If the link "
        "was sent to you, sign out (or use a browser that is not signed in) and open it "
        "again; if it was not, tell the Designated Safeguarding Lead.",
    )
    return finish(request, token, link, door, "someone-else", 403, response)


def judged_by(door: Door) -> Callable[[Request, str, bytes], Judged]:
    """The dependency of a route that answers through a `door` link, the token in its path:
    the link when valid; else Refused with the page that says why, its attempt recorded."""

    def judged(request: Request, token: str, key: SigningKey) -> Judged:
        now = utcnow()
        outcome, link = _judge(request, token, now, key, door)
        if outcome is not LinkOutcome.VALID:
            raise Refused(refused(request, token, link, door, outcome))
        # every door's first question once its link is valid, before anything is shown or
        # recorded: is this browser signed in as someone else than the link's holder?
        who = signed_in(request)
        holder = door.holder(link) if door.staff_holder else None
        if who is not None and someone_elses_link(who.staff_id, holder):
            raise Refused(_someone_elses(request, token, link, door, who.staff_id))
        return Judged(token, link, door, now)

    return judged
