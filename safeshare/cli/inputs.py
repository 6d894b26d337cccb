"""What a command is given, read as the domain takes it: a record's fields, a time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
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


def read_export_file(file: Path, file_format: str | None, most_bytes: int) -> tuple[str, str]:
    """The text of an export a school information system gave (UTF-8, with or without a byte
    order mark, or the Windows-1252 older exports are written in) and its format (csv or json,
    from --format or the file's name); one sentence when it cannot be read."""
    from models.kernel.exports import FeedError, decode_export, export_format

    fmt = export_format(file_format or file.suffix)
    if fmt is None:
        raise UserError(
            f"cannot tell the format of '{file.name}': give --format csv or --format json."
        )
    try:
        if file.stat().st_size > most_bytes:
            raise UserError(f"'{file}' is over {most_bytes // 1_000_000} MB: split the export.")
        raw = file.read_bytes()
    except FileNotFoundError:
        raise UserError(f"no file '{file}'.") from None
    except OSError as exc:
        raise UserError(f"cannot read '{file}' ({exc.strerror}).") from None
    try:
        return decode_export(raw), fmt
    except FeedError as exc:
        raise UserError(f"'{file}' {exc.message}.") from None
