"""Fixtures of the flow tests: the staff and children of a setting, on each stack."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from models.kernel.roles import Role

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="session")
def people(stack: Any, listener: Any) -> dict[str, str]:
    """Staff of the setting, each notified on their own loopback address."""
    from tasks.children import add_child
    from tasks.staff import add_staff

    for staff_id, role in (
        ("dsl1", Role.DSL),
        ("dep1", Role.DEPUTY_DSL),
        ("head1", Role.SLT),
        ("head2", Role.SLT),
        ("teacher1", Role.STAFF),
        ("admin1", Role.ADMIN),
    ):
        add_staff(
            staff_id,
            name=f"Person {staff_id}",
            role=role,
            notify_url=listener.url(f"/{stack.backend}/staff/{staff_id}"),
        )
    add_child("C-0001", date_of_birth=date(2016, 5, 1), cp_plan=False)
    # each sets a password for the web front door, as the administrator would, through the CLI
    from harness.web import password_of
    from typer.testing import CliRunner

    from safeshare.cli.app import app

    for staff_id in ("dsl1", "dep1", "head1", "head2", "teacher1", "admin1"):
        argv = ["--user", "admin1", "staff", "password", staff_id, "--password-stdin"]
        result = CliRunner().invoke(app, argv, input=password_of(staff_id) + "\n")
        assert result.exit_code == 0, result.output
    return {
        "dsl": "dsl1",
        "deputy": "dep1",
        "slt": "head1",
        "slt2": "head2",
        "teacher": "teacher1",
        "admin": "admin1",
    }


def _chromium(width: int, height: int) -> Any:
    """A real headless browser (Debian's Chromium, driven by Selenium with the system's
    ChromeDriver; `make test` installs both), with a window of this size."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        assert os.access(path, os.X_OK), f"{path} is missing: `make test` installs it"
    os.environ["SE_OFFLINE"] = "true"  # never let Selenium look for drivers on the network
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # No WebGL: Prefect's dashboard draws a run's graph on a WebGL canvas redrawn every frame,
    # which headless Chromium, with no GPU, renders in software: 73 of the 96 CPU-seconds of the
    # two dashboard form tests alone went to its GPU process (15 without; 58 s -> 15 s). The
    # forms under test are HTML; the graph is not under test.
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--disable-3d-apis",
    ):
        options.add_argument(arg)
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless browser with a phone's screen."""
    driver = _chromium(390, 844)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def desktop() -> Iterator[Any]:
    """A headless browser with a desk's screen (1400x1000), as the DSL opens the dashboard:
    one per test, closed after it (Prefect's dashboard keeps polling, and a browser left on it
    took a core's worth of CPU from every test that ran after)."""
    driver = _chromium(1400, 1000)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(autouse=True)
def _mailbox(stack: Any, listener: Any) -> None:
    """Let the harness read the one-time codes people get on this stack."""
    from harness import cases

    cases.MAILBOX.update(listener=listener, backend=stack.backend)
