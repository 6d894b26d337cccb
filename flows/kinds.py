"""How every case's run begins (which flow carries each kind: models/runs.py)."""

from __future__ import annotations

from prefect.context import FlowRunContext

from foundations.audit import act_as
from tasks.starting import begun
from tasks.steps import start_case


def begin_case(case_id: int, flow_name: str) -> str:
    """How every case's run begins: only the case's own run goes on, the audit trail names its
    writes as this run's, and the case records that its pipeline has started (on the run's first
    attempt: a resume finds it begun, and replays the beginning with no task run). Returns the
    run's id."""
    context = FlowRunContext.get()
    assert context is not None and context.flow_run is not None, "begin_case runs in a flow"
    run = context.flow_run
    run_id = str(run.id)
    already = begun(case_id, run_id, run.idempotency_key)
    act_as("system", f"{flow_name} run {run_id}")
    if not already:
        start_case(case_id, run_id)
    return run_id
