"""Parents or carers: told before sharing (when, by whom, their response), or not told because
telling them could increase the risk to the child, when MASH advice is sought first.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from models.kernel.problems import Problem
from models.kernel.steps import Step
from models.kernel.values import AwareDatetime, Frozen, StaffId, Text
from models.kernel.waits import StepSummary
from models.sharing.criteria import Reason
from models.sharing.mash import MashContext


class ParentsChoice(StrEnum):
    TOLD = "told"
    NOT_TOLD_RISK = "not-told-risk"


class ParentsDecision(Frozen):
    """Whether parents or carers were told before sharing, or why not."""

    answered_by: StaffId = Field(description="Your staff id (DSL or deputy DSL).")
    choice: ParentsChoice = Field(
        description="'told': parents/carers were told before sharing; 'not-told-risk': telling "
        "them could increase the risk to the child (MASH advice will be sought)."
    )
    told_at: AwareDatetime | None = Field(default=None, description="When they were told.")
    told_by: StaffId | None = Field(default=None, description="Staff id of who told them.")
    response: Text | None = Field(default=None, description="Their response.")
    risk_reason: Text | None = Field(
        default=None, description="Why telling them could increase the risk."
    )


def parents_problems(answer: ParentsDecision) -> list[Problem]:
    """Telling parents needs when, by whom and their response; not telling needs the risk."""
    if answer.choice is ParentsChoice.TOLD:
        missing = [n for n in ("told_at", "told_by", "response") if getattr(answer, n) is None]
        if missing:
            return [
                Problem(
                    code="parents-told-details-missing",
                    message=f"Parents were told: give {', '.join(missing)}.",
                )
            ]
        return []
    if not answer.risk_reason:
        return [
            Problem(
                code="parents-risk-reason-missing",
                message="Say why telling the parents could increase the risk (risk_reason).",
            )
        ]
    return []


def parents_route(answer: ParentsDecision) -> MashContext | None:
    """When telling parents could increase the risk, advice must be sought from MASH first."""
    return MashContext.PARENTS_RISK if answer.choice is ParentsChoice.NOT_TOLD_RISK else None


def parents_summary(step: Step, slot: str, answer: ParentsDecision) -> StepSummary:
    """What the pipeline keeps of the parents' step: told, or not told for the risk."""
    reason = (
        Reason.PARENTS_TOLD if answer.choice is ParentsChoice.TOLD else Reason.PARENTS_NOT_TOLD_RISK
    )
    return StepSummary(
        step=step,
        slot=slot,
        actor=answer.answered_by,
        outcome=answer.choice.value,
        reasons=(reason.value,),
    )
