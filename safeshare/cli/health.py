"""`safeshare health`: is every dependency up (the case database, Prefect's API, the outbox),
and which is not. For IT support and for monitoring: no user needed, nothing personal said."""

from __future__ import annotations

from typing import Annotated

import typer

from foundations.settings import get_settings
from safeshare.cli.output import emit_json, friendly, out

health_commands = typer.Typer()  # commands of safeshare itself, not of a group


@health_commands.command()
@friendly
def health(
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Check every dependency and say which is down; exit status 1 when one is."""
    from models.health import verdict
    from tasks.health import check_all

    checks = check_all(get_settings())
    found = verdict(checks)
    if as_json:
        emit_json(found)
    else:
        for check in checks:
            out.print(
                f"{'ok  ' if check.ok else 'DOWN'}  {check.name}: {check.detail}", markup=False
            )
        if found["down"]:
            out.print(f"Down: {', '.join(found['down'])}.", markup=False)
        else:
            out.print("Every dependency is up.")
    if found["down"]:
        raise typer.Exit(1)
