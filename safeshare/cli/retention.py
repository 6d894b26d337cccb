"""`safeshare retention`: records past their retention date, reviewed and decided on."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import typer

from models.access import Action
from safeshare.cli.groups import group
from safeshare.cli.output import UserError, emit_json, friendly, out
from safeshare.cli.user import allowed
from safeshare.terminal import Table

# each command imports inside itself what it alone needs, so that every command starts fast

retention_app = group("Records past their retention date: review and decide.")


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
