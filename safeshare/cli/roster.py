"""`safeshare roster`: pupils and staff from the school information system's exports."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from models.access import Action
from models.roster import MOST_BYTES
from safeshare.cli.groups import group
from safeshare.cli.inputs import read_export_file
from safeshare.cli.output import emit_json, err, fail, friendly, out
from safeshare.cli.user import allowed

if TYPE_CHECKING:
    from tasks.roster import RosterResult

# each command imports inside itself what it alone needs, so that every command starts fast

roster_app = group(
    "Pupils and staff from the school information system (SIMS, Arbor, Bromcom exports): "
    "checked whole first, never deleted, imported again without change."
)
import_app = group("Import a CSV or JSON export of pupils or of staff.")
roster_app.add_typer(import_app, name="import")

FORMAT = typer.Option("--format", help="csv or json; from the file's name when unset.")
DRY_RUN = typer.Option(
    "--dry-run", help="Say what would be added, changed and left; write nothing."
)
AS_JSON = typer.Option("--json", help="Print JSON.")


@import_app.command("pupils")
@friendly
def import_pupils(
    file: Annotated[Path, typer.Argument(help="The export of pupils (CSV or JSON).")],
    file_format: Annotated[str | None, FORMAT] = None,
    dry_run: Annotated[bool, DRY_RUN] = False,
    as_json: Annotated[bool, AS_JSON] = False,
) -> None:
    """Import pupils: UPN, legal and preferred names, date of birth, year group, admission
    and leaving dates, the consistent child identifier (or why there is none), and parents and
    carers (contact_1_name, contact_1_relationship, contact_1_parental_responsibility,
    contact_1_telephone, contact_1_email, up to contact_9_...; in JSON, a `contacts` list).
    Columns of other names are left aside, and listed. A pupil missing from the export has
    left; the DSL is told of each leaver with child protection records."""
    allowed(Action.MANAGE_DIRECTORY)
    from tasks.roster import import_pupils as import_them

    text, fmt = read_export_file(file, file_format, MOST_BYTES)
    result = _imported(lambda: import_them(text, fmt, today=date.today(), dry_run=dry_run), file)
    if not dry_run and result.leavers_with_records:
        from tasks.roster import prompt_for_leavers

        prompt_for_leavers(result.leavers_with_records, date.today())
    _say(result, file, as_json)


@import_app.command("staff")
@friendly
def import_staff(
    file: Annotated[Path, typer.Argument(help="The export of staff (CSV or JSON).")],
    file_format: Annotated[str | None, FORMAT] = None,
    dry_run: Annotated[bool, DRY_RUN] = False,
    as_json: Annotated[bool, AS_JSON] = False,
) -> None:
    """Import staff: staff id, name (or forename and surname), work email, job title. Roles
    are not taken from the export: set them with `safeshare staff update ID --role`. A member of
    staff imported before and missing now can no longer sign in or be asked."""
    allowed(Action.MANAGE_DIRECTORY)
    from tasks.roster import import_staff as import_them

    text, fmt = read_export_file(file, file_format, MOST_BYTES)
    result = _imported(lambda: import_them(text, fmt, today=date.today(), dry_run=dry_run), file)
    _say(result, file, as_json)


def _imported(run: Any, file: Path) -> RosterResult:
    from tasks.roster import RosterRefused

    try:
        result: RosterResult = run()
    except RosterRefused as exc:
        for problem in exc.problems[:50]:
            err.print(f"  {problem}", markup=False)
        more = (
            f" (the first 50 of {len(exc.problems)} are listed)" if len(exc.problems) > 50 else ""
        )
        rows = len({p.line for p in exc.problems if p.line})
        what = f"{rows} row(s) cannot be imported{more}" if rows else "the file cannot be read"
        fail(f"'{file.name}' was not imported: {what}; nothing from it was written.")
    return result


def _say(result: RosterResult, file: Path, as_json: bool) -> None:
    if as_json:
        emit_json({"file": file.name, **result.as_json()})
        return
    counts = result.counts
    verb = "would be" if result.dry_run else "were"
    if result.nothing:
        out.print(
            f"{file.name}: nothing to change ({counts['unchanged']} {result.what} as they were).",
            markup=False,
        )
    else:
        out.print(
            f"{file.name}: {counts['added']} {result.what} {verb} added, {counts['changed']} "
            f"changed, {counts['left']} marked as left; {counts['unchanged']} as they were.",
            markup=False,
        )
    if result.changed_fields:
        changes = ", ".join(f"{name} {n}" for name, n in result.changed_fields.items())
        out.print(f"  changed: {changes}", markup=False)
    if result.left:
        out.print(f"  left: {', '.join(result.left)}", markup=False)
    if result.leavers_with_records:
        told = "would be told" if result.dry_run else "is told"
        out.print(
            f"  leavers with child protection records (the DSL {told}; record each move with "
            f"`safeshare leaver record`): {', '.join(result.leavers_with_records)}",
            markup=False,
        )
    if result.ignored_columns:
        out.print(f"  columns left aside: {', '.join(result.ignored_columns)}", markup=False)
    if result.dry_run:
        out.print("  (a dry run: nothing was written)", markup=False)
