"""`safeshare access-request`: a request to see child protection records recorded, and its
case started."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from models.access import Action
from models.access_request import AccessRequestFacts, Requester
from safeshare.cli.groups import group
from safeshare.cli.inputs import parse_when, validated
from safeshare.cli.output import friendly
from safeshare.cli.recording import record_and_start
from safeshare.cli.user import recorder

# each command imports inside itself what it alone needs, so that every command starts fast

access_app = group("Requests from a pupil or parent to see child protection records.")


@access_app.command("record")
@friendly
def access_request_record(
    child: Annotated[str, typer.Option(help="The reference of the child the records are about.")],
    requester: Annotated[Requester, typer.Option("--from", help="Who asks: pupil or parent.")],
    received_by: Annotated[str, typer.Option(help="Staff id of who received the request.")],
    request: Annotated[
        str, typer.Option("--request", help="What is asked for, and by whom, as it came in.")
    ],
    received_at: Annotated[
        str | None, typer.Option(help="When it was received (ISO-8601); now if unset.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Record a request to see child protection records. It goes to the DSL and the management
    team to decide (never to whoever received it), within one month of its receipt."""
    from tasks.access_requests import record_access_request

    recorder(received_by, Action.RECORD_CONCERN, "--received-by")
    facts = validated(
        AccessRequestFacts,
        child_ref=child,
        requester=requester,
        received_by=received_by,
        received_at=parse_when(received_at, "--received-at"),
        request=request,
    )
    record_and_start(
        lambda: record_access_request(facts, now=datetime.now(UTC)),
        as_json=as_json,
        recorded="Recorded the request",
    )
