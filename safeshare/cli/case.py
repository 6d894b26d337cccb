"""`safeshare case`: sharing cases listed, read, noted, exported as a file, and started."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from models.access import Action
from models.kernel.steps import Step
from safeshare.cli.groups import group
from safeshare.cli.output import UserError, emit_json, fail, friendly, out
from safeshare.cli.recording import start_run
from safeshare.cli.user import allowed, hidden_from_user
from safeshare.terminal import Table

# each command imports inside itself what it alone needs, so that every command starts fast

case_app = group("List, read and start sharing cases.")


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


@case_app.command("start")
@friendly
def case_start(case_id: int) -> None:
    """Start (or find) the workflow of a recorded case; one that stopped while the case is open
    (failed, crashed, or ended) is started again."""
    allowed(Action.ACT_ON_CASE, case_id)
    from tasks.views import show_case

    show_case(case_id)  # refuses unknown cases with a clear error
    started = start_run(case_id)
    if started.problem is not None:
        fail(f"the workflow of case {case_id} did not start ({started.problem}).")
    out.print(f"Case {case_id} runs as flow run {started.flow_run_id}.", markup=False)


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
        for parent in waiting.get("parents_on_record") or []:
            out.print(f"  on record: {parent}", markup=False)
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
    from models.forms.fields import example_input
    from models.forms.registry import FORMS

    if waiting is None or Step(waiting["step"]) not in FORMS:
        return None
    return example_input(Step(waiting["step"]), now=datetime.now(UTC))
