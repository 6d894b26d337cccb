"""Signing in with a school account in a real headless browser, against a real OpenID provider
(tests/oidc/provider.mjs): a rostered teacher signs in; the DSL, whose provider sign-in used a
second factor, skips safeshare's code and takes the role their group gives; a senior leader
without one is asked for it; a stranger, a leaver, a token for another application, an expired
token and a callback opened twice are each refused with a page that says what to do, and no
session."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from foundations.db import session_scope
from models.tables.accounts import SignInAttempt, WebSession
from models.tables.audit import AuditLog
from models.tables.directory import Staff
from tasks.sign_on import ROLE_FROM_GROUPS

CALLBACK = "/sign-in/school/callback"


def sign_in_as(browser: Any, school: Any, login: str) -> None:
    """From safeshare's sign-in page, through the provider's, as `login`; back at safeshare
    (wherever it sends the browser on)."""
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})
    browser.get_log("performance")  # forget the requests so far
    browser.get(f"{school.web_url}/sign-in")
    browser.find_element(By.ID, "school-sign-in").click()
    WebDriverWait(browser, 30).until(lambda b: b.current_url.startswith(school.provider.issuer))
    browser.find_element(By.ID, "login").send_keys(login)
    browser.find_element(By.ID, "provider-sign-in").click()
    WebDriverWait(browser, 30).until(lambda b: b.current_url.startswith(school.web_url))
    WebDriverWait(browser, 30).until(lambda b: settled(b))


def settled(browser: Any) -> bool:
    """Whether safeshare has answered the provider: a refusal, or a page past the callback's
    (which goes on by itself), loaded (the address changes when that page's navigation begins,
    before its document is there to read: under load a test read the page before it was)."""
    if urlsplit(browser.current_url).path != CALLBACK:
        return bool(browser.execute_script("return document.readyState") == "complete")
    found = browser.find_elements(By.ID, "school-sign-in-outcome")
    return bool(found) and found[0].get_attribute("data-outcome") != "ok"


def refusal_shown(browser: Any, school: Any, *, signed_in_before: bool = False) -> tuple[str, str]:
    """(the refusal, the page's text) of a refused sign-in, which left no session (unless the
    browser was signed in before)."""
    WebDriverWait(browser, 30).until(
        lambda b: (
            b.find_elements(By.ID, "school-sign-in-outcome")
            or urlsplit(b.current_url).path != CALLBACK
        )
    )
    found = browser.find_elements(By.ID, "school-sign-in-outcome")
    assert found, f"not refused: {browser.current_url}\n{browser.page_source[:1000]}"
    said = found[0].get_attribute("data-outcome"), browser.find_element(By.TAG_NAME, "main").text
    if not signed_in_before:
        assert browser.get_cookie("safeshare_session") is None
        browser.get(f"{school.web_url}/")  # and nobody is signed in
        assert urlsplit(browser.current_url).path == "/sign-in"
    return said


def callbacks_seen(browser: Any) -> list[str]:
    """The addresses of the provider's answers the browser opened (from its request log)."""
    seen = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if urlsplit(url).path == CALLBACK:
                seen.append(url)
    return seen


def attempts(staff_id: str) -> list[str]:
    with session_scope() as session:
        return list(
            session.scalars(
                select(SignInAttempt.outcome)
                .where(SignInAttempt.staff_id == staff_id, SignInAttempt.stage == "school")
                .order_by(SignInAttempt.id)
            )
        )


def sessions_of(staff_id: str) -> int:
    with session_scope() as session:
        return len(
            session.scalars(select(WebSession.id).where(WebSession.staff_id == staff_id)).all()
        )


def role_of(staff_id: str) -> str | None:
    with session_scope() as session:
        return session.scalar(select(Staff.role).where(Staff.staff_id == staff_id))


def test_a_rostered_teacher_signs_in_with_the_school_account(school: Any, chromium: Any) -> None:
    sign_in_as(chromium, school, "tom")
    assert urlsplit(chromium.current_url).path == "/"
    assert "Signed in as T1." in chromium.find_element(By.TAG_NAME, "main").text
    assert chromium.find_elements(By.LINK_TEXT, "Record a concern")
    assert attempts("T1") == ["ok"] and role_of("T1") == "staff"
    # the password sign-in is still offered beside the school's
    chromium.get(f"{school.web_url}/sign-in")
    assert chromium.find_element(By.ID, "password")


def test_the_dsl_s_group_gives_the_role_and_their_second_factor_counts(
    school: Any, chromium: Any
) -> None:
    assert role_of("D1") == "staff"  # the roster gives no role
    sign_in_as(chromium, school, "dana")  # a provider sign-in with "mfa" in its amr
    assert urlsplit(chromium.current_url).path == "/"  # no code asked of her
    assert chromium.find_elements(By.LINK_TEXT, "Open cases")
    chromium.find_element(By.LINK_TEXT, "Open cases").click()
    assert urlsplit(chromium.current_url).path == "/cases"
    assert role_of("D1") == "dsl" and attempts("D1") == ["ok-provider-mfa"]
    with session_scope() as session:
        entry = session.scalars(
            select(AuditLog).where(AuditLog.action == "update:staff", AuditLog.actor == "D1")
        ).one()
    assert entry.reason == ROLE_FROM_GROUPS and "dana@" not in entry.detail


def test_a_senior_leader_without_a_second_factor_is_asked_for_safeshare_s(
    school: Any, chromium: Any
) -> None:
    sign_in_as(chromium, school, "hugh")
    assert urlsplit(chromium.current_url).path == "/sign-in/code"
    assert "Set up your authenticator" in chromium.find_element(By.TAG_NAME, "h1").text
    assert role_of("H1") == "slt"
    chromium.get(f"{school.web_url}/")  # nothing but the code page until it is given
    assert urlsplit(chromium.current_url).path == "/sign-in/code"


def test_who_is_not_in_the_roster_or_has_left_is_refused(school: Any, chromium: Any) -> None:
    sign_in_as(chromium, school, "stranger")
    outcome, text = refusal_shown(chromium, school)
    assert outcome == "not-in-roster"
    assert "ask the school's safeshare administrator to add your work email" in text.lower()
    assert "stranger@" not in school.log()
    sign_in_as(chromium, school, "lee")
    outcome, text = refusal_shown(chromium, school)
    assert outcome == "inactive" and "add your work email" in text
    assert attempts("L1") == ["inactive"] and attempts("-").count("not-in-roster") == 1


def test_a_token_for_another_application_or_expired_is_refused(school: Any, chromium: Any) -> None:
    sign_in_as(chromium, school, "olive")
    outcome, text = refusal_shown(chromium, school)
    assert outcome == "wrong-audience" and "client id" in text
    sign_in_as(chromium, school, "kim")
    outcome, text = refusal_shown(chromium, school)
    assert outcome == "expired" and "clock" in text
    assert attempts("O1") == [] and attempts("K1") == []  # never matched to anyone
    assert {"wrong-audience", "expired"} <= set(attempts("-"))
    no_personal_data_logged(school)


def no_personal_data_logged(school: Any) -> None:
    """The web app's log names refusals and staff ids: never an email, never a token."""
    log = school.log()
    assert "refused" in log  # it did log the refusals
    assert "@school.test" not in log.lower() and "eyJ" not in log and "code=" not in log


def test_a_callback_opened_twice_is_refused(school: Any, chromium: Any) -> None:
    sign_in_as(chromium, school, "tom")
    assert urlsplit(chromium.current_url).path == "/"
    [callback] = callbacks_seen(chromium)
    before = sessions_of("T1")
    chromium.get(callback)  # the same answer again, in the same browser
    outcome, text = refusal_shown(chromium, school, signed_in_before=True)
    assert outcome == "replayed" and "Start again" in text
    assert sessions_of("T1") == before and attempts("-").count("replayed") >= 1
    no_personal_data_logged(school)
