"""How every case's run begins (which flow carries each kind: models/runs.py)."""

from __future__ import annotations

from prefect.runtime import flow_run

from foundations.audit import act_as
from tasks.starting import own_run
from tasks.steps import start_case


def begin_case(case_id: int, flow_name: str) -> str:
    """How every case's run begins: only the case's own run goes on, the audit trail names its
    writes as this run's, and the case records that its pipeline has started. Returns the run's
    id."""
    run_id = str(flow_run.get_id())
    own_run(case_id, run_id)
    act_as("system", f"{flow_name} run {run_id}")
    start_case(case_id, run_id)
    return run_id
