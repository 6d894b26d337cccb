"""What most recording commands do: record it, start its case's run, and say so (or, when the
run could not start, that the record is safe and how to start it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from safeshare.cli.output import emit_json, fail, out

# starting a run is imported by the function that starts one (its requests of Prefect are plain
# HTTP: tasks/prefect_api.py)


@dataclass(frozen=True)
class Started:
    """A recorded case and its workflow run: started, or found (runs are keyed by their case),
    or not, and why."""

    case_id: int
    reference: str
    flow_run_id: str | None
    problem: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "reference": self.reference,
            "flow_run_id": self.flow_run_id,
            "started": self.problem is None,
            "error": self.problem,
        }


def start_run(case_id: int) -> Started:
    """Start (or find) the workflow run of a recorded case."""
    from models.messages.cases import case_reference
    from tasks.starting import start_case_run

    flow_run_id, problem = start_case_run(case_id)
    return Started(case_id, case_reference(case_id), flow_run_id, problem)


def record_and_start(record: Callable[[], int], *, as_json: bool, recorded: str) -> None:
    """Record a case (`record` returns its id), start its workflow and say so: `recorded` begins
    the sentence, as in "Recorded the notice as case 7 (SS-000007)."."""
    started = start_run(record())
    if as_json:
        emit_json(started.as_json())
    else:
        out.print(f"{recorded} as case {started.case_id} ({started.reference}).", markup=False)
    if started.problem is not None:
        fail(
            f"case {started.case_id} is recorded but its workflow did not start "
            f"({started.problem}); the next overdue check starts it once the stack is up, or "
            f"start it now with `safeshare case start {started.case_id}`."
        )
