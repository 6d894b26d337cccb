"""MASH advice: why it is sought (to decide at all, or because telling parents could add
risk), what the Multi-Agency Safeguarding Hub said, and whether the case goes on.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from models.kernel.problems import Problem
from models.kernel.steps import Step
from models.kernel.values import AwareDatetime, Frozen, ShortText, StaffId, Text
from models.kernel.waits import StepSummary
from models.sharing.criteria import Outcome, Reason


class MashContext(StrEnum):
    """Why MASH advice is sought: to decide at all, or because telling parents could add risk."""

    INSUFFICIENT_INFORMATION = "insufficient-information"
    PARENTS_RISK = "parents-risk"


class MashAdvice(Frozen):
    """Advice sought from the Multi-Agency Safeguarding Hub and what it said."""

    answered_by: StaffId = Field(description="Your staff id (DSL or deputy DSL).")
    context: MashContext = Field(description="Why advice was sought (filled in for you).")
    sought_at: AwareDatetime = Field(description="When advice was sought (with UTC offset).")
    mash_contact: ShortText = Field(description="Who at MASH gave the advice (name and role).")
    mash_reference: ShortText | None = Field(default=None, description="MASH reference, if any.")
    advice: Text = Field(description="The advice given.")
    proceed: bool = Field(description="Untick if the advice is not to share.")


def mash_problems(answer: MashAdvice, *, expected: MashContext) -> list[Problem]:
    """MASH advice is recorded against the question that was asked."""
    if answer.context is not expected:
        return [
            Problem(
                code="mash-context-mismatch",
                message=f"This advice is asked for context '{expected}', not '{answer.context}'.",
            )
        ]
    return []


def mash_summary(step: Step, slot: str, answer: MashAdvice) -> StepSummary:
    """What the pipeline keeps of MASH advice: go on, or do not share."""
    outcome = "proceed" if answer.proceed else Outcome.DO_NOT_SHARE.value
    reasons = () if answer.proceed else (Reason.MASH_ADVISED_NOT_TO_SHARE.value,)
    return StepSummary(
        step=step, slot=slot, actor=answer.answered_by, outcome=outcome, reasons=reasons
    )
