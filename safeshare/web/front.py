"""The front door for people: sign in (password, then a TOTP code for those who see case
content), record a concern (any member of staff), and the DSL's cases and case pages.

Plain server-rendered HTML that works without JavaScript. Every page asks need to know
(models/access.py) through tasks/access.py, every view of a case is entered in the audit
trail, and every form carries an anti-forgery value bound to the session.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import ValidationError

from flows.waiting import run_link
from foundations.audit import acting, record_read
from foundations.db import session_scope
from foundations.settings import get_settings
from foundations.tokens import csrf_token, csrf_valid
from models.access import MATRIX, Action
from models.accounts import needs_second_factor
from models.domain import Category, ConcernFacts
from models.messages import case_reference
from models.tables import Child
from tasks import accounts
from tasks.access import AccessDenied, hidden_from, require
from tasks.case_facts import CaseNotFound
from tasks.concerns import record_concern
from tasks.directory import DirectoryError
from tasks.starting import start_case_run
from tasks.views import list_open_cases, show_case

COOKIE = "safeshare_session"
ENGLAND = ZoneInfo("Europe/London")
ENROL_SALT = "safeshare.totp-enrol"
FORM_MAX_AGE = 12 * 3600
#: Guidance shown beside the concern form's fields (the policy and DOMAIN.md).
GUIDANCE = {
    "what": "Facts, apart from opinion: what you saw and heard. Use full names, not initials.",
    "child_words": "The child's own words, exactly as said. Never promise a child to keep a "
    "secret: tell them you have to pass it on to keep them safe.",
    "action_taken": "What you did: who you spoke to, what you said.",
    "who_told": "Who you have told so far (names and roles). Tell the DSL at once.",
}

Page = Callable[..., HTMLResponse]


def add_front_door(app: FastAPI, page: Page, key: bytes, address: Callable[[Request], str]) -> None:
    secure = get_settings().web_url.startswith("https://")

    def go(url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)

    def signed_in(request: Request) -> accounts.SignedIn | None:
        return accounts.session_for(request.cookies.get(COOKIE))

    def csrf_for(request: Request) -> str:
        return csrf_token(key, request.cookies.get(COOKIE, ""))

    def csrf_ok(request: Request, value: str) -> bool:
        token = request.cookies.get(COOKIE, "")
        return bool(token) and csrf_valid(key, token, value, max_age_seconds=FORM_MAX_AGE)

    def refuse(request: Request, status: int, heading: str, message: str) -> HTMLResponse:
        return page(request, "message.html", status, heading=heading, message=message)

    def entry(request: Request, action: Action, case_id: int | None = None) -> Any:
        """The signed-in person if they may do `action`; else the response to give instead."""
        who = signed_in(request)
        if who is None:
            return go(f"/sign-in?next={request.url.path}")
        if needs_second_factor(who.role) and not who.second_factor_done:
            return go("/sign-in/code")
        try:
            require(who.staff_id, action, case_id)
        except AccessDenied as exc:
            return refuse(request, 403, "Not allowed", str(exc).capitalize() + ".")
        except CaseNotFound:
            return refuse(request, 404, "No such case", "There is no case with that number.")
        return who

    # -- signing in -------------------------------------------------------------------------

    @app.get("/sign-in")
    def sign_in_form(request: Request, next: str = "/") -> HTMLResponse:
        return page(request, "signin.html", 200, values={}, problems=[], next=_local(next))

    @app.post("/sign-in")
    def sign_in(
        request: Request,
        staff_id: str = Form(default=""),
        password: str = Form(default=""),
        next: str = Form(default="/"),
    ) -> Response:
        where, staff_id = address(request), staff_id.strip()
        if accounts.slowed(staff_id, where):
            accounts.record_sign_in(staff_id, where, "password", "slowed")
            response = refuse(
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
                problems=["The staff id or the password is wrong."],
                next=_local(next),
            )
        accounts.record_sign_in(staff_id, where, "password", "ok")
        token = accounts.start_session(person.staff_id)
        onward = go("/sign-in/code" if needs_second_factor(person.role) else _local(next))
        onward.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/")
        return onward

    def enrolment(who: accounts.SignedIn, sealed: str = "") -> str | None:
        """The secret being set up in this session: the one the form carried back, if it is
        ours and fresh (so a mistyped code keeps the key already in the person's app)."""
        try:
            found = URLSafeTimedSerializer(key, salt=ENROL_SALT).loads(sealed, max_age=900)
        except BadSignature:
            return None
        if not isinstance(found, dict) or found.get("sid") != who.session_id:
            return None
        return str(found["s"])

    def code_page(
        request: Request,
        who: accounts.SignedIn,
        status: int,
        problems: list[str],
        sealed: str = "",
    ) -> HTMLResponse:
        enrol = None
        if not who.has_second_factor:
            secret = enrolment(who, sealed) or accounts.new_totp_secret()
            enrol = {
                "secret": secret,
                "uri": accounts.totp_uri(who.staff_id, secret),
                "sealed": URLSafeTimedSerializer(key, salt=ENROL_SALT).dumps(
                    {"s": secret, "sid": who.session_id}
                ),
            }
        return page(
            request, "code.html", status, enrol=enrol, csrf=csrf_for(request), problems=problems
        )

    @app.get("/sign-in/code")
    def code_form(request: Request) -> Response:
        who = signed_in(request)
        if who is None:
            return go("/sign-in")
        if who.second_factor_done or not needs_second_factor(who.role):
            return go("/")
        return code_page(request, who, 200, [])

    @app.post("/sign-in/code")
    def code(
        request: Request,
        csrf: str = Form(default=""),
        code: str = Form(default=""),
        enrol: str = Form(default=""),
    ) -> Response:
        who = signed_in(request)
        if who is None:
            return go("/sign-in")
        if not csrf_ok(request, csrf):
            return refuse(request, 403, "Form not accepted", "Sign in again and use that page.")
        where = address(request)
        if accounts.slowed(who.staff_id, where):
            accounts.record_sign_in(who.staff_id, where, "code", "slowed")
            return refuse(request, 429, "Please wait", "Too many wrong codes: try in a while.")
        matched = False
        if not who.has_second_factor:
            secret = enrolment(who, enrol)
            step = accounts.code_step(secret, code) if secret is not None else None
            if secret is not None and step is not None:
                accounts.set_second_factor(who.staff_id, secret, step)
                matched = True
        else:
            matched = accounts.check_code(who.staff_id, code)
        if not matched:
            accounts.record_sign_in(who.staff_id, where, "code", "wrong")
            problem = "That code is not right: type the 6 digits your authenticator shows now."
            return code_page(request, who, 401, [problem], sealed=enrol)
        accounts.record_sign_in(who.staff_id, where, "code", "ok")
        accounts.second_factor_done(who.session_id)
        return go("/")

    @app.post("/sign-out")
    def sign_out(request: Request, csrf: str = Form(default="")) -> Response:
        token = request.cookies.get(COOKIE)
        if token and csrf_ok(request, csrf):
            accounts.end_session(token)
        response = go("/sign-in")
        response.delete_cookie(COOKIE, path="/")
        return response

    # -- what each person may do ------------------------------------------------------------

    @app.get("/")
    def home(request: Request) -> Response:
        who = signed_in(request)
        if who is None:
            return go("/sign-in")
        if needs_second_factor(who.role) and not who.second_factor_done:
            return go("/sign-in/code")

        return page(
            request,
            "home.html",
            200,
            who=who,
            may_record=who.role in MATRIX[Action.RECORD_CONCERN],
            may_list=who.role in MATRIX[Action.LIST_CASES],
            csrf=csrf_for(request),
        )

    def concern_page(
        request: Request, status: int, values: dict[str, str], problems: list[str]
    ) -> HTMLResponse:
        from sqlalchemy import select

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
            csrf=csrf_for(request),
            # one value per form shown, kept through corrections: sending it twice records once
            submission=values.get("submission") or secrets.token_urlsafe(16),
        )

    @app.get("/concerns/new")
    def concern_form(request: Request) -> Response:
        who = entry(request, Action.RECORD_CONCERN)
        if not isinstance(who, accounts.SignedIn):
            return who  # type: ignore[no-any-return]
        return concern_page(request, 200, {}, [])

    @app.post("/concerns/new")
    def record(
        request: Request,
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
        who = entry(request, Action.RECORD_CONCERN)
        if not isinstance(who, accounts.SignedIn):
            return who  # type: ignore[no-any-return]
        if not csrf_ok(request, csrf) or not 16 <= len(submission) <= 64:
            return refuse(request, 403, "Form not accepted", "Open the form again and send it.")
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
            return concern_page(request, 422, values, problems)

        try:
            with acting(who.staff_id, "concern form"):
                case_id = record_concern(facts, submission_key=submission)
        except DirectoryError as exc:
            return concern_page(request, 422, values, [str(exc)])
        _, problem = start_case_run(case_id)

        return page(
            request,
            "recorded.html",
            200,
            reference=case_reference(case_id),
            started=problem is None,
        )

    @app.get("/cases")
    def cases(request: Request) -> Response:
        who = entry(request, Action.LIST_CASES)
        if not isinstance(who, accounts.SignedIn):
            return who  # type: ignore[no-any-return]

        listed = list_open_cases()
        hidden = hidden_from(who.staff_id, [c["case_id"] for c in listed])
        listed = [c for c in listed if c["case_id"] not in hidden]
        with acting(who.staff_id, "cases page"), session_scope() as session:
            record_read(session, "case-list", cases=[c["case_id"] for c in listed])
        return page(request, "cases.html", 200, cases=listed, csrf=csrf_for(request))

    @app.get("/cases/{case_id}")
    def case(request: Request, case_id: int) -> Response:
        who = entry(request, Action.READ_CASE, case_id)
        if not isinstance(who, accounts.SignedIn):
            return who  # type: ignore[no-any-return]

        shown = show_case(case_id)
        with acting(who.staff_id, "case page"), session_scope() as session:
            record_read(session, "case", case_id=case_id, form="page")
        dashboard = run_link(shown["flow_run_id"]) if shown["flow_run_id"] else None
        return page(
            request, "case.html", 200, case=shown, dashboard=dashboard, csrf=csrf_for(request)
        )


def _local(url: str) -> str:
    """Only a path on this site to go on to after signing in (never another site)."""
    return url if url.startswith("/") and not url.startswith("//") else "/"


def _local_time(text: str) -> datetime | None:
    """A time typed in a datetime-local field: wall-clock time in England."""
    try:
        naive = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return naive.replace(tzinfo=ENGLAND) if naive.tzinfo is None else naive


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
