"""Which flow carries each kind of case (its deployment is `<flow>/<stack>`)."""

from __future__ import annotations

from prefect.runtime import flow_run

from models.domain import CaseKind
from safeshare.audit import act_as
from tasks.records import start_case
from tasks.starting import own_run

FLOW_OF_KIND: dict[CaseKind, str] = {
    CaseKind.SHARING: "sharing-case",
    CaseKind.PLAN_EVENT: "plan-event",
    CaseKind.ACCESS_REQUEST: "access-request",
    CaseKind.NOTICE: "notice",
    CaseKind.TRANSFER: "transfer",
}

#: Every flow whose runs carry one case (their only parameter is its id).
CASE_FLOWS: tuple[str, ...] = tuple(FLOW_OF_KIND.values())


def begin_case(case_id: int, flow_name: str) -> str:
    """How every case's run begins: only the case's own run goes on, the audit trail names its
    writes as this run's, and the case records that its pipeline has started. Returns the run's
    id."""
    run_id = str(flow_run.get_id())
    own_run(case_id, run_id)
    act_as("system", f"{flow_name} run {run_id}")
    start_case(case_id, run_id)
    return run_id
