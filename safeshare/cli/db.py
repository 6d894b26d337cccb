"""`safeshare up` (the whole stack) and `safeshare db` (the case database's schema)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from foundations.settings import get_settings
from safeshare.cli.groups import group
from safeshare.cli.output import err, fail, friendly, out

# each command imports inside itself what it alone needs, so that every command starts fast


class TopologyName(StrEnum):
    EMBEDDED = "embedded"
    PRODUCTION = "production"


up_commands = typer.Typer()  # commands of safeshare itself, not of a group
db_app = group("The case database.")


@up_commands.command()
@friendly
def up(
    prefect_port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Prefect server port (default 4200).")
    ] = None,
    web_port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Web app port (default 8400).")
    ] = None,
    host: Annotated[
        str | None,
        typer.Option(
            help="Where the web app listens (default 127.0.0.1); beyond it, "
            "SAFESHARE_WEB_BASE_URL must be its https address."
        ),
    ] = None,
    topology: Annotated[
        TopologyName,
        typer.Option(
            help="embedded: one Prefect server, one serving process, one web app. production: "
            "Prefect's API and services apart, on PostgreSQL and Redis; several serving "
            "processes and web apps (README, The production topology).",
        ),
    ] = TopologyName.EMBEDDED,
) -> None:
    """Start the whole stack locally: Prefect server, case database, served flows."""
    from deployments.stack import StackError, run_stack

    settings = get_settings()
    if prefect_port:
        settings = settings.model_copy(update={"prefect_port": prefect_port})
    if web_port:
        settings = settings.model_copy(update={"web_port": web_port})
    if host:
        from models.web_address import web_address_problem

        problem = web_address_problem(settings.web_base_url, host)
        if problem:
            fail(problem)
        settings = settings.model_copy(update={"web_host": host})
    try:
        said = lambda line: out.print(line, markup=False)  # noqa: E731
        raise typer.Exit(run_stack(settings, said, topology.value))
    except StackError as exc:
        fail(str(exc))


@db_app.command("migrate")
@friendly
def db_migrate() -> None:
    """Create or upgrade the case database schema."""
    from foundations.db import migrate
    from tasks.keys import key_the_chain

    migrate()
    out.print("The case database is up to date.")
    from foundations.sealing import SealError

    try:
        keyed = key_the_chain()
    except SealError as exc:  # keys in the environment: said, not fatal to the schema's upgrade
        err.print(f"warning: {exc}.", markup=False)
        return
    if keyed is not None:
        out.print(f"The audit trail is keyed from entry {keyed} on (the key is in the key file).")
