"""Where the web app may listen and what address its links carry (models/web_address.py): links
hold tokens that act for a person, so beyond this machine they travel over TLS."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from foundations.settings import Settings
from models.web_address import is_loopback, onward_path, web_address_problem


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_addresses(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.5", "school.example", "::"])
def test_addresses_beyond_this_machine(host: str) -> None:
    assert not is_loopback(host)


@pytest.mark.parametrize(
    ("base_url", "host"),
    [
        (None, "127.0.0.1"),
        ("http://127.0.0.1:8400", "127.0.0.1"),
        ("http://localhost:8400", "127.0.0.1"),
        ("https://safeshare.school.example", "127.0.0.1"),  # a proxy on this machine
        ("https://safeshare.school.example", "0.0.0.0"),
    ],
)
def test_links_over_tls_or_on_this_machine_are_taken(base_url: str | None, host: str) -> None:
    assert web_address_problem(base_url, host) is None


@pytest.mark.parametrize(
    ("base_url", "host", "words"),
    [
        (None, "0.0.0.0", "set SAFESHARE_WEB_BASE_URL to the https address"),
        ("http://safeshare.school.example", "127.0.0.1", "must be https"),
        ("http://10.0.0.5:8400", "0.0.0.0", "must be https"),
        ("safeshare.school.example", "127.0.0.1", "is not an http(s) address"),
        ("ftp://safeshare.school.example", "127.0.0.1", "is not an http(s) address"),
    ],
)
def test_links_in_clear_beyond_this_machine_are_refused(
    base_url: str | None, host: str, words: str
) -> None:
    problem = web_address_problem(base_url, host)
    assert problem is not None and words in problem


def test_settings_refuse_them_by_the_same_rule(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="must be https"):
        Settings(home=tmp_path, web_base_url="http://safeshare.school.example")
    with pytest.raises(ValidationError, match="listens on 0.0.0.0"):
        Settings(home=tmp_path, web_host="0.0.0.0")
    fine = Settings(home=tmp_path, web_host="0.0.0.0", web_base_url="https://s.school.example")
    assert fine.web_url == "https://s.school.example"


@pytest.mark.parametrize(
    ("given", "onward"),
    [
        ("/cases/7", "/cases/7"),
        ("/concern?x=1", "/concern?x=1"),
        ("//evil.example/x", "/"),
        ("/\\evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("cases", "/"),
        ("/a b", "/"),
        ("/x\r\nSet-Cookie: a=b", "/"),
        ("/" + "a" * 1000, "/"),
        (None, "/"),
    ],
)
def test_only_a_path_on_this_site_is_gone_on_to_after_signing_in(
    given: object, onward: str
) -> None:
    """The password door and the school account's door keep the same rule: `/\\host` is
    another site to a browser, as `//host` is."""
    assert onward_path(given) == onward
