"""The concern form as a hurried teacher meets it in a real headless browser (GOV.UK Design
System patterns): the 999 warning first, "when" set to now, categories and colleagues in words,
optional fields marked; the pupil found by typing part of their name and picking a suggestion
(name and year group), text typed but not picked sending no child; errors in a summary that
takes the focus, each linked to its field and shown beside it (aria-invalid, aria-describedby);
a time to come refused beside "when"; after sending, "record another" and "sign out"; a refusal
in plain words with a way home; and a focus indicator on everything the keyboard reaches with
at least 3:1 contrast against the page."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from harness.axe import contrast_with_white
from harness.browser import fill, go_on, searchable, sign_in, suggestions
from harness.cases import marker, on_roll
from harness.databases import on_sqlite_only
from harness.web import password_of

from models.sharing.concern import CATEGORY_LABELS, Category
from tasks.views import show_case

pytestmark = pytest.mark.flow

OPTIONAL = ("where", "child_words", "action_taken", "who_told", "allegation_against")
REQUIRED = ("child", "category", "when", "what")


def _submit(driver: Any) -> None:
    from selenium.webdriver.common.by import By

    form = driver.find_element(By.CSS_SELECTOR, "form[action='/concerns/new']")
    go_on(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))


def _label(driver: Any, field: str) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.CSS_SELECTOR, f"label[for='{field}']").text)


@on_sqlite_only
def test_the_concern_form_shows_each_error_beside_its_field(
    stack: Any, people: dict[str, str], desktop: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = desktop
    surname = f"{marker()}Okafor"  # two pupils of one family, in different years
    refs = on_roll(("Adaeze", surname, 7), ("Chidi", surname, 9))
    sign_in(driver, stack.web_url, people["teacher"], password_of(people["teacher"]))
    go_on(driver, driver.find_element(By.LINK_TEXT, "Record a concern"))
    searchable(driver, "child")

    # What to do first, before any field.
    main = driver.find_element(By.TAG_NAME, "main")
    warning = main.find_element(By.CSS_SELECTOR, ".govuk-warning-text").text
    assert "call 999" in warning and "Designated Safeguarding Lead" in warning
    first_field = main.find_element(By.CSS_SELECTOR, "select, input:not([type=hidden]), textarea")
    assert first_field.location["y"] > main.find_element(By.ID, "danger").location["y"]

    # "When" is now, and nothing later may be chosen.
    shown = datetime.fromisoformat(driver.find_element(By.ID, "when").get_attribute("value"))
    now = datetime.now(ZoneInfo("Europe/London")).replace(tzinfo=None)
    assert now - timedelta(minutes=5) <= shown <= now
    assert driver.find_element(By.ID, "when").get_attribute("max") >= shown.isoformat()[:16]

    # Categories and colleagues in words; optional fields marked, required ones not.
    categories = [o.text for o in Select(driver.find_element(By.ID, "category")).options]
    assert set(CATEGORY_LABELS.values()) <= set(categories)
    assert not {c.value for c in Category} & set(categories)
    searchable(driver, "allegation_against")
    staff = Select(driver.find_element(By.ID, "allegation_against-select"))
    assert "Person dsl1" in [o.get_attribute("textContent") for o in staff.options]
    assert people["teacher"] not in [o.get_attribute("value") for o in staff.options]
    assert "chair of governors" in driver.find_element(By.ID, "allegation_against-hint").text
    for field in OPTIONAL:
        assert _label(driver, field).endswith("(optional)"), field
    for field in REQUIRED:
        assert "(optional)" not in _label(driver, field), field

    # Sent with a time to come and a pupil's name typed but none picked: the summary takes the
    # focus, and lists each error linked to its field, which says the same beside it.
    assert len(suggestions(driver, "child", "okafor")) == 2
    when = driver.find_element(By.ID, "when")
    driver.execute_script("arguments[0].value = '2031-01-01T10:00'", when)
    _submit(driver)
    summary = driver.switch_to.active_element
    assert "govuk-error-summary" in summary.get_attribute("class")
    assert driver.title.startswith("Error: ")
    links = summary.find_elements(By.CSS_SELECTOR, "a")
    assert [a.get_attribute("hash") for a in links] == ["#child", "#category", "#when", "#what"]
    searchable(driver, "child")  # the pupil's box, not the select it stands for
    for link in links:
        field = driver.find_element(By.ID, link.get_attribute("hash")[1:])
        assert field.get_attribute("aria-invalid") == "true"
        error_id = f"{field.get_attribute('id')}-error"
        assert error_id in field.get_attribute("aria-describedby").split()
        assert link.text in driver.find_element(By.ID, error_id).text
    assert links[2].text == "When it happened must be now or in the past"
    assert driver.find_element(By.ID, "where").get_attribute("aria-invalid") is None
    links[3].click()
    assert driver.switch_to.active_element.get_attribute("id") == "what"

    # Corrected and sent: the pupil found by part of the family name, told apart by year group,
    # and the concern recorded for that child; then what next.
    found = suggestions(driver, "child", "okafor")
    described = searchable(driver, "child").get_attribute("aria-describedby").split()
    assert "child-error" in described  # still, once typed in
    assert [s.text for s in found] == [
        f"Adaeze {surname} (Year 7)",
        f"Chidi {surname} (Year 9)",
    ]
    found[1].click()
    assert searchable(driver, "child").get_attribute("value") == f"Chidi {surname} (Year 9)"
    Select(driver.find_element(By.ID, "category")).select_by_visible_text(
        CATEGORY_LABELS[Category.CHILD_ON_CHILD]
    )
    when = driver.find_element(By.ID, "when")
    driver.execute_script("arguments[0].value = '2026-11-25T10:15'", when)
    fill(driver, "what", "what happened")
    _submit(driver)
    reference = driver.find_element(By.ID, "reference").text
    assert re.fullmatch(r"SS-\d{6}", reference)
    concern = show_case(int(reference.removeprefix("SS-")))["concern"]
    assert concern["child_ref"] == refs[f"Chidi {surname}"]
    assert driver.find_elements(By.CSS_SELECTOR, "form[action='/sign-out'] button")
    go_on(driver, driver.find_element(By.LINK_TEXT, "Record another concern"))
    assert driver.current_url.endswith("/concerns/new")
    assert driver.find_element(By.ID, "what").get_attribute("value") == ""


@on_sqlite_only
def test_a_refusal_says_in_plain_words_what_and_where_instead(
    stack: Any, people: dict[str, str], desktop: Any
) -> None:
    from selenium.webdriver.common.by import By

    driver = desktop
    sign_in(driver, stack.web_url, people["teacher"], password_of(people["teacher"]))
    driver.get(f"{stack.web_url}/cases")
    main = driver.find_element(By.TAG_NAME, "main").text
    assert driver.find_element(By.TAG_NAME, "h1").text == (
        "You cannot see the list of safeguarding cases"
    )
    assert "record a concern" in main and "Designated Safeguarding Lead" in main
    for internal in ("(staff)", people["teacher"], "list-cases", "not allowed"):
        assert internal not in main, internal
    go_on(driver, driver.find_element(By.LINK_TEXT, "Go to the home page"))
    assert driver.find_element(By.LINK_TEXT, "Record a concern")


#: What shows where the keyboard is: the focused element's outline and shadows, and for an element
#: that is hidden until focused (a skip link) the element itself, whose text is then the sign.
HIDDEN_UNTIL_FOCUSED = """
for (const el of document.querySelectorAll("a[href], button, input, select, textarea")) {
  const r = el.getBoundingClientRect();
  if (r.width <= 1 || r.height <= 1) el.dataset.shownOnFocus = "1";
}
"""
FOCUSED = """
const el = document.activeElement, s = getComputedStyle(el), colours = [];
if (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) colours.push(s.outlineColor);
if (el.dataset && el.dataset.shownOnFocus) colours.push(s.color);
for (const m of (s.boxShadow || "").matchAll(/rgba?\\([^)]*\\)/g)) colours.push(m[0]);
return {what: el.tagName + "#" + el.id + " " + (el.textContent || "").trim().slice(0, 30),
        colours: colours};
"""


@on_sqlite_only
@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_every_focus_indicator_has_3_to_1_contrast(
    stack: Any, people: dict[str, str], screen: str, request: Any
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver = request.getfixturevalue("desktop" if screen == "desktop" else "browser")
    sign_in(driver, stack.web_url, people["teacher"], password_of(people["teacher"]))
    go_on(driver, driver.find_element(By.LINK_TEXT, "Record a concern"))
    seen: dict[str, float] = {}
    driver.get(driver.current_url)  # a fresh page: the keyboard starts at its top
    searchable(driver, "child")
    driver.execute_script(HIDDEN_UNTIL_FOCUSED)
    for _ in range(60):  # every stop the keyboard makes on the page, once
        ActionChains(driver).send_keys(Keys.TAB).perform()
        focused = driver.execute_script(FOCUSED)
        if focused["what"] in seen or focused["what"].startswith("BODY"):
            if "BUTTON# Send to the DSL" in " ".join(seen):
                break
            continue
        seen[focused["what"]] = max(map(contrast_with_white, focused["colours"]), default=0.0)
    for kind in ("A#", "SELECT#", "INPUT#", "TEXTAREA#", "BUTTON#"):  # links, fields, buttons
        assert any(w.startswith(kind) for w in seen), (kind, list(seen))
    weak = {what: round(ratio, 2) for what, ratio in seen.items() if ratio < 3}
    assert not weak, f"focus indicators under 3:1 against white: {weak}"
