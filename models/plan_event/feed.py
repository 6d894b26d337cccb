"""How a feed of Child Protection Plan events is read: a CSV or JSON export from a school
information system. A feed is read whole before anything is written: every malformed row is
reported with its line number, and a feed with any is refused entirely.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from models.plan_event.policy import PlanEventFacts, parse_kind, parse_occurred

#: A feed larger than this is refused before it is read (an export, not a database dump).
MAX_FEED_ROWS = 10_000


#: The feed's columns (or JSON keys), and the other names an export may give them.
COLUMNS: Mapping[str, tuple[str, ...]] = {
    "child_ref": ("child_ref", "child", "pupil_ref", "pupil"),
    "kind": ("kind", "event", "event_type", "type"),
    "occurred_at": ("occurred_at", "when", "date", "datetime"),
    "details": ("details", "notes", "description", "comment"),
}
REQUIRED = ("child_ref", "kind", "occurred_at")


class FeedError(ValueError):
    """A feed that cannot be read at all (not a row's problem): its line, and why."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class FeedRow:
    line: int  # where the row starts in the file, counting from 1
    fields: dict[str, str | None]


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def read_feed(text: str, fmt: str) -> list[FeedRow]:
    """The rows of a CSV or JSON feed (a JSON array of objects, or one object per line), each
    with the line it starts on. FeedError when the file as a whole cannot be read."""
    if fmt == "csv":
        rows = list(_csv_rows(text))
    elif fmt == "json":
        rows = list(_json_rows(text))
    else:
        raise FeedError(None, f"'{fmt}' is not a feed format: use csv or json")
    if not rows:
        raise FeedError(None, "the feed holds no events")
    if len(rows) > MAX_FEED_ROWS:
        raise FeedError(None, f"the feed holds {len(rows)} events; split it below {MAX_FEED_ROWS}")
    return rows


def _canonical(name: str) -> str | None:
    key = re.sub(r"[\s-]+", "_", name.strip().lower())
    for column, names in COLUMNS.items():
        if key in names:
            return column
    return None


def _csv_rows(text: str) -> Iterator[FeedRow]:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            return
        columns = [_canonical(name) for name in header]
        unknown = [name for name, column in zip(header, columns, strict=True) if column is None]
        if unknown:
            raise FeedError(1, f"unknown column(s) {', '.join(unknown)}; {_columns_help()}")
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            raise FeedError(1, f"missing column(s) {', '.join(missing)}; {_columns_help()}")
        if len(set(columns)) != len(columns):
            raise FeedError(1, "a column is named twice")
        while True:
            line = reader.line_num + 1
            values = next(reader, None)
            if values is None:
                return
            if not any(v.strip() for v in values):
                continue  # a blank line
            if len(values) != len(columns):
                yield FeedRow(line, {"__width__": f"{len(values)} of {len(columns)}"})
                continue
            yield FeedRow(
                line,
                {c: (v.strip() or None) for c, v in zip(columns, values, strict=True) if c},
            )
    except csv.Error as exc:
        raise FeedError(reader.line_num, f"not readable as CSV ({exc})") from None


def _json_rows(text: str) -> Iterator[FeedRow]:
    body = text.lstrip("\ufeff")
    decoder = json.JSONDecoder()
    start = len(body) - len(body.lstrip())
    if body[start : start + 1] == "[":
        items = _array_items(body, start, decoder)
    else:
        items = _lines_items(body, decoder)
    for line, item in items:
        if not isinstance(item, dict):
            yield FeedRow(line, {"__shape__": type(item).__name__})
            continue
        fields: dict[str, str | None] = {}
        for name, value in item.items():
            column = _canonical(str(name))
            if column is None:
                fields["__unknown__"] = str(name)
                break
            fields[column] = None if value is None else str(value).strip() or None
        yield FeedRow(line, fields)


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _array_items(text: str, start: int, decoder: json.JSONDecoder) -> Iterator[tuple[int, Any]]:
    pos = start + 1
    expect_item = True
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            raise FeedError(_line_of(text, pos), "the JSON array is not closed")
        if text[pos] == "]":
            rest = text[pos + 1 :].strip()
            if rest:
                raise FeedError(_line_of(text, pos + 1), "text after the JSON array")
            return
        if not expect_item:
            if text[pos] != ",":
                raise FeedError(_line_of(text, pos), "expected ',' or ']' in the JSON array")
            pos += 1
            expect_item = True
            continue
        try:
            item, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise FeedError(exc.lineno, f"not readable as JSON ({exc.msg})") from None
        yield _line_of(text, pos), item
        pos, expect_item = end, False


def _lines_items(text: str, decoder: json.JSONDecoder) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item, end = decoder.raw_decode(line.strip())
        except json.JSONDecodeError as exc:
            raise FeedError(number, f"not readable as JSON ({exc.msg})") from None
        if line.strip()[end:].strip():
            raise FeedError(number, "more than one JSON value on the line")
        yield number, item


def _columns_help() -> str:
    return "the columns are " + ", ".join(names[0] for names in COLUMNS.values())


def row_facts(row: FeedRow, recorded_by: str) -> PlanEventFacts | RowProblem:
    """The event a row holds, or what is wrong with it."""
    fields = row.fields
    if "__width__" in fields:
        return RowProblem(row.line, f"the row has {fields['__width__']} values")
    if "__shape__" in fields:
        return RowProblem(row.line, f"an event is an object, not a {fields['__shape__']}")
    if "__unknown__" in fields:
        return RowProblem(row.line, f"unknown field '{fields['__unknown__']}'; {_columns_help()}")
    missing = [c for c in REQUIRED if not fields.get(c)]
    if missing:
        return RowProblem(row.line, f"no {', '.join(missing)}")
    try:
        kind = parse_kind(str(fields["kind"]))
        occurred = parse_occurred(str(fields["occurred_at"]))
        return PlanEventFacts(
            child_ref=str(fields["child_ref"]),
            kind=kind,
            occurred_at=occurred,
            details=fields.get("details"),
            recorded_by=recorded_by,
        )
    except ValidationError as exc:
        where = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        return RowProblem(row.line, f"{where} is not valid")
    except ValueError as exc:
        return RowProblem(row.line, str(exc))
