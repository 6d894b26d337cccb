"""Slowing down repeated link failures, on both case databases, with the default limit: failures
that suggest guessing (forged, altered, expired links) count; losing a race to a link someone
else has just used (409) never does, so twenty simultaneous clicks are nineteen 409s, not 429s."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from harness.databases import DATA_KEYS, migrated_database

from foundations.db import session_scope
from foundations.settings import Settings, get_settings, settings_in_force
from models.tables.base import utcnow
from tasks.links import is_throttled, record_attempt

TOKEN, OTHER = "token-of-a-used-link", "token-of-another-link"


@pytest.fixture(params=("sqlite", "postgresql"))
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with (
        migrated_database(request.param, tmp_path) as url,
        settings_in_force(Settings(home=tmp_path, database_url=url, data_keys=DATA_KEYS)),
    ):
        yield url


def throttled_now(token: str, address: str) -> bool:
    with session_scope() as session:
        return is_throttled(session, token, address, now=utcnow())


def test_the_default_limit_is_what_the_tests_rely_on(database: str) -> None:
    assert get_settings().link_failure_limit == Settings.model_fields["link_failure_limit"].default
    assert get_settings().link_failure_limit <= 19  # else the race below proves nothing


def test_losing_a_race_is_never_slowed_down(database: str) -> None:
    for _ in range(19):  # the losers of twenty simultaneous POSTs of one link
        record_attempt(TOKEN, None, "127.0.0.1", "POST", "used", 409)
    record_attempt(TOKEN, None, "127.0.0.1", "POST", "answered", 409)
    assert not throttled_now(TOKEN, "127.0.0.1")
    assert not throttled_now(OTHER, "127.0.0.1")


@pytest.mark.parametrize(("outcome", "status"), [("forged", 403), ("expired", 410)])
def test_guessing_is_slowed_down_by_token_and_by_address(
    database: str, outcome: str, status: int
) -> None:
    limit = get_settings().link_failure_limit
    for _ in range(limit - 1):
        record_attempt(TOKEN, None, "10.0.0.9", "GET", outcome, status)
    assert not throttled_now(TOKEN, "127.0.0.1") and not throttled_now(OTHER, "10.0.0.9")
    record_attempt(TOKEN, None, "10.0.0.9", "GET", outcome, status)
    assert throttled_now(TOKEN, "127.0.0.1")  # that token, from anywhere
    assert throttled_now(OTHER, "10.0.0.9")  # that address, whatever token it tries
    assert not throttled_now(OTHER, "127.0.0.1")


def test_an_answer_refused_again_and_again_on_one_link_is_slowed_down(database: str) -> None:
    limit = get_settings().link_failure_limit
    for _ in range(limit):
        record_attempt(TOKEN, None, "127.0.0.1", "POST", "invalid", 422)
    assert throttled_now(TOKEN, "127.0.0.1")
    assert not throttled_now(OTHER, "127.0.0.1")  # a form's mistakes do not mark an address
