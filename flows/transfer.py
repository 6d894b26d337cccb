"""A pupil leaves: their child protection file goes with them. The DSL first looks at the file
and considers sharing anything with the new school ahead of the move; the whole file then goes
to the new school's DSL through a link of their own (as one document, separate from the main
pupil file), and its receipt is due within 5 working days of the move (or of the new term's
start), chased and escalated until confirmed. When nobody knows where the pupil went, the
school keeps the file and the local authority is told instead."""

from __future__ import annotations

from prefect import flow

from flows.kinds import begin_case
from flows.names import case_run_name
from flows.sharing_case import finish
from flows.waiting import wait_for_answer
from models.kernel.steps import CaseKind, CaseStatus, Step
from models.kernel.waits import Wait
from models.runs import FLOW_OF_KIND
from tasks.agency_messages import notify_agency
from tasks.transfers import transfer_plan, write_transfer_disclosure

#: The flow's name in Prefect (and the first half of its deployment's name).
FLOW_NAME = FLOW_OF_KIND[CaseKind.TRANSFER]


@flow(
    name=FLOW_NAME,
    flow_run_name=case_run_name(FLOW_NAME),
    persist_result=True,
    log_prints=False,
)
def transfer(case_id: int) -> str:
    """Send one leaver's child protection file to their next school, and see it received."""
    # 1. The leaver is in the case database: where to, when, what kind of move.
    run_id = begin_case(case_id, FLOW_NAME)

    # 2. The DSL looks at the file and considers sharing ahead of the move.
    wait_for_answer(case_id, run_id, Wait(Step.TRANSFER_REVIEW))

    # 3. The file goes to the new school's DSL (or the local authority hears of an unknown
    #    destination), with a link of their own to read it and confirm receipt.
    plan = transfer_plan(case_id)
    write_transfer_disclosure(case_id, plan)
    notify_agency(case_id, run_id)

    # 4. Receipt, due 5 working days from the move or the new term's first day.
    receipt = wait_for_answer(
        case_id,
        run_id,
        Wait.receipt(0),
        deadline="transfer-receipt",
        clock_from=plan.clock_from,
    )
    return finish(case_id, CaseStatus.SHARED, receipt)
