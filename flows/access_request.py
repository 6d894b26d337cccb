"""A request from a pupil or parent to see child protection records: recorded by whoever
received it, decided by the DSL or a senior leader (never by the person who received it), with
each exemption considered and what is released or redacted and why, within one month."""

from __future__ import annotations

from prefect import flow

from flows.kinds import begin_case
from flows.names import case_run_name
from flows.sharing_case import finish
from flows.waiting import wait_for_answer
from models.kernel.steps import CaseKind, CaseStatus, Step
from models.kernel.waits import Wait
from models.runs import FLOW_OF_KIND
from tasks.case_facts import request_received_at

#: The flow's name in Prefect (and the first half of its deployment's name).
FLOW_NAME = FLOW_OF_KIND[CaseKind.ACCESS_REQUEST]
#: The deadline rule of the decision (one calendar month, by default).
ACCESS_REQUEST_DEADLINE = "access-request"


@flow(
    name=FLOW_NAME,
    flow_run_name=case_run_name(FLOW_NAME),
    persist_result=True,
    log_prints=False,
)
def access_request(case_id: int) -> str:
    """Route one request to see records to the DSL and the management team; record the decision."""
    # 1. The request is in the case database, with who received it and when.
    run_id = begin_case(case_id, FLOW_NAME)

    # 2. The DSL or a senior leader decides, within one month of the request's receipt.
    decision = wait_for_answer(
        case_id,
        run_id,
        Wait(Step.ACCESS_DECISION),
        deadline=ACCESS_REQUEST_DEADLINE,
        clock_from=request_received_at(case_id),
    )
    return finish(case_id, CaseStatus.DECIDED, decision)
