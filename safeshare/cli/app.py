"""The `safeshare` command line. Errors are one sentence on stderr and a non-zero exit."""

from __future__ import annotations

import os
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from foundations.private import owner_only
from foundations.settings import get_settings, prefect_settings
from safeshare.cli.access_request import access_app
from safeshare.cli.agency import agency_app
from safeshare.cli.answer import answer_commands
from safeshare.cli.audit import audit_app
from safeshare.cli.backup import backup_commands
from safeshare.cli.case import case_app
from safeshare.cli.child import child_app
from safeshare.cli.concern import concern_app
from safeshare.cli.db import db_app, up_commands
from safeshare.cli.events import events_app
from safeshare.cli.groups import Commands
from safeshare.cli.health import health_commands
from safeshare.cli.keys import keys_app
from safeshare.cli.leaver import leaver_app
from safeshare.cli.notice import notice_app
from safeshare.cli.notify import notify_app
from safeshare.cli.output import err
from safeshare.cli.overdue import overdue_commands
from safeshare.cli.retention import retention_app
from safeshare.cli.roster import roster_app
from safeshare.cli.staff import staff_app
from safeshare.cli.user import USER_HELP, act_for

app = typer.Typer(
    cls=Commands,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help=__doc__,
)
# the commands of safeshare itself first, then its groups: `safeshare --help` lists them so
for commands in (up_commands, health_commands, backup_commands, overdue_commands, answer_commands):
    app.add_typer(commands)
for sub, name in (
    (staff_app, "staff"),
    (child_app, "child"),
    (agency_app, "agency"),
    (concern_app, "concern"),
    (case_app, "case"),
    (db_app, "db"),
    (keys_app, "keys"),
    (audit_app, "audit"),
    (retention_app, "retention"),
    (events_app, "events"),
    (access_app, "access-request"),
    (notice_app, "notice"),
    (leaver_app, "leaver"),
    (roster_app, "roster"),
    (notify_app, "notify"),
):
    app.add_typer(sub, name=name)


@app.callback()
def _setup(
    ctx: typer.Context,
    user: Annotated[
        str | None, typer.Option("--user", envvar="SAFESHARE_USER", help=USER_HELP)
    ] = None,
) -> None:
    """safeshare: safeguarding information-sharing cases as durable workflows."""
    prefect_settings(get_settings())
    act_for(user, f"safeshare {ctx.invoked_subcommand or ''}".strip())


def main(argv: list[str] | None = None) -> int:
    """The console script: safeshare's commands, with the shell's own usage mistakes (a missing
    option, a value not allowed, an unknown command) also said in one sentence, and a fault
    nobody foresaw said in one sentence that names the log holding its details."""
    owner_only()  # what a command writes in the data directory is its owner's alone
    args = sys.argv[1:] if argv is None else argv
    try:
        result = app(args=args or ["--help"], prog_name="safeshare", standalone_mode=False)
    except typer.TyperException as exc:  # Typer's (vendored Click's) usage errors
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        message = _all_missing(exc) or message
        err.print(f"error: {message}{hint}", markup=False)
        return int(getattr(exc, "exit_code", 2))
    except typer.Abort:
        err.print("error: stopped before anything was done.", markup=False)
        return 1
    except Exception as exc:
        log = _log_fault(args)
        err.print(
            f"error: the command stopped on an unexpected {type(exc).__name__}; the details are "
            f"in {log}.",
            markup=False,
        )
        return 1
    return result if isinstance(result, int) else 0


def _all_missing(exc: Exception) -> str | None:
    """A missing option named with every other one missing, in one sentence: the shell stops
    at the first, so a person would otherwise find them one run at a time."""
    ctx, param = getattr(exc, "ctx", None), getattr(exc, "param", None)
    if type(exc).__name__ != "MissingParameter" or ctx is None or param is None:
        return None
    if param.param_type_name != "option":
        return None
    # options given are read before those that are not: every required one not read is missing
    missing = [
        max(p.opts, key=len)
        for p in ctx.command.params
        if p.required and p.param_type_name == "option" and p.name not in ctx.params
    ]
    if len(missing) < 2:
        return None
    return f"Missing options {', '.join(missing[:-1])} and {missing[-1]}."


def _log_fault(args: list[str]) -> Path:
    """Keep a fault's traceback in the data directory (owner-only), not on the screen."""
    logs = get_settings().home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / "cli-errors.log"
    command = " ".join(a for a in args[:3] if not a.startswith("-"))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as log:
        log.write(f"--- {datetime.now(UTC).isoformat()} safeshare {command}\n")
        log.write(traceback.format_exc())
    return path
