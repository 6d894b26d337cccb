"""`safeshare agency`: the agencies cases can share with, and where each is told."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from models.access import Action
from models.kernel.directory import AgencyKind
from safeshare.cli.directory import check_apprise_url, record_directory_read
from safeshare.cli.groups import group
from safeshare.cli.output import UserError, emit_json, friendly, out
from safeshare.cli.user import allowed
from safeshare.terminal import Table

# each command imports inside itself what it alone needs, so that every command starts fast

agency_app = group("Agencies that cases can share with.")


@agency_app.command("add")
@friendly
def agency_add(
    code: Annotated[str, typer.Argument(help="Short code, used in the Apprise tag agency:CODE.")],
    name: Annotated[str, typer.Option()],
    kind: Annotated[AgencyKind, typer.Option()] = AgencyKind.OTHER,
    notify: Annotated[str | None, typer.Option(help="Apprise URL of its duty inbox.")] = None,
) -> None:
    """Add an agency that cases can share with."""
    allowed(Action.MANAGE_DIRECTORY)
    from tasks.agencies import add_agency

    if notify is not None:
        check_apprise_url(notify)
    add_agency(code, name=name, kind=kind, notify_url=notify)
    out.print(f"Added agency {code}.", markup=False)


@agency_app.command("update")
@friendly
def agency_update(
    code: Annotated[str, typer.Argument(help="The agency's code (csc, mash, police, lado, ...).")],
    name: Annotated[str | None, typer.Option(help="Its name.")] = None,
    kind: Annotated[AgencyKind | None, typer.Option(help="What kind of agency it is.")] = None,
    notify: Annotated[
        str | None, typer.Option(help="Apprise URL of its duty inbox ('none' forgets it).")
    ] = None,
) -> None:
    """Change an agency's name, kind or address: the seeded csc, mash, police and lado come
    without one (`safeshare agency update csc --notify URL`)."""
    allowed(Action.MANAGE_DIRECTORY)
    from tasks.agencies import update_agency

    if name is None and kind is None and notify is None:
        raise UserError("nothing to change: give --name, --kind or --notify.")
    changes: dict[str, Any] = {}
    if notify is not None:
        forget = notify.strip().lower() == "none"
        if not forget:
            check_apprise_url(notify)
        changes["notify_url"] = None if forget else notify
    update_agency(code, name=name, kind=kind, **changes)
    out.print(f"Updated agency {code}.", markup=False)


@agency_app.command("list")
@friendly
def agency_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The agencies cases can share with: codes, names, kinds and whether each has an address
    (its Apprise tag is agency:CODE)."""
    allowed(Action.READ_DIRECTORY)
    from dataclasses import asdict

    from tasks.agencies import list_agencies

    agencies = list_agencies()
    record_directory_read("agency-list", len(agencies))
    if as_json:
        emit_json([asdict(a) for a in agencies])
        return
    table = Table("code", "name", "kind", "address")
    for a in agencies:
        table.add_row(a.code, Text(a.name), a.kind, "yes" if a.has_address else "NONE")
    out.print(table)
    if any(not a.has_address for a in agencies):
        out.print(
            "An agency without an address is told through the Apprise config file's "
            "agency:CODE tag, or not at all: give it one with "
            "`safeshare agency update CODE --notify URL`.",
            markup=False,
        )
