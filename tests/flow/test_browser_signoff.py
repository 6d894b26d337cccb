"""A senior leader signs off in a real headless browser (Debian's Chromium, driven by Selenium
with the system's ChromeDriver; `make test` installs both): the link arrives at a local
listener, the page shows what the signer needs and nothing more, approving moves the case on."""

from __future__ import annotations

import re
from typing import Any

import pytest
from harness.cases import (
    answer_ok,
    assessment,
    marker,
    new_case,
    personal_message,
    wait_for_step,
)
from harness.databases import on_sqlite_only

pytestmark = pytest.mark.flow

LINK = re.compile(r"personal link \(works once\): (\S+)")


@on_sqlite_only
def test_signing_off_from_the_link_in_a_browser(
    stack: Any, browser: Any, people: dict[str, str]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    mark = marker()
    case_id = new_case(people, mark)
    answer_ok(case_id, "assess-criteria", people["dsl"], assessment(mark))
    key = wait_for_step(case_id, "management-signoff")["waiting"]["key"]
    found = LINK.search(personal_message(case_id, key, people["slt"]))
    assert found, "the senior leader's message has no link"

    # the senior leader's own browser: not signed in as anyone else (an earlier test's session
    # would make their link someone else's, and be refused)
    browser.get(f"{stack.web_url}/health")
    browser.delete_all_cookies()
    browser.get(found.group(1))
    page = browser.find_element(By.TAG_NAME, "body").text
    assert f"SS-{case_id:06d}" in page
    assert "Physical abuse" in page  # the category of concern, in words
    assert f"{mark} info" in page  # what would be shared
    assert "Children's Social Care" in page  # and with whom
    assert f"{mark} what happened" not in page  # the concern itself is not the signer's to read
    assert f"{mark} child's words" not in page

    browser.find_element(By.CSS_SELECTOR, "input[name=decision][value=approve]").click()
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 30).until(ready.title_contains("Decision recorded"))
    assert "Decision recorded" in browser.find_element(By.TAG_NAME, "h1").text

    case = wait_for_step(case_id, "parents")
    signoff = [e for e in case["chronology"] if e["step"] == "management-signoff"]
    assert [(e["by"], e["channel"], e["accepted"]) for e in signoff] == [
        (people["slt"], "link", True)
    ]

    # The link works once: opening it again says so.
    browser.get(found.group(1))
    assert "used already" in browser.find_element(By.TAG_NAME, "body").text
