"""The sign-in rules: what a password must be, who gives a second factor, when a session ends,
when failures slow further attempts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.accounts import (
    needs_second_factor,
    password_problems,
    session_ended,
    sign_in_slowed,
)

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
IDLE, LONGEST = timedelta(minutes=30), timedelta(hours=12)


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short", "password-too-short"),
        ("x" * 201, "password-too-long"),
        ("dsl1-is-my-password", "password-guessable"),
        ("aaaaaaaaaaaaaaaa", "password-guessable"),
        ("correct horse battery staple", None),
    ],
)
def test_password_rules(password: str, code: str | None) -> None:
    assert [p.code for p in password_problems(password, "dsl1")] == ([code] if code else [])


@pytest.mark.parametrize(
    ("role", "needs"),
    [("staff", False), ("admin", False), ("dsl", True), ("deputy-dsl", True), ("slt", True)],
)
def test_those_who_see_case_content_give_a_second_factor(role: str, needs: bool) -> None:
    assert needs_second_factor(role) is needs


@pytest.mark.parametrize(
    ("seen", "now", "ended", "why"),
    [
        (T0, T0 + timedelta(minutes=29), None, None),
        (T0, T0 + timedelta(minutes=30), None, "idle"),
        (T0 + timedelta(hours=11, minutes=50), T0 + timedelta(hours=12), None, "too-old"),
        (T0, T0 + timedelta(minutes=1), T0, "signed-out"),
    ],
)
def test_when_a_session_ends(
    seen: datetime, now: datetime, ended: datetime | None, why: str | None
) -> None:
    found = session_ended(
        created_at=T0, seen_at=seen, ended_at=ended, now=now, idle=IDLE, longest=LONGEST
    )
    assert found == why


@pytest.mark.parametrize(
    ("for_id", "from_address", "slowed"), [(0, 0, False), (4, 4, False), (5, 0, True), (0, 5, True)]
)
def test_failures_slow_further_attempts(for_id: int, from_address: int, slowed: bool) -> None:
    assert sign_in_slowed(for_id, from_address, limit=5) is slowed
