"""Signing in with the school's own accounts: Microsoft Entra ID or Google Workspace, through
OpenID Connect, when SAFESHARE_OIDC_ISSUER is set (README, "Signing in with Microsoft or
Google").

Authlib's Starlette client does the protocol: discovery, state, nonce and PKCE kept in a
short-lived signed cookie of their own, the code exchanged for tokens, and the ID token's
signature, issuer, audience, expiry and nonce checked. What the verified token says is then
matched to the roster (tasks/sign_on.py): a session starts, past safeshare's own second factor
when the provider says one was used. Every refusal is a page that says what to do, and is
recorded with the other sign-in attempts; the log says which refusal, never an email or a token.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass

import httpx2
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.starlette_client import OAuth
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from joserfc.errors import JoseError as JoseRfcError
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware

from foundations.settings import Settings
from models.accounts import needs_second_factor
from models.sign_on import Refusal, account_from_claims, same_issuer, used_multi_factor
from models.web_address import onward_path
from safeshare.web.sessions import COOKIE
from safeshare.web.site import SiteSettings, address, page
from tasks import accounts
from tasks.sign_on import match_school_account

logger = logging.getLogger("safeshare.web.sign_on")

START = "/sign-in/school"
CALLBACK = "/sign-in/school/callback"
#: The cookie that carries the sign-in's state, nonce and PKCE verifier from the redirect to
#: the provider until its answer comes back: signed, sent only to START's paths, and lax so
#: that the provider's redirect back (a top-level navigation from another site) carries it.
STATE_COOKIE = "safeshare_sign_on"
STATE_MAX_AGE = 600
#: The provider's answer may come this many seconds late by the clocks (Authlib's default).
LEEWAY = 120

router = APIRouter()


def add_school_sign_in(app: FastAPI, settings: Settings, signing_key: bytes) -> None:
    """Offer the school's accounts on the sign-in page, if the settings name a provider."""
    if not settings.sign_on_enabled:
        return
    assert settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret
    oauth = OAuth()
    app.state.school = oauth.register(
        "school",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret.get_secret_value(),
        server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": settings.oidc_scopes,
            "code_challenge_method": "S256",
            "timeout": 10,
        },
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=hmac.new(signing_key, b"safeshare.sign-on-state", hashlib.sha256).hexdigest(),
        session_cookie=STATE_COOKIE,
        max_age=STATE_MAX_AGE,
        path=START,
        same_site="lax",
        https_only=settings.web_url.startswith("https://"),
    )
    app.include_router(router)


@dataclass(frozen=True)
class Said:
    status: int
    heading: str
    message: str
    todo: str


ASK_ADMIN = (
    "Ask the school's safeshare administrator to add your work email (it comes with the "
    "staff list from the school information system), then sign in again."
)
#: What each refusal says, and what to do about it.
PAGES: dict[str, Said] = {
    Refusal.NOT_IN_ROSTER: Said(
        403, "Not signed in", "Your school account is not in safeshare's staff list.", ASK_ADMIN
    ),
    Refusal.INACTIVE: Said(
        403,
        "Not signed in",
        "Your account in safeshare has been stopped (you left the staff list, or the "
        "administrator stopped it).",
        "If you still work here, " + ASK_ADMIN[0].lower() + ASK_ADMIN[1:],
    ),
    Refusal.EMAIL_SHARED: Said(
        403,
        "Not signed in",
        "More than one member of staff in safeshare has your work email.",
        "Ask the school's safeshare administrator to correct the staff list.",
    ),
    Refusal.NO_EMAIL: Said(
        403,
        "Not signed in",
        "Your school account gave safeshare no email address.",
        "Ask IT support to send the email claim to safeshare (safeshare's README says how).",
    ),
    Refusal.EMAIL_NOT_VERIFIED: Said(
        403,
        "Not signed in",
        "Your school account's provider says your email address is not verified.",
        "Ask IT support to verify your work email address at the provider.",
    ),
    Refusal.TOO_MANY_GROUPS: Said(
        403,
        "Not signed in",
        "Your school account is in more groups than the provider could send to safeshare.",
        "Ask IT support to send safeshare only the groups assigned to it (safeshare's "
        "README says how).",
    ),
    "wrong-audience": Said(
        400,
        "Not signed in",
        "The provider's answer was meant for another application, not this safeshare.",
        "Nothing was signed in. Ask IT support to check safeshare's client id "
        "(SAFESHARE_OIDC_CLIENT_ID) against the application registered at the provider.",
    ),
    "expired": Said(
        400,
        "Not signed in",
        "The provider's answer had expired by the time it reached safeshare.",
        "Start again. If it happens again, ask IT support to check this server's clock.",
    ),
    "replayed": Said(
        400,
        "Not signed in",
        "This sign-in has already been used, or took too long.",
        "Start again from the sign-in page.",
    ),
    "unverified": Said(
        400,
        "Not signed in",
        "The provider's answer could not be verified.",
        "Start again. If it happens again, tell IT support (safeshare's log says why).",
    ),
    "provider-refused": Said(
        400,
        "Not signed in",
        "Your school account's provider did not sign you in.",
        "Start again, or sign in with your staff id and password if you have one.",
    ),
    "misconfigured": Said(
        503,
        "Not signed in",
        "The school account provider and this safeshare's settings do not agree.",
        "Ask IT support to check SAFESHARE_OIDC_ISSUER, and safeshare's client id and secret "
        "(a secret expires).",
    ),
    "unreachable": Said(
        503,
        "Not signed in",
        "safeshare cannot reach the school account provider just now.",
        "Try again in a few minutes, or sign in with your staff id and password if you have "
        "one. If it goes on, tell IT support.",
    ),
}


def refused(request: Request, outcome: str) -> HTMLResponse:
    said = PAGES[outcome]
    return page(
        request,
        "school_sign_in.html",
        said.status,
        heading=said.heading,
        message=said.message,
        todo=said.todo,
        outcome=outcome,
        onward=None,
    )


def why_not(exc: Exception) -> str:
    """Which refusal a failed exchange with the provider is (Authlib raises its own errors and
    joserfc's: both carry an `error` code). Authlib's client talks to the provider with httpx2
    (a dependency for that: plain httpx is only Authlib's deprecated fallback), so a provider
    out of reach is httpx2's error."""
    if isinstance(exc, httpx2.HTTPError):
        return "unreachable"
    error = getattr(exc, "error", "")
    if error in ("mismatching_state", "invalid_grant"):
        return "replayed"  # no such sign-in in this browser, or its code used already
    if error in ("invalid_claim", "missing_claim"):
        claim = str(getattr(exc, "claim_name", None) or getattr(exc, "claim", ""))
        return {"aud": "wrong-audience", "nonce": "replayed"}.get(claim, "unverified")
    if error in ("expired_token", "token_expired"):
        return "expired"
    if error in ("invalid_client", "unauthorized_client"):
        return "misconfigured"
    if isinstance(exc, AuthlibBaseError) and type(exc).__module__.startswith(
        "authlib.integrations"
    ):
        return "provider-refused"  # the provider's own answer: access_denied, say
    return "unverified"


async def _record(staff_id: str | None, request: Request, outcome: str) -> None:
    await run_in_threadpool(
        accounts.record_sign_in, staff_id or "-", address(request), accounts.SCHOOL_STAGE, outcome
    )


@router.get(START)
async def to_the_provider(request: Request, settings: SiteSettings, next: str = "/") -> Response:
    """Off to the school's provider, with a fresh state, nonce and PKCE challenge."""
    request.session.clear()
    request.session["next"] = onward_path(next)
    school = request.app.state.school
    try:
        metadata = await school.load_server_metadata()
        if not same_issuer(str(settings.oidc_issuer), metadata.get("issuer")):
            logger.warning("school sign-in: the provider's discovery names another issuer")
            await _record(None, request, "misconfigured")
            return refused(request, "misconfigured")
        response: Response = await school.authorize_redirect(request, settings.web_url + CALLBACK)
    except (httpx2.HTTPError, ValueError, KeyError, RuntimeError) as exc:
        logger.warning("school sign-in: the provider cannot be reached (%s)", type(exc).__name__)
        await _record(None, request, "unreachable")
        return refused(request, "unreachable")
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(CALLBACK)
async def from_the_provider(request: Request, settings: SiteSettings) -> Response:
    """The provider's answer: verified by Authlib, matched to the roster, signed in (or not)."""
    onward = onward_path(request.session.get("next"))
    school = request.app.state.school
    try:
        # Authlib checks the audience only when told which (else it takes any token with
        # this client as its `azp`): this client id, and the issuer discovery named
        metadata = await school.load_server_metadata()
        expected = {
            "iss": {"essential": True, "value": metadata["issuer"]},
            "aud": {"essential": True, "value": settings.oidc_client_id},
        }
        token = await school.authorize_access_token(request, leeway=LEEWAY, claims_options=expected)
    except (httpx2.HTTPError, AuthlibBaseError, JoseRfcError, ValueError, KeyError) as exc:
        outcome = why_not(exc)
        logger.warning("school sign-in refused: %s (%s)", outcome, type(exc).__name__)
        await _record(None, request, outcome)
        return refused(request, outcome)
    finally:
        request.session.clear()  # one answer per sign-in started
    claims = token.get("userinfo")
    if not claims:  # an answer with no ID token: nothing says who this is
        logger.warning("school sign-in refused: unverified (no ID token)")
        await _record(None, request, "unverified")
        return refused(request, "unverified")
    account = account_from_claims(claims)
    found = await run_in_threadpool(match_school_account, account, groups=settings.oidc_groups)
    if found.person is None:
        assert found.refusal is not None
        logger.warning("school sign-in refused: %s (staff id %s)", found.refusal, found.staff_id)
        await _record(found.staff_id, request, found.refusal.value)
        return refused(request, found.refusal)
    person = found.person
    if found.role_was is not None:
        logger.info(
            "school sign-in: %s's role is %s (was %s), from the provider's groups",
            person.staff_id,
            person.role,
            found.role_was,
        )
    mfa = used_multi_factor(account, settings.oidc_mfa_values)
    asks_code = needs_second_factor(person.role) and not mfa
    await _record(person.staff_id, request, "ok" if not mfa else "ok-provider-mfa")
    token_value = await run_in_threadpool(
        accounts.start_session, person.staff_id, second_factor_given=mfa
    )
    where = "/sign-in/code" if asks_code else onward
    # The session's cookie is SameSite=strict, and a browser withholds such a cookie from a
    # navigation that a redirect from the provider's site started: so this page, on our own
    # site, goes on itself (the Refresh header, and a link for a browser that does not).
    response = page(
        request,
        "school_sign_in.html",
        200,
        heading="Signed in",
        message="You are signed in with your school account.",
        todo=None,
        outcome="ok",
        onward=where,
    )
    response.headers["Refresh"] = f"0; url={where}"
    secure = settings.web_url.startswith("https://")
    response.set_cookie(
        COOKIE, token_value, httponly=True, samesite="strict", secure=secure, path="/"
    )
    return response
