"""A need-to-know notice (a police domestic abuse notification, say): the DSL reviews it (a
police notification before the next school day starts), chooses who needs to know and the least
they need to know, and each is told through a link of their own to a minimal view; who was told,
and when each opened it, is recorded."""

from __future__ import annotations

from prefect import flow

from flows.kinds import begin_case
from flows.names import case_run_name
from flows.sharing_case import finish
from flows.waiting import wait_for_answer
from models.kernel.steps import CaseKind, CaseStatus, Step
from models.kernel.waits import Wait
from models.notice import NoticeSource
from models.runs import FLOW_OF_KIND
from tasks.case_facts import request_received_at
from tasks.notices import notice_source, tell_staff

#: The flow's name in Prefect (and the first half of its deployment's name).
FLOW_NAME = FLOW_OF_KIND[CaseKind.NOTICE]


@flow(
    name=FLOW_NAME,
    flow_run_name=case_run_name(FLOW_NAME),
    persist_result=True,
    log_prints=False,
)
def notice(case_id: int) -> str:
    """Have the DSL decide who needs to know of one notice, then tell each of them."""
    # 1. The notice is in the case database, as the DSL recorded it.
    run_id = begin_case(case_id, FLOW_NAME)

    # 2. The DSL reviews it: a police domestic abuse notification before the next school day.
    police = notice_source(case_id) == NoticeSource.POLICE_DOMESTIC_ABUSE.value
    review = wait_for_answer(
        case_id,
        run_id,
        Wait(Step.NOTICE_REVIEW),
        deadline="notice-review-police" if police else "notice-review",
        clock_from=request_received_at(case_id),
    )

    # 3. Each member of staff who needs to know gets their own link to the minimal view.
    tell_staff(case_id, run_id)
    return finish(case_id, CaseStatus.TOLD, review)
