"""Acting as people at the web front door: sign in (setting up the authenticator on a first
sign-in, as a person would with their phone) and read the forms' hidden values."""

from __future__ import annotations

import re
import ssl
import time
from typing import Any

import httpx
import pyotp

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
ENROL = re.compile(r'name="enrol" value="([^"]+)"')
SECRET = re.compile(r'id="totp-secret">([A-Z2-7]+)<')

#: How long a test waits for a page. The suite runs four workers on two cores, each with its own
#: servers, and recording a concern also asks Prefect to start its run: a page that takes longer
#: than httpx's 5 s default there is slow, not broken. What the app refuses still fails at once.
PATIENCE = httpx.Timeout(60.0, connect=10.0)

#: One TLS context for every request (all on http:// loopback): httpx builds a new one, reading
#: the whole CA bundle, for each bare call (a sixth of a flow test worker's CPU).
TLS = ssl.create_default_context()

#: The authenticator "on each person's phone": their TOTP secret once set up.
PHONES: dict[str, str] = {}
#: The last time step each person used a code for: the server takes each code once.
USED: dict[str, int] = {}


def get(url: str, **options: Any) -> httpx.Response:
    return httpx.get(url, timeout=PATIENCE, verify=TLS, **options)


def head(url: str, **options: Any) -> httpx.Response:
    return httpx.head(url, timeout=PATIENCE, verify=TLS, **options)


def post(url: str, **options: Any) -> httpx.Response:
    return httpx.post(url, timeout=PATIENCE, verify=TLS, **options)


def submit(url: str, **fields: str) -> httpx.Response:
    """Fill in the form a link opens, as a person would: open the page, then post the fields
    with the page's own CSRF token."""
    page = get(url)
    csrf = CSRF.search(page.text)
    assert csrf, page.text
    return post(url, data={"csrf": csrf.group(1), **fields})


def client(**options: Any) -> httpx.Client:
    """A browser-like session (cookies kept) that waits as long as `PATIENCE`."""
    return httpx.Client(timeout=PATIENCE, verify=TLS, **options)


def fresh_code(staff_id: str, secret: str) -> str:
    """A code the server has not seen from this person: this step's, or the next one's (the
    server allows 30 s of drift either way), waiting for a new step if both were used."""
    totp = pyotp.TOTP(secret)
    while True:
        now = time.time()
        for offset in (0, 1):
            step = int(totp.timecode(now + offset * totp.interval))
            if step > USED.get(staff_id, -1):
                USED[staff_id] = step
                return totp.at(now + offset * totp.interval)
        time.sleep(1)


def password_of(staff_id: str) -> str:
    return f"horse battery staple {len(staff_id)} {staff_id[::-1].upper()}"


def csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, html[:2000]
    return found.group(1)


def second_step(client: httpx.Client, staff_id: str) -> httpx.Response:
    """Give the TOTP code (setting up the authenticator the first time)."""
    page = client.get("/sign-in/code")
    form = {"csrf": csrf(page.text)}
    secret = SECRET.search(page.text)
    if secret:
        PHONES[staff_id] = secret.group(1)
        form["enrol"] = ENROL.search(page.text).group(1)  # type: ignore[union-attr]
    form["code"] = fresh_code(staff_id, PHONES[staff_id])
    return client.post("/sign-in/code", data=form)


def sign_in(web_url: str, staff_id: str, *, second_factor: bool = True) -> httpx.Client:
    """A client signed in as `staff_id`, past the second step when their role has one."""
    client = httpx.Client(base_url=web_url, follow_redirects=False, timeout=PATIENCE, verify=TLS)
    signed = client.post("/sign-in", data={"staff_id": staff_id, "password": password_of(staff_id)})
    assert signed.status_code == 303, signed.text[:1000]
    if signed.headers["location"] == "/sign-in/code" and second_factor:
        done = second_step(client, staff_id)
        assert done.status_code == 303 and done.headers["location"] == "/", done.text[:1000]
    return client
