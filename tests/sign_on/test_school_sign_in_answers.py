"""The provider's answers safeshare must refuse without a browser's help: a callback replayed
with the cookie the sign-in started with (the provider refuses a code used once), one no
sign-in of this browser started, a sign-in the person cancelled at the provider, and a provider
that cannot be reached; and a sign-in page with no provider configured is as before."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from harness.databases import DATA_KEYS, migrated_database
from harness.prefect_server import free_port
from sqlalchemy import select

from foundations.db import engine_for, session_scope
from foundations.settings import Settings, settings_in_force
from models.tables.accounts import SignInAttempt, WebSession
from safeshare.web.app import create_app

KEY = secrets.token_urlsafe(48)
OUTCOME = re.compile(r'data-outcome="([^"]+)"')


def outcome_of(page: httpx.Response) -> str:
    found = OUTCOME.search(page.text)
    assert found, page.text[:1000]
    return found.group(1)


def provider_answer(school: Any, login: str, next: str = "/") -> tuple[str, str]:
    """Start a sign-in at safeshare and sign in at the provider as `login`, as a browser
    would; the callback address the provider sends back, and the cookie safeshare set when
    the sign-in started."""
    start = httpx.get(
        f"{school.web_url}/sign-in/school", params={"next": next}, follow_redirects=False
    )
    assert start.status_code == 302, start.text[:500]
    state_cookie = start.cookies["safeshare_sign_on"]
    with httpx.Client(base_url=school.provider.issuer, follow_redirects=False) as at_provider:
        answer = at_provider.get(start.headers["location"])
        while answer.status_code in (302, 303):
            where = answer.headers["location"]
            if where.startswith(school.web_url):
                return where, state_cookie
            if where.startswith("/interaction/"):  # the provider's sign-in form, filled in
                answer = at_provider.post(f"{where}/login", data={"login": login})
            else:
                answer = at_provider.get(where)
    raise AssertionError(f"the provider did not answer: {answer.status_code} {answer.text[:500]}")


def sessions() -> int:
    with session_scope() as session:
        return len(session.scalars(select(WebSession.id)).all())


def test_a_callback_replayed_with_its_first_cookie_is_refused(school: Any) -> None:
    callback, state_cookie = provider_answer(school, "tom")
    cookie = {"Cookie": f"safeshare_sign_on={state_cookie}"}
    first = httpx.get(callback, headers=cookie)
    assert first.status_code == 200 and outcome_of(first) == "ok"
    assert first.headers["Refresh"] == "0; url=/" and "safeshare_session" in first.cookies
    before = sessions()
    # the same answer with the cookie copied before it was used: the provider takes a code once
    again = httpx.get(callback, headers=cookie)
    assert again.status_code == 400 and outcome_of(again) == "replayed"
    assert "safeshare_session" not in again.cookies and sessions() == before
    # and an answer no sign-in of this browser started (no cookie): refused before the provider
    callback, _ = provider_answer(school, "tom")
    stranger = httpx.get(callback)
    assert stranger.status_code == 400 and outcome_of(stranger) == "replayed"
    assert sessions() == before


def test_the_page_asked_for_comes_next_and_only_if_it_is_ours(school: Any) -> None:
    for asked, onward in (
        ("/cases", "/cases"),
        ("//elsewhere.example/x", "/"),
        ("/\\x.example", "/"),
    ):
        callback, state_cookie = provider_answer(school, "tom", next=asked)
        done = httpx.get(callback, headers={"Cookie": f"safeshare_sign_on={state_cookie}"})
        assert done.status_code == 200 and done.headers["Refresh"] == f"0; url={onward}", asked


def test_a_sign_in_cancelled_at_the_provider_is_refused(school: Any) -> None:
    cancelled = httpx.get(
        f"{school.web_url}/sign-in/school/callback",
        params={"error": "access_denied", "error_description": "End-User aborted interaction"},
    )
    assert cancelled.status_code == 400 and outcome_of(cancelled) == "provider-refused"
    assert "staff id and password" in cancelled.text


def test_authlib_talks_to_the_provider_with_the_client_whose_errors_are_told() -> None:
    """A provider out of reach is told by httpx2's errors (`why_not`, and the test below): that
    is the client Authlib's OAuth client uses when httpx2 is installed. Without it Authlib falls
    back to plain httpx (deprecated, and to be removed), warns at every start, and its errors
    would not be recognised. A fresh interpreter imports Authlib's client with its warning as an
    error: it imports; and with httpx2 hidden from it, it fails (the probe is not blind)."""

    def import_client(hide_httpx2: bool) -> subprocess.CompletedProcess[str]:
        code = (
            "import sys, warnings\n"
            f"if {hide_httpx2}:\n"
            "    sys.modules['httpx2'] = None\n"
            "from authlib.deprecate import AuthlibDeprecationWarning\n"
            "warnings.simplefilter('error', AuthlibDeprecationWarning)\n"
            "import authlib.integrations.starlette_client\n"
        )
        return subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
        )

    assert import_client(hide_httpx2=False).returncode == 0
    hidden = import_client(hide_httpx2=True)
    assert hidden.returncode != 0 and "please use httpx2" in hidden.stderr, hidden.stderr


def test_a_provider_that_cannot_be_reached_is_said_so(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with migrated_database("sqlite", tmp_path) as url:
        settings = Settings(
            home=tmp_path,
            database_url=url,
            data_keys=DATA_KEYS,
            secret_key=KEY,
            oidc_issuer=closed,
            oidc_client_id="safeshare",
            oidc_client_secret="a-client-secret",
        )
        with settings_in_force(settings):
            web = TestClient(create_app(), follow_redirects=False)
            assert 'id="school-sign-in"' in web.get("/sign-in").text
            down = web.get("/sign-in/school")
            assert down.status_code == 503 and outcome_of(down) == "unreachable"
            assert "cannot reach the school account provider" in down.text
            with session_scope() as session:
                stage, outcome = session.execute(
                    select(SignInAttempt.stage, SignInAttempt.outcome)
                ).one()
            assert (stage, outcome) == ("school", "unreachable")
        engine_for(url).dispose()
        # with no provider configured, the sign-in page is as it was: passwords alone
        with settings_in_force(
            Settings(home=tmp_path, database_url=url, data_keys=DATA_KEYS, secret_key=KEY)
        ):
            web = TestClient(create_app(), follow_redirects=False)
            page = web.get("/sign-in")
            assert page.status_code == 200 and 'name="password"' in page.text
            assert "school-sign-in" not in page.text
            assert web.get("/sign-in/school").status_code == 404
        engine_for(url).dispose()
