"""`safeshare events`: Child Protection Plan events, recorded one at a time or imported from a
school information system's export, each passed on at once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from models.access import Action
from models.plan_event.policy import PlanEventFacts
from safeshare.cli.groups import group
from safeshare.cli.inputs import parse_when, read_export_file, validated
from safeshare.cli.output import UserError, emit_json, err, fail, friendly, out
from safeshare.cli.recording import start_run
from safeshare.cli.user import recorder

if TYPE_CHECKING:
    from models.plan_event.feed import RowProblem

# each command imports inside itself what it alone needs, so that every command starts fast

#: Runs of an imported feed started at the same moment (each start is a few requests to Prefect,
#: which answers several at once; the case database keys each run, so none starts twice).
STARTING_AT_ONCE = 4

events_app = group(
    "Child Protection Plan events (exclusions, unexplained absences, changes in "
    "circumstances): children's social care and the social worker are told at once."
)


@events_app.command("record")
@friendly
def events_record(
    child: Annotated[str, typer.Option(help="The pupil's reference (on a Child Protection Plan).")],
    kind: Annotated[
        str,
        typer.Option(
            help="exclusion-fixed-term, exclusion-permanent, unexplained-absence or "
            "change-in-circumstances."
        ),
    ],
    recorded_by: Annotated[str, typer.Option(help="Staff id of who records it.")],
    when: Annotated[
        str | None, typer.Option(help="When it happened (ISO-8601); now if unset.")
    ] = None,
    details: Annotated[
        str | None, typer.Option(help="What children's social care should know.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Record a Child Protection Plan event and tell children's social care at once."""
    from models.plan_event.policy import parse_kind

    recorder(recorded_by, Action.RECORD_CONCERN, "--recorded-by")
    try:
        event_kind = parse_kind(kind)
    except ValueError as exc:
        raise UserError(f"--kind {exc}.") from None
    facts = validated(
        PlanEventFacts,
        child_ref=child,
        kind=event_kind,
        occurred_at=parse_when(when),
        details=details,
        recorded_by=recorded_by,
    )
    results = _record_events([(1, facts)], source=None)
    (result,) = results
    if as_json:
        emit_json(result)
    elif result["new"]:
        out.print(f"Recorded the event as case {result['case_id']} ({result['reference']}).")
    else:
        out.print(
            f"This event was already recorded as case {result['case_id']} "
            f"({result['reference']}): nothing new is sent.",
            markup=False,
        )
    _fail_unstarted(results)


@events_app.command("import")
@friendly
def events_import(
    file: Annotated[Path, typer.Argument(help="A CSV or JSON export of events.")],
    recorded_by: Annotated[str, typer.Option(help="Staff id of who imports it.")],
    file_format: Annotated[
        str | None,
        typer.Option("--format", help="csv or json; from the file's name when unset."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Import Child Protection Plan events from a school information system's export (CSV with
    a header row, or JSON: an array of objects, or one object per line). Columns: child_ref,
    kind, occurred_at, details. The whole file is checked first: every row that is malformed,
    names an unknown pupil or one not on a plan, or gives a time to come is reported with its
    line number, and then nothing is imported. Events imported before are not recorded or sent
    twice."""
    from models.plan_event.feed import FeedError, RowProblem, read_feed, row_facts
    from tasks.plan_events import plan_event_problems

    recorder(recorded_by, Action.RECORD_CONCERN, "--recorded-by")
    text, fmt = read_export_file(file, file_format, 20_000_000)
    try:
        rows = read_feed(text, fmt)
    except FeedError as exc:
        raise UserError(f"'{file.name}' was not imported: {exc}.") from None
    parsed = [(row.line, row_facts(row, recorded_by)) for row in rows]
    events = [(line, facts) for line, facts in parsed if isinstance(facts, PlanEventFacts)]
    # the whole file at once: rows that do not read, and rows that read but cannot be recorded
    # (an unknown pupil, one not on a plan, a time to come), every one with its line
    problems = [p for _, p in parsed if isinstance(p, RowProblem)]
    problems += plan_event_problems(events, now=datetime.now(UTC))
    if problems:
        _refuse_feed(file.name, problems)
    results = _record_events(events, source=file.name)
    new = sum(1 for r in results if r["new"])
    if as_json:
        emit_json(
            {"file": file.name, "recorded": new, "already": len(results) - new, "events": results}
        )
    else:
        out.print(
            f"Imported {len(results)} event(s) from {file.name}: {new} new, "
            f"{len(results) - new} recorded before.",
            markup=False,
        )
        for r in results:
            state = "new" if r["new"] else "recorded before"
            out.print(
                f"  line {r['line']}: case {r['case_id']} ({r['reference']}), {state}", markup=False
            )
    _fail_unstarted(results)


def _refuse_feed(name: str, problems: Sequence[RowProblem]) -> NoReturn:
    problems = sorted(problems, key=lambda p: p.line)
    for problem in problems[:50]:
        err.print(f"  {problem}", markup=False)
    more = f" (the first 50 of {len(problems)} problems are listed)" if len(problems) > 50 else ""
    rows = len({p.line for p in problems})
    fail(
        f"'{name}' was not imported: {rows} row(s) cannot be recorded{more}; "
        "nothing from it was recorded."
    )


def _record_events(
    events: list[tuple[int, PlanEventFacts]], *, source: str | None
) -> list[dict[str, Any]]:
    """Record the events (all or nothing) and start (or find: runs are keyed by their case) the
    workflow of each, so importing a feed again starts what an outage left unstarted."""
    from tasks.plan_events import EventsRefused, record_plan_events

    try:
        recorded = record_plan_events(events, now=datetime.now(UTC))
    except EventsRefused as exc:
        if source is None:
            raise UserError("; ".join(p.message for p in exc.problems) + ".") from None
        _refuse_feed(source, exc.problems)
    from functools import partial

    from tasks.event_order import start_in_order

    # the runs start a few at once (one after another, a feed of 500 took 456 s to import), each
    # pupil's in the order of their events; the audit trail's entries name the person importing
    pupil_of = {line: facts.child_ref for line, facts in events}
    starts = start_in_order(
        [(pupil_of[event.line], partial(start_run, event.case_id)) for event in recorded],
        STARTING_AT_ONCE,
    )
    results = []
    for event, started in zip(recorded, starts, strict=True):
        results.append(
            {
                "line": event.line,
                "case_id": event.case_id,
                "reference": started.reference,
                "new": event.new,
                "flow_run_id": started.flow_run_id,
                "started": started.problem is None,
                "error": started.problem,
            }
        )
    return results


def _fail_unstarted(results: list[dict[str, Any]]) -> None:
    unstarted = [r["case_id"] for r in results if not r["started"]]
    if unstarted:
        fail(
            f"case(s) {', '.join(map(str, unstarted))} are recorded but their workflow did not "
            f"start ({next(r['error'] for r in results if not r['started'])}); start each with "
            "`safeshare case start CASE_ID` once the stack is up."
        )
