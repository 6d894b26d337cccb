"""A personal link, judged before anything is shown or recorded: the kinds of link (doors),
the dependency that verifies a link's token and loads its row, and the attempt log every
answer through a link is entered in (failed ones too: they feed the throttle)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from foundations.audit import acting, append
from foundations.db import session_scope
from foundations.tokens import ExpiredToken, ForgedToken, read_token
from models.accounts import someone_elses_link
from models.lifetimes import LONGEST
from models.links import LINK_MESSAGES, LINK_STATUS, LinkOutcome, LinkPurpose
from models.tables.base import utcnow
from models.tables.credentials import PersonalLink
from safeshare.web.sessions import signed_in
from safeshare.web.site import Refused, SigningKey, address, message
from tasks.links import is_throttled, record_attempt
from tasks.personal_links import SALTS, holder_of, verify_link

#: Signatures older than this are refused whatever the database says; the link's own expiry
#: (models/lifetimes.py: never later than this after it was issued) is the one that applies.
TOKEN_MAX_AGE_SECONDS = int(LONGEST.total_seconds())


@dataclass(frozen=True)
class Door:
    """A kind of personal link as the web app takes it: its purpose (which says how its token
    is signed and how its row is judged), and how its attempts are named in the attempt log."""

    purpose: LinkPurpose
    attempt_prefix: str
    reason: str
    staff_holder: bool = True  # held by a member of staff (else by an agency or a school)

    def acting(self, link: PersonalLink) -> AbstractContextManager[None]:
        return acting(holder_of(link), self.reason)


ANSWER = Door(LinkPurpose.ANSWER_LINK, attempt_prefix="", reason="sign-off link")
RECEIPT = Door(
    LinkPurpose.RECEIPT_LINK, attempt_prefix="receipt-", reason="receipt link", staff_holder=False
)
NOTICE = Door(LinkPurpose.NOTICE_LINK, attempt_prefix="notice-", reason="notice link")

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
    link: PersonalLink | None,
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


def refused(
    request: Request, token: str, link: PersonalLink | None, door: Door, outcome: LinkOutcome
) -> Response:
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
    link: PersonalLink
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
) -> tuple[LinkOutcome, PersonalLink | None]:
    """The link's outcome before anything else is looked at, and its row when valid."""
    with session_scope() as session:
        if is_throttled(session, token, address(request), now=now):
            return LinkOutcome.THROTTLED, None
        try:
            # the signature and its age; the row is found by the token's hash, not by the id
            # the token carries (one issued before the links became one table carries an id
            # of the table it came from)
            read_token(key, token, max_age_seconds=TOKEN_MAX_AGE_SECONDS, salt=SALTS[door.purpose])
        except ExpiredToken:
            return LinkOutcome.EXPIRED, None
        except ForgedToken:
            return LinkOutcome.FORGED, None
        check = verify_link(session, door.purpose, token, now=now)
    return check.outcome, check.link


def _someone_elses(
    request: Request, token: str, link: PersonalLink, door: Door, signed_in_as: str
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
                "holder": holder_of(link),
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
        assert link is not None
        # every door's first question once its link is valid, before anything is shown or
        # recorded: is this browser signed in as someone else than the link's holder?
        who = signed_in(request)
        holder = holder_of(link) if door.staff_holder else None
        if who is not None and someone_elses_link(who.staff_id, holder):
            raise Refused(_someone_elses(request, token, link, door, who.staff_id))
        return Judged(token, link, door, now)

    return judged
