"""The deadline rules, table by table: hours, calendar days and working days over weekends,
England and Wales bank holidays, the setting's term dates and closures, and clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from models.deadlines import (
    DEFAULT_RULES,
    ENGLAND,
    WRITTEN_CONFIRMATION,
    DateRange,
    DeadlineRule,
    Unit,
    Whose,
    WorkingCalendar,
    due_at,
    england_and_wales_bank_holidays,
    is_overdue,
    parse_rule,
    rules_with,
    wait_due,
)

case = pytest.param
BANK = england_and_wales_bank_holidays([2026, 2027])
#: An English school year: autumn term with a half-term week, then spring term from January.
TERMS = (
    DateRange(first=date(2026, 9, 3), last=date(2026, 10, 23)),
    DateRange(first=date(2026, 11, 2), last=date(2026, 12, 18)),
    DateRange(first=date(2027, 1, 5), last=date(2027, 2, 12)),
)
INSET = (DateRange(first=date(2026, 11, 2), last=date(2026, 11, 2)),)  # a training day
CALENDAR = WorkingCalendar(bank_holidays=BANK, terms=TERMS, closures=INSET)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ENGLAND)  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


HOURS_24 = DeadlineRule(amount=24, unit=Unit.HOURS)
DAY_1 = DeadlineRule(amount=1, unit=Unit.CALENDAR_DAYS)
WD_1 = DeadlineRule(amount=1, unit=Unit.WORKING_DAYS)
WD_5 = DeadlineRule(amount=5, unit=Unit.WORKING_DAYS)
SETTING_WD_1 = DeadlineRule(amount=1, unit=Unit.WORKING_DAYS, whose=Whose.SETTING)


@pytest.mark.parametrize(
    ("rule", "started", "due"),
    [
        # Hours are elapsed time: across the October clock change the wall clock shows 11:00.
        case(HOURS_24, local(2026, 11, 24, 9, 30), utc(2026, 11, 25, 9, 30), id="24h"),
        case(HOURS_24, local(2026, 10, 24, 12, 0), local(2026, 10, 25, 11, 0), id="24h-autumn"),
        case(HOURS_24, local(2026, 3, 28, 12, 0), local(2026, 3, 29, 13, 0), id="24h-spring"),
        case(
            DeadlineRule(amount=1.5, unit=Unit.HOURS),
            utc(2026, 11, 24, 9, 0),
            utc(2026, 11, 24, 10, 30),
            id="fractional-hours",
        ),
        # Calendar days keep the wall-clock time: 25 real hours in October, 23 in March.
        case(DAY_1, local(2026, 10, 24, 12, 0), local(2026, 10, 25, 12, 0), id="day-autumn"),
        case(DAY_1, local(2026, 10, 24, 12, 0), utc(2026, 10, 25, 12, 0), id="day-autumn-utc"),
        case(DAY_1, local(2026, 3, 28, 12, 0), utc(2026, 3, 29, 11, 0), id="day-spring-utc"),
        # Working days: by the end of the n-th working day after the day it started.
        case(WD_1, local(2026, 11, 23, 10, 0), local(2026, 11, 25, 0, 0), id="monday"),
        case(WD_1, local(2026, 11, 27, 15, 0), local(2026, 12, 1, 0, 0), id="friday"),
        case(WD_1, local(2026, 11, 28, 11, 0), local(2026, 12, 1, 0, 0), id="saturday"),
        case(WD_1, local(2026, 11, 23, 23, 59), local(2026, 11, 25, 0, 0), id="late-evening"),
        case(WD_1, local(2026, 12, 24, 10, 0), local(2026, 12, 30, 0, 0), id="christmas"),
        case(WD_1, local(2026, 4, 2, 16, 0), local(2026, 4, 8, 0, 0), id="easter"),
        case(WD_1, local(2026, 8, 28, 9, 0), local(2026, 9, 2, 0, 0), id="august-bank-holiday"),
        case(WD_5, local(2026, 12, 21, 9, 0), local(2026, 12, 31, 0, 0), id="5-over-christmas"),
        case(WD_1, local(2026, 10, 23, 14, 0), local(2026, 10, 27, 0, 0), id="public-half-term"),
        # The setting's own working days: not in the holidays, not on a closure day.
        case(SETTING_WD_1, local(2026, 10, 23, 14, 0), local(2026, 11, 4, 0, 0), id="half-term"),
        case(SETTING_WD_1, local(2026, 12, 18, 9, 0), local(2027, 1, 6, 0, 0), id="christmas-hol"),
        case(SETTING_WD_1, local(2026, 11, 24, 9, 0), local(2026, 11, 26, 0, 0), id="term-time"),
        # Across the clock change, the end of the day is midnight on English clocks.
        case(WD_1, local(2026, 10, 23, 9, 0), utc(2026, 10, 27, 0, 0), id="wd-after-autumn"),
        case(WD_1, local(2026, 3, 27, 9, 0), utc(2026, 3, 30, 23, 0), id="wd-after-spring"),
    ],
)
def test_due_at(rule: DeadlineRule, started: datetime, due: datetime) -> None:
    found = due_at(rule, started, CALENDAR)
    assert found.utcoffset() is not None and found.utcoffset().total_seconds() == 0
    assert found == due  # aware times in different zones compare as instants


def test_overdue_from_the_moment_it_is_due() -> None:
    due = utc(2026, 11, 25, 0, 0)
    assert not is_overdue(due, utc(2026, 11, 24, 23, 59, 59))
    assert is_overdue(due, due)


def test_a_start_without_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        due_at(HOURS_24, datetime(2026, 11, 24, 9, 0), CALENDAR)


def test_no_working_day_in_reach_is_an_error_not_a_hang() -> None:
    no_terms_ahead = WorkingCalendar(
        terms=(DateRange(first=date(2026, 1, 5), last=date(2026, 1, 9)),)
    )
    with pytest.raises(ValueError, match="check the terms"):
        due_at(SETTING_WD_1, local(2026, 11, 24, 9, 0), no_terms_ahead)


@pytest.mark.parametrize(
    ("day", "public", "setting"),
    [
        case(date(2026, 11, 24), True, True, id="tuesday-in-term"),
        case(date(2026, 11, 28), False, False, id="saturday"),
        case(date(2026, 12, 28), False, False, id="boxing-day-observed"),
        case(date(2026, 10, 27), True, False, id="half-term"),
        case(date(2026, 11, 2), True, False, id="inset-day"),
        case(date(2026, 8, 3), True, False, id="scottish-bank-holiday-not-ours"),
        case(date(2026, 8, 31), False, False, id="summer-bank-holiday"),
    ],
)
def test_working_days(day: date, public: bool, setting: bool) -> None:
    assert CALENDAR.is_working_day(day) is public
    assert CALENDAR.is_working_day(day, Whose.SETTING) is setting


def test_without_terms_the_setting_works_every_weekday_but_closures() -> None:
    open_all_year = WorkingCalendar(bank_holidays=BANK, closures=INSET)
    assert open_all_year.is_working_day(date(2026, 10, 27), Whose.SETTING)
    assert not open_all_year.is_working_day(date(2026, 11, 2), Whose.SETTING)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        case("24h", HOURS_24, id="24h"),
        case("24 hours", HOURS_24, id="24-hours"),
        case(" 1.5 HOURS ", DeadlineRule(amount=1.5, unit=Unit.HOURS), id="fractional"),
        case("1 working day", WD_1, id="1-wd"),
        case("5 working days", WD_5, id="5-wd"),
        case("1 working day (setting)", SETTING_WD_1, id="setting"),
        case("1 calendar day", DAY_1, id="1-day"),
        case("1 day", DAY_1, id="day"),
    ],
)
def test_rules_read_from_configuration(text: str, rule: DeadlineRule) -> None:
    assert parse_rule(text) == rule
    assert parse_rule(str(rule)) == rule  # what is shown can be written back


@pytest.mark.parametrize(
    "text", ["", "soon", "1.5 working days", "-1 hours", "0 hours", "1 fortnight", "24"]
)
def test_rules_that_are_not_deadlines_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rule(text)


def test_configured_rules_replace_the_defaults_and_unknown_kinds_are_refused() -> None:
    rules = rules_with({"confirm-receipt": "24 hours"})
    assert rules["confirm-receipt"] == HOURS_24
    assert rules["ratification"] == DEFAULT_RULES["ratification"]
    with pytest.raises(ValueError, match="no kind of wait is called reciept"):
        rules_with({"reciept": "24 hours"})


def test_a_range_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValidationError, match="before it starts"):
        DateRange(first=date(2026, 11, 2), last=date(2026, 11, 1))


def test_the_bank_holidays_are_those_of_england_and_wales() -> None:
    assert {date(2026, 4, 3), date(2026, 4, 6), date(2026, 8, 31), date(2026, 12, 28)} <= BANK
    assert date(2026, 8, 3) not in BANK  # Scotland's summer bank holiday
    assert date(2026, 11, 30) not in BANK  # St Andrew's Day, Scotland only


STEP_DUE = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SOONER, LATER = datetime(2026, 11, 26, 8, 5, tzinfo=UTC), datetime(2026, 11, 27, 8, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("step", "written_due", "expected"),
    [
        case("management-signoff", None, (STEP_DUE, "management-signoff"), id="no-phone-call"),
        case("management-signoff", SOONER, (SOONER, WRITTEN_CONFIRMATION), id="signoff-sooner"),
        case("parents", SOONER, (SOONER, WRITTEN_CONFIRMATION), id="parents-sooner"),
        case("mash-advice", SOONER, (SOONER, WRITTEN_CONFIRMATION), id="mash-sooner"),
        case("management-signoff", LATER, (STEP_DUE, "management-signoff"), id="own-rule-sooner"),
        # after the written confirmation has gone, the phone call no longer hurries anything
        case("confirm-receipt", SOONER, (STEP_DUE, "confirm-receipt"), id="receipt-after-it"),
        case("ratification", SOONER, (STEP_DUE, "ratification"), id="emergency-already-sent"),
    ],
)
def test_a_phone_referral_hurries_the_waits_before_its_written_confirmation(
    step: str, written_due: datetime | None, expected: tuple[datetime, str]
) -> None:
    assert wait_due(step, STEP_DUE, written_due) == expected


def test_written_confirmation_of_a_phone_referral_is_due_within_24_hours() -> None:
    rule = DEFAULT_RULES[WRITTEN_CONFIRMATION]
    called = datetime(2026, 3, 28, 16, 0, tzinfo=UTC)  # the clocks go forward that night
    assert due_at(rule, called, WorkingCalendar()) == datetime(2026, 3, 29, 16, 0, tzinfo=UTC)
    assert rules_with({WRITTEN_CONFIRMATION: "4 hours"})[WRITTEN_CONFIRMATION].amount == 4
