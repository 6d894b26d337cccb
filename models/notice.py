"""A need-to-know notice: where it came from, and the DSL's decision on who needs to know and
the least they need to know, with the rules that decision meets.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from models.kernel.problems import Problem
from models.kernel.steps import Step
from models.kernel.values import AwareDatetime, ChildRef, Frozen, StaffId, Text
from models.kernel.waits import StepSummary


class NoticeSource(StrEnum):
    """Where a need-to-know notice came from."""

    POLICE_DOMESTIC_ABUSE = "police-domestic-abuse"  # Operation Encompass notifications
    OTHER_AGENCY = "other-agency"
    WITHIN_SCHOOL = "within-school"


class NoticeFacts(Frozen):
    """A notice about a child that some staff may need to know, as the DSL records it."""

    child_ref: ChildRef
    source: NoticeSource
    received_at: AwareDatetime
    details: Text  # the whole notice, as it came: for the DSL, never sent out
    recorded_by: StaffId


class NoticeReview(Frozen):
    """The DSL's decision on a notice: who needs to know, and the least they need to know."""

    answered_by: StaffId = Field(description="Your staff id (DSL or deputy DSL).")
    staff_to_tell: list[StaffId] = Field(
        default_factory=list,
        max_length=200,
        description="Staff ids of those who need to know (none, if nobody does).",
    )
    what_they_need_to_know: Text | None = Field(
        default=None,
        description="What they are shown: only what they need to act on, not the whole notice.",
    )
    reason: Text = Field(description="Why these people (or nobody) need to know.")
    disclose_source_to_parents: bool = Field(
        default=False,
        description="Tick only if staff may tell parents where this came from (by default the "
        "source is not disclosed to parents).",
    )


def notice_review_problems(answer: NoticeReview) -> list[Problem]:
    """Staff are told only what they need to know: whoever is told is shown something, and
    nobody is named twice."""
    problems = []
    if answer.staff_to_tell and not answer.what_they_need_to_know:
        problems.append(
            Problem(
                code="what-they-need-to-know-missing",
                message="Say what those told need to know (what_they_need_to_know).",
            )
        )
    if len(set(answer.staff_to_tell)) != len(answer.staff_to_tell):
        problems.append(
            Problem(code="staff-named-twice", message="Name each member of staff once.")
        )
    return problems


def notice_review_summary(step: Step, slot: str, answer: NoticeReview) -> StepSummary:
    """What the pipeline keeps of a notice's review: whether anyone is told, and whom."""
    return StepSummary(
        step=step,
        slot=slot,
        actor=answer.answered_by,
        outcome="told" if answer.staff_to_tell else "nobody-told",
        reasons=tuple(f"tell:{staff_id}" for staff_id in answer.staff_to_tell),
    )
