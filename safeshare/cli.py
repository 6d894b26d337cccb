"""The `safeshare` command line. Errors are one sentence on stderr and a non-zero exit."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, date, datetime
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel, ValidationError

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
from safeshare.settings import get_settings, prefect_settings
from safeshare.terminal import Console, Table

app = typer.Typer(
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, help=__doc__
)
staff_app = typer.Typer(no_args_is_help=True, help="The staff directory.")
child_app = typer.Typer(no_args_is_help=True, help="Children, under pseudonymous references.")
agency_app = typer.Typer(no_args_is_help=True, help="Agencies that cases share with.")
concern_app = typer.Typer(no_args_is_help=True, help="Record concerns.")
case_app = typer.Typer(no_args_is_help=True, help="List, read and start sharing cases.")
db_app = typer.Typer(no_args_is_help=True, help="The case database.")
audit_app = typer.Typer(
    no_args_is_help=True, help="The audit trail of every write and read of case content."
)
retention_app = typer.Typer(
    no_args_is_help=True, help="Records past their retention date: review and decide."
)
keys_app = typer.Typer(
    no_args_is_help=True, help="The data keys that seal personal data in the case database."
)
events_app = typer.Typer(
    no_args_is_help=True,
    help="Child Protection Plan events (exclusions, unexplained absences, changes in "
    "circumstances): children's social care and the social worker are told at once.",
)
leaver_app = typer.Typer(
    no_args_is_help=True,
    help="Leavers: the child protection file goes to the next school.",
)
notice_app = typer.Typer(
    no_args_is_help=True,
    help="Need-to-know notices: staff are told only what they need to know.",
)
access_app = typer.Typer(
    no_args_is_help=True,
    help="Requests from a pupil or parent to see child protection records.",
)
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

        from models.forms import InvalidAnswer
        from safeshare.access import AccessDenied
        from safeshare.backups import BackupError
        from safeshare.sealing import SealError
        from tasks.directory import DirectoryError
        from tasks.records import CaseNotFound

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


_USER: ContextVar[str | None] = ContextVar("safeshare_cli_user", default=None)


@app.callback()
def _setup(
    ctx: typer.Context,
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            envvar="SAFESHARE_USER",
            help="Your staff id: need to know decides what you may see and do.",
        ),
    ] = None,
) -> None:
    """safeshare: safeguarding information-sharing cases as durable workflows."""
    import getpass

    from safeshare.audit import act_as

    prefect_settings(get_settings())
    _USER.set(user)
    # the audit trail enters what this command writes or shows as done by the staff id given,
    # and by the machine's account that ran it
    account = f"os:{getpass.getuser()}"
    command = f"safeshare {ctx.invoked_subcommand or ''}".strip()
    act_as(user or account, f"{command} ({account})" if user else command)


def allowed(action: Any, case_id: int | None = None) -> str:
    """The staff id at the keyboard, if need to know lets them do `action`; else one sentence."""
    from safeshare.access import require

    return require(_USER.get(), action, case_id).id


def hidden_from_user(case_ids: list[int]) -> set[int]:
    """Of these cases, those about an allegation against the person asking: never shown."""
    from safeshare.access import hidden_from

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
    from safeshare.stack import StackError, run_stack

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
    from safeshare.db import migrate

    migrate()
    out.print("The case database is up to date.")


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
def audit_verify() -> None:
    """Check the whole chain; name the first entry that is missing, altered or out of place."""
    allowed(Action.READ_AUDIT)
    from safeshare.audit import verify_chain
    from safeshare.db import session_scope

    with session_scope() as session:
        result = verify_chain(session)
    if result.broken is not None:
        fail(
            f"the audit trail is broken at entry {result.broken.seq}: {result.broken.problem} "
            f"({result.entries} entries read)"
        )
    out.print(f"The audit trail holds: {result.entries} entries, head {result.head_hash}.")


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

    from safeshare.audit import entries_for
    from safeshare.db import session_scope

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
    from safeshare.sealing import CURRENT
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
    from tasks.directory import add_staff, has_admin

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
    import apprise

    if apprise.Apprise().add(url) is False:
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
    from tasks.directory import add_child

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
    from tasks.directory import update_child

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
    from tasks.directory import add_agency

    if notify is not None:
        _check_apprise_url(notify)
    add_agency(code, name=name, kind=kind, notify_url=notify)
    out.print(f"Added agency {code}.", markup=False)


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
    from safeshare.access import require
    from tasks.directory import record_concern

    require(raised_by, Action.RECORD_CONCERN)  # who raised it is who records it

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
    from safeshare.access import require

    require(recorded_by, Action.RECORD_CONCERN)  # who records it is who is at the keyboard
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
    kind, occurred_at, details. Every row is checked first: if any is malformed or names a
    pupil who is not on a plan, each is reported with its line number and nothing is imported.
    Events imported before are not recorded or sent twice."""
    from models.plan_events import FeedError, read_feed, row_facts
    from safeshare.access import require

    require(recorded_by, Action.RECORD_CONCERN)
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
    problems = [str(p) for _, p in parsed if not isinstance(p, PlanEventFacts)]
    if problems:
        _refuse_feed(file.name, problems)
    events = [(line, facts) for line, facts in parsed if isinstance(facts, PlanEventFacts)]
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
    from safeshare.access import require
    from tasks.transfers import record_leaver

    require(recorded_by, Action.ACT_ON_CASE)
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
    from safeshare.audit import record_read
    from safeshare.db import session_scope
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
    from safeshare.access import require
    from tasks.notices import record_notice

    require(recorded_by, Action.RECORD_NOTICE)
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
    from safeshare.access import require
    from tasks.directory import record_access_request

    require(received_by, Action.RECORD_CONCERN)  # whoever received it records it
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


def _refuse_feed(name: str, problems: list[str]) -> NoReturn:
    for problem in problems[:50]:
        err.print(f"  {problem}", markup=False)
    more = f" (the first 50 of {len(problems)} are listed)" if len(problems) > 50 else ""
    fail(
        f"'{name}' was not imported: {len(problems)} row(s) cannot be recorded{more}; "
        "nothing from it was recorded."
    )


def _record_events(
    events: list[tuple[int, PlanEventFacts]], *, source: str | None
) -> list[dict[str, Any]]:
    """Record the events (all or nothing) and start (or find: runs are keyed by their case) the
    workflow of each, so importing a feed again starts what an outage left unstarted."""
    from tasks.directory import EventsRefused, record_plan_events

    try:
        recorded = record_plan_events(events, now=datetime.now(UTC))
    except EventsRefused as exc:
        if source is None:
            raise UserError("; ".join(p.message for p in exc.problems) + ".") from None
        _refuse_feed(source, [str(p) for p in exc.problems])
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
    """Start (or find) the workflow of a recorded case."""
    allowed(Action.ACT_ON_CASE, case_id)
    from safeshare.views import show_case

    show_case(case_id)  # refuses unknown cases with a clear error
    run_id, problem = _start_case(case_id)
    if problem is not None:
        fail(f"the workflow of case {case_id} did not start ({problem}).")
    out.print(f"Case {case_id} runs as flow run {run_id}.", markup=False)


@case_app.command("resend")
@friendly
def case_resend(case_id: int) -> None:
    """Send everyone who may answer a case's current step a new one-time code (and link, for
    sign-off); those sent before stop working."""
    allowed(Action.ACT_ON_CASE, case_id)
    from tasks.credentials import NotWaiting, resend_credentials

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
    from safeshare.audit import record_read
    from safeshare.db import session_scope
    from safeshare.views import list_open_cases

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
    from tasks.records import add_note

    slot = add_note(case_id, who, text)
    out.print(f"Note added to case {case_id} as {slot}, by {who}.", markup=False)


@case_app.command("show")
@friendly
def case_show(case_id: int, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """A case's chronology and current step."""
    allowed(Action.READ_CASE, case_id)
    from safeshare.audit import record_read
    from safeshare.db import session_scope
    from safeshare.views import show_case

    case = show_case(case_id)
    with session_scope() as session:
        record_read(session, "case", case_id=case_id, form="json" if as_json else "text")
    if as_json:
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
    failed = [n for n in case["notifications"] if n["status"] != "sent"]
    for note in failed:
        out.print(
            f"NOTIFICATION {note['status'].upper()}: {note['kind']} to {note['tag']} "
            f"({note['error']})",
            markup=False,
        )


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
    """Open cases whose waiting step is past its deadline, most overdue first."""
    allowed(Action.READ_OVERDUE)
    from safeshare.views import overdue_cases

    when = _parse_when(at, "--at")
    if check_now:
        from flows.overdue_check import overdue_check

        try:
            overdue_check(at=when.isoformat())
        except Exception as exc:  # the Prefect server is not reachable, most often
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UserError(f"the overdue check did not run: {first}") from None
    late = overdue_cases(when)
    hidden = hidden_from_user([c["case_id"] for c in late])
    late = [c for c in late if c["case_id"] not in hidden]
    if as_json:
        emit_json(late)
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


@app.command()
@friendly
def answer(
    case_id: int,
    step: Annotated[Step, typer.Argument(help="The step the case waits for.")],
    as_: Annotated[str, typer.Option("--as", help="Your staff id.")],
    input_: Annotated[str, typer.Option("--input", help="The answer as a JSON object.")],
    code: Annotated[
        str, typer.Option("--code", help="The one-time code sent to you for this step.")
    ],
    wait: Annotated[bool, typer.Option(help="Wait until the case has recorded it.")] = True,
) -> None:
    """Answer the step a case waits for, with the same checks as the dashboard.

    The answer counts only with the one-time code sent to you (--as) for this wait; a wrong
    code is recorded and the step is asked again, with new codes sent."""
    from models.codes import normalise_code
    from safeshare.db import session_scope
    from safeshare.views import show_case
    from tasks.records import validate_answer

    try:
        raw = json.loads(input_)
    except json.JSONDecodeError as exc:
        raise UserError(f"--input is not valid JSON ({exc.msg} at position {exc.pos}).") from None
    if not isinstance(raw, dict):
        raise UserError('--input must be a JSON object, such as {"decision": "approve"}.')
    case = show_case(case_id)
    waiting = case["waiting"]
    if case["status"] != "open":
        raise UserError(f"case {case_id} is closed ({case['status']}).")
    if waiting is None:
        raise UserError(f"case {case_id} is not waiting for anyone right now; try again shortly.")
    if waiting["step"] != step.value:
        raise UserError(f"case {case_id} waits for {waiting['step']}, not {step.value}.")
    if "answered_by" in raw and raw["answered_by"] != as_:
        raise UserError("answered_by in --input differs from --as.")
    raw["answered_by"] = as_
    if "one_time_code" in raw:
        raise UserError("give the one-time code with --code, not in --input.")
    if not normalise_code(code):
        raise UserError("--code is empty: give the one-time code sent to you for this step.")
    if step is Step.MASH_ADVICE:
        # slots are named mash-advice-<context>-<round>
        raw.setdefault("context", waiting["slot"].removeprefix("mash-advice-").rsplit("-", 1)[0])
    with session_scope() as session:
        validate_answer(session, case_id, step, raw)
    _resume(waiting["flow_run_id"], raw | {"one_time_code": code})
    if not wait:
        out.print(f"Answer sent to case {case_id}.", markup=False)
        return
    _await_recorded(case_id, waiting["key"])


def _resume(flow_run_id: str, raw: dict[str, Any]) -> None:
    prefect_settings(get_settings())
    from prefect.exceptions import PrefectHTTPStatusError

    from tasks.run_input import NotSuspended, resume_when_suspended

    try:
        resume_when_suspended(flow_run_id, raw)
    except NotSuspended:
        raise UserError(
            "the case is not waiting for an answer right now (its run is "
            "not suspended); check `safeshare case show`."
        ) from None
    except PrefectHTTPStatusError as exc:
        raise UserError(f"the dashboard refused the answer ({exc.response.text[:300]}).") from None
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"the case could not be resumed: {first}") from None


def _await_recorded(case_id: int, key: str, timeout: float = 120) -> None:
    from sqlalchemy import select

    from models.tables import CaseStep
    from safeshare.db import session_scope

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope() as session:
            row = session.scalar(
                select(CaseStep).where(CaseStep.case_id == case_id, CaseStep.key == key)
            )
            if row is not None:
                if row.accepted:
                    out.print(f"Answer recorded on case {case_id} ({row.slot}).", markup=False)
                    return
                problems = "; ".join(p["message"] for p in row.problems or [])
                fail(f"the answer was not accepted: {problems}")
        time.sleep(0.3)
    fail(
        f"the answer was sent but case {case_id} has not recorded it within {timeout:.0f} s; "
        "is `safeshare up` running?"
    )


def main(argv: list[str] | None = None) -> int:
    """The console script: the commands above, with the shell's own usage mistakes (a missing
    option, a value not allowed, an unknown command) also said in one sentence, and a fault
    nobody foresaw said in one sentence that names the log holding its details."""
    args = sys.argv[1:] if argv is None else argv
    try:
        result = app(args=args or ["--help"], prog_name="safeshare", standalone_mode=False)
    except typer.TyperException as exc:  # Typer's (vendored Click's) usage errors
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
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
