"""The front door in a real headless browser: a teacher signs in, records a concern and cannot
open any case page; the DSL signs in with the second factor, finds the case and follows its link
to the waiting step in the dashboard; a wrong password and a wrong code are refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
from harness import web
from harness.browser import fill, go_on, sign_in, suggestions
from harness.cases import marker, wait_for_step
from harness.databases import on_sqlite_only
from harness.web import PHONES, fresh_code, password_of

pytestmark = pytest.mark.flow


@on_sqlite_only
def test_a_teacher_records_and_the_dsl_works_the_case(
    stack: Any, browser: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    # A wrong password is refused, and says so.
    sign_in(browser, stack.web_url, people["teacher"], "not my password at all")
    assert "wrong" in browser.find_element(By.CSS_SELECTOR, "[role=alert]").text

    # The teacher records a concern and sees only its reference.
    sign_in(browser, stack.web_url, people["teacher"], password_of(people["teacher"]))
    go_on(browser, browser.find_element(By.LINK_TEXT, "Record a concern"))
    mark = marker()
    suggestions(browser, "child", "C-0001")[0].click()
    Select(browser.find_element(By.ID, "category")).select_by_value("emotional")
    when = browser.find_element(By.ID, "when")
    browser.execute_script("arguments[0].value = '2026-11-25T10:15'", when)
    fill(browser, "where", f"{mark} corridor")
    fill(browser, "what", f"{mark} what happened")
    fill(browser, "child_words", f"{mark} the child's words")
    go_on(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/concerns/new'] button"))
    reference = browser.find_element(By.ID, "reference").text
    assert re.fullmatch(r"SS-\d{6}", reference) and mark not in browser.page_source
    case_id = int(reference.removeprefix("SS-"))
    run_id = wait_for_step(case_id, "assess-criteria")["waiting"]["flow_run_id"]

    # ... and cannot open it, or the list.
    for path in (f"/cases/{case_id}", "/cases"):
        browser.get(f"{stack.web_url}{path}")
        assert "You cannot" in browser.page_source and mark not in browser.page_source

    # The DSL signs in: a wrong code is refused, the right one lets them in.
    sign_in(browser, stack.web_url, people["dsl"], password_of(people["dsl"]))
    assert browser.current_url.endswith("/sign-in/code")
    secrets = browser.find_elements(By.ID, "totp-secret")
    secret = secrets[0].text if secrets else PHONES[people["dsl"]]
    fill(browser, "code", "000000")
    go_on(browser, browser.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "not right" in browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    fill(browser, "code", fresh_code(people["dsl"], secret))
    PHONES[people["dsl"]] = secret  # the app now holds this key, whatever happens next
    go_on(browser, browser.find_element(By.CSS_SELECTOR, "button[type=submit]"))

    # They find the case, read the concern and follow the link to the waiting step.
    go_on(browser, browser.find_element(By.LINK_TEXT, "Open cases"))
    go_on(browser, browser.find_element(By.LINK_TEXT, reference))
    assert f"{mark} the child's words" in browser.find_element(By.TAG_NAME, "main").text
    link = browser.find_element(By.ID, "dashboard-link")
    assert link.get_attribute("href").endswith(f"/runs/flow-run/{run_id}")
    go_on(browser, link)
    assert browser.current_url.startswith(prefect_server.api_url.removesuffix("/api"))
    assert browser.current_url.endswith(f"/runs/flow-run/{run_id}")
    state = web.get(f"{prefect_server.api_url}/flow_runs/{run_id}").json()["state"]
    assert state["type"] == "PAUSED"  # the step waiting there for the DSL's answer
