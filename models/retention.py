"""Which rules decide how long child protection records are kept: until the child's date of
birth plus 25 years, then a person reviews them; records linked to sexual abuse carry a hold that
no decision can pass (the policy: the inquiry into child sexual abuse). Pure: `today` is passed in.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from models.kernel.problems import Problem
from models.kernel.values import Frozen
from models.sharing.concern import Category

RETENTION_YEARS = 25
#: Categories whose records are never destroyed, whatever anyone decides.
HOLD_CATEGORIES = frozenset({Category.SEXUAL.value})
#: After a decision to keep, the records come up for review again this much later.
KEEP_FOR = timedelta(days=365)


class Decision(StrEnum):
    KEEP = "keep"
    DESTROY = "destroy"


class ChildFile(Frozen):
    """What the rule needs to know of one child's records: never their content."""

    child_ref: str
    date_of_birth: date
    categories: frozenset[str]
    cases: int
    kept_until: date | None = None  # a decision to keep them holds them until then


def add_years(day: date, years: int) -> date:
    """The same day `years` later (29 February becomes 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def review_date(file: ChildFile, years: int = RETENTION_YEARS) -> date:
    due = add_years(file.date_of_birth, years)
    return max(due, file.kept_until) if file.kept_until is not None else due


def is_due(file: ChildFile, today: date, years: int = RETENTION_YEARS) -> bool:
    return file.cases > 0 and today >= review_date(file, years)


def hold(file: ChildFile) -> str | None:
    """Why these records can never be destroyed, if they cannot."""
    linked = sorted(file.categories & HOLD_CATEGORIES)
    if linked:
        return (
            "linked to sexual abuse: kept for the Independent Inquiry into Child Sexual Abuse, "
            "never destroyed"
        )
    return None


def destruction_problem(
    file: ChildFile, today: date, years: int = RETENTION_YEARS
) -> Problem | None:
    """None when a person may decide to destroy these records now; else why not."""
    held = hold(file)
    if held is not None:
        return Problem(code="retention-hold", message=f"{file.child_ref}'s records are {held}.")
    if not is_due(file, today, years):
        return Problem(
            code="not-due",
            message=f"{file.child_ref}'s records are kept until {review_date(file, years)}.",
        )
    return None
