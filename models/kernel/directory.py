"""The directory's values: the kinds of agency, and a child as a pseudonymous reference with a
date of birth (never one still to come).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from models.kernel.problems import Problem
from models.kernel.values import ChildRef, Frozen


class AgencyKind(StrEnum):
    CSC = "csc"
    MASH = "mash"
    POLICE = "police"
    LADO = "lado"
    SCHOOL = "school"
    OTHER = "other"


class ChildFacts(Frozen):
    """A child in the directory: a pseudonymous reference, never a name."""

    child_ref: ChildRef
    date_of_birth: date
    cp_plan: bool = False


def child_problems(facts: ChildFacts, *, today: date) -> list[Problem]:
    """A child cannot be added with a date of birth that has not come yet."""
    if facts.date_of_birth > today:
        return [
            Problem(
                code="born-in-future",
                message=f"the date of birth {facts.date_of_birth.isoformat()} is in the future",
            )
        ]
    return []
