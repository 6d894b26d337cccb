"""How an export from a school information system is read, whatever it holds (plan events,
pupils, staff): CSV (comma, semicolon or tab separated, with or without a byte order mark, quoted
values over several lines) or JSON (an array of objects, or one object per line). Columns are
known by their canonical name or any of the names exports give them. An export is read whole
before anything is written: a file that cannot be read at all is a FeedError with its line, and
each row keeps the line it starts on, so that every problem can be reported with it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

#: The separators a CSV export may use (a spreadsheet set to a European locale writes ';').
SEPARATORS = ",;\t"
#: The format each file ending (or --format) names.
FORMATS = {"csv": "csv", "json": "json", "jsonl": "json", "ndjson": "json"}
#: What older exports are written in when they are not UTF-8: accents and curly apostrophes.
ENCODINGS = ("utf-8-sig", "cp1252")


class FeedError(ValueError):
    """An export that cannot be read at all (not a row's problem): its line, and why."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class FeedRow:
    line: int  # where the row starts in the file, counting from 1
    fields: dict[str, Any]  # canonical column -> text (None when empty), or a JSON list


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str

    def __str__(self) -> str:  # line 0: the file as a whole
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass(frozen=True)
class Columns:
    """What an export holds: each canonical column with the names exports give it, those a
    row cannot go without, and whether a column of no known name refuses the file (a feed we
    define) or is left aside (a system's export, which carries many columns we do not use).
    `pattern` names columns that come numbered (a pupil's contacts: `contact_2_email`), and
    `nested` the JSON keys that hold a list of objects instead (`contacts`)."""

    names: Mapping[str, tuple[str, ...]]
    required: tuple[str, ...]
    what: str  # "events", "pupils": said when the export holds none, or too many
    strict: bool = True
    pattern: Callable[[str], str | None] | None = None
    nested: tuple[str, ...] = ()
    most: int = 10_000
    _lookup: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lookup = {alias: column for column, aliases in self.names.items() for alias in aliases}
        object.__setattr__(self, "_lookup", lookup)

    def canonical(self, name: str) -> str | None:
        """The column an export's column name means, or None."""
        key = normal_name(name)
        found = self._lookup.get(key)
        if found is None and self.pattern is not None:
            found = self.pattern(key)
        return found

    def help(self) -> str:
        return "the columns are " + ", ".join(names[0] for names in self.names.values())


def export_format(name: str) -> str | None:
    """csv or json, as a file's ending (`.jsonl`) or a format's name (`json`) says; None for
    any other."""
    return FORMATS.get(name.lower().lstrip("."))


def decode_export(raw: bytes) -> str:
    """An export's text: UTF-8 (with or without a byte order mark) or Windows-1252; FeedError
    for a file that is not text (an .xlsx, a UTF-16 export: NUL bytes) or in neither."""
    if b"\x00" in raw:
        raise FeedError(None, "is not a text file: save the export as CSV (UTF-8)")
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FeedError(None, "is neither UTF-8 nor Windows-1252 text")


def normal_name(name: str) -> str:
    """A column's name as compared: lower case, words joined by '_', no other punctuation."""
    words = re.sub(r"[^0-9a-z]+", " ", name.strip().lower()).split()
    return "_".join(words)


def read_export(text: str, fmt: str, columns: Columns) -> tuple[list[FeedRow], list[str]]:
    """The rows of a CSV or JSON export, each with the line it starts on, and the names of the
    columns left aside (none when `columns.strict`). FeedError when the file as a whole cannot
    be read."""
    ignored: list[str] = []
    if fmt == "csv":
        rows = list(_csv_rows(text, columns, ignored))
    elif fmt == "json":
        rows = list(_json_rows(text, columns, ignored))
    else:
        raise FeedError(None, f"'{fmt}' is not an export format: use csv or json")
    if not rows:
        raise FeedError(None, f"the file holds no {columns.what}")
    if len(rows) > columns.most:
        raise FeedError(
            None, f"the file holds {len(rows)} {columns.what}; split it below {columns.most}"
        )
    return rows, sorted(set(ignored))


def _separator(text: str) -> str:
    """The separator of a CSV file: the one of SEPARATORS its header line holds most of."""
    header = text.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _csv_rows(text: str, columns: Columns, ignored: list[str]) -> Iterator[FeedRow]:
    body = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=_separator(body), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            return
        names = [columns.canonical(name) for name in header]
        unknown = [name for name, column in zip(header, names, strict=True) if column is None]
        if unknown and columns.strict:
            raise FeedError(1, f"unknown column(s) {', '.join(unknown)}; {columns.help()}")
        ignored.extend(name.strip() for name in unknown)
        missing = [c for c in columns.required if c not in names]
        if missing:
            raise FeedError(1, f"missing column(s) {', '.join(missing)}; {columns.help()}")
        known = [c for c in names if c is not None]
        if len(set(known)) != len(known):
            twice = sorted({c for c in known if known.count(c) > 1})
            raise FeedError(1, f"more than one column means {', '.join(twice)}")
        while True:
            line = reader.line_num + 1
            values = next(reader, None)
            if values is None:
                return
            if not any(v.strip() for v in values):
                continue  # a blank line
            if len(values) != len(names):
                yield FeedRow(line, {"__width__": f"{len(values)} of {len(names)}"})
                continue
            yield FeedRow(
                line, {c: (v.strip() or None) for c, v in zip(names, values, strict=True) if c}
            )
    except csv.Error as exc:
        raise FeedError(reader.line_num, f"not readable as CSV ({exc})") from None


def _json_rows(text: str, columns: Columns, ignored: list[str]) -> Iterator[FeedRow]:
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
        fields: dict[str, Any] = {}
        for name, value in item.items():
            column = columns.canonical(str(name))
            if column is None:
                if columns.strict:
                    fields["__unknown__"] = str(name)
                    break
                ignored.append(str(name))
                continue
            if column in columns.nested:
                fields[column] = value
            elif isinstance(value, (dict, list)):
                fields["__nested__"] = str(name)
                break
            else:
                fields[column] = None if value is None else str(value).strip() or None
        yield FeedRow(line, fields)


def shape_problem(row: FeedRow, columns: Columns, what: str) -> RowProblem | None:
    """What makes a row unreadable before its values are looked at (a CSV row of the wrong
    width, a JSON value that is not an object, an unknown or nested field), or None."""
    fields = row.fields
    if "__width__" in fields:
        return RowProblem(row.line, f"the row has {fields['__width__']} values")
    if "__shape__" in fields:
        return RowProblem(row.line, f"{what} is an object, not a {fields['__shape__']}")
    if "__unknown__" in fields:
        return RowProblem(row.line, f"unknown field '{fields['__unknown__']}'; {columns.help()}")
    if "__nested__" in fields:
        return RowProblem(row.line, f"the field '{fields['__nested__']}' holds a list or object")
    missing = [c for c in columns.required if not fields.get(c)]
    if missing:
        return RowProblem(row.line, f"no {', '.join(missing)}")
    return None


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
