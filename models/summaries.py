"""What the flow keeps of an accepted answer, whatever the kind of case: the codes it branches
on, each kind's answer summarised by that kind's own rule.
"""

from __future__ import annotations

from models.access_request import AccessDecision, access_decision_summary
from models.kernel.steps import Step
from models.kernel.waits import StepSummary
from models.notice import NoticeReview, notice_review_summary
from models.sharing.criteria import CriteriaAnswers
from models.sharing.decision import criteria_summary
from models.sharing.disclosure import ReceiptConfirmation, receipt_summary
from models.sharing.mash import MashAdvice, mash_summary
from models.sharing.parents import ParentsDecision, parents_summary
from models.sharing.signoff import Signoff, signoff_summary
from models.transfer import TransferReview, transfer_review_summary


def summarise(step: Step, slot: str, answer: object) -> StepSummary:
    """Reduce an accepted answer to the codes the pipeline branches on."""
    if isinstance(answer, CriteriaAnswers):
        return criteria_summary(step, slot, answer)
    if isinstance(answer, Signoff):
        return signoff_summary(step, slot, answer)
    if isinstance(answer, ParentsDecision):
        return parents_summary(step, slot, answer)
    if isinstance(answer, MashAdvice):
        return mash_summary(step, slot, answer)
    if isinstance(answer, ReceiptConfirmation):
        return receipt_summary(step, slot, answer)
    if isinstance(answer, TransferReview):
        return transfer_review_summary(step, slot, answer)
    if isinstance(answer, NoticeReview):
        return notice_review_summary(step, slot, answer)
    if isinstance(answer, AccessDecision):
        return access_decision_summary(step, slot, answer)
    raise TypeError(f"no summary for {type(answer).__name__}")
