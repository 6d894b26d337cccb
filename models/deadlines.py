"""Which rule decides when a waiting step is due (pure: the clock and the calendar are passed in).

Each kind of wait has a deadline rule, counted in hours (elapsed time, whatever the clocks do),
calendar days (the same wall-clock time in England, n days later) or working days (by the end of
the n-th working day after the day it started). Working days know weekends, the England and Wales
bank holidays and, for the setting's own people, its term dates and closures.
"""

from __future__ import annotations

import calendar as calendar_module
import functools
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Self
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from models.kernel.values import Frozen

#: Safeguarding deadlines are counted on English clocks and calendars.
ENGLAND = ZoneInfo("Europe/London")


class Unit(StrEnum):
    HOURS = "hours"
    CALENDAR_DAYS = "calendar-days"
    WORKING_DAYS = "working-days"
    SAME_DAY = "same-day"  # by the end of the day it started, on English clocks
    # by the end of the same date n months on (the last day of a shorter month): the UK GDPR's
    # "one month" for answering a request to see records
    CALENDAR_MONTHS = "calendar-months"
    # before the next school day starts: the setting's next working day, at the time its day
    # starts (a police domestic abuse notification, reviewed before the child is back in class)
    NEXT_SCHOOL_DAY = "next-school-day"


class Whose(StrEnum):
    """Whose working days count: the setting's (term time, less closures) or anyone's."""

    SETTING = "setting"
    PUBLIC = "public"


class DeadlineRule(Frozen):
    amount: float = Field(gt=0)
    unit: Unit
    whose: Whose = Whose.PUBLIC

    @model_validator(mode="after")
    def _whole_days(self) -> Self:
        if self.unit is not Unit.HOURS and self.amount != int(self.amount):
            raise ValueError(f"{self.unit} are counted whole: {self.amount} is not")
        return self

    def __str__(self) -> str:
        amount = f"{self.amount:g}"
        if self.unit is Unit.HOURS:
            return f"{amount} hours"
        if self.unit is Unit.SAME_DAY:
            return "same day"
        if self.unit is Unit.NEXT_SCHOOL_DAY:
            return "before the next school day"
        if self.unit is Unit.CALENDAR_MONTHS:
            return f"{amount} calendar month{'s' if self.amount != 1 else ''}"
        kind = "calendar" if self.unit is Unit.CALENDAR_DAYS else "working"
        who = " (setting)" if self.whose is Whose.SETTING else ""
        return f"{amount} {kind} day{'s' if self.amount != 1 else ''}{who}"


_RULE = re.compile(
    r"^\s*(?P<amount>\d+(?:\.\d+)?)\s*"
    r"(?P<unit>h|hours?|calendar\s+days?|days?|working\s+days?|(?:calendar\s+)?months?)"
    r"(?:\s*\((?P<whose>setting|public)\))?\s*$",
    re.IGNORECASE,
)


def parse_rule(text: str) -> DeadlineRule:
    """A rule from configuration: `24h`, `24 hours`, `2 calendar days`, `1 working day`,
    `5 working days (setting)`, `same day`. ValueError, saying what is accepted, for anything
    else."""
    if re.fullmatch(r"\s*same[\s-]+day\s*", text, re.IGNORECASE):
        return DeadlineRule(amount=1, unit=Unit.SAME_DAY)
    if re.fullmatch(r"\s*(before\s+(the\s+)?)?next[\s-]+school[\s-]+day\s*", text, re.I):
        return DeadlineRule(amount=1, unit=Unit.NEXT_SCHOOL_DAY, whose=Whose.SETTING)
    found = _RULE.match(text)
    if found is None:
        raise ValueError(
            f"'{text}' is not a deadline: write for example '24 hours', '2 calendar days' or "
            "'1 working day' or 'same day' (add '(setting)' to count the setting's term-time "
            "working days)"
        )
    unit_text = found["unit"].lower()
    if unit_text.startswith("h"):
        unit = Unit.HOURS
    elif unit_text.startswith("working"):
        unit = Unit.WORKING_DAYS
    elif "month" in unit_text:
        unit = Unit.CALENDAR_MONTHS
    else:
        unit = Unit.CALENDAR_DAYS
    whose = Whose((found["whose"] or "public").lower())
    return DeadlineRule(amount=float(found["amount"]), unit=unit, whose=whose)


class DateRange(Frozen):
    """Whole days from `first` to `last`, both included."""

    first: date
    last: date

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.last < self.first:
            raise ValueError(f"a range cannot end ({self.last}) before it starts ({self.first})")
        return self

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first <= day <= self.last


class WorkingCalendar(Frozen):
    """The days people are at work: never weekends or bank holidays; for the setting's own
    people, only in term (when terms are given) and never on a closure day."""

    bank_holidays: frozenset[date] = frozenset()
    terms: tuple[DateRange, ...] = ()
    closures: tuple[DateRange, ...] = ()

    def is_working_day(self, day: date, whose: Whose = Whose.PUBLIC) -> bool:
        if day.weekday() >= 5 or day in self.bank_holidays:
            return False
        if whose is Whose.SETTING:
            if self.terms and not any(day in term for term in self.terms):
                return False
            if any(day in closure for closure in self.closures):
                return False
        return True


def due_at(
    rule: DeadlineRule,
    started: datetime,
    calendar: WorkingCalendar,
    *,
    zone: ZoneInfo = ENGLAND,
    max_days: int = 800,
    day_starts: time = time(8, 30),
) -> datetime:
    """When a wait that started at `started` (aware) is due under `rule`, in UTC.

    (Arithmetic on an aware time in a zone is wall-clock arithmetic in Python: hours are added
    in UTC, days on English wall clocks, on purpose.)"""
    if started.tzinfo is None or started.utcoffset() is None:
        raise ValueError("give the start with its UTC offset")
    if rule.unit is Unit.HOURS:
        return started.astimezone(UTC) + timedelta(hours=rule.amount)
    local = started.astimezone(zone)
    if rule.unit is Unit.SAME_DAY:
        end = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
        return end.astimezone(UTC)
    if rule.unit is Unit.NEXT_SCHOOL_DAY:
        day = local.date()
        if not (calendar.is_working_day(day, rule.whose) and local.time() < day_starts):
            for _ in range(max_days):
                day += timedelta(days=1)
                if calendar.is_working_day(day, rule.whose):
                    break
            else:
                raise ValueError(f"no school day within {max_days} days: check the terms")
        return datetime.combine(day, day_starts, tzinfo=zone).astimezone(UTC)
    if rule.unit is Unit.CALENDAR_MONTHS:
        months = local.year * 12 + local.month - 1 + int(rule.amount)
        year, month = divmod(months, 12)
        last = calendar_module.monthrange(year, month + 1)[1]
        day = date(year, month + 1, min(local.day, last))
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        return end.astimezone(UTC)
    if rule.unit is Unit.CALENDAR_DAYS:
        day = local.date() + timedelta(days=int(rule.amount))
        wall = datetime.combine(day, local.time().replace(tzinfo=None), tzinfo=zone)
        return wall.astimezone(UTC)
    day, counted = local.date(), 0
    for _ in range(max_days):
        day += timedelta(days=1)
        if calendar.is_working_day(day, rule.whose):
            counted += 1
            if counted == int(rule.amount):
                # by the end of that working day: midnight, local time, as it starts the next
                end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
                return end.astimezone(UTC)
    raise ValueError(f"no {rule} within {max_days} days of {started:%Y-%m-%d}: check the terms")


def is_overdue(due: datetime, now: datetime) -> bool:
    return now >= due


def england_and_wales_bank_holidays(years: Iterable[int]) -> frozenset[date]:
    """The bank holidays of England and Wales (a maintained calendar: the holidays package)."""
    return _bank_holidays(tuple(sorted(set(years))))


@functools.cache
def _bank_holidays(years: tuple[int, ...]) -> frozenset[date]:
    """Worked out once per process and span of years (the serving process's forkserver works
    out this year's before it forks any run: deployments/warm.py)."""
    import holidays

    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=list(years)).keys())


WRITTEN_CONFIRMATION = "written-confirmation"

#: Defaults from DOMAIN.md; every one can be changed in configuration.
DEFAULT_RULES: Mapping[str, DeadlineRule] = {
    "assess-criteria": DeadlineRule(amount=24, unit=Unit.HOURS),
    "mash-advice": DeadlineRule(amount=1, unit=Unit.WORKING_DAYS),
    "management-signoff": DeadlineRule(amount=24, unit=Unit.HOURS),
    "ratification": DeadlineRule(amount=24, unit=Unit.HOURS),
    "parents": DeadlineRule(amount=1, unit=Unit.WORKING_DAYS, whose=Whose.SETTING),
    # the agency acknowledges a referral within 1 working day
    "confirm-receipt": DeadlineRule(amount=1, unit=Unit.WORKING_DAYS),
    # a referral made by phone is confirmed in writing (the agency's notification) within 24 h
    # of the call: not a wait of its own, but a deadline on every wait before that notification
    WRITTEN_CONFIRMATION: DeadlineRule(amount=24, unit=Unit.HOURS),
    # children's social care hears of a Child Protection Plan event, and confirms, the same day
    "plan-event-receipt": DeadlineRule(amount=1, unit=Unit.SAME_DAY),
    # a request to see child protection records is answered within one month of receipt
    "access-request": DeadlineRule(amount=1, unit=Unit.CALENDAR_MONTHS),
    # a police domestic abuse notification is reviewed before the next school day starts;
    # other notices within a working day
    "notice-review-police": DeadlineRule(amount=1, unit=Unit.NEXT_SCHOOL_DAY, whose=Whose.SETTING),
    "notice-review": DeadlineRule(amount=1, unit=Unit.WORKING_DAYS, whose=Whose.SETTING),
    # the DSL looks at a leaver's file (and considers sharing ahead of the move) within a day
    "transfer-review": DeadlineRule(amount=1, unit=Unit.WORKING_DAYS, whose=Whose.SETTING),
    # the file is received within 5 days of an in-year move, or of the new term's first day
    "transfer-receipt": DeadlineRule(amount=5, unit=Unit.WORKING_DAYS),
}

#: The waits a case can stand in between a phone referral and its written confirmation.
BEFORE_WRITTEN_CONFIRMATION = frozenset({"mash-advice", "management-signoff", "parents"})


def wait_due(
    step: str, step_due: datetime, written_due: datetime | None, rule: str | None = None
) -> tuple[datetime, str]:
    """When a wait is due and which deadline decides it: its own rule (the step's, unless the
    wait names another), or, while a phone referral awaits its written confirmation, that
    confirmation's deadline if it is sooner."""
    if written_due is not None and step in BEFORE_WRITTEN_CONFIRMATION and written_due < step_due:
        return written_due, WRITTEN_CONFIRMATION
    return step_due, rule or step


def rules_with(overrides: Mapping[str, str]) -> dict[str, DeadlineRule]:
    """The default rules with configured ones in their place; unknown kinds are refused."""
    unknown = sorted(set(overrides) - set(DEFAULT_RULES))
    if unknown:
        raise ValueError(
            f"no kind of wait is called {', '.join(unknown)}; "
            f"known: {', '.join(sorted(DEFAULT_RULES))}"
        )
    return dict(DEFAULT_RULES) | {kind: parse_rule(text) for kind, text in overrides.items()}


class CalendarFile(Frozen):
    """The setting's own calendar, as kept in its YAML file: term dates and closure days."""

    terms: tuple[DateRange, ...] = ()
    closures: tuple[DateRange, ...] = ()


def working_calendar(
    setting: CalendarFile, around: date, bank_holidays: frozenset[date] | None = None
) -> WorkingCalendar:
    """The calendar deadlines are counted on, for waits that start near `around`."""
    years = range(around.year - 1, around.year + 3)
    return WorkingCalendar(
        bank_holidays=(
            bank_holidays if bank_holidays is not None else england_and_wales_bank_holidays(years)
        ),
        terms=setting.terms,
        closures=setting.closures,
    )
