"""`safeshare leaver`: a leaver recorded, and their child protection file's case started."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from models.access import Action
from models.transfer import LeaverFacts, MoveKind
from safeshare.cli.groups import group
from safeshare.cli.inputs import validated
from safeshare.cli.output import UserError, friendly
from safeshare.cli.recording import record_and_start
from safeshare.cli.user import recorder

# each command imports inside itself what it alone needs, so that every command starts fast

leaver_app = group("Leavers: the child protection file goes to the next school.")


@leaver_app.command("record")
@friendly
def leaver_record(
    child: Annotated[str, typer.Option(help="The leaver's reference.")],
    leaving_on: Annotated[str, typer.Option(help="Their last day, YYYY-MM-DD.")],
    destination: Annotated[
        str, typer.Option(help="The next school's agency code (kind school), or 'unknown'.")
    ],
    move: Annotated[MoveKind, typer.Option(help="in-year, or new-term (from a term's start).")],
    recorded_by: Annotated[str, typer.Option(help="Your staff id (DSL or deputy).")],
    new_term_starts: Annotated[
        str | None, typer.Option(help="For a new-term move: the term's first day, YYYY-MM-DD.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Record a leaver: their child protection file goes to the next school's DSL (after the
    DSL has considered sharing ahead of the move), to be received within 5 working days of the
    move or of the new term's start; an unknown destination tells the local authority."""
    from tasks.transfers import record_leaver

    recorder(recorded_by, Action.ACT_ON_CASE, "--recorded-by")
    facts = validated(
        LeaverFacts,
        child_ref=child,
        leaving_on=_parse_day_option(leaving_on, "--leaving-on"),
        destination=None if destination.strip().lower() == "unknown" else destination,
        move=move,
        new_term_starts=(
            _parse_day_option(new_term_starts, "--new-term-starts") if new_term_starts else None
        ),
        recorded_by=recorded_by,
    )
    record_and_start(lambda: record_leaver(facts), as_json=as_json, recorded="Recorded the leaver")


def _parse_day_option(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{option} '{text}' is not a date in the form YYYY-MM-DD.") from None
