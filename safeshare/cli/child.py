"""`safeshare child`: children under pseudonymous references, their plans and social workers."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from models.access import Action
from safeshare.cli.directory import check_apprise_url, record_directory_read
from safeshare.cli.groups import group
from safeshare.cli.output import UserError, emit_json, friendly, out
from safeshare.cli.user import allowed
from safeshare.terminal import Table

# each command imports inside itself what it alone needs, so that every command starts fast

child_app = group("Children, under pseudonymous references.")


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
        check_apprise_url(social_worker_notify, "--social-worker-notify")
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
            check_apprise_url(social_worker_notify, "--social-worker-notify")
        changes["social_worker_notify"] = None if forget else social_worker_notify
    update_child(child_ref, cp_plan=cp_plan, **changes)
    out.print(f"Updated child {child_ref}.", markup=False)


@child_app.command("list")
@friendly
def child_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Children's references, whether each is on a Child Protection Plan and has a social
    worker on record (dates of birth stay sealed)."""
    allowed(Action.READ_DIRECTORY)
    from dataclasses import asdict

    from tasks.children import list_children

    children = list_children()
    record_directory_read("child-list", len(children))
    if as_json:
        emit_json([asdict(c) for c in children])
        return
    table = Table("child", "on a plan", "social worker")
    for c in children:
        table.add_row(
            c.child_ref, "yes" if c.cp_plan else "no", "yes" if c.has_social_worker else "no"
        )
    out.print(table)


@child_app.command("find")
@friendly
def child_find(
    name: Annotated[str, typer.Argument(help="Part of a name (or a UPN).")],
    with_leavers: Annotated[bool, typer.Option("--with-leavers", help="Leavers too.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Find a pupil's reference by name, as the school information system holds them (Zoe
    finds Zoë, obrien finds O'Brien); on roll unless --with-leavers. Entered in the audit trail
    (how many were found, not who)."""
    allowed(Action.READ_DIRECTORY)
    from dataclasses import asdict

    from tasks.children import find_children

    found = find_children(name, with_leavers=with_leavers)
    record_directory_read("child-find", len(found))
    if as_json:
        emit_json([asdict(c) for c in found])
        return
    if not found:
        out.print("No pupil on roll has such a name or UPN.", markup=False)
        return
    table = Table("child", "name", "year", "on a plan", "left")
    for c in found:
        table.add_row(
            c.child_ref, c.name, c.year_group, "yes" if c.cp_plan else "no", c.left_on or ""
        )
    out.print(table)


@child_app.command("show")
@friendly
def child_show(
    child_ref: Annotated[str, typer.Argument(help="The child's reference.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Who a child is, as the school information system holds them: names, date of birth,
    UPN, consistent child identifier, year group, parents and carers. Entered in the audit
    trail."""
    allowed(Action.READ_DIRECTORY)
    from foundations.audit import record_read
    from foundations.db import session_scope
    from tasks.children import child_identity_lines

    lines = child_identity_lines(child_ref)
    with session_scope() as session:
        record_read(session, "child-show", child=child_ref)
    if as_json:
        emit_json(dict(lines))
        return
    for label, text in lines:
        out.print(f"{label}: {text}", markup=False)
