"""A Child Protection Plan event, passed on at once: an exclusion, an unexplained absence or a
change in circumstances of a pupil on a plan goes to children's social care and the pupil's
social worker immediately (the policy leaves no room for a management wait), the DSL is told,
and the case waits for confirmation of receipt, due the same day."""

from __future__ import annotations

from prefect import flow

from flows.kinds import begin_case
from flows.names import case_run_name
from flows.sharing_case import finish
from flows.waiting import wait_for_answer
from models.kernel.steps import CaseKind, CaseStatus
from models.kernel.waits import Wait
from models.messages.plan_event import plan_event_note
from models.plan_event.policy import PLAN_EVENT_RECEIPT
from models.runs import FLOW_OF_KIND
from tasks.agency_messages import notify_agency
from tasks.closing import write_plan_disclosure

#: The flow's name in Prefect (and the first half of its deployment's name).
FLOW_NAME = FLOW_OF_KIND[CaseKind.PLAN_EVENT]


@flow(
    name=FLOW_NAME,
    flow_run_name=case_run_name(FLOW_NAME),
    persist_result=True,
    log_prints=False,
)
def plan_event(case_id: int) -> str:
    """Tell children's social care and the social worker of one plan event; wait for receipt."""
    # 1. The event is in the case database (recorded, or imported from a feed).
    run_id = begin_case(case_id, FLOW_NAME)

    # 2. Immediately: the disclosure is recorded, then children's social care and the pupil's
    #    social worker are told, each with a link to read it and confirm receipt.
    kind = write_plan_disclosure(case_id)
    notify_agency(case_id, run_id)

    # 3. The DSL is told, and the case waits for the confirmation, due the same day: through
    #    either link, or recorded by the DSL when it comes by phone or email.
    receipt = wait_for_answer(
        case_id,
        run_id,
        Wait.receipt(0),
        deadline=PLAN_EVENT_RECEIPT,
        note=plan_event_note(case_id, kind),
    )
    return finish(case_id, CaseStatus.SHARED, receipt)
