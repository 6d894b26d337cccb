"""Acting as a person in the headless browser: type in a field, go on to the next page and wait
for it, sign in."""

from __future__ import annotations

from typing import Any


def fill(browser: Any, field: str, value: str) -> None:
    from selenium.webdriver.common.by import By

    element = browser.find_element(By.ID, field)
    element.clear()
    element.send_keys(value)


def go_on(browser: Any, element: Any) -> None:
    """Click what leads to another page, and wait until that page has replaced this one."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    page = browser.find_element(By.TAG_NAME, "html")
    element.click()

    def replaced(_: Any) -> bool:
        try:
            page.is_enabled()
        except WebDriverException:  # stale, or Chromium's "node does not belong to the document"
            return True
        return False

    WebDriverWait(browser, 30).until(replaced)


def sign_in(browser: Any, web_url: str, staff_id: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    browser.get(f"{web_url}/sign-in")
    fill(browser, "staff_id", staff_id)
    fill(browser, "password", password)
    go_on(browser, browser.find_element(By.CSS_SELECTOR, "button[type=submit]"))


def searchable(browser: Any, field: str) -> Any:
    """The text box that makes the select `field` searchable (/static/searchable.js), once the
    page's script has put it in the select's place."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def enhanced(_: Any) -> Any:
        boxes = browser.find_elements(By.CSS_SELECTOR, f"input.autocomplete__input#{field}")
        return boxes[0] if boxes else False

    return WebDriverWait(browser, 10).until(enhanced)


def suggestions(browser: Any, field: str, typed: str) -> list[Any]:
    """Type into the searchable `field` as a person would, and the suggestions it then shows."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    box = searchable(browser, field)
    box.clear()
    box.send_keys(typed)
    menu = f"#{field}__listbox.autocomplete__menu--visible li[role=option]:not([aria-disabled])"
    return list(
        WebDriverWait(browser, 10).until(lambda _: browser.find_elements(By.CSS_SELECTOR, menu))
    )
