"""`safeshare concern`: a concern recorded, and its sharing case started."""

from __future__ import annotations

from typing import Annotated

import typer

from models.access import Action
from models.sharing.concern import Category, ConcernFacts
from safeshare.cli.groups import group
from safeshare.cli.inputs import parse_when, validated
from safeshare.cli.output import friendly
from safeshare.cli.recording import record_and_start
from safeshare.cli.user import recorder

# each command imports inside itself what it alone needs, so that every command starts fast

concern_app = group("Record concerns.")


@concern_app.command("record")
@friendly
def concern_record(
    child: Annotated[str, typer.Option(help="The child's reference.")],
    raised_by: Annotated[str, typer.Option(help="Staff id of who raised it.")],
    category: Annotated[Category, typer.Option(help="Category of concern.")],
    what: Annotated[str, typer.Option(help="What happened: facts, apart from opinion.")],
    when: Annotated[
        str | None, typer.Option(help="When it happened (ISO-8601); now if unset.")
    ] = None,
    where: Annotated[str | None, typer.Option(help="Where it happened.")] = None,
    child_words: Annotated[str | None, typer.Option(help="The child's own words.")] = None,
    action_taken: Annotated[str | None, typer.Option(help="Action taken so far.")] = None,
    who_told: Annotated[
        str | None, typer.Option(help="Who you have told so far (names and roles).")
    ] = None,
    allegation_against: Annotated[
        str | None,
        typer.Option(
            help="If it is an allegation against a member of staff: their staff id. They will "
            "not see the case or be asked to act on it."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Record a concern and start its sharing case."""
    from tasks.concerns import record_concern

    recorder(raised_by, Action.RECORD_CONCERN, "--raised-by")

    occurred = parse_when(when)
    facts = validated(
        ConcernFacts,
        child_ref=child,
        raised_by=raised_by,
        category=category,
        occurred_at=occurred,
        place=where,
        what_happened=what,
        child_words=child_words,
        action_taken=action_taken,
        who_told=who_told,
        allegation_against=allegation_against,
    )
    record_and_start(lambda: record_concern(facts), as_json=as_json, recorded="Recorded concern")
