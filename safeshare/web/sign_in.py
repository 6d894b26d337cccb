"""Signing in and out: a password, then a TOTP code for those who see case content (set up at
the first sign-in); failed attempts are recorded and, repeated, slowed."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from models.accounts import needs_second_factor
from models.web_address import onward_path
from safeshare.web.sessions import COOKIE, SomeoneSignedIn, csrf_for, csrf_ok
from safeshare.web.site import SigningKey, SiteSettings, address, go, message, page
from tasks import accounts

ENROL_SALT = "safeshare.totp-enrol"

router = APIRouter()


@router.get("/sign-in")
def sign_in_form(request: Request, settings: SiteSettings, next: str = "/") -> HTMLResponse:
    return page(
        request,
        "signin.html",
        200,
        values={},
        errors={},
        next=onward_path(next),
        school=settings.sign_on_enabled,
    )


@router.post("/sign-in")
def sign_in(
    request: Request,
    settings: SiteSettings,
    staff_id: str = Form(default=""),
    password: str = Form(default=""),
    next: str = Form(default="/"),
) -> Response:
    where, staff_id = address(request), staff_id.strip()
    if accounts.slowed(staff_id, where):
        accounts.record_sign_in(staff_id, where, "password", "slowed")
        response = message(
            request, 429, "Please wait", "Too many failed sign-ins: try again in a while."
        )
        response.headers["Retry-After"] = "60"
        return response
    person = accounts.check_password(staff_id, password) if staff_id and password else None
    if person is None:
        accounts.record_sign_in(staff_id or "-", where, "password", "wrong")
        return page(
            request,
            "signin.html",
            401,
            values={"staff_id": staff_id},
            errors={"password": "The staff id or the password is wrong."},
            next=onward_path(next),
            school=settings.sign_on_enabled,
        )
    accounts.record_sign_in(staff_id, where, "password", "ok")
    token = accounts.start_session(person.staff_id)
    onward = go("/sign-in/code" if needs_second_factor(person.role) else onward_path(next))
    secure = settings.web_url.startswith("https://")
    onward.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/")
    return onward


def _enrolment(key: bytes, who: accounts.SignedIn, sealed: str = "") -> str | None:
    """The secret being set up in this session: the one the form carried back, if it is
    ours and fresh (so a mistyped code keeps the key already in the person's app)."""
    try:
        found = URLSafeTimedSerializer(key, salt=ENROL_SALT).loads(sealed, max_age=900)
    except BadSignature:
        return None
    if not isinstance(found, dict) or found.get("sid") != who.session_id:
        return None
    return str(found["s"])


def _code_page(
    request: Request,
    key: bytes,
    who: accounts.SignedIn,
    status: int,
    errors: dict[str, str],
    sealed: str = "",
) -> HTMLResponse:
    enrol = None
    if not who.has_second_factor:
        secret = _enrolment(key, who, sealed) or accounts.new_totp_secret()
        enrol = {
            "secret": secret,
            "uri": accounts.totp_uri(who.staff_id, secret),
            "sealed": URLSafeTimedSerializer(key, salt=ENROL_SALT).dumps(
                {"s": secret, "sid": who.session_id}
            ),
        }
    csrf = csrf_for(request, key)
    return page(request, "code.html", status, enrol=enrol, csrf=csrf, errors=errors)


@router.get("/sign-in/code")
def code_form(request: Request, who: SomeoneSignedIn, key: SigningKey) -> Response:
    if who.second_factor_done or not needs_second_factor(who.role):
        return go("/")
    return _code_page(request, key, who, 200, {})


@router.post("/sign-in/code")
def code(
    request: Request,
    who: SomeoneSignedIn,
    key: SigningKey,
    csrf: str = Form(default=""),
    code: str = Form(default=""),
    enrol: str = Form(default=""),
) -> Response:
    if not csrf_ok(request, key, csrf):
        return message(request, 403, "Form not accepted", "Sign in again and use that page.")
    where = address(request)
    if accounts.slowed(who.staff_id, where):
        accounts.record_sign_in(who.staff_id, where, "code", "slowed")
        return message(request, 429, "Please wait", "Too many wrong codes: try in a while.")
    matched = False
    if not who.has_second_factor:
        secret = _enrolment(key, who, enrol)
        step = accounts.code_step(secret, code) if secret is not None else None
        if secret is not None and step is not None:
            accounts.set_second_factor(who.staff_id, secret, step)
            matched = True
    else:
        matched = accounts.check_code(who.staff_id, code)
    if not matched:
        accounts.record_sign_in(who.staff_id, where, "code", "wrong")
        problem = "That code is not right: type the 6 digits your authenticator shows now."
        return _code_page(request, key, who, 401, {"code": problem}, sealed=enrol)
    accounts.record_sign_in(who.staff_id, where, "code", "ok")
    accounts.second_factor_done(who.session_id)
    return go("/")


@router.post("/sign-out")
def sign_out(request: Request, key: SigningKey, csrf: str = Form(default="")) -> Response:
    token = request.cookies.get(COOKIE)
    if token and csrf_ok(request, key, csrf):
        accounts.end_session(token)
    response = go("/sign-in")
    response.delete_cookie(COOKIE, path="/")
    return response
