"""`safeshare notice`: a need-to-know notice recorded, and its case started."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from models.access import Action
from models.notice import NoticeFacts, NoticeSource
from safeshare.cli.groups import group
from safeshare.cli.inputs import parse_when, validated
from safeshare.cli.output import friendly
from safeshare.cli.recording import record_and_start
from safeshare.cli.user import recorder

# each command imports inside itself what it alone needs, so that every command starts fast

notice_app = group("Need-to-know notices: staff are told only what they need to know.")


@notice_app.command("record")
@friendly
def notice_record(
    child: Annotated[str, typer.Option(help="The child's reference.")],
    source: Annotated[NoticeSource, typer.Option(help="Where the notice came from.")],
    details: Annotated[str, typer.Option(help="The notice as it came (kept for the DSL only).")],
    recorded_by: Annotated[str, typer.Option(help="Your staff id (DSL or deputy).")],
    received_at: Annotated[
        str | None, typer.Option(help="When it was received (ISO-8601); now if unset.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Record a notice about a child (a police domestic abuse notification, say). The DSL then
    reviews it (a police notification before the next school day starts) and chooses who needs
    to know, and what; each is told through a link of their own."""
    from tasks.notices import record_notice

    recorder(recorded_by, Action.RECORD_NOTICE, "--recorded-by")
    facts = validated(
        NoticeFacts,
        child_ref=child,
        source=source,
        received_at=parse_when(received_at, "--received-at"),
        details=details,
        recorded_by=recorded_by,
    )
    record_and_start(
        lambda: record_notice(facts, now=datetime.now(UTC)),
        as_json=as_json,
        recorded="Recorded the notice",
    )
