"""The overdue check: a scheduled flow that escalates every wait past its deadline, after
moving on what a lost moment left behind (an answered wait not resumed, a case not started, a
run a crash stopped) and telling the DSL of any open case that nothing moves on."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow

from flows.names import scheduled_run_name
from foundations.settings import get_settings
from models.runs import CASE_FLOWS
from tasks.escalation import escalate_overdue
from tasks.starting import start_unstarted_cases
from tasks.stranded import restart_stopped_runs, resume_answered


@flow(name="overdue-check", flow_run_name=scheduled_run_name("overdue-check"), log_prints=False)
def overdue_check(at: str | None = None) -> int:
    """Find the overdue waits and remind the next rung of each one's ladder; `at` (ISO-8601 with
    offset) checks as of another time. Returns how many waits were overdue."""
    now = datetime.fromisoformat(at) if at else datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("give `at` with its UTC offset")
    # a safety net first: waits answered in the case database whose run was not resumed
    # (its failure, Prefect's API busy say, must not stop the reminders: the next check retries)
    resume_answered.final_state(CASE_FLOWS, get_settings().deployment)
    # and cases recorded while Prefect was unreachable, which have no run to remind anyone
    start_unstarted_cases.final_state(now.isoformat())
    # and runs a crash or a failure stopped; any open case nothing moves on is told to the DSL
    restart_stopped_runs.final_state(now.isoformat())
    return escalate_overdue(now)
