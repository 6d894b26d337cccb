"""How a feed of Child Protection Plan events is read: a CSV or JSON export from a school
information system. A feed is read whole before anything is written: every malformed row is
reported with its line number, and a feed with any is refused entirely.
"""

from __future__ import annotations

from pydantic import ValidationError

from models.kernel.exports import (
    Columns,
    FeedError,
    FeedRow,
    RowProblem,
    read_export,
    shape_problem,
)
from models.plan_event.policy import PlanEventFacts, parse_kind, parse_occurred

__all__ = ["COLUMNS", "FeedError", "FeedRow", "RowProblem", "read_feed", "row_facts"]

#: The feed's columns (or JSON keys), and the other names an export may give them; a column of
#: any other name refuses the feed (it is ours, not a system's export).
COLUMNS = Columns(
    names={
        "child_ref": ("child_ref", "child", "pupil_ref", "pupil"),
        "kind": ("kind", "event", "event_type", "type"),
        "occurred_at": ("occurred_at", "when", "date", "datetime"),
        "details": ("details", "notes", "description", "comment"),
    },
    required=("child_ref", "kind", "occurred_at"),
    what="events",
)


def read_feed(text: str, fmt: str) -> list[FeedRow]:
    """The rows of a CSV or JSON feed (a JSON array of objects, or one object per line), each
    with the line it starts on. FeedError when the file as a whole cannot be read."""
    rows, _ = read_export(text, fmt, COLUMNS)
    return rows


def row_facts(row: FeedRow, recorded_by: str) -> PlanEventFacts | RowProblem:
    """The event a row holds, or what is wrong with it."""
    fields = row.fields
    unreadable = shape_problem(row, COLUMNS, "an event")
    if unreadable is not None:
        return unreadable
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
