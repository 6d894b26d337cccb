"""The dashboard a DSL actually sees: a waiting case's Resume form in the Prefect UI the stack
serves (both of Prefect's UIs: the one its messages link to, and the newer one its home page
opens), in headless Chromium at 1400x1000, on both case databases. The essentials of the wait
(the case, the step, who may answer, the link to the case page) stand under the form's first
field, the one-time code, which is required; optional text fields are text boxes; what a
co-signer's decision rests on is in view or scrolls into view within the form; and a form filled
in the dashboard, its optional fields left empty, is accepted as not giving them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from harness.cases import (
    answer_ok,
    assessment,
    code_for,
    marker,
    new_case,
    wait_for_status,
    wait_for_step,
    wait_until_suspended,
)
from harness.databases import on_sqlite_only
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

pytestmark = pytest.mark.flow

UIS = ("v1", "v2")

#: Where an element stands: its box, whether the viewport holds it whole, and whether a person
#: looking there sees it (nothing covers it). Scrolled into view first, within its scroll box
#: only (a modal's body): "visible" means visible in the form, however long the form.
_SEEN = """
const el = arguments[0];
el.scrollIntoView({block: 'nearest', inline: 'nearest'});
const r = el.getBoundingClientRect();
const hit = document.elementFromPoint(r.left + Math.min(r.width / 2, 20), r.top + r.height / 2);
return {width: r.width, height: r.height,
        inside: r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth,
        seen: !!hit && (el === hit || el.contains(hit) || hit.contains(el))};
"""

#: The block of the form field whose label starts with `title`: the label's nearest ancestor
#: holding a control.
_FIELD = """
const [dialog, title] = arguments;
const CONTROLS = 'input, textarea, select, [role=combobox], [role=switch]';
const label = [...dialog.querySelectorAll('*')].find(
    e => e.children.length === 0 && e.textContent.trim().startsWith(title));
let node = label;
while (node && node !== dialog && !node.querySelector(CONTROLS))
    node = node.parentElement;
return node;
"""


def open_resume_form(driver: Any, ui_url: str, run_id: str, ui: str) -> Any:
    """The Resume dialog of a suspended run, opened as a person opens it."""
    wait = WebDriverWait(driver, 60, poll_frequency=0.3)
    if ui == "v1":  # the page the case's messages and its case page link to
        driver.get(f"{ui_url}/runs/flow-run/{run_id}")
        wait.until(
            lambda d: [b for b in d.find_elements(By.TAG_NAME, "button") if b.text == "Resume"]
        )
        [b for b in driver.find_elements(By.TAG_NAME, "button") if b.text == "Resume"][0].click()
    else:
        driver.get(f"{ui_url}/v2/runs/flow-run/{run_id}")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "button[aria-haspopup=menu]"))
        driver.find_element(By.CSS_SELECTOR, "button[aria-haspopup=menu]").click()
        wait.until(
            lambda d: [
                i for i in d.find_elements(By.CSS_SELECTOR, "[role=menuitem]") if i.text == "Resume"
            ]
        )
        [i for i in driver.find_elements(By.CSS_SELECTOR, "[role=menuitem]") if i.text == "Resume"][
            0
        ].click()
    (dialog,) = wait.until(
        lambda d: [
            e
            for e in d.find_elements(By.CSS_SELECTOR, "[role=dialog]")
            if "One-time code" in e.text
        ]
    )
    # the dialog has opened when its opening animation has finished, not after a guessed time
    wait.until(lambda d: d.execute_script(_SETTLED, dialog))
    return dialog


#: Whether no animation or transition of an element (or inside it) is still running.
_SETTLED = """
return arguments[0].getAnimations({subtree: true}).every(a => a.playState !== "running");
"""


def assert_seen(driver: Any, element: Any, what: str) -> None:
    seen = driver.execute_script(_SEEN, element)
    assert seen["width"] > 0 and seen["height"] > 0, f"{what} takes no room: {seen}"
    assert seen["inside"] and seen["seen"], f"{what} is not in view: {seen}"


def leaf_with(dialog: Any, text: str) -> Any:
    """The innermost element of the dialog whose text holds `text`."""
    found = [e for e in dialog.find_elements(By.XPATH, f".//*[contains(., {text!r})]")]
    assert found, f"nothing in the form says {text!r}"
    return found[-1]


def check_form(
    driver: Any, dialog: Any, case_id: int, step: str, who: list[str], case_page: str
) -> str:
    """The form's essentials are seen, its code comes first and is required, and its optional
    fields are plain inputs; the form's words."""
    ref = f"SS-{case_id:06d}"
    words = dialog.text
    assert 'Property is type "None"' not in words and "str | None" not in words
    assert "One-time code (Optional)" not in words
    assert words.index("One-time code") < words.index("Answered By")
    assert_seen(driver, leaf_with(dialog, f"Case {ref}: {step}."), "the case and its step")
    who_line = leaf_with(dialog, "Who may answer")
    assert all(staff in who_line.text for staff in who), who_line.text
    assert_seen(driver, who_line, "who may answer")
    # the case page's address is seen under the code field, and the description links to it
    assert_seen(driver, leaf_with(dialog, case_page), "the case page's address")
    assert dialog.find_elements(By.CSS_SELECTOR, f'a[href="{case_page}"]')
    code = driver.execute_script(_FIELD, dialog, "One-time code")
    assert code.find_elements(By.CSS_SELECTOR, "textarea, input"), code.get_attribute("outerHTML")
    return str(words)


# How Prefect's UIs draw the form depends on Prefect, not on the case database (answers through
# the dashboard are recorded on both databases in test_answer_codes and test_no_personal_data).
@on_sqlite_only
def test_the_dsl_reads_and_answers_the_assessment_form_in_the_dashboard(
    stack: Any, prefect_server: Any, people: dict[str, str], desktop: Any, tmp_path: Path
) -> None:
    mark = marker()
    case_id = new_case(people, mark)
    waiting = wait_for_step(case_id, "assess-criteria")["waiting"]
    run_id = waiting["flow_run_id"]
    wait_until_suspended(prefect_server.api_url, run_id)
    ui_url = stack.env["PREFECT_UI_URL"]
    case_page = f"{stack.web_url}/cases/{case_id}"
    code = code_for(case_id, waiting["key"], people["dsl"])

    # the newer UI first: the form left open is the one the case's messages link to (v1),
    # filled in below without loading Prefect's UI a third time
    for ui in reversed(UIS):
        dialog = open_resume_form(desktop, ui_url, run_id, ui)
        desktop.save_screenshot(str(tmp_path / f"assess-{ui}-{stack.backend}.png"))
        words = check_form(
            desktop,
            dialog,
            case_id,
            "criteria assessment",
            [people["dsl"], people["deputy"]],
            case_page,
        )
        assert "Answer3" not in words  # each enum is named after its field
        for optional in ("Consent Override Reason", "Information To Share", "Purpose"):
            field = desktop.execute_script(_FIELD, dialog, optional)
            assert field.find_elements(By.TAG_NAME, "textarea") or field.find_elements(
                By.CSS_SELECTOR, "input[type=text], input:not([type])"
            ), f"{optional} is no text box in {ui}"

    # Filled in the dashboard (the UI the messages link to, still open), the optional fields
    # left empty.
    assert ui == "v1"

    def field(title: str) -> Any:
        return desktop.execute_script(_FIELD, dialog, title)

    field("One-time code").find_element(By.CSS_SELECTOR, "textarea, input").send_keys(code)
    field("Answered By").find_element(By.CSS_SELECTOR, "textarea, input").send_keys(people["dsl"])
    for criterion in (
        "Evidence Of Harm",
        "Reasonable Cause",
        "Prevent Harm Or Crime",
        "Public Interest",
    ):
        Select(field(criterion).find_element(By.TAG_NAME, "select")).select_by_value("no")
    field("Reasons").find_element(By.TAG_NAME, "textarea").send_keys(f"{mark} nothing to share")
    Select(field("Consent").find_element(By.TAG_NAME, "select")).select_by_value("given")
    [b for b in dialog.find_elements(By.TAG_NAME, "button") if b.text == "Submit"][0].click()

    closed = wait_for_status(case_id, "not-shared")
    (assessed,) = [e for e in closed["chronology"] if e["step"] == "assess-criteria"]
    assert (assessed["by"], assessed["channel"], assessed["outcome"]) == (
        people["dsl"],
        "form",
        "do-not-share",
    )
    for name in ("consent_override_reason", "information_to_share", "purpose", "agency"):
        assert assessed["answer"][name] is None  # left empty: not given


# How Prefect's UIs draw the form depends on Prefect, not on the case database (answers through
# the dashboard are recorded on both databases in test_answer_codes and test_no_personal_data).
@on_sqlite_only
def test_the_co_signer_sees_what_the_decision_rests_on_in_the_dashboard(
    stack: Any, prefect_server: Any, people: dict[str, str], desktop: Any, tmp_path: Path
) -> None:
    mark = marker()
    case_id = new_case(people, mark)
    answer_ok(case_id, "assess-criteria", people["dsl"], assessment(mark))
    run_id = wait_for_step(case_id, "management-signoff")["waiting"]["flow_run_id"]
    wait_until_suspended(prefect_server.api_url, run_id)
    case_page = f"{stack.web_url}/cases/{case_id}"

    for ui in UIS:
        dialog = open_resume_form(desktop, stack.env["PREFECT_UI_URL"], run_id, ui)
        desktop.save_screenshot(str(tmp_path / f"signoff-{ui}-{stack.backend}.png"))
        check_form(
            desktop, dialog, case_id, "management sign-off", [people["slt"], "head2"], case_page
        )
        for shown in (
            "share-without-consent",
            "consent-refused-overridden",
            "art6-1-e-public-task",
        ):
            assert_seen(desktop, leaf_with(dialog, shown), shown)
        assert mark not in dialog.text
