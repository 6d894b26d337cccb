"""Which rule decides who is reminded of an overdue wait, and when (pure: the clock is passed in).

An overdue wait climbs a ladder, one rung per interval past its deadline: first the people who
must act are reminded, then the deputy DSLs, then the head and senior leaders, and, for a
receipt the agency has not confirmed, the agency's own duty line. Each rung is told once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from models.domain import Frozen, Step


class Rung(Frozen):
    """One level of the ladder: its number (1 = first reminder) and the Apprise tags told."""

    level: int
    who: str  # what the rung is, for messages and listings
    tags: tuple[str, ...]


def ladder(step: Step, must_act: Sequence[str], agency: str | None = None) -> list[Rung]:
    """The rungs for an overdue wait of `step`: whom to tell at each level, in order."""
    rungs = [
        Rung(level=1, who="who must act", tags=tuple(f"staff:{s}" for s in must_act)),
        Rung(level=2, who="deputy DSLs", tags=("deputy-dsl",)),
        Rung(level=3, who="head and senior leaders", tags=("slt",)),
    ]
    if step is Step.CONFIRM_RECEIPT and agency:
        rungs.append(Rung(level=4, who="the agency's duty line", tags=(f"agency:{agency}",)))
    return [r for r in rungs if r.tags]


def level_reached(due: datetime, now: datetime, every: timedelta, top: int) -> int:
    """How many rungs an overdue wait has climbed at `now`: 0 before its deadline, 1 from the
    deadline, one more each `every` after it, never more than `top`."""
    if every <= timedelta(0):
        raise ValueError("the escalation interval must be positive")
    if now < due:
        return 0
    return min(top, 1 + int((now - due) / every))
