"""Every page a teacher, a DSL and a senior leader open, audited with axe-core in a real headless
browser, each at a desk's width and a phone's: none may have a finding of impact "serious" or
"critical", nor scroll sideways as a whole (reflow, which axe does not check). The test walks
the front door once as those people do, auditing each page at both widths: sign in (a wrong
password first), the concern form empty and with its errors, the pupil's suggestions open, the
"recorded" page, the refusal a teacher gets for the cases, sign out; a need-to-know notice the
teacher is sent, opened through their link (the page before it opens, the notice, the link
once expired); the DSL's second step (a wrong code first), home, cases and a case; a senior
leader's sign-off page opened through their personal link, and their home."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from harness import axe
from harness.browser import fill, go_on, searchable, sign_in, suggestions
from harness.cases import (
    answer_ok,
    assessment,
    cli,
    expire_notice_link,
    marker,
    notice_link,
    personal_message,
    wait_for_step,
)
from harness.databases import on_sqlite_only
from harness.web import PHONES, fresh_code, password_of

pytestmark = pytest.mark.flow

LINK = re.compile(r"personal link \(works once\): (\S+)")


def second_step(driver: Any, staff_id: str) -> None:
    """Give the code the person's authenticator shows (setting it up the first time)."""
    from selenium.webdriver.common.by import By

    assert driver.current_url.endswith("/sign-in/code")
    secrets = driver.find_elements(By.ID, "totp-secret")
    secret = secrets[0].text if secrets else PHONES[staff_id]
    fill(driver, "code", fresh_code(staff_id, secret))
    PHONES[staff_id] = secret
    go_on(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/sign-in/code'] button"))


def notice_for(people: dict[str, str], mark: str) -> int:
    """A need-to-know notice recorded by the DSL for the teacher to be told of; its case (its
    workflow goes on to the DSL's review while the browser walks the other pages)."""
    result = cli(
        "notice", "record", "--child", "C-0001", "--source", "other-agency",
        "--recorded-by", people["dsl"], "--details", f"{mark} what the agency said", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return int(json.loads(result.stdout)["case_id"])


def read_the_notice(
    driver: Any,
    audit: Callable[[str], None],
    listener: Any,
    backend: str,
    people: dict[str, str],
    mark: str,
    case_id: int,
) -> None:
    """The DSL tells the teacher; the teacher opens the notice through their link: the page
    before it opens, the notice, and the link once its time has run out, each audited."""
    from selenium.webdriver.common.by import By

    decision = {
        "staff_to_tell": [people["teacher"]],
        "what_they_need_to_know": f"{mark} be alert to tiredness today",
        "reason": f"{mark} class teacher",
    }
    answer_ok(case_id, "notice-review", people["dsl"], decision)
    link = notice_link(listener, backend, case_id, people["teacher"])
    driver.get(link)
    audit("notice, before it opens")
    go_on(driver, driver.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
    assert mark in driver.find_element(By.TAG_NAME, "main").text
    audit("notice")
    expire_notice_link(case_id, people["teacher"])
    driver.get(link)
    assert driver.find_element(By.TAG_NAME, "h1").text == "Link expired"
    audit("notice link expired")


def sign_out(driver: Any) -> None:
    from selenium.webdriver.common.by import By

    go_on(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/sign-out'] button"))


#: The widths each page is audited at: a desk's, and a phone's (390 CSS pixels, where reflow
#: must not make the page scroll sideways).
SCREENS = {"desk": (1400, 1000), "phone": (390, 844)}


@on_sqlite_only
def test_every_page_passes_the_accessibility_audit(
    stack: Any,
    prefect_server: Any,
    listener: Any,
    people: dict[str, str],
    desktop: Any,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    driver = desktop
    found: dict[str, list[dict[str, Any]]] = {}
    mark = marker()
    notice_case = notice_for(people, mark)

    def audit(where: str) -> None:
        """The page as it is, at each width in turn (one walk for both: each walk records and
        answers a case, signs three people in and tells a teacher of a notice)."""
        for screen, (width, height) in SCREENS.items():
            driver.set_window_size(width, height)
            found[f"{where} ({screen})"] = axe.findings(driver) + axe.sideways(driver)
        driver.set_window_size(*SCREENS["desk"])

    web = stack.web_url
    driver.get(f"{web}/health")
    driver.delete_all_cookies()
    driver.get(f"{web}/sign-in")
    audit("sign-in")
    sign_in(driver, web, people["teacher"], "not my password at all")
    audit("sign-in, wrong password")

    # A teacher: home, the form empty and with errors, the pupil found by typing part of what
    # their choice says (this child has no name on record: their reference) and picked with the
    # keyboard, the recorded page, a refusal, sign out.
    sign_in(driver, web, people["teacher"], password_of(people["teacher"]))
    audit("home (teacher)")
    go_on(driver, driver.find_element(By.LINK_TEXT, "Record a concern"))
    searchable(driver, "child")
    audit("concern form")
    form = driver.find_element(By.CSS_SELECTOR, "form[action='/concerns/new']")
    driver.execute_script("arguments[0].noValidate = true", form)  # the server's own checks
    go_on(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "/concerns/new" in driver.current_url
    searchable(driver, "child")
    audit("concern form, with errors")
    suggestions(driver, "child", "0001")
    audit("concern form, the pupil's suggestions open")
    searchable(driver, "child").send_keys(Keys.ENTER)  # the first suggestion, highlighted
    assert searchable(driver, "child").get_attribute("value") == "C-0001"
    Select(driver.find_element(By.ID, "category")).select_by_value("physical")
    when = driver.find_element(By.ID, "when")
    driver.execute_script("arguments[0].value = '2026-11-25T10:15'", when)
    fill(driver, "what", f"{mark} what happened")
    form = driver.find_element(By.CSS_SELECTOR, "form[action='/concerns/new']")
    go_on(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    reference = driver.find_element(By.ID, "reference").text
    case_id = int(reference.removeprefix("SS-"))
    audit("recorded")
    driver.get(f"{web}/cases")
    assert driver.find_element(By.TAG_NAME, "h1").text  # the refusal page
    audit("refusal (teacher opens the cases)")
    driver.get(f"{web}/")
    sign_out(driver)
    assert driver.current_url.endswith("/sign-in")
    audit("signed out")

    read_the_notice(driver, audit, listener, stack.backend, people, mark, notice_case)

    # The DSL: the second step, home, the open cases, the case; assesses it (through the CLI).
    sign_in(driver, web, people["dsl"], password_of(people["dsl"]))
    audit("second step (DSL)")
    fill(driver, "code", "000000")
    go_on(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/sign-in/code'] button"))
    assert driver.find_element(By.ID, "code").get_attribute("aria-invalid") == "true"
    audit("second step, wrong code")
    second_step(driver, people["dsl"])
    audit("home (DSL)")
    go_on(driver, driver.find_element(By.LINK_TEXT, "Open cases"))
    audit("open cases")
    go_on(driver, driver.find_element(By.LINK_TEXT, reference))
    audit("case page")
    answer_ok(case_id, "assess-criteria", people["dsl"], assessment(mark))
    sign_out(driver)

    # A senior leader: the sign-off page through their personal link, then their home.
    key = wait_for_step(case_id, "management-signoff")["waiting"]["key"]
    link = LINK.search(personal_message(case_id, key, people["slt"]))
    assert link, "the senior leader's message has no link"
    driver.delete_all_cookies()
    driver.get(link.group(1))
    assert reference in driver.find_element(By.TAG_NAME, "h1").text
    audit("sign-off through a personal link")
    sign_in(driver, web, people["slt"], password_of(people["slt"]))
    second_step(driver, people["slt"])
    audit("home (senior leader)")

    blocking = {where: items for where, items in found.items() if items}
    assert not blocking, "serious or critical accessibility findings:\n" + axe.report(found)
