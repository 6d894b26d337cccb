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


#: The rungs a ladder can be made of, by name, in configuration.
RUNGS = {
    "who-must-act": "who must act",
    "deputy-dsl": "deputy DSLs",
    "dsl": "the DSL and deputies",
    "slt": "head and senior leaders",
    "agency": "the agency's duty line",
}
DEFAULT_LADDER = ("who-must-act", "deputy-dsl", "slt", "agency")


def check_ladder(names: Sequence[str]) -> tuple[str, ...]:
    """A ladder from configuration: known rung names, each once, at least one."""
    unknown = [n for n in names if n not in RUNGS]
    if unknown or not names or len(set(names)) != len(names):
        raise ValueError(
            f"an escalation ladder is a list of distinct rungs from {', '.join(RUNGS)}; "
            f"got {list(names)}"
        )
    return tuple(names)


def ladder(
    step: Step,
    must_act: Sequence[str],
    agency: str | None = None,
    rungs: Sequence[str] = DEFAULT_LADDER,
) -> list[Rung]:
    """The rungs for an overdue wait of `step`, in order: whom to tell at each level. A rung
    with nobody to tell (no one eligible; the agency, except for a receipt) is skipped, keeping
    the levels of the others."""
    tags: dict[str, tuple[str, ...]] = {
        "who-must-act": tuple(f"staff:{s}" for s in must_act),
        "deputy-dsl": ("deputy-dsl",),
        "dsl": ("dsl",),
        "slt": ("slt",),
        "agency": (f"agency:{agency}",) if step is Step.CONFIRM_RECEIPT and agency else (),
    }
    built = [
        Rung(level=level, who=RUNGS[name], tags=tags[name])
        for level, name in enumerate(check_ladder(rungs), start=1)
    ]
    return [r for r in built if r.tags]


def level_reached(due: datetime, now: datetime, every: timedelta, top: int) -> int:
    """How many rungs an overdue wait has climbed at `now`: 0 before its deadline, 1 from the
    deadline, one more each `every` after it, never more than `top`."""
    if every <= timedelta(0):
        raise ValueError("the escalation interval must be positive")
    if now < due:
        return 0
    return min(top, 1 + int((now - due) / every))
