"""When waits are due in this setting: the deadline rules its settings give, and its working
calendar (bank holidays, and its own terms and closures from the calendar file)."""

from __future__ import annotations

from datetime import date

from foundations.settings import Settings
from models.deadlines import (
    CalendarFile,
    DeadlineRule,
    WorkingCalendar,
    rules_with,
    working_calendar,
)


class CalendarFileError(RuntimeError):
    """The setting's calendar file cannot be read; the message says what to fix."""


def deadline_rules(settings: Settings) -> dict[str, DeadlineRule]:
    return rules_with(settings.deadlines)


def setting_calendar(settings: Settings, around: date) -> WorkingCalendar:
    """The working calendar: bank holidays, and the setting's terms and closures if given."""
    import yaml
    from pydantic import ValidationError

    if settings.calendar_file is None:
        return working_calendar(CalendarFile(), around)
    path = settings.calendar_file
    try:
        raw = yaml.safe_load(path.read_text()) or {}
        return working_calendar(CalendarFile.model_validate(raw), around)
    except OSError as exc:
        raise CalendarFileError(f"cannot read the calendar file {path}: {exc.strerror}") from None
    except (yaml.YAMLError, ValidationError) as exc:
        first = str(exc).splitlines()[0]
        raise CalendarFileError(f"the calendar file {path} is not valid: {first}") from None
