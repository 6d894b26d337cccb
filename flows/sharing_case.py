"""The sharing case: the policy's six stages, in order, as one durable Prefect flow."""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run

from flows.waiting import wait_for_answer
from models.domain import CaseStatus, MashContext, Outcome, Step, StepSummary
from models.messages import agency_message, outcome_message
from tasks.notify import notify
from tasks.records import close_case, start_case, write_disclosure


@flow(name="sharing-case", persist_result=True, log_prints=False)
def sharing_case(case_id: int) -> str:
    """Carry one sharing case from recorded concern to confirmed receipt, or to not sharing."""
    run_id = str(flow_run.get_id())

    # 1. Record concern: the concern is in the case database; the DSL is told below.
    start_case(case_id, run_id)

    # 2. Assess criteria, seeking MASH advice while there is not enough to decide.
    assessment = wait_for_answer(case_id, run_id, Step.ASSESS_CRITERIA, "assess-criteria-0")
    round_ = 0
    while assessment.outcome == Outcome.INSUFFICIENT_INFORMATION:
        context = MashContext.INSUFFICIENT_INFORMATION
        wait_for_answer(
            case_id, run_id, Step.MASH_ADVICE, f"mash-advice-{context}-{round_}", context=context
        )
        round_ += 1
        assessment = wait_for_answer(
            case_id, run_id, Step.ASSESS_CRITERIA, f"assess-criteria-{round_}"
        )
    if assessment.outcome == Outcome.DO_NOT_SHARE:
        return finish(case_id, CaseStatus.NOT_SHARED, assessment)

    # 3. Management sign-off: sharing without consent is never decided by one person.
    if assessment.outcome == Outcome.SHARE_WITHOUT_CONSENT:
        signoff = wait_for_answer(case_id, run_id, Step.MANAGEMENT_SIGNOFF, "management-signoff-0")
        if signoff.outcome == "decline":
            return finish(case_id, CaseStatus.NOT_SHARED, signoff)

    # 4. Parents: tell them first, or seek MASH advice when telling them could add to the risk.
    parents = wait_for_answer(case_id, run_id, Step.PARENTS, "parents-0")
    if parents.outcome == "not-told-risk":
        context = MashContext.PARENTS_RISK
        advice = wait_for_answer(
            case_id, run_id, Step.MASH_ADVICE, f"mash-advice-{context}-0", context=context
        )
        if advice.outcome == Outcome.DO_NOT_SHARE:
            return finish(case_id, CaseStatus.NOT_SHARED, advice)

    # 5. Notify the agency: the disclosure is recorded first, then the agency is told where to look.
    agency = write_disclosure(case_id)
    title, body = agency_message(case_id, agency)
    notify(
        f"case:{case_id}:notify-agency:agency:{agency}",
        case_id=case_id,
        tag=f"agency:{agency}",
        kind="disclosure",
        title=title,
        body=body,
    )

    # 6. Confirm receipt: wait until the agency's confirmation is recorded.
    receipt = wait_for_answer(case_id, run_id, Step.CONFIRM_RECEIPT, "confirm-receipt-0")
    return finish(case_id, CaseStatus.SHARED, receipt)


def finish(case_id: int, status: CaseStatus, last: StepSummary) -> str:
    """Close the case with the reasons of the step that decided it, and tell the DSL."""
    close_case(case_id, status, last.reasons)
    title, body = outcome_message(case_id, status.value)
    notify(
        f"case:{case_id}:closed:dsl",
        case_id=case_id,
        tag="dsl",
        kind="closed",
        title=title,
        body=body,
    )
    return status.value
