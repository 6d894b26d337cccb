"""What the tests of signing in with a school account share: a real OpenID provider on
127.0.0.1 (tests/harness/oidc_provider.py) with the school's accounts, safeshare's web app
configured for it on a case database (SQLite, then PostgreSQL) whose staff came from a roster
import, and a headless Chromium.

The browser reaches safeshare as `localhost` and the provider as `127.0.0.1` (both this
machine): two sites, as a school's safeshare and Microsoft's or Google's sign-in are, so the
cookies' SameSite rules are those of a real sign-in."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness.databases import DATA_KEYS, migrated_database
from harness.oidc_provider import OidcProvider, running_oidc_provider
from harness.prefect_server import free_port
from harness.processes import without_suite_settings
from harness.web import TLS

from foundations.db import engine_for
from foundations.settings import Settings, settings_env, settings_in_force

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CLIENT_ID = "safeshare-school"
#: The school's staff export: how safeshare knows each person's work email.
STAFF = (
    "Staff Code,First Name,Last Name,Work Email,Job Title\n"
    "T1,Tom,Teacher,tom@school.test,Teacher\n"
    "D1,Dana,Lead,dana@school.test,Deputy Head\n"
    "H1,Hugh,Head,hugh@school.test,Head Teacher\n"
    "O1,Olive,Other,olive@school.test,Teacher\n"
    "K1,Kim,Late,kim@school.test,Teacher\n"
    "L1,Lee,Leaver,lee@school.test,Teacher\n"
)
#: Provider groups that give safeshare's roles (SAFESHARE_OIDC_GROUPS).
GROUPS = {"dsl": ["sg-safeguarding-lead"], "slt": ["sg-senior-leaders"]}
#: The school's accounts at the provider, by login.
ACCOUNTS: dict[str, dict[str, Any]] = {
    "tom": {"email": "Tom@School.test", "email_verified": True, "amr": ["pwd"]},
    "dana": {
        "email": "dana@school.test",
        "groups": ["sg-everyone", "sg-safeguarding-lead"],
        "amr": ["pwd", "mfa"],
    },
    "hugh": {"email": "hugh@school.test", "groups": ["sg-senior-leaders"], "amr": ["pwd"]},
    "stranger": {"email": "stranger@school.test", "amr": ["pwd", "mfa"]},
    "lee": {"email": "lee@school.test", "amr": ["pwd"]},
    # ID tokens meant for another application (which names safeshare as the party it was
    # issued to: only the audience is wrong), signed by the provider all the same
    "olive": {
        "email": "olive@school.test",
        "id_token": {"claims": {"aud": "another-application", "azp": CLIENT_ID}},
    },
    # ID tokens issued as by a clock ten minutes slow: expired on arrival
    "kim": {"email": "kim@school.test", "id_token": {"clock_seconds": -600}},
}


@dataclass
class School:
    web_url: str
    provider: OidcProvider
    settings: Settings
    database_url: str
    home: Path

    def log(self) -> str:
        """What the web app has logged so far."""
        return (self.home / "web.log").read_text()


def _start_web(settings: Settings, home: Path) -> subprocess.Popen[bytes]:
    env = without_suite_settings() | settings_env(settings)
    log = (home / "web.log").open("ab")
    web = subprocess.Popen(
        [sys.executable, "-m", "safeshare.web"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise RuntimeError(f"the web app exited with {web.returncode}")
        try:
            live = httpx.get(f"{settings.web_url}/health/live", timeout=2, verify=TLS)
            if live.status_code == 200:
                return web
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the web app did not answer within 60 s")


@pytest.fixture(scope="module", params=("sqlite",))
def school(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[School]:
    """safeshare's web app signing in with the provider's accounts, on a roster of staff (Lee
    has left), until the module's tests end. On SQLite alone, as every page in a browser is
    (README, "Which tests run on which database"): what the sign-in writes and reads of the case
    database (the roster match, the role from groups, the audit) is tested on both databases in
    tests/tasks/test_sign_on.py."""
    from tasks.roster import import_staff

    home = tmp_path_factory.mktemp("school-sign-in")
    web_url = f"http://localhost:{free_port()}"
    secret = secrets.token_urlsafe(32)
    client = {
        "client_id": CLIENT_ID,
        "client_secret": secret,
        "redirect_uris": [f"{web_url}/sign-in/school/callback"],
    }
    with (
        migrated_database(request.param, home) as url,
        running_oidc_provider(home, clients=[client], accounts=ACCOUNTS) as provider,
    ):
        settings = Settings(
            home=home,
            database_url=url,
            data_keys=DATA_KEYS,
            web_port=int(web_url.rsplit(":", 1)[1]),
            web_base_url=web_url,
            secret_key=secrets.token_urlsafe(48),
            oidc_issuer=provider.issuer,
            oidc_client_id=CLIENT_ID,
            oidc_client_secret=secret,
            oidc_groups=GROUPS,
        )
        with settings_in_force(settings):
            import_staff(STAFF, "csv", today=date.today())
            import_staff(STAFF.rsplit("L1", 1)[0], "csv", today=date.today())  # Lee left
            web = _start_web(settings, home)
            try:
                yield School(web_url, provider, settings, url, home)
            finally:
                os.killpg(web.pid, signal.SIGTERM)
                web.wait(timeout=20)
                engine_for(url).dispose()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Headless Debian Chromium that keeps a log of its requests (to find a callback's
    address), with a desk's screen."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        assert os.access(path, os.X_OK), f"{path} is missing: `make test` installs it"
    os.environ["SE_OFFLINE"] = "true"  # never let Selenium look for drivers on the network
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.add_argument("--window-size=1200,900")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
