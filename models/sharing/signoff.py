"""Management sign-off of a decision to share without consent, and the management team's
ratification of an emergency share: approved, or declined with a reason.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from models.kernel.problems import Problem
from models.kernel.steps import Step
from models.kernel.values import Frozen, StaffId, Text
from models.kernel.waits import StepSummary
from models.sharing.criteria import Reason


class SignoffDecision(StrEnum):
    APPROVE = "approve"
    DECLINE = "decline"


class Signoff(Frozen):
    """A member of the management team approving or declining the decision to share."""

    answered_by: StaffId = Field(
        description="Your staff id (management team; not the DSL who assessed)."
    )
    decision: SignoffDecision = Field(description="Approve or decline sharing without consent.")
    reason: Text | None = Field(default=None, description="Reason (required when declining).")


def signoff_problems(answer: Signoff) -> list[Problem]:
    """A decline must say why; so the record of not sharing stands on its own."""
    if answer.decision is SignoffDecision.DECLINE and not answer.reason:
        return [Problem(code="decline-reason-missing", message="Give the reason for declining.")]
    return []


def signoff_summary(step: Step, slot: str, answer: Signoff) -> StepSummary:
    """What the pipeline keeps of a sign-off or a ratification: the decision, and why a
    decline ends (or an emergency share stands)."""
    declined = answer.decision is SignoffDecision.DECLINE
    if step is Step.RATIFICATION:
        reason = Reason.RATIFICATION_DECLINED if declined else Reason.RATIFIED
        return StepSummary(
            step=step,
            slot=slot,
            actor=answer.answered_by,
            outcome=answer.decision.value,
            reasons=(reason.value,),
        )
    return StepSummary(
        step=step,
        slot=slot,
        actor=answer.answered_by,
        outcome=answer.decision.value,
        reasons=(Reason.SIGNOFF_DECLINED.value,) if declined else (),
    )
