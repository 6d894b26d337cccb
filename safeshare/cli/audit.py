"""`safeshare audit`: the audit trail checked against its key and anchors, anchored, and read."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from models.access import Action
from safeshare.cli.groups import group
from safeshare.cli.output import UserError, emit_json, fail, friendly, out
from safeshare.cli.user import allowed, hidden_from_user
from safeshare.terminal import Table

# each command imports inside itself what it alone needs, so that every command starts fast

audit_app = group("The audit trail of every write and read of case content.")


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
    from foundations.audit_check import AnchorFileError, check_anchors, read_anchors, verify_chain
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
        f"matches its {len(anchors + given)} anchor(s), the last at entry {last.seq} ({last.at})"
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
    from foundations.audit_check import AnchorFileError, anchor_path
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

    from foundations.audit_check import entries_for
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
