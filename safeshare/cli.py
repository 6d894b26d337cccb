"""The `safeshare` command line. Errors are one sentence on stderr and a non-zero exit."""

from __future__ import annotations

import getpass
import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from datetime import UTC, date, datetime
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.text import Text
from typer.core import TyperCommand, TyperGroup

from foundations.settings import get_settings, prefect_settings
from models.access import Action
from models.domain import (
    AccessRequestFacts,
    AgencyKind,
    Category,
    ConcernFacts,
    LeaverFacts,
    MoveKind,
    NoticeFacts,
    NoticeSource,
    PlanEventFacts,
    Requester,
    Role,
    Step,
)
from safeshare.terminal import Console, Table

if TYPE_CHECKING:
    from models.plan_events import RowProblem

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
    _act_for(value, f"safeshare {root.invoked_subcommand or ''}".strip())


def _user_option() -> Any:
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


class Commands(TyperGroup):
    """safeshare's command groups: every command also takes `--user` after its name, and a
    group given no command says so in one sentence instead of printing its help."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if (
            command is not None
            and not isinstance(command, TyperGroup)
            and not any(p.name == "user" for p in command.params)
        ):
            command.params.append(_user_option())
        return command

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args and ctx.parent is not None and not ctx.resilient_parsing:
            # a usage mistake (exit 2) in one sentence, not the group's help
            ctx.fail(f"say which command: {', '.join(self.list_commands(ctx))}.")
        return super().parse_args(ctx, args)


def _group(help: str) -> typer.Typer:
    return typer.Typer(cls=Commands, no_args_is_help=True, help=help)


app = typer.Typer(
    cls=Commands,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help=__doc__,
)
staff_app = _group("The staff directory.")
child_app = _group("Children, under pseudonymous references.")
agency_app = _group("Agencies that cases can share with.")
concern_app = _group("Record concerns.")
case_app = _group("List, read and start sharing cases.")
db_app = _group("The case database.")
audit_app = _group("The audit trail of every write and read of case content.")
retention_app = _group("Records past their retention date: review and decide.")
keys_app = _group("The data keys that seal personal data in the case database.")
events_app = _group(
    "Child Protection Plan events (exclusions, unexplained absences, changes in "
    "circumstances): children's social care and the social worker are told at once."
)
leaver_app = _group("Leavers: the child protection file goes to the next school.")
notice_app = _group("Need-to-know notices: staff are told only what they need to know.")
access_app = _group("Requests from a pupil or parent to see child protection records.")
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
):
    app.add_typer(sub, name=name)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])


class UserError(Exception):
    """A problem the person at the keyboard can fix; printed as one sentence."""


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(code)


def friendly(func: F) -> F:
    """Turn expected failures into one clear sentence instead of a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from sqlalchemy.exc import OperationalError, StatementError

        from foundations.backups import BackupError
        from foundations.sealing import SealError
        from models.forms import InvalidAnswer
        from tasks.access import AccessDenied
        from tasks.case_facts import CaseNotFound
        from tasks.directory import DirectoryError

        try:
            return func(*args, **kwargs)
        except (
            UserError,
            DirectoryError,
            CaseNotFound,
            SealError,
            BackupError,
            AccessDenied,
        ) as exc:
            fail(str(exc))
        except StatementError as exc:
            if isinstance(exc.orig, SealError):  # raised while sealing a value to write
                fail(str(exc.orig))
            raise
        except InvalidAnswer as exc:
            fail("the answer was not accepted: " + "; ".join(p.message for p in exc.problems))
        except OperationalError as exc:
            fail(
                f"the case database cannot be used ({exc.orig}); is it migrated? "
                "Run `safeshare db migrate` or `safeshare up`."
            )

    return wrapper  # type: ignore[return-value]


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


@app.callback()
def _setup(
    ctx: typer.Context,
    user: Annotated[
        str | None, typer.Option("--user", envvar="SAFESHARE_USER", help=USER_HELP)
    ] = None,
) -> None:
    """safeshare: safeguarding information-sharing cases as durable workflows."""
    prefect_settings(get_settings())
    _act_for(user, f"safeshare {ctx.invoked_subcommand or ''}".strip())


def _act_for(user: str | None, command: str) -> None:
    """The staff id the command acts for; the audit trail enters what it writes or shows as
    done by that id, and by the machine's account that ran it."""
    import getpass

    from foundations.audit import act_as

    _USER.set(user)
    account = f"os:{getpass.getuser()}"
    act_as(user or account, f"{command} ({account})" if user else command)


def allowed(action: Any, case_id: int | None = None) -> str:
    """The staff id at the keyboard, if need to know lets them do `action`; else one sentence."""
    from tasks.access import require

    return require(_USER.get(), action, case_id).id


def recorder(named: str, action: Any, option: str) -> str:
    """Who a record is made in the name of (`--raised-by`, `--recorded-by`, `--received-by`):
    the one at the keyboard (--user or SAFESHARE_USER), who must be known, or someone else when
    the one at the keyboard may record for others (the DSL or a deputy, told by phone, say).
    Both must be allowed to make such a record; a refusal is entered in the audit trail."""
    from tasks.access import AccessDenied, require

    me = require(_USER.get(), action)
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

    return hidden_from(_USER.get(), case_ids)


# ---------------------------------------------------------------------------------------------


@app.command()
@friendly
def up(
    prefect_port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Prefect server port (default 4200).")
    ] = None,
    web_port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Web app port (default 8400).")
    ] = None,
) -> None:
    """Start the whole stack locally: Prefect server, case database, served flows."""
    from deployments.stack import StackError, run_stack

    settings = get_settings()
    if prefect_port:
        settings = settings.model_copy(update={"prefect_port": prefect_port})
    if web_port:
        settings = settings.model_copy(update={"web_port": web_port})
    try:
        raise typer.Exit(run_stack(settings, lambda line: out.print(line, markup=False)))
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


@app.command()
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


@app.command()
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


@audit_app.command("verify")
@friendly
def audit_verify(
    anchor: Annotated[
        list[str] | None,
        typer.Option(
            help="An anchor as the DSL's message gives it (ENTRY:CODE), checked as well as "
            "those in the anchor file. Repeatable."
        ),
    ] = None,
) -> None:
    """Check the whole chain against its key and its anchors; name the first entry that is
    missing, altered, out of place, or no longer the one anchored."""
    allowed(Action.READ_AUDIT)
    from foundations.audit import AnchorFileError, check_anchors, read_anchors, verify_chain
    from foundations.db import session_scope
    from models.audit import Anchor

    given = []
    for text in anchor or []:
        seq, _, code = text.partition(":")
        if not seq.isdigit() or len(code) != 64:
            raise UserError(f"--anchor {text!r} is not ENTRY:CODE as the anchor message gives it")
        given.append(Anchor(seq=int(seq), hash=code.lower(), at="from the message given"))
    try:
        anchors = read_anchors()
    except AnchorFileError as exc:
        raise UserError(str(exc)) from None
    with session_scope() as session:
        result = verify_chain(session)
        broken = result.broken or check_anchors(session, anchors + given)
    if broken is not None:
        fail(
            f"the audit trail is broken at entry {broken.seq}: {broken.problem} "
            f"({result.entries} entries read)"
        )
    keyed = (
        f"keyed from entry {result.keyed_from}"
        if result.keyed_from is not None
        else "NOT keyed: the data keys hold no audit key (see the README)"
    )
    last = max(anchors + given, key=lambda a: a.seq, default=None)
    held = (
        f"matches its {len(anchors + given)} anchor(s), the last at entry {last.seq} "
        f"({last.at})"
        if last is not None
        else "not anchored yet"
    )
    out.print(
        f"The audit trail holds: {result.entries} entries, head {result.head_hash}; {keyed}; "
        f"{held}."
    )


@audit_app.command("anchor")
@friendly
def audit_anchor() -> None:
    """Anchor the audit trail's head now, as the scheduled anchor does: checked, appended to the
    anchor file and sent to the DSL."""
    allowed(Action.READ_AUDIT)
    from foundations.audit import AnchorFileError, anchor_path
    from tasks.audit_anchor import anchor_now

    try:
        report = anchor_now()
    except AnchorFileError as exc:
        raise UserError(str(exc)) from None
    if report.outcome == "broken":
        fail(f"the audit trail is broken at entry {report.seq}: not anchored (the DSL is told)")
    if report.outcome == "empty":
        out.print("The audit trail is empty: nothing to anchor.")
        return
    said = "anchored" if report.outcome == "anchored" else "was anchored already"
    sent = (
        "sent to the DSL"
        if report.sent
        else "NOT sent (the outbox says why; the next anchor tries again)"
    )
    out.print(f"The audit trail's head, entry {report.seq}, {said} in {anchor_path()}; {sent}.")


@audit_app.command("show")
@friendly
def audit_show(
    case: Annotated[int | None, typer.Option(help="Entries about this case.")] = None,
    actor: Annotated[
        str | None, typer.Option(help="Entries by this person (staff id, agency.<code>, ...).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many.")] = 200,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The latest entries about a case or by a person: who did what, when and why."""
    allowed(Action.READ_AUDIT, case)
    from dataclasses import asdict

    from foundations.audit import entries_for
    from foundations.db import session_scope

    if case is None and actor is None:
        raise UserError("say whose entries: --case CASE_ID or --actor WHO")
    with session_scope() as session:
        entries = entries_for(session, case_id=case, actor=actor, limit=limit)
    hidden = hidden_from_user(sorted({e.case_id for e in entries if e.case_id is not None}))
    entries = [e for e in entries if e.case_id not in hidden]
    if as_json:
        emit_json([asdict(e) | {"detail": json.loads(e.detail)} for e in entries])
        return
    table = Table("#", "at", "who", "did", "case", "why", "detail")
    for e in entries:
        table.add_row(str(e.seq), e.at, e.actor, e.action, str(e.case_id or ""), e.reason, e.detail)
    out.print(table)


@retention_app.command("review")
@friendly
def retention_review(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    at: Annotated[str | None, typer.Option("--at", help="Review as of this date.")] = None,
) -> None:
    """Children whose records are past their retention date (date of birth + 25 years) and
    await a person's decision."""
    allowed(Action.LIST_CASES)
    from tasks.retention import due_for_review

    today = _parse_day(at)
    due = due_for_review(today)
    if as_json:
        emit_json(due)
        return
    table = Table("child", "review from", "cases", "hold")
    for item in due:
        table.add_row(
            item["child_ref"], item["review_from"], str(item["cases"]), item["hold"] or ""
        )
    out.print(table)
    if not due:
        out.print("No records await a retention decision.", markup=False)


@retention_app.command("decide")
@friendly
def retention_decide(
    child_ref: Annotated[str, typer.Argument(help="The child's reference.")],
    keep: Annotated[bool, typer.Option("--keep", help="Keep them, for another year.")] = False,
    destroy: Annotated[bool, typer.Option("--destroy", help="Destroy them now.")] = False,
    reason: Annotated[str, typer.Option(help="Why: kept in the record of the decision.")] = "",
    at: Annotated[str | None, typer.Option("--at", help="Decide as of this date.")] = None,
) -> None:
    """Decide on a child's records past their retention date. Records linked to sexual abuse
    are never destroyed: the attempt is recorded and refused."""
    from models.retention import Decision
    from tasks.retention import RetentionRefused, decide

    user = allowed(Action.ACT_ON_CASE)
    if keep == destroy:
        raise UserError("say --keep or --destroy (one of them)")
    if not reason.strip():
        raise UserError("give the reason for the decision (--reason)")
    try:
        done = decide(
            child_ref,
            Decision.KEEP if keep else Decision.DESTROY,
            by=user,
            reason=reason.strip(),
            today=_parse_day(at),
        )
    except RetentionRefused as exc:
        raise UserError(f"refused: {exc}") from None
    if done["decision"] == "keep":
        out.print(f"{child_ref}'s records are kept until {done['kept_until']}.", markup=False)
    else:
        out.print(f"{child_ref}'s records are destroyed; the decision is recorded.", markup=False)


def _parse_day(text: str | None) -> date:
    if text is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--at '{text}' is not a date: write YYYY-MM-DD") from None


@keys_app.command("list")
@friendly
def keys_list() -> None:
    """The data keys (ids only), which is primary, and how many values each one seals."""
    allowed(Action.MANAGE_SYSTEM)
    from foundations.sealing import CURRENT
    from tasks.keys import usage

    ring = CURRENT.get(fresh=True)
    counts = usage()
    table = Table("key", "primary", "sealed values")
    for kid in sorted(ring.keys):
        table.add_row(kid, "yes" if kid == ring.primary else "", str(counts.get(kid, 0)))
    out.print(table)
    strays = {k: n for k, n in counts.items() if k not in ring.keys}
    if strays:
        fail(f"values are sealed under keys this ring does not hold: {strays}")


@keys_app.command("rotate")
@friendly
def keys_rotate() -> None:
    """Add a new primary data key and re-seal every value under it, while the system runs."""
    allowed(Action.MANAGE_SYSTEM)
    from tasks.keys import rotate

    done = rotate()
    out.print(
        f"New primary data key {done.new_primary}; {done.resealed} value(s) re-sealed. "
        f"The old key {done.old_primary} stays in the ring: keep backups that need it, then "
        f"`safeshare keys retire {done.old_primary}`."
    )


@keys_app.command("reseal")
@friendly
def keys_reseal() -> None:
    """Re-seal under the primary key every value still sealed under another."""
    allowed(Action.MANAGE_SYSTEM)
    from tasks.keys import reseal

    out.print(f"{reseal()} value(s) re-sealed.")


@keys_app.command("retire")
@friendly
def keys_retire(
    key: Annotated[str, typer.Argument(help="The id of the data key to remove.")],
) -> None:
    """Remove a data key that no value is sealed under any more."""
    allowed(Action.MANAGE_SYSTEM)
    from tasks.keys import retire

    ring = retire(key)
    out.print(f"Data key {key} removed; the ring holds {', '.join(sorted(ring.keys))}.")


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

    from models.domain import StaffId
    from tasks.staff import add_staff, has_admin

    if not (role is Role.ADMIN and not has_admin()):
        allowed(Action.MANAGE_DIRECTORY)

    try:
        staff_id = TypeAdapter(StaffId).validate_python(staff_id)
    except ValidationError:
        raise UserError(f"'{staff_id}' is not a valid staff id (letters, digits, . _ -).") from None
    if notify is not None:
        _check_apprise_url(notify)
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


def _check_apprise_url(url: str, option: str = "--notify") -> None:
    import logging

    import apprise

    # Apprise logs why it cannot read an address: the sentence below says it, once
    quiet = logging.getLogger("apprise")
    was = quiet.disabled
    quiet.disabled = True
    try:
        understood = apprise.Apprise().add(url)
    finally:
        quiet.disabled = was
    if understood is False:
        raise UserError(f"the {option} address is not an Apprise URL Apprise understands.")


@child_app.command("add")
@friendly
def child_add(
    child_ref: Annotated[str, typer.Argument(help="Pseudonymous reference (no names).")],
    dob: Annotated[str, typer.Option(help="Date of birth, YYYY-MM-DD.")],
    cp_plan: Annotated[bool, typer.Option("--cp-plan", help="On a Child Protection Plan.")] = False,
    social_worker_notify: Annotated[
        str | None,
        typer.Option(help="Apprise URL of the child's social worker, told of plan events."),
    ] = None,
) -> None:
    """Add a child under a pseudonymous reference."""
    allowed(Action.MANAGE_DIRECTORY)
    from tasks.children import add_child

    try:
        born = date.fromisoformat(dob)
    except ValueError:
        raise UserError(f"--dob '{dob}' is not a date in the form YYYY-MM-DD.") from None
    if social_worker_notify is not None:
        _check_apprise_url(social_worker_notify, "--social-worker-notify")
    add_child(
        child_ref,
        date_of_birth=born,
        cp_plan=cp_plan,
        social_worker_notify=social_worker_notify,
    )
    out.print(f"Added child {child_ref}.", markup=False)


@child_app.command("update")
@friendly
def child_update(
    child_ref: Annotated[str, typer.Argument(help="The child's reference.")],
    cp_plan: Annotated[
        bool | None,
        typer.Option(
            "--cp-plan/--no-cp-plan", help="Put on, or take off, a Child Protection Plan."
        ),
    ] = None,
    social_worker_notify: Annotated[
        str | None,
        typer.Option(help="Apprise URL of the child's social worker ('none' forgets it)."),
    ] = None,
) -> None:
    """Record that a child is on (or off) a Child Protection Plan, and who their social worker
    is: plan events go to them as well as to children's social care."""
    allowed(Action.MANAGE_PLANS)
    from tasks.children import update_child

    if cp_plan is None and social_worker_notify is None:
        raise UserError(
            "nothing to change: give --cp-plan, --no-cp-plan or --social-worker-notify."
        )
    changes: dict[str, Any] = {}
    if social_worker_notify is not None:
        forget = social_worker_notify.strip().lower() == "none"
        if not forget:
            _check_apprise_url(social_worker_notify, "--social-worker-notify")
        changes["social_worker_notify"] = None if forget else social_worker_notify
    update_child(child_ref, cp_plan=cp_plan, **changes)
    out.print(f"Updated child {child_ref}.", markup=False)


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
        _check_apprise_url(notify)
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
            _check_apprise_url(notify)
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
    _record_directory_read("agency-list", len(agencies))
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


@staff_app.command("list")
@friendly
def staff_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The staff directory: ids, roles and names, whether each is active, has an address to
    be notified at, a password and a second factor (never the address or the secrets)."""
    allowed(Action.READ_DIRECTORY)
    from dataclasses import asdict

    from tasks.staff import list_staff

    staff = list_staff()
    _record_directory_read("staff-list", len(staff))
    if as_json:
        emit_json([asdict(m) for m in staff])
        return
    table = Table("staff id", "role", "name", "active", "address", "password", "second factor")
    for m in staff:
        flags = (m.active, m.has_address, m.has_password, m.has_second_factor)
        # a name is shown as typed, never read as markup
        table.add_row(m.staff_id, m.role, Text(m.name), *("yes" if f else "no" for f in flags))
    out.print(table)


@child_app.command("list")
@friendly
def child_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Children's references, whether each is on a Child Protection Plan and has a social
    worker on record (dates of birth stay sealed)."""
    allowed(Action.READ_DIRECTORY)
    from dataclasses import asdict

    from tasks.children import list_children

    children = list_children()
    _record_directory_read("child-list", len(children))
    if as_json:
        emit_json([asdict(c) for c in children])
        return
    table = Table("child", "on a plan", "social worker")
    for c in children:
        table.add_row(
            c.child_ref, "yes" if c.cp_plan else "no", "yes" if c.has_social_worker else "no"
        )
    out.print(table)


def _record_directory_read(what: str, count: int) -> None:
    """A list of the directory was shown: entered in the audit trail (how many, not who)."""
    from foundations.audit import record_read
    from foundations.db import session_scope

    with session_scope() as session:
        record_read(session, what, count=count)


@concern_app.command("record")
@friendly
def concern_record(
    child: Annotated[str, typer.Option(help="The child's reference.")],
    raised_by: Annotated[str, typer.Option(help="Staff id of who raised it.")],
    category: Annotated[Category, typer.Option(help="Category of concern.")],
    what: Annotated[str, typer.Option(help="What happened: facts, apart from opinion.")],
    when: Annotated[
        str | None, typer.Option(help="When it happened (ISO-8601); now if unset.")
    ] = None,
    where: Annotated[str | None, typer.Option(help="Where it happened.")] = None,
    child_words: Annotated[str | None, typer.Option(help="The child's own words.")] = None,
    action_taken: Annotated[str | None, typer.Option(help="Action taken so far.")] = None,
    who_told: Annotated[
        str | None, typer.Option(help="Who you have told so far (names and roles).")
    ] = None,
    allegation_against: Annotated[
        str | None,
        typer.Option(
            help="If it is an allegation against a member of staff: their staff id. They will "
            "not see the case or be asked to act on it."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Record a concern and start its sharing case."""
    from tasks.concerns import record_concern

    recorder(raised_by, Action.RECORD_CONCERN, "--raised-by")

    occurred = _parse_when(when)
    facts = _validated(
        ConcernFacts,
        child_ref=child,
        raised_by=raised_by,
        category=category,
        occurred_at=occurred,
        place=where,
        what_happened=what,
        child_words=child_words,
        action_taken=action_taken,
        who_told=who_told,
        allegation_against=allegation_against,
    )
    case_id = record_concern(facts)
    _start_and_report(case_id, as_json, "Recorded concern")


@events_app.command("record")
@friendly
def events_record(
    child: Annotated[str, typer.Option(help="The pupil's reference (on a Child Protection Plan).")],
    kind: Annotated[
        str,
        typer.Option(
            help="exclusion-fixed-term, exclusion-permanent, unexplained-absence or "
            "change-in-circumstances."
        ),
    ],
    recorded_by: Annotated[str, typer.Option(help="Staff id of who records it.")],
    when: Annotated[
        str | None, typer.Option(help="When it happened (ISO-8601); now if unset.")
    ] = None,
    details: Annotated[
        str | None, typer.Option(help="What children's social care should know.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Record a Child Protection Plan event and tell children's social care at once."""
    from models.plan_events import parse_kind

    recorder(recorded_by, Action.RECORD_CONCERN, "--recorded-by")
    try:
        event_kind = parse_kind(kind)
    except ValueError as exc:
        raise UserError(f"--kind {exc}.") from None
    facts = _validated(
        PlanEventFacts,
        child_ref=child,
        kind=event_kind,
        occurred_at=_parse_when(when),
        details=details,
        recorded_by=recorded_by,
    )
    results = _record_events([(1, facts)], source=None)
    (result,) = results
    if as_json:
        emit_json(result)
    elif result["new"]:
        out.print(f"Recorded the event as case {result['case_id']} ({result['reference']}).")
    else:
        out.print(
            f"This event was already recorded as case {result['case_id']} "
            f"({result['reference']}): nothing new is sent.",
            markup=False,
        )
    _fail_unstarted(results)


@events_app.command("import")
@friendly
def events_import(
    file: Annotated[Path, typer.Argument(help="A CSV or JSON export of events.")],
    recorded_by: Annotated[str, typer.Option(help="Staff id of who imports it.")],
    file_format: Annotated[
        str | None,
        typer.Option("--format", help="csv or json; from the file's name when unset."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Import Child Protection Plan events from a school information system's export (CSV with
    a header row, or JSON: an array of objects, or one object per line). Columns: child_ref,
    kind, occurred_at, details. The whole file is checked first: every row that is malformed,
    names an unknown pupil or one not on a plan, or gives a time to come is reported with its
    line number, and then nothing is imported. Events imported before are not recorded or sent
    twice."""
    from models.plan_events import FeedError, RowProblem, read_feed, row_facts
    from tasks.plan_events import plan_event_problems

    recorder(recorded_by, Action.RECORD_CONCERN, "--recorded-by")
    fmt = (file_format or file.suffix.lstrip(".")).lower()
    if fmt in ("jsonl", "ndjson"):
        fmt = "json"
    if fmt not in ("csv", "json"):
        raise UserError(
            f"cannot tell the format of '{file.name}': give --format csv or --format json."
        )
    try:
        if file.stat().st_size > 20_000_000:
            raise UserError(f"'{file}' is over 20 MB: split the export.")
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"no file '{file}'.") from None
    except UnicodeDecodeError:
        raise UserError(f"'{file}' is not UTF-8 text.") from None
    except OSError as exc:
        raise UserError(f"cannot read '{file}' ({exc.strerror}).") from None
    try:
        rows = read_feed(text, fmt)
    except FeedError as exc:
        raise UserError(f"'{file.name}' was not imported: {exc}.") from None
    parsed = [(row.line, row_facts(row, recorded_by)) for row in rows]
    events = [(line, facts) for line, facts in parsed if isinstance(facts, PlanEventFacts)]
    # the whole file at once: rows that do not read, and rows that read but cannot be recorded
    # (an unknown pupil, one not on a plan, a time to come), every one with its line
    problems = [p for _, p in parsed if isinstance(p, RowProblem)]
    problems += plan_event_problems(events, now=datetime.now(UTC))
    if problems:
        _refuse_feed(file.name, problems)
    results = _record_events(events, source=file.name)
    new = sum(1 for r in results if r["new"])
    if as_json:
        emit_json(
            {"file": file.name, "recorded": new, "already": len(results) - new, "events": results}
        )
    else:
        out.print(
            f"Imported {len(results)} event(s) from {file.name}: {new} new, "
            f"{len(results) - new} recorded before.",
            markup=False,
        )
        for r in results:
            state = "new" if r["new"] else "recorded before"
            out.print(
                f"  line {r['line']}: case {r['case_id']} ({r['reference']}), {state}", markup=False
            )
    _fail_unstarted(results)


@leaver_app.command("record")
@friendly
def leaver_record(
    child: Annotated[str, typer.Option(help="The leaver's reference.")],
    leaving_on: Annotated[str, typer.Option(help="Their last day, YYYY-MM-DD.")],
    destination: Annotated[
        str, typer.Option(help="The next school's agency code (kind school), or 'unknown'.")
    ],
    move: Annotated[MoveKind, typer.Option(help="in-year, or new-term (from a term's start).")],
    recorded_by: Annotated[str, typer.Option(help="Your staff id (DSL or deputy).")],
    new_term_starts: Annotated[
        str | None, typer.Option(help="For a new-term move: the term's first day, YYYY-MM-DD.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Record a leaver: their child protection file goes to the next school's DSL (after the
    DSL has considered sharing ahead of the move), to be received within 5 working days of the
    move or of the new term's start; an unknown destination tells the local authority."""
    from tasks.transfers import record_leaver

    recorder(recorded_by, Action.ACT_ON_CASE, "--recorded-by")
    facts = _validated(
        LeaverFacts,
        child_ref=child,
        leaving_on=_parse_day_option(leaving_on, "--leaving-on"),
        destination=None if destination.strip().lower() == "unknown" else destination,
        move=move,
        new_term_starts=(
            _parse_day_option(new_term_starts, "--new-term-starts") if new_term_starts else None
        ),
        recorded_by=recorded_by,
    )
    case_id = record_leaver(facts)
    _start_and_report(case_id, as_json, "Recorded the leaver")


def _parse_day_option(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{option} '{text}' is not a date in the form YYYY-MM-DD.") from None


@case_app.command("export")
@friendly
def case_export(
    case_or_child: Annotated[
        str, typer.Argument(help="A case id (its child's whole file) or a child's reference.")
    ],
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the PDF.")],
) -> None:
    """Write a child's whole child protection file as one document (PDF), as it goes to a new
    school: for a child protection conference. Readable by its owner only."""
    from foundations.audit import record_read
    from foundations.db import session_scope
    from tasks.cp_file import FileError, cases_of_child, child_file, child_of_case, write_file

    allowed(Action.READ_CASE)
    try:
        child_ref = child_of_case(int(case_or_child)) if case_or_child.isdigit() else case_or_child
        case_ids = cases_of_child(child_ref)
        for case_id in case_ids:  # every case in it must be one the person may read
            allowed(Action.READ_CASE, case_id)
        if not case_ids:
            raise UserError(f"{child_ref} has no cases: there is no file to export.")
        if out_path.exists():
            raise UserError(f"'{out_path}' exists: give a new file name.")
        document = child_file(child_ref, purpose="for a child protection conference")
        write_file(out_path, document)
    except FileError as exc:
        raise UserError(str(exc).rstrip(".") + ".") from None
    digest = hashlib.sha256(document).hexdigest()  # recorded: the copy can be checked later
    with session_scope() as session:
        for case_id in case_ids:
            record_read(session, "cp-file", case_id=case_id, form="pdf", sha256=digest)
    out.print(
        f"Wrote the child protection file of {child_ref} ({len(case_ids)} case(s)) to {out_path}"
        f" (SHA-256 {digest}).",
        markup=False,
    )


@notice_app.command("record")
@friendly
def notice_record(
    child: Annotated[str, typer.Option(help="The child's reference.")],
    source: Annotated[NoticeSource, typer.Option(help="Where the notice came from.")],
    details: Annotated[str, typer.Option(help="The notice as it came (kept for the DSL only).")],
    recorded_by: Annotated[str, typer.Option(help="Your staff id (DSL or deputy).")],
    received_at: Annotated[
        str | None, typer.Option(help="When it was received (ISO-8601); now if unset.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Record a notice about a child (a police domestic abuse notification, say). The DSL then
    reviews it (a police notification before the next school day starts) and chooses who needs
    to know, and what; each is told through a link of their own."""
    from tasks.notices import record_notice

    recorder(recorded_by, Action.RECORD_NOTICE, "--recorded-by")
    facts = _validated(
        NoticeFacts,
        child_ref=child,
        source=source,
        received_at=_parse_when(received_at, "--received-at"),
        details=details,
        recorded_by=recorded_by,
    )
    case_id = record_notice(facts, now=datetime.now(UTC))
    _start_and_report(case_id, as_json, "Recorded the notice")


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
    facts = _validated(
        AccessRequestFacts,
        child_ref=child,
        requester=requester,
        received_by=received_by,
        received_at=_parse_when(received_at, "--received-at"),
        request=request,
    )
    case_id = record_access_request(facts, now=datetime.now(UTC))
    _start_and_report(case_id, as_json, "Recorded the request")


def _refuse_feed(name: str, problems: Sequence[RowProblem]) -> NoReturn:
    problems = sorted(problems, key=lambda p: p.line)
    for problem in problems[:50]:
        err.print(f"  {problem}", markup=False)
    more = f" (the first 50 of {len(problems)} problems are listed)" if len(problems) > 50 else ""
    rows = len({p.line for p in problems})
    fail(
        f"'{name}' was not imported: {rows} row(s) cannot be recorded{more}; "
        "nothing from it was recorded."
    )


def _record_events(
    events: list[tuple[int, PlanEventFacts]], *, source: str | None
) -> list[dict[str, Any]]:
    """Record the events (all or nothing) and start (or find: runs are keyed by their case) the
    workflow of each, so importing a feed again starts what an outage left unstarted."""
    from tasks.plan_events import EventsRefused, record_plan_events

    try:
        recorded = record_plan_events(events, now=datetime.now(UTC))
    except EventsRefused as exc:
        if source is None:
            raise UserError("; ".join(p.message for p in exc.problems) + ".") from None
        _refuse_feed(source, exc.problems)
    results = []
    for event in recorded:
        run_id, problem = _start_case(event.case_id)
        results.append(
            {
                "line": event.line,
                "case_id": event.case_id,
                "reference": _ref(event.case_id),
                "new": event.new,
                "flow_run_id": run_id,
                "started": problem is None,
                "error": problem,
            }
        )
    return results


def _fail_unstarted(results: list[dict[str, Any]]) -> None:
    unstarted = [r["case_id"] for r in results if not r["started"]]
    if unstarted:
        fail(
            f"case(s) {', '.join(map(str, unstarted))} are recorded but their workflow did not "
            f"start ({next(r['error'] for r in results if not r['started'])}); start each with "
            "`safeshare case start CASE_ID` once the stack is up."
        )


M = TypeVar("M", bound=BaseModel)


def _validated(model: type[M], **fields: Any) -> M:
    """The record as the domain accepts it, or one sentence naming what is wrong (never
    repeating what was typed)."""
    try:
        return model(**fields)
    except ValidationError as exc:
        from models.forms import problems_from_validation

        raise UserError("; ".join(p.message for p in problems_from_validation(exc))) from None


def _start_and_report(case_id: int, as_json: bool, recorded: str) -> None:
    """Start a newly recorded case's workflow and say so (or, when it could not start, that the
    record is safe and how to start it)."""
    flow_run_id, problem = _start_case(case_id)
    result = {"case_id": case_id, "reference": _ref(case_id), "flow_run_id": flow_run_id}
    if as_json:
        emit_json(result | {"started": problem is None, "error": problem})
    else:
        out.print(f"{recorded} as case {case_id} ({_ref(case_id)}).", markup=False)
    if problem is not None:
        fail(
            f"case {case_id} is recorded but its workflow did not start ({problem}); "
            "the next overdue check starts it once the stack is up, or start it now with "
            f"`safeshare case start {case_id}`."
        )


def _ref(case_id: int) -> str:
    from models.messages import case_reference

    return case_reference(case_id)


def _parse_when(when: str | None, option: str = "--when") -> datetime:
    if when is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(when)
    except ValueError:
        raise UserError(f"{option} '{when}' is not an ISO-8601 date and time.") from None
    if value.tzinfo is None:
        raise UserError(f"{option} '{when}' needs a UTC offset, for example {when}+00:00.")
    return value


def _start_case(case_id: int) -> tuple[str | None, str | None]:
    from tasks.starting import start_case_run

    return start_case_run(case_id)


@case_app.command("start")
@friendly
def case_start(case_id: int) -> None:
    """Start (or find) the workflow of a recorded case; one that stopped while the case is open
    (failed, crashed, or ended) is started again."""
    allowed(Action.ACT_ON_CASE, case_id)
    from tasks.views import show_case

    show_case(case_id)  # refuses unknown cases with a clear error
    run_id, problem = _start_case(case_id)
    if problem is not None:
        fail(f"the workflow of case {case_id} did not start ({problem}).")
    out.print(f"Case {case_id} runs as flow run {run_id}.", markup=False)


@case_app.command("resend")
@friendly
def case_resend(case_id: int) -> None:
    """Send everyone who may answer a case's current step a new one-time code (and link, for
    sign-off), and, for a receipt, each recipient that has not confirmed a new link; those sent
    before stop working."""
    allowed(Action.ACT_ON_CASE, case_id)
    from tasks.case_facts import NotWaiting
    from tasks.credentials import resend_credentials

    try:
        sent_to = resend_credentials(case_id)
    except NotWaiting as exc:
        raise UserError(str(exc).rstrip(".") + ".") from None
    if not sent_to:
        fail(f"no new code could be delivered for case {case_id}; see `safeshare case show`.")
    out.print(f"New codes sent for case {case_id} to: {', '.join(sent_to)}.", markup=False)


@case_app.command("list")
@friendly
def case_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Open cases and what each waits for."""
    allowed(Action.LIST_CASES)
    from foundations.audit import record_read
    from foundations.db import session_scope
    from tasks.views import list_open_cases

    cases = list_open_cases()
    hidden = hidden_from_user([c["case_id"] for c in cases])
    cases = [c for c in cases if c["case_id"] not in hidden]
    with session_scope() as session:
        record_read(session, "case-list", cases=[c["case_id"] for c in cases])
    if as_json:
        emit_json(cases)
        return
    table = Table("case", "ref", "category", "waiting for", "since", "due", "who may answer")
    for case in cases:
        waiting = case["waiting"] or {}
        table.add_row(
            str(case["case_id"]),
            case["reference"],
            case["category"],
            waiting.get("step", "(running)"),
            waiting.get("since") or "",
            waiting.get("due") or "",
            ", ".join(waiting.get("who_may_answer", [])),
        )
    out.print(table)


@case_app.command("note")
@friendly
def case_note(
    case_id: int,
    text: Annotated[str, typer.Option("--text", help="The note, as it should stand.")],
) -> None:
    """Add a note to a case's chronology: what followed (a review after an emergency share
    was not ratified, a call, a meeting). Kept as written; a correction is a new note."""
    who = allowed(Action.ACT_ON_CASE, case_id)
    from tasks.steps import add_note

    slot = add_note(case_id, who, text)
    out.print(f"Note added to case {case_id} as {slot}, by {who}.", markup=False)


@case_app.command("show")
@friendly
def case_show(case_id: int, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """A case's chronology and current step."""
    allowed(Action.READ_CASE, case_id)
    from foundations.audit import record_read
    from foundations.db import session_scope
    from tasks.views import show_case

    case = show_case(case_id)
    with session_scope() as session:
        record_read(session, "case", case_id=case_id, form="json" if as_json else "text")
    example = _example_input(case["waiting"])
    if as_json:
        if case["waiting"]:
            case["waiting"]["example_input"] = example
        emit_json(case)
        return
    out.print(f"Case {case['case_id']} ({case['reference']}): {case['status']}", markup=False)
    concern = case["concern"]
    opened = {
        "plan-event": "Child Protection Plan event for",
        "access-request": "Request to see the records of",
        "notice": "Notice about",
        "transfer": "Leaver:",
    }.get(case["kind"], "Concern about")
    out.print(
        f"{opened} {concern['child_ref']} ({concern['category']}) at "
        f"{concern['occurred_at']}, recorded by {concern['raised_by']}",
        markup=False,
    )
    for label in ("place", "what_happened", "child_words", "action_taken", "who_told"):
        if concern[label]:
            out.print(f"  {label.replace('_', ' ')}: {concern[label]}", markup=False)
    table = Table("at", "step", "by")
    table.add_column("answer", overflow="fold")  # all of it, however narrow the terminal
    for entry in case["chronology"]:
        if entry["accepted"]:
            outcome = json.dumps(entry["answer"], default=str) if entry["answer"] else "done"
            if entry["outcome"]:  # what the rules computed from the answer, and why
                reasons = f" ({', '.join(entry['reasons'])})" if entry["reasons"] else ""
                outcome = f"computed: {entry['outcome']}{reasons}\n{outcome}"
        else:
            outcome = "NOT ACCEPTED: " + "; ".join(p["message"] for p in entry["problems"] or [])
        table.add_row(entry["at"], entry["slot"], entry["by"] or "-", outcome)
    out.print(table)
    waiting = case["waiting"]
    if waiting:
        out.print(
            f"Waiting for: {waiting['step']} since {waiting['since']}, due {waiting['due']} "
            f"(who may answer: {', '.join(waiting['who_may_answer']) or 'nobody yet'})",
            markup=False,
        )
        if example is not None:
            out.print(
                f"Answer it with: safeshare answer {case['case_id']} {waiting['step']} "
                f"--as YOUR_STAFF_ID --code CODE --input '{json.dumps(example)}' "
                f"(the fields: `safeshare answer-fields {waiting['step']}`)",
                markup=False,
            )
    failed = [n for n in case["notifications"] if n["status"] != "sent"]
    for note in failed:
        out.print(
            f"NOTIFICATION {note['status'].upper()}: {note['kind']} to {note['tag']} "
            f"({note['error']})",
            markup=False,
        )


def _example_input(waiting: dict[str, Any] | None) -> dict[str, Any] | None:
    """An answer to the step a case waits for, as `--input` takes it, to edit."""
    from models.forms import FORMS, example_input

    if waiting is None or Step(waiting["step"]) not in FORMS:
        return None
    return example_input(Step(waiting["step"]), now=datetime.now(UTC))


@app.command()
@friendly
def overdue(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    at: Annotated[
        str | None, typer.Option("--at", help="Look at another time (ISO-8601 with offset).")
    ] = None,
    check_now: Annotated[
        bool,
        typer.Option(
            "--check-now", help="Run the overdue check now: remind and escalate, then list."
        ),
    ] = False,
) -> None:
    """Open cases whose waiting step is past its deadline, most overdue first; then the open
    cases that nothing moves on (their workflow run stopped), which the check tells the DSL of."""
    allowed(Action.READ_OVERDUE)
    from tasks.views import overdue_cases

    when = _parse_when(at, "--at")
    if check_now:
        from flows.overdue_check import overdue_check

        try:
            overdue_check(at=when.isoformat())
        except Exception as exc:  # the Prefect server is not reachable, most often
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UserError(f"the overdue check did not run: {first}") from None
    late = overdue_cases(when)
    stuck = _stranded(when)
    hidden = hidden_from_user([c["case_id"] for c in [*late, *stuck]])
    late = [c for c in late if c["case_id"] not in hidden]
    stuck = [c for c in stuck if c["case_id"] not in hidden]
    if as_json:
        emit_json(
            [c | {"stranded": None} for c in late]
            + [
                c
                | {
                    "step": None,
                    "key": None,
                    "due": None,
                    "deadline": None,
                    "overdue_hours": None,
                    "who_must_act": [],
                }
                for c in stuck
            ]
        )
        return
    table = Table("case", "ref", "waiting for", "due", "overdue (h)", "who must act")
    for case in late:
        table.add_row(
            str(case["case_id"]),
            case["reference"],
            case["step"],
            case["due"],
            f"{case['overdue_hours']:.1f}",
            ", ".join(case["who_must_act"]) or "nobody eligible",
        )
    out.print(table)
    if not late:
        out.print("Nothing is overdue.", markup=False)
    if stuck:
        table = Table("case", "ref", "open, but nothing moves it on", "since", "to do")
        for case in stuck:
            table.add_row(
                str(case["case_id"]),
                case["reference"],
                case["stranded"],
                case["since"],
                f"safeshare case start {case['case_id']}",
            )
        out.print(table)


def _stranded(when: datetime) -> list[dict[str, Any]]:
    """Open cases nothing moves on; none (and a note on stderr) when Prefect cannot say."""
    from prefect.settings import PREFECT_API_URL

    from tasks.stranded import stranded_cases

    try:
        if not PREFECT_API_URL.value():  # never a temporary server of its own: there is none
            raise RuntimeError("no Prefect server is configured")
        return stranded_cases(when)
    except Exception as exc:  # the Prefect server is not reachable, most often
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        err.print(
            f"Open cases whose workflow stopped are not listed: Prefect did not answer ({first}).",
            markup=False,
        )
        return []


class AnswerHelp(TyperCommand):
    """`safeshare answer`, whose help ends with the fields of every step's answer (read from the
    forms only when help is asked for: the forms load Prefect)."""

    @property
    def epilog(self) -> str:
        from models.forms import FORMS, fields_help

        lines = [
            "The fields of --input for each step (* must be given; `safeshare answer-fields "
            "STEP` says what each means and gives an example; `safeshare case show CASE_ID` "
            "gives one for the step the case waits for):"
        ]
        lines += [f"{step.value}: {fields_help(step)}" for step in FORMS]
        return "\n\n".join(lines)

    @epilog.setter
    def epilog(self, _value: str | None) -> None:
        """Click sets it when the command is made: the property above is what it is."""


@app.command(cls=AnswerHelp)
@friendly
def answer(
    case_id: int,
    step: Annotated[Step, typer.Argument(help="The step the case waits for.")],
    as_: Annotated[str, typer.Option("--as", help="Your staff id.")],
    input_: Annotated[str, typer.Option("--input", help="The answer as a JSON object.")],
    code: Annotated[
        str, typer.Option("--code", help="The one-time code sent to you for this step.")
    ],
    wait: Annotated[
        bool, typer.Option(help="Wait until the case has moved on to its next step.")
    ] = False,
) -> None:
    """Answer the step a case waits for, with the same checks as the dashboard.

    The answer counts only with the one-time code sent to you (--as) for this wait. An answer
    the policy refuses (a wrong code too) is recorded with its reasons and the step is asked
    again, with new codes sent; one that is not a filled-in form of the step (a field missing,
    a value not allowed) changes nothing."""
    from foundations.audit import act_as
    from models.codes import normalise_code
    from tasks.answers import give_answer
    from tasks.case_facts import NotWaiting
    from tasks.run_input import Woken

    keyboard = _USER.get()
    if keyboard is not None and keyboard != as_:
        raise UserError(
            f"you are {keyboard} (--user or SAFESHARE_USER) and cannot answer as {as_}; "
            f"answer as yourself, or give --user {as_} if that is who you are."
        )

    try:
        raw = json.loads(input_)
    except json.JSONDecodeError as exc:
        raise UserError(f"--input is not valid JSON ({exc.msg} at position {exc.pos}).") from None
    if not isinstance(raw, dict):
        raise UserError('--input must be a JSON object, such as {"decision": "approve"}.')
    if "answered_by" in raw and raw["answered_by"] != as_:
        raise UserError("answered_by in --input differs from --as.")
    raw["answered_by"] = as_
    if "one_time_code" in raw:
        raise UserError("give the one-time code with --code, not in --input.")
    if not normalise_code(code):
        raise UserError("--code is empty: give the one-time code sent to you for this step.")
    prefect_settings(get_settings())
    # the trail names who answered: the person the code proves, at this machine's account
    act_as(as_, f"safeshare answer (os:{getpass.getuser()})")
    try:
        given = give_answer(case_id, step, raw, code)
    except NotWaiting as exc:
        raise UserError(str(exc).rstrip(".") + ".") from None
    if not given.accepted:
        problems = "; ".join(p.message for p in given.problems)
        fail(
            f"the answer was not accepted: {problems}. The refusal is recorded in case "
            f"{case_id}, and the step is asked again: new one-time codes are sent."
        )
    out.print(f"Answer recorded on case {case_id} ({given.slot}).", markup=False)
    if given.woken in (Woken.UNREACHABLE, Woken.SUSPENDING):
        err.print(
            f"note: the workflow could not be told yet ({given.woken.value}); the answer is "
            "safe in the case database and the case moves on at the next overdue check.",
            markup=False,
        )
    if wait:
        _await_next(case_id, given.key)


def _await_next(case_id: int, key: str, timeout: float = 120) -> None:
    """Wait until the case has moved past the wait just answered (--wait)."""
    from tasks.views import show_case

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        case = show_case(case_id)
        waiting = case["waiting"]
        if case["status"] != "open" or (waiting is not None and waiting["key"] != key):
            now_at = waiting["step"] if case["status"] == "open" else case["status"]
            out.print(f"Case {case_id} is now: {now_at}.", markup=False)
            return
        time.sleep(0.3)
    fail(
        f"the answer is recorded but case {case_id} has not moved on within {timeout:.0f} s; "
        "is `safeshare up` running?"
    )


@app.command("answer-fields")
@friendly
def answer_fields(
    step: Annotated[
        Step | None, typer.Argument(help="The step (every step people answer, when unset).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """What the answer to each step holds (`safeshare answer CASE_ID STEP --input JSON`): every
    field, the values it takes, whether it must be given and what it means, and an example."""
    from models.domain import HUMAN_STEPS
    from models.forms import FORMS, example_input, step_fields

    if step is not None and step not in FORMS:
        raise UserError(
            f"{step.value} is not answered by a person; the steps people answer are "
            f"{', '.join(s.value for s in FORMS)}."
        )
    steps = [step] if step is not None else list(FORMS)
    now = datetime.now(UTC)
    if as_json:
        emit_json(
            {
                s.value: {
                    "answered_by_roles": sorted(r.value for r in HUMAN_STEPS[s]),
                    "fields": [f.model_dump() for f in step_fields(s)],
                    "example_input": example_input(s, now=now),
                }
                for s in steps
            }
        )
        return
    for s in steps:
        roles = ", ".join(sorted(r.value for r in HUMAN_STEPS[s]))
        table = Table("field", "must be given", "takes", "what it is", title=f"{s.value} ({roles})")
        for f in step_fields(s):
            takes = " | ".join(f.allowed) if f.allowed else f.kind
            given = f"given by {f.given_by}" if f.given_by else ("yes" if f.required else "no")
            table.add_row(f.name, given, takes, f.description)
        out.print(table)
        example = json.dumps(example_input(s, now=now))
        out.print(f"Example: --input '{example}'", markup=False)
    out.print(
        "Some fields are needed because of another's value (a reason when consent was not "
        "sought and the decision shares, when parents were told...): an answer without them "
        "is refused, saying which.",
        markup=False,
    )


def main(argv: list[str] | None = None) -> int:
    """The console script: the commands above, with the shell's own usage mistakes (a missing
    option, a value not allowed, an unknown command) also said in one sentence, and a fault
    nobody foresaw said in one sentence that names the log holding its details."""
    from foundations.private import owner_only

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
    import os
    import traceback

    logs = get_settings().home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / "cli-errors.log"
    command = " ".join(a for a in args[:3] if not a.startswith("-"))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as log:
        log.write(f"--- {datetime.now(UTC).isoformat()} safeshare {command}\n")
        log.write(traceback.format_exc())
    return path
