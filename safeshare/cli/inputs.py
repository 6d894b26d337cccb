"""What a command is given, read as the domain takes it: a record's fields, a time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from safeshare.cli.output import UserError

# the forms are imported only to word a refusal: they load Prefect

M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], **fields: Any) -> M:
    """The record as the domain accepts it, or one sentence naming what is wrong (never
    repeating what was typed)."""
    try:
        return model(**fields)
    except ValidationError as exc:
        from models.forms.base import problems_from_validation

        raise UserError("; ".join(p.message for p in problems_from_validation(exc))) from None


def parse_when(when: str | None, option: str = "--when") -> datetime:
    if when is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(when)
    except ValueError:
        raise UserError(f"{option} '{when}' is not an ISO-8601 date and time.") from None
    if value.tzinfo is None:
        raise UserError(f"{option} '{when}' needs a UTC offset, for example {when}+00:00.")
    return value
