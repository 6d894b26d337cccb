"""`safeshare notify`: check that notifications reach the people and inboxes they are for."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from models.access import Action
from safeshare.cli.groups import group
from safeshare.cli.output import emit_json, err, fail, friendly, out
from safeshare.cli.user import allowed
from safeshare.terminal import Table

# each command imports inside itself what it alone needs, so that every command starts fast

notify_app = group("Check that notifications reach the people and inboxes they are for.")


@notify_app.command("test")
@friendly
def notify_test(
    target: Annotated[
        str,
        typer.Argument(
            help="A tag (dsl, deputy-dsl, slt, agency:csc, a tag of the Apprise config file), "
            "a staff id or an agency code."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Send a harmless test message to TARGET now and say which addresses took it.

    The message carries no case, only a random reference; exit 0 when every address took it."""
    allowed(Action.TEST_NOTIFICATIONS)
    from tasks.notify_test import NoRecipients, send_test

    try:
        sent = send_test(target)
    except NoRecipients as exc:
        fail(str(exc))
    if as_json:
        emit_json(
            {
                "reference": sent.reference,
                "target": sent.target,
                "tag": sent.tag,
                "delivered": sent.delivered,
                "addresses": [asdict(o) for o in sent.outcomes],
            }
        )
    else:
        table = Table("address", "tags", "delivered")
        for o in sent.outcomes:
            table.add_row(o.address, ", ".join(o.tags), "yes" if o.delivered else "NO")
        out.print(
            f"Test message {sent.reference} to {sent.tag}: {sent.delivered} of "
            f"{len(sent.outcomes)} address(es) took it.",
            markup=False,
        )
        out.print(table)
    if not sent.all_delivered:
        failed = len(sent.outcomes) - sent.delivered
        err.print(
            f"error: {failed} of {len(sent.outcomes)} address(es) did not take test message "
            f"{sent.reference}; check each address marked NO (Apprise's own command, `apprise "
            "-vv -b test URL`, says why).",
            markup=False,
        )
        raise typer.Exit(1)
