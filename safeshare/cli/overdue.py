"""`safeshare overdue`: open cases past their deadline, and open cases nothing moves on."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from models.access import Action
from safeshare.cli.inputs import parse_when
from safeshare.cli.output import UserError, emit_json, err, friendly, out
from safeshare.cli.user import allowed, hidden_from_user
from safeshare.terminal import Table

# each command imports inside itself what it alone needs, so that every command starts fast

overdue_commands = typer.Typer()  # commands of safeshare itself, not of a group


@overdue_commands.command()
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

    when = parse_when(at, "--at")
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
