"""Who is at the keyboard (`--user`, or SAFESHARE_USER), and what need to know lets them see and
do: the audit trail enters what a command writes or shows as done by them."""

from __future__ import annotations

import getpass
from contextvars import ContextVar
from typing import Annotated, Any

import typer

from models.access import Action
from safeshare.cli.output import UserError

# the audit trail and need to know are imported by the functions that use them: they load
# SQLAlchemy, which a command's start-up does not need

_USER: ContextVar[str | None] = ContextVar("safeshare_cli_user", default=None)
USER_HELP = "Your staff id: need to know decides what you may see and do."


def _take_user(ctx: typer.Context, value: str | None) -> None:
    """`--user` given after the command's name (`safeshare case list --user dsl1`): the same
    as before it, or as SAFESHARE_USER, which it overrides."""
    if value is None or ctx.resilient_parsing:
        return
    root = ctx.find_root()
    before, source = root.params.get("user"), root.get_parameter_source("user")
    if source is not None and source.name == "COMMANDLINE" and before != value:
        ctx.fail(f"--user is given twice, as {before} and as {value}.")
    act_for(value, f"safeshare {root.invoked_subcommand or ''}".strip())


def user_option() -> Any:
    """The `--user` option as each command takes it after its name: built by Typer from one
    definition, so it reads and helps as the option before the command does."""
    probe = typer.Typer()

    @probe.command()
    def _probe(
        user: Annotated[
            str | None,
            typer.Option(
                "--user",
                metavar="STAFF_ID",
                help=USER_HELP,
                callback=_take_user,
                expose_value=False,
            ),
        ] = None,
    ) -> None:
        """Never run: only its option is taken."""

    command = typer.main.get_command(probe)
    return next(p for p in command.params if p.name == "user")


def at_keyboard() -> str | None:
    """The staff id the command acts for, if one was given."""
    return _USER.get()


def act_for(user: str | None, command: str) -> None:
    """The staff id the command acts for; the audit trail enters what it writes or shows as
    done by that id, and by the machine's account that ran it."""
    from foundations.audit import act_as

    _USER.set(user)
    account = f"os:{getpass.getuser()}"
    act_as(user or account, f"{command} ({account})" if user else command)


def allowed(action: Any, case_id: int | None = None) -> str:
    """The staff id at the keyboard, if need to know lets them do `action`; else one sentence."""
    from tasks.access import require

    return require(at_keyboard(), action, case_id).id


def recorder(named: str, action: Any, option: str) -> str:
    """Who a record is made in the name of (`--raised-by`, `--recorded-by`, `--received-by`):
    the one at the keyboard (--user or SAFESHARE_USER), who must be known, or someone else when
    the one at the keyboard may record for others (the DSL or a deputy, told by phone, say).
    Both must be allowed to make such a record; a refusal is entered in the audit trail."""
    from tasks.access import AccessDenied, require

    me = require(at_keyboard(), action)
    if named != me.id:
        try:
            require(me.id, Action.RECORD_FOR_OTHERS)
        except AccessDenied:
            raise UserError(
                f"{option} {named} is not you ({me.id}): you record in your own name; the DSL "
                "or a deputy may record for someone else"
            ) from None
        require(named, action)
    return named


def hidden_from_user(case_ids: list[int]) -> set[int]:
    """Of these cases, those about an allegation against the person asking: never shown."""
    from tasks.access import hidden_from

    return hidden_from(at_keyboard(), case_ids)
