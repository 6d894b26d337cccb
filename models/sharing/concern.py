"""What a member of staff records to open a sharing case: the concern in their words, its
category, and what it cannot be recorded with.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from models.kernel.problems import Problem, time_in_future
from models.kernel.values import AwareDatetime, ChildRef, Frozen, StaffId, Text


class Category(StrEnum):
    """Category of concern: a code safe to put in a notification."""

    PHYSICAL = "physical"
    EMOTIONAL = "emotional"
    SEXUAL = "sexual"
    NEGLECT = "neglect"
    DOMESTIC_ABUSE = "domestic-abuse"
    ONLINE = "online"
    CHILD_ON_CHILD = "child-on-child"
    EXPLOITATION = "exploitation"
    RADICALISATION = "radicalisation"
    SELF_HARM = "self-harm"
    FGM = "fgm"
    MISSING = "missing"
    OTHER = "other"


class ConcernFacts(Frozen):
    """What a member of staff saw or heard, in their words, as the policy asks it to be kept."""

    child_ref: ChildRef
    raised_by: StaffId
    category: Category
    occurred_at: AwareDatetime
    place: Text | None = None
    what_happened: Text
    child_words: Text | None = None
    action_taken: Text | None = None
    who_told: Text | None = None  # who has been told so far (names and roles)
    # an allegation against a member of staff: they never see the case or are asked to act on it
    allegation_against: StaffId | None = None


def concern_problems(facts: ConcernFacts, *, now: datetime) -> list[Problem]:
    """What a concern cannot be recorded with, whatever the door: a time it has not happened
    yet. (Who raised it and whom an allegation is about are checked against the directory.)"""
    future = time_in_future(facts.occurred_at, now, what="the time it happened,")
    return [future] if future is not None else []
