"""Who is signed in: the session a browser's cookie names, the dependencies that give a route
its signed-in person (or send the browser to sign in, or refuse it), and the anti-forgery
value of the forms a session shows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from foundations.tokens import csrf_token, csrf_valid
from models.access import ACTION_WORDS, MATRIX, Action
from models.accounts import needs_second_factor
from safeshare.web.site import Refused, go, message
from tasks import accounts
from tasks.access import AccessDenied, require
from tasks.case_facts import CaseNotFound

COOKIE = "safeshare_session"
FORM_MAX_AGE = 12 * 3600


def signed_in(request: Request) -> accounts.SignedIn | None:
    """The live session this browser's cookie names (touched), or None."""
    return accounts.session_for(request.cookies.get(COOKIE))


MaybeSignedIn = Annotated[accounts.SignedIn | None, Depends(signed_in)]


def someone_signed_in(who: MaybeSignedIn) -> accounts.SignedIn:
    """Whoever is signed in, second factor given or not; with nobody, off to sign in."""
    if who is None:
        raise Refused(go("/sign-in"))
    return who


SomeoneSignedIn = Annotated[accounts.SignedIn, Depends(someone_signed_in)]


def fully_signed_in(who: SomeoneSignedIn) -> accounts.SignedIn:
    """Whoever is signed in, with the second factor their role asks given."""
    if needs_second_factor(who.role) and not who.second_factor_done:
        raise Refused(go("/sign-in/code"))
    return who


def _entry(request: Request, action: Action, case_id: int | None) -> accounts.SignedIn:
    """The signed-in person if they may do `action`; else Refused with the response to give.
    The session is read here, not by a dependency of its own, so that a path FastAPI refuses
    (a case number that is not a number) leaves it untouched."""
    who = signed_in(request)
    if who is None:
        raise Refused(go(f"/sign-in?next={request.url.path}"))
    if needs_second_factor(who.role) and not who.second_factor_done:
        raise Refused(go("/sign-in/code"))
    try:
        require(who.staff_id, action, case_id)
    except AccessDenied as exc:
        raise Refused(refusal(request, who, action)) from exc
    except CaseNotFound as exc:
        raise Refused(
            message(request, 404, "No such case", "There is no case with that number.")
        ) from exc
    return who


def refusal(request: Request, who: accounts.SignedIn, action: Action) -> HTMLResponse:
    """The page for a person need to know refuses: what they cannot do, in plain words, and
    where to go instead (never the codes of roles, nor why a case in particular is kept from
    them, which could say what the case is about)."""
    instead = (
        "If you are worried about a child, record a concern, or speak to the Designated "
        "Safeguarding Lead."
        if who.role in MATRIX[Action.RECORD_CONCERN]
        else "If you need this, ask the Designated Safeguarding Lead."
    )
    return message(
        request,
        403,
        f"You cannot {ACTION_WORDS[action]}",
        "Safeguarding records are seen only by the people who need them for their role.",
        instead=instead,
        home=True,
    )


def allowed_to(action: Action) -> Callable[[Request], accounts.SignedIn]:
    """The dependency of a route that does `action` (on no case in particular)."""

    def allowed(request: Request) -> accounts.SignedIn:
        return _entry(request, action, None)

    return allowed


@dataclass(frozen=True)
class CaseReader:
    """A signed-in person allowed to read the case in the path, and that case."""

    who: accounts.SignedIn
    case_id: int


def allowed_to_read_case(request: Request, case_id: int) -> CaseReader:
    """The dependency of a route that shows the case in its path (the path's case number is
    read here alone, so a malformed one is refused once)."""
    return CaseReader(_entry(request, Action.READ_CASE, case_id), case_id)


def csrf_for(request: Request, key: bytes) -> str:
    """The anti-forgery value for a form this session shows."""
    return csrf_token(key, request.cookies.get(COOKIE, ""))


def csrf_ok(request: Request, key: bytes, value: str) -> bool:
    token = request.cookies.get(COOKIE, "")
    return bool(token) and csrf_valid(key, token, value, max_age_seconds=FORM_MAX_AGE)
