"""A leaver's child protection file going to the next school: the move (in year or at a new
term), the DSL's review before the file goes (sharing ahead of the move), and when the days for
the file's receipt start.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from pydantic import Field

from models.deadlines import ENGLAND
from models.kernel.problems import Problem
from models.kernel.steps import Step
from models.kernel.values import ChildRef, Frozen, StaffId, Text
from models.kernel.waits import StepSummary


class MoveKind(StrEnum):
    """When a leaver moves: during the school year, or at the start of a new term."""

    IN_YEAR = "in-year"
    NEW_TERM = "new-term"


class EarlySharing(StrEnum):
    """What the DSL decided about sharing with the new school before the child arrives."""

    SHARED_IN_ADVANCE = "shared-in-advance"
    NOT_NEEDED = "not-needed"


class LeaverFacts(Frozen):
    """A pupil leaving, with where they go (an agency of kind school; None when unknown)."""

    child_ref: ChildRef
    leaving_on: date
    destination: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    move: MoveKind
    new_term_starts: date | None = None
    recorded_by: StaffId


class TransferReview(Frozen):
    """The DSL's look at a leaver's file before it goes: whether to share anything with the new
    school ahead of the move, so support is in place when the child arrives."""

    answered_by: StaffId = Field(description="Your staff id (DSL or deputy DSL).")
    early_sharing: EarlySharing = Field(
        description="Share anything with the new school before the child arrives (to support a "
        "victim of abuse or a vulnerable child), or not needed."
    )
    note: Text | None = Field(
        default=None, description="What was shared, with whom and when; or why it is not needed."
    )


def transfer_review_problems(answer: TransferReview) -> list[Problem]:
    """Sharing ahead of a move is recorded: what, with whom and when."""
    if answer.early_sharing is EarlySharing.SHARED_IN_ADVANCE and not answer.note:
        return [
            Problem(
                code="early-sharing-note-missing",
                message="Say what was shared with the new school, with whom and when (note).",
            )
        ]
    return []


def leaver_problems(facts: LeaverFacts) -> list[Problem]:
    """A move at the start of a new term says when that term starts; its deadline runs then."""
    if facts.move is MoveKind.NEW_TERM and facts.new_term_starts is None:
        return [Problem(code="new-term-date-missing", message="Give the new term's first day.")]
    if facts.new_term_starts is not None and facts.new_term_starts < facts.leaving_on:
        return [
            Problem(
                code="new-term-before-leaving",
                message="The new term cannot start before the pupil leaves.",
            )
        ]
    return []


def receipt_clock(leaver: LeaverFacts) -> datetime:
    """When the 5 working days for a leaver's file to be received start: the day they leave,
    or the new term's first day for a move at the start of a new term (English midnight)."""
    start = leaver.leaving_on
    if leaver.move is MoveKind.NEW_TERM and leaver.new_term_starts is not None:
        start = leaver.new_term_starts  # the first 5 days of the new term
    return datetime.combine(start, time(0), tzinfo=ENGLAND)


def transfer_review_summary(step: Step, slot: str, answer: TransferReview) -> StepSummary:
    """What the pipeline keeps of the review before a transfer: shared ahead, or not needed."""
    return StepSummary(
        step=step, slot=slot, actor=answer.answered_by, outcome=answer.early_sharing.value
    )
