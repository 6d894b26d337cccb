"""Retention rules, as tables: date of birth plus 25 years, then review; a decision to keep
holds them a year; records linked to sexual abuse are never destroyed."""

from __future__ import annotations

from datetime import date

import pytest

from models.retention import (
    ChildFile,
    add_years,
    destruction_problem,
    hold,
    is_due,
    review_date,
)


def file(dob: date, *categories: str, cases: int = 1, kept: date | None = None) -> ChildFile:
    return ChildFile(
        child_ref="C-1",
        date_of_birth=dob,
        categories=frozenset(categories or {"physical"}),
        cases=cases,
        kept_until=kept,
    )


@pytest.mark.parametrize(
    ("day", "years", "expected"),
    [
        (date(2000, 5, 1), 25, date(2025, 5, 1)),
        (date(2000, 2, 29), 25, date(2025, 2, 28)),
        (date(2000, 2, 29), 28, date(2028, 2, 29)),
    ],
)
def test_add_years(day: date, years: int, expected: date) -> None:
    assert add_years(day, years) == expected


@pytest.mark.parametrize(
    ("record", "today", "due"),
    [
        (file(date(2001, 11, 25)), date(2026, 11, 24), False),
        (file(date(2001, 11, 25)), date(2026, 11, 25), True),
        (file(date(1990, 1, 1), cases=0), date(2026, 11, 25), False),  # nothing kept
        (file(date(1990, 1, 1), kept=date(2027, 1, 1)), date(2026, 11, 25), False),
        (file(date(1990, 1, 1), kept=date(2026, 1, 1)), date(2026, 11, 25), True),
    ],
)
def test_when_records_come_up_for_review(record: ChildFile, today: date, due: bool) -> None:
    assert is_due(record, today) is due
    if record.kept_until:
        assert review_date(record) >= record.kept_until


@pytest.mark.parametrize(
    ("record", "code"),
    [
        (file(date(1990, 1, 1)), None),
        (file(date(1990, 1, 1), "physical", "sexual"), "retention-hold"),
        (file(date(2016, 1, 1), "sexual"), "retention-hold"),  # held beats not due
        (file(date(2016, 1, 1)), "not-due"),
    ],
)
def test_what_may_be_destroyed(record: ChildFile, code: str | None) -> None:
    problem = destruction_problem(record, date(2026, 11, 25))
    assert (problem.code if problem else None) == code
    assert (hold(record) is not None) is (code == "retention-hold")
