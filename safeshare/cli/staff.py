"""`safeshare staff`: the staff directory, sign-in passwords and second factors."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.text import Text

from foundations.settings import get_settings
from models.access import Action
from models.kernel.roles import Role
from safeshare.cli.directory import check_apprise_url, record_directory_read
from safeshare.cli.groups import group
from safeshare.cli.output import UserError, emit_json, friendly, out
from safeshare.cli.user import allowed
from safeshare.terminal import Table

# each command imports inside itself what it alone needs, so that every command starts fast

staff_app = group("The staff directory.")


@staff_app.command("add")
@friendly
def staff_add(
    staff_id: Annotated[str, typer.Argument(help="A short id, such as j.smith.")],
    name: Annotated[str, typer.Option(help="Full name.")],
    role: Annotated[Role, typer.Option(help="staff, dsl, deputy-dsl, slt or admin.")],
    notify: Annotated[str | None, typer.Option(help="Apprise URL for this person.")] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Also set their web sign-in password, read from stdin."
        ),
    ] = False,
) -> None:
    """Add a member of staff with a role and where to notify them (and, with --password-stdin,
    their sign-in password). An administrator does this; on a new system, the first
    administrator adds themselves."""
    from pydantic import TypeAdapter

    from models.kernel.values import StaffId
    from tasks.staff import add_staff, has_admin

    if not (role is Role.ADMIN and not has_admin()):
        allowed(Action.MANAGE_DIRECTORY)

    try:
        staff_id = TypeAdapter(StaffId).validate_python(staff_id)
    except ValidationError:
        raise UserError(f"'{staff_id}' is not a valid staff id (letters, digits, . _ -).") from None
    if notify is not None:
        check_apprise_url(notify)
    password = _read_password(True) if password_stdin else None
    if password is not None:
        from models.accounts import password_problems

        problems = password_problems(password, staff_id)
        if problems:
            raise UserError("; ".join(p.message for p in problems))
    add_staff(staff_id, name=name, role=role, notify_url=notify)
    if password is not None:
        from tasks.accounts import set_password

        set_password(staff_id, password)
    out.print(f"Added {staff_id} ({role.value}).", markup=False)


@staff_app.command("update")
@friendly
def staff_update(
    staff_id: Annotated[str, typer.Argument(help="Their staff id.")],
    role: Annotated[Role | None, typer.Option(help="staff, dsl, deputy-dsl, slt or admin.")] = None,
    notify: Annotated[
        str | None, typer.Option(help="Apprise URL for this person; 'none' forgets it.")
    ] = None,
) -> None:
    """Give a member of staff their role (a roster import adds everyone as staff: the DSL,
    deputies, senior leaders and administrators are set here), or their notification address."""
    allowed(Action.MANAGE_DIRECTORY)
    from tasks.directory import UNCHANGED
    from tasks.staff import update_staff

    if role is None and notify is None:
        raise UserError("give --role or --notify (or both).")
    address: object = UNCHANGED
    if notify is not None:
        address = None if notify.strip().lower() == "none" else notify
        if address is not None:
            check_apprise_url(notify)
    update_staff(staff_id, role=role, notify_url=address)
    said = [f"role {role.value}"] if role else []
    if notify is not None:
        said.append("no address" if address is None else "a new address")
    out.print(f"Updated {staff_id}: {', '.join(said)}.", markup=False)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line.strip():
            raise UserError("no password on standard input")
        return line.rstrip("\n")
    if not sys.stdin.isatty():
        raise UserError("no terminal to ask for the password on: give --password-stdin")
    first = typer.prompt("New password", hide_input=True)
    if typer.prompt("Again", hide_input=True) != first:
        raise UserError("the two passwords differ; nothing was changed")
    return str(first)


@staff_app.command("password")
@friendly
def staff_password(
    staff_id: Annotated[str, typer.Argument(help="Whose password to set or reset.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Set or reset the password someone signs in to the web front door with (their sessions
    end). An administrator does this."""
    from tasks.accounts import PasswordRefused, set_password

    allowed(Action.MANAGE_DIRECTORY)
    try:
        set_password(staff_id, _read_password(password_stdin))
    except PasswordRefused as exc:
        raise UserError(str(exc)) from None
    out.print(f"The password of {staff_id} is set; they sign in at {get_settings().web_url}.")


@staff_app.command("reset-second-factor")
@friendly
def staff_reset_second_factor(
    staff_id: Annotated[str, typer.Argument(help="Whose authenticator to forget.")],
) -> None:
    """Forget someone's authenticator (a lost phone): they set up a new one at next sign-in."""
    from tasks.accounts import reset_second_factor

    allowed(Action.MANAGE_DIRECTORY)
    reset_second_factor(staff_id)
    out.print(f"{staff_id} sets up a new authenticator at their next sign-in.")


@staff_app.command("list")
@friendly
def staff_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The staff directory: ids, roles and names, whether each is active, has an address to
    be notified at, a password and a second factor (never the address or the secrets)."""
    allowed(Action.READ_DIRECTORY)
    from dataclasses import asdict

    from tasks.staff import list_staff

    staff = list_staff()
    record_directory_read("staff-list", len(staff))
    if as_json:
        emit_json([asdict(m) for m in staff])
        return
    table = Table("staff id", "role", "name", "active", "address", "password", "second factor")
    for m in staff:
        flags = (m.active, m.has_address, m.has_password, m.has_second_factor)
        # a name is shown as typed, never read as markup
        table.add_row(m.staff_id, m.role, Text(m.name), *("yes" if f else "no" for f in flags))
    out.print(table)
