"""`safeshare backup` and `safeshare restore`: the case database as one encrypted file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from models.access import Action
from safeshare.cli.output import UserError, friendly, out
from safeshare.cli.user import allowed

# each command imports inside itself what it alone needs, so that every command starts fast

backup_commands = typer.Typer()  # commands of safeshare itself, not of a group


@backup_commands.command()
@friendly
def backup(
    path: Annotated[Path, typer.Argument(help="The backup file to write.", dir_okay=False)],
) -> None:
    """Write an encrypted, self-checking backup of the case database (a consistent snapshot,
    taken while the system runs). Keep the data keys too: the backup needs them."""
    allowed(Action.MANAGE_SYSTEM)
    from tasks.backup import take_backup

    if path.exists():
        raise UserError(f"{path} exists already: give a new file name")
    report = take_backup(path)
    out.print(
        f"Backed up {report.rows} rows of {report.tables} tables (schema {report.revision}) "
        f"to {report.path}: {report.size:,} bytes."
    )


@backup_commands.command()
@friendly
def restore(
    path: Annotated[Path, typer.Argument(help="The backup file to restore.", dir_okay=False)],
) -> None:
    """Restore a backup into an empty case database (DATABASE_URL), checking every part of
    the file first and the audit trail after: all of it is restored and verified, or nothing."""
    from tasks.backup import restore_backup

    if not path.is_file():
        raise UserError(f"there is no backup file {path}")
    report = restore_backup(path)
    out.print(
        f"Restored {report.rows} rows (schema {report.revision}, now up to date); the audit "
        f"trail verifies: {report.audit_entries} entries."
    )
