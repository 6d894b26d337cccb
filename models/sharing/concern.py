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


#: What a person reads for each category (on a form, a list, a page): the code stays what records,
#: notifications and the CLI carry. Words after Keeping Children Safe in Education.
CATEGORY_LABELS: dict[Category, str] = {
    Category.PHYSICAL: "Physical abuse",
    Category.EMOTIONAL: "Emotional abuse",
    Category.SEXUAL: "Sexual abuse",
    Category.NEGLECT: "Neglect",
    Category.DOMESTIC_ABUSE: "Domestic abuse",
    Category.ONLINE: "Online harm",
    Category.CHILD_ON_CHILD: "Child-on-child abuse (including sexual violence and harassment)",
    Category.EXPLOITATION: "Exploitation (criminal or sexual, including county lines)",
    Category.RADICALISATION: "Radicalisation or extremism",
    Category.SELF_HARM: "Self-harm or suicidal thoughts",
    Category.FGM: "Female genital mutilation (FGM)",
    Category.MISSING: "Missing from education, home or care",
    Category.OTHER: "Something else",
}


def category_label(code: str) -> str:
    """The words for a category's code; a code this version does not know, as it is."""
    try:
        return CATEGORY_LABELS[Category(code)]
    except ValueError:
        return code


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
