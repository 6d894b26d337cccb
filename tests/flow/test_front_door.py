"""The web front door over HTTP, against the real web app on both stacks: every page for every
role (and for nobody), direct URLs a role must not reach, the second factor before any case
content, a concern recorded from the form starting its case, sign-out, and what is entered in
the audit trail."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pyotp
import pytest
from harness import web
from harness.cases import marker, wait_for_step
from harness.databases import on_sqlite_only
from harness.web import ENROL, PHONES, csrf, password_of, second_step, sign_in
from sqlalchemy import func, select

from foundations.db import session_scope
from models.tables.accounts import SignInAttempt
from models.tables.audit import AuditLog
from models.tables.cases import Concern

pytestmark = pytest.mark.flow

SUBMISSION = re.compile(r'name="submission" value="([^"]+)"')

#: page: the roles that may open it (everyone else is refused with 403).
PAGES = {
    "/": {"teacher1", "dsl1", "dep1", "head1", "admin1"},
    "/concerns/new": {"teacher1", "dsl1", "dep1", "head1"},
    "/cases": {"dsl1", "dep1"},
    "/cases/{case_id}": {"dsl1", "dep1"},
}


def record(client: httpx.Client, mark: str, **extra: str) -> httpx.Response:
    form = client.get("/concerns/new")
    assert form.status_code == 200, form.text[:500]
    fields = {
        "csrf": csrf(form.text),
        "submission": SUBMISSION.search(form.text).group(1),  # type: ignore[union-attr]
        "child": "C-0001",
        "category": "physical",
        "when": "2026-11-25T09:30",
        "where": f"{mark} playground",
        "what": f"{mark} what happened",
        "child_words": f"{mark} the child's words",
        "action_taken": f"{mark} action",
        "who_told": f"{mark} told the DSL",
    } | extra
    return client.post("/concerns/new", data=fields)


@on_sqlite_only
def test_every_page_for_every_role(stack: Any, people: dict[str, str]) -> None:
    teacher = sign_in(stack.web_url, people["teacher"])
    mark = marker()
    done = record(teacher, mark)
    assert done.status_code == 200
    reference = re.search(r'id="reference">SS-(\d+)<', done.text)
    assert reference and mark not in done.text
    case_id = int(reference.group(1))
    wait_for_step(case_id, "assess-criteria")  # the case started, as from the CLI

    for staff_id in ("teacher1", "dsl1", "dep1", "head1", "admin1"):
        client = sign_in(stack.web_url, staff_id)
        for path, allowed in PAGES.items():
            url = path.format(case_id=case_id)
            got = client.get(url)
            expected = 200 if staff_id in allowed else 403
            assert got.status_code == expected, (staff_id, url, got.text[:300])
            if got.status_code == 403:
                assert mark not in got.text
    nobody = web.client(base_url=stack.web_url)
    for path in PAGES:
        got = nobody.get(path.format(case_id=case_id), follow_redirects=False)
        assert got.status_code == 303 and got.headers["location"].startswith("/sign-in")


@on_sqlite_only
def test_the_dsl_reads_a_case_only_after_the_second_factor(
    stack: Any, people: dict[str, str]
) -> None:
    mark = marker()
    teacher = sign_in(stack.web_url, people["teacher"])
    case_id = int(re.search(r"SS-(\d+)", record(teacher, mark).text).group(1))  # type: ignore[union-attr]
    run_id = wait_for_step(case_id, "assess-criteria")["waiting"]["flow_run_id"]

    half = sign_in(stack.web_url, people["deputy"], second_factor=False)
    for path in ("/cases", f"/cases/{case_id}", "/"):
        got = half.get(path)
        assert got.status_code == 303 and got.headers["location"] == "/sign-in/code"
    page = half.get("/sign-in/code")
    form = {"csrf": csrf(page.text), "code": "000000"}
    enrolling = ENROL.search(page.text)
    if enrolling:
        form["enrol"] = enrolling.group(1)
    wrong = half.post("/sign-in/code", data=form)
    assert wrong.status_code == 401 and "not right" in wrong.text
    assert second_step(half, people["deputy"]).status_code == 303

    shown = half.get(f"/cases/{case_id}")
    assert shown.status_code == 200
    assert (
        f"{mark} the child&#39;s words" in shown.text or f"{mark} the child's words" in shown.text
    )
    assert f"/runs/flow-run/{run_id}" in shown.text  # the waiting step in the dashboard
    listed = half.get("/cases")
    assert f'href="/cases/{case_id}"' in listed.text

    with session_scope() as session:
        reads = session.scalars(
            select(AuditLog).where(AuditLog.case_id == case_id, AuditLog.action == "read:case")
        ).all()
        assert [(r.actor, r.reason) for r in reads] == [(people["deputy"], "case page")]
        codes = session.scalars(
            select(SignInAttempt.outcome).where(
                SignInAttempt.staff_id == people["deputy"], SignInAttempt.stage == "code"
            )
        ).all()
        assert "wrong" in codes and "ok" in codes


@on_sqlite_only
def test_wrong_passwords_and_codes_are_refused_and_recorded(
    stack: Any, people: dict[str, str]
) -> None:
    client = web.client(base_url=stack.web_url)
    for staff_id, password in (
        (people["dsl"], "not the password at all"),
        ("nobody-at-all", password_of(people["dsl"])),
        (people["dsl"], ""),
    ):
        got = client.post("/sign-in", data={"staff_id": staff_id, "password": password})
        assert got.status_code == 401 and "wrong" in got.text
        assert 'value="' + staff_id + '"' in got.text  # what was typed is kept
    dsl = sign_in(stack.web_url, people["dsl"], second_factor=False)
    page = dsl.get("/sign-in/code")
    if people["dsl"] in PHONES:
        stale = pyotp.TOTP(PHONES[people["dsl"]]).at(0)  # a code from 1970
        got = dsl.post("/sign-in/code", data={"csrf": csrf(page.text), "code": stale})
        assert got.status_code == 401
    forged = dsl.post("/sign-in/code", data={"csrf": "forged", "code": "123456"})
    assert forged.status_code == 403
    assert dsl.get("/cases").headers["location"] == "/sign-in/code"
    with session_scope() as session:
        outcomes = session.scalars(
            select(SignInAttempt.outcome).where(SignInAttempt.staff_id == "nobody-at-all")
        ).all()
        assert outcomes == ["wrong"]


@on_sqlite_only
def test_signing_out_ends_the_session(stack: Any, people: dict[str, str]) -> None:
    client = sign_in(stack.web_url, people["dsl"])
    home = client.get("/")
    assert home.status_code == 200
    cookie = client.cookies.get("safeshare_session")
    out = client.post("/sign-out", data={"csrf": csrf(home.text)})
    assert out.status_code == 303 and out.headers["location"] == "/sign-in"
    replay = web.client(base_url=stack.web_url, cookies={"safeshare_session": cookie or ""})
    assert replay.get("/cases").headers["location"].startswith("/sign-in")


@on_sqlite_only
def test_a_bad_concern_form_says_what_to_fix_and_keeps_what_was_typed(
    stack: Any, people: dict[str, str]
) -> None:
    teacher = sign_in(stack.web_url, people["teacher"])
    mark = marker()
    got = record(teacher, mark, what="", when="not a time", child="")
    assert got.status_code == 422
    for problem in ("When it happened", "What happened", "Pupil"):
        assert problem in got.text
    assert f"{mark} the child" in got.text  # kept
    forged = teacher.post("/concerns/new", data={"csrf": "x", "child": "C-0001"})
    assert forged.status_code == 403


def test_a_form_sent_twice_records_one_concern(stack: Any, people: dict[str, str]) -> None:
    teacher = sign_in(stack.web_url, people["teacher"])
    form = teacher.get("/concerns/new")
    fields = {
        "csrf": csrf(form.text),
        "submission": SUBMISSION.search(form.text).group(1),  # type: ignore[union-attr]
        "child": "C-0001",
        "category": "neglect",
        "when": "2026-11-25T08:00",
        "what": f"{marker()} what happened",
    }
    first, again = (teacher.post("/concerns/new", data=fields) for _ in range(2))
    assert first.status_code == again.status_code == 200
    ids = [re.search(r'id="reference">(SS-\d+)<', r.text).group(1) for r in (first, again)]  # type: ignore[union-attr]
    assert ids[0] == ids[1]
    sent_twice = Concern.submission_key == fields["submission"]
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Concern).where(sent_twice)) == 1
    without = teacher.post("/concerns/new", data=fields | {"submission": ""})
    assert without.status_code == 403


@on_sqlite_only
def test_after_signing_in_only_a_page_of_this_site_comes_next(
    stack: Any, people: dict[str, str]
) -> None:
    """The page a person asked for comes after the sign-in; another site never does, however
    it is written (`//host` and `/\\host` are both another host to a browser)."""
    from harness.web import password_of

    teacher = people["teacher"]
    for asked, onward in (
        ("/concerns/new", "/concerns/new"),
        ("//evil.example/x", "/"),
        ("/\\evil.example/x", "/"),
        ("https://evil.example/", "/"),
    ):
        client = web.client(base_url=stack.web_url, follow_redirects=False)
        form = client.get("/sign-in", params={"next": asked})
        assert 'name="next" value="' + (onward if onward != "/" else "/") in form.text
        signed = client.post(
            "/sign-in",
            data={"staff_id": teacher, "password": password_of(teacher), "next": asked},
        )
        assert signed.status_code == 303 and signed.headers["location"] == onward, asked


@on_sqlite_only
def test_the_pages_styles_and_script_are_served_with_the_system_fonts(stack: Any) -> None:
    page = web.get(f"{stack.web_url}/sign-in")
    files = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    assert "/static/built/safeshare.css" in files and "/static/safeshare.js" in files
    loaded_later = [  # by the pages' script, and by the concern form (its searchable choices)
        "/static/built/govuk-frontend.min.js",
        "/static/searchable.js",
        "/static/built/accessible-autocomplete.min.js",
        "/static/built/accessible-autocomplete.min.css",
    ]
    for path in files + loaded_later:
        got = web.get(f"{stack.web_url}{path}")
        assert got.status_code == 200, path
        assert got.headers["x-content-type-options"] == "nosniff"
    css = web.get(f"{stack.web_url}/static/built/safeshare.css").text
    assert "GDS Transport" not in css and "@font-face" not in css
    assert "font-family:system-ui,sans-serif" in css
    assert web.get(f"{stack.web_url}/static/../app.py").status_code == 404
