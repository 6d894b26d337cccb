"""Deadlines and the setting's calendar come from configuration, and bad configuration is
refused with a sentence that says what to fix."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from foundations.deadline_settings import CalendarFileError, deadline_rules, setting_calendar
from foundations.settings import Settings
from models.deadlines import DEFAULT_RULES, Unit, Whose


def test_configured_rules_replace_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFESHARE_DEADLINES", '{"parents": "2 working days (setting)"}')
    rules = deadline_rules(Settings(home=tmp_path))
    assert (rules["parents"].amount, rules["parents"].unit) == (2, Unit.WORKING_DAYS)
    assert rules["parents"].whose is Whose.SETTING
    assert rules["confirm-receipt"] == DEFAULT_RULES["confirm-receipt"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"reciept": "24 hours"}', "no kind of wait is called reciept"),
        ('{"parents": "soon"}', "'soon' is not a deadline"),
    ],
)
def test_bad_rules_are_refused_when_settings_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("SAFESHARE_DEADLINES", value)
    with pytest.raises(ValidationError, match=message):
        Settings(home=tmp_path)


def test_the_settings_calendar_file_gives_terms_and_closures(tmp_path: Path) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text(
        "terms:\n"
        "  - {first: 2026-09-03, last: 2026-10-23}\n"
        "  - {first: 2026-11-02, last: 2026-12-18}\n"
        "closures:\n"
        "  - {first: 2026-11-02, last: 2026-11-02}\n"
    )
    calendar = setting_calendar(Settings(home=tmp_path, calendar_file=path), date(2026, 11, 25))
    assert calendar.is_working_day(date(2026, 10, 27))  # anyone's working day
    assert not calendar.is_working_day(date(2026, 10, 27), Whose.SETTING)  # half-term
    assert not calendar.is_working_day(date(2026, 11, 2), Whose.SETTING)  # closed
    assert not calendar.is_working_day(date(2026, 12, 28))  # bank holiday, from the package


def test_without_a_calendar_file_bank_holidays_still_count(tmp_path: Path) -> None:
    calendar = setting_calendar(Settings(home=tmp_path), datetime.now(UTC).date())
    assert calendar.bank_holidays and not calendar.terms


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("terms: [", "is not valid"),
        ("terms:\n  - {first: 2026-10-23, last: 2026-09-03}\n", "is not valid"),
        ("holidays:\n  - {first: 2026-10-23, last: 2026-10-30}\n", "is not valid"),
    ],
)
def test_a_bad_calendar_file_is_refused_clearly(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text(text)
    with pytest.raises(CalendarFileError, match=message):
        setting_calendar(Settings(home=tmp_path, calendar_file=path), date(2026, 11, 25))


def test_a_missing_calendar_file_is_refused_clearly(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, calendar_file=tmp_path / "nope.yaml")
    with pytest.raises(CalendarFileError, match="cannot read the calendar file"):
        setting_calendar(settings, date(2026, 11, 25))
