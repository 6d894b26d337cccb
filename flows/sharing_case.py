"""The sharing case: the policy's six stages, in order, as one durable Prefect flow."""

from __future__ import annotations

from prefect import flow

from flows.kinds import begin_case
from flows.names import case_run_name
from flows.waiting import wait_for_answer, wait_for_receipts
from models.kernel.steps import CaseKind, CaseStatus, Step
from models.kernel.waits import StepSummary, Wait
from models.messages.cases import outcome_message
from models.messages.sharing import not_ratified_message
from models.runs import FLOW_OF_KIND
from models.sharing.criteria import Outcome, Reason
from models.sharing.mash import MashContext
from models.sharing.parents import ParentsChoice
from models.sharing.signoff import SignoffDecision
from tasks.agency_messages import agencies_told, notify_agency
from tasks.closing import close_case, record_emergency_share, write_disclosure
from tasks.notify import notify

#: The flow's name in Prefect (and the first half of its deployment's name).
FLOW_NAME = FLOW_OF_KIND[CaseKind.SHARING]


@flow(
    name=FLOW_NAME,
    flow_run_name=case_run_name(FLOW_NAME),
    persist_result=True,
    log_prints=False,
)
def sharing_case(case_id: int) -> str:
    """Carry one sharing case from recorded concern to confirmed receipt, or to not sharing."""
    # 1. Record concern: the concern is in the case database; the DSL is told below.
    run_id = begin_case(case_id, FLOW_NAME)

    # 2. Assess criteria, seeking MASH advice while there is not enough to decide.
    assessment = wait_for_answer(case_id, run_id, Wait(Step.ASSESS_CRITERIA))
    round_ = 0
    while assessment.outcome == Outcome.INSUFFICIENT_INFORMATION:
        context = MashContext.INSUFFICIENT_INFORMATION
        wait_for_answer(case_id, run_id, Wait(Step.MASH_ADVICE, round_, context), context=context)
        round_ += 1
        assessment = wait_for_answer(case_id, run_id, Wait(Step.ASSESS_CRITERIA, round_))
    if assessment.outcome == Outcome.DO_NOT_SHARE:
        return finish(case_id, CaseStatus.NOT_SHARED, assessment)

    # 3. Management sign-off: sharing without consent is never decided by one person. In an
    #    emergency the DSL shares at once and the management team ratifies within 24 hours.
    emergency = Reason.EMERGENCY_SHARE.value in assessment.reasons
    ratification: StepSummary | None = None
    if emergency:
        due = record_emergency_share(case_id)
        share_with_agency(case_id, run_id)
        ratification = wait_for_answer(case_id, run_id, Wait(Step.RATIFICATION), due=due)
        if ratification.outcome == SignoffDecision.DECLINE:
            tell_not_ratified(case_id)
    elif assessment.outcome == Outcome.SHARE_WITHOUT_CONSENT:
        signoff = wait_for_answer(case_id, run_id, Wait(Step.MANAGEMENT_SIGNOFF))
        if signoff.outcome == SignoffDecision.DECLINE:
            return finish(case_id, CaseStatus.NOT_SHARED, signoff)

    # 4. Parents: tell them first, or seek MASH advice when telling them could add to the risk.
    #    (After an emergency share they are told afterwards, and advice cannot undo the sharing.)
    parents = wait_for_answer(case_id, run_id, Wait(Step.PARENTS))
    if parents.outcome == ParentsChoice.NOT_TOLD_RISK:
        context = MashContext.PARENTS_RISK
        advice = wait_for_answer(
            case_id, run_id, Wait(Step.MASH_ADVICE, 0, context), context=context
        )
        if advice.outcome == Outcome.DO_NOT_SHARE and not emergency:
            return finish(case_id, CaseStatus.NOT_SHARED, advice)

    # 5. Notify the agency (already done in an emergency).
    if not emergency:
        share_with_agency(case_id, run_id)

    # 6. Confirm receipt: wait until every agency's confirmation is recorded.
    receipt = wait_for_receipts(case_id, run_id)
    also = ratification.reasons if ratification is not None else ()
    return finish(case_id, CaseStatus.SHARED, receipt, also=also)


def share_with_agency(case_id: int, run_id: str) -> None:
    """The disclosures are recorded first (one per agency the decision names), then each
    agency is told, with its own link to read what is shared and confirm receipt. A resumed run
    that finds it all done goes on."""
    if agencies_told(case_id):
        return
    write_disclosure(case_id)
    notify_agency(case_id, run_id)


def tell_not_ratified(case_id: int) -> None:
    """The DSL and the management team learn at once that an emergency share was not ratified."""
    for tag in ("dsl", "slt"):
        title, body = not_ratified_message(case_id, for_dsl=tag == "dsl")
        notify(
            f"case:{case_id}:not-ratified:{tag}",
            case_id=case_id,
            tag=tag,
            kind="not-ratified",
            title=title,
            body=body,
        )


def finish(case_id: int, status: CaseStatus, last: StepSummary, also: tuple[str, ...] = ()) -> str:
    """Close the case with the reasons of the step that decided it, and tell the DSL."""
    close_case(case_id, status, (*also, *last.reasons))
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
