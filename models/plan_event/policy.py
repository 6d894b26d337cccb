"""Which Child Protection Plan events are passed on, to whom, and what is told (pure).

The policy: children's social care is told immediately when a pupil on a Child Protection Plan is
excluded (fixed term or permanently), is absent without explanation, or has any change in
circumstances. Events come one at a time (the CLI) or in a feed (feed.py); an event is one
however often it is recorded or imported.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from models.deadlines import ENGLAND
from models.kernel.problems import CLOCK_SKEW, time_in_future
from models.kernel.values import AwareDatetime, ChildRef, Frozen, StaffId, Text


class PlanEventKind(StrEnum):
    """What happened to a pupil on a Child Protection Plan that the policy says children's
    social care must hear of at once. A code safe to put in a notification."""

    EXCLUSION_FIXED_TERM = "exclusion-fixed-term"  # a suspension, since 2022
    EXCLUSION_PERMANENT = "exclusion-permanent"
    UNEXPLAINED_ABSENCE = "unexplained-absence"
    CHANGE_IN_CIRCUMSTANCES = "change-in-circumstances"


class PlanEventFacts(Frozen):
    """An event in the life of a pupil on a Child Protection Plan, as recorded or imported."""

    child_ref: ChildRef
    kind: PlanEventKind
    occurred_at: AwareDatetime
    details: Text | None = None  # what children's social care should know, beyond the kind
    recorded_by: StaffId


#: The agency the policy names: the pupil's children's social care unit.
PLAN_EVENT_AGENCY = "csc"
#: Who decides that a plan event goes out: the policy itself, with no one's choice in it (who
#: recorded the event is kept beside it).
PLAN_EVENT_DECIDER = "policy:cp-plan-event"
#: The deadline rule of the confirmation of receipt (same day, by default).
PLAN_EVENT_RECEIPT = "plan-event-receipt"
#: A pupil's plan events reach children's social care in the order they were recorded (a feed's
#: rows in order): an event's message waits for those of the same pupil's events recorded
#: within ORDER_WINDOW before it, ORDER_PATIENCE at most (one that crashed is restarted within
#: two minutes; one stuck longer does not hold the rest back for good).
ORDER_WINDOW = timedelta(minutes=30)
ORDER_PATIENCE = timedelta(minutes=2)
#: A time this far ahead of the clock is a mistake, not an event: the skew allowed for answers.
FUTURE_SLACK = CLOCK_SKEW


#: What school information systems and people call each kind, after lower-casing and turning
#: spaces and underscores into dashes.
KIND_NAMES: Mapping[str, PlanEventKind] = {
    **{kind.value: kind for kind in PlanEventKind},
    "fixed-term-exclusion": PlanEventKind.EXCLUSION_FIXED_TERM,
    "fixed-term": PlanEventKind.EXCLUSION_FIXED_TERM,
    "suspension": PlanEventKind.EXCLUSION_FIXED_TERM,
    "permanent-exclusion": PlanEventKind.EXCLUSION_PERMANENT,
    "permanent": PlanEventKind.EXCLUSION_PERMANENT,
    "absence": PlanEventKind.UNEXPLAINED_ABSENCE,
    "unauthorised-absence": PlanEventKind.UNEXPLAINED_ABSENCE,
    "change-in-circumstance": PlanEventKind.CHANGE_IN_CIRCUMSTANCES,
    "change-of-circumstances": PlanEventKind.CHANGE_IN_CIRCUMSTANCES,
    "change": PlanEventKind.CHANGE_IN_CIRCUMSTANCES,
}


def parse_kind(text: str) -> PlanEventKind:
    """The kind an event's name means; ValueError naming the accepted kinds otherwise."""
    name = re.sub(r"[\s_]+", "-", text.strip().lower())
    if name in KIND_NAMES:
        return KIND_NAMES[name]
    raise ValueError(
        f"'{text.strip()}' is not a kind of event; use one of "
        f"{', '.join(kind.value for kind in PlanEventKind)}"
    )


def parse_occurred(text: str) -> datetime:
    """An event's time: ISO-8601 with an offset; without one, English local time; a date alone
    is the start of that day in England (exports often give only the day)."""
    value = text.strip()
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(0), tzinfo=ENGLAND)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"'{value}' is not a date (YYYY-MM-DD) or an ISO-8601 date and time"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ENGLAND)


def event_problems(
    facts: PlanEventFacts, *, on_plan: bool | None, recorder_active: bool, now: datetime
) -> list[str]:
    """Why an event cannot be recorded as it stands (empty when it can). `on_plan` is None
    when no pupil has the reference."""
    problems = []
    if on_plan is None:
        problems.append(f"no pupil has the reference '{facts.child_ref}'")
    elif not on_plan:
        problems.append(
            f"pupil {facts.child_ref} is not on a Child Protection Plan: record a concern "
            "instead, or mark the plan with `safeshare child update --cp-plan`"
        )
    if not recorder_active:
        problems.append(f"no active member of staff has the id '{facts.recorded_by}'")
    future = time_in_future(facts.occurred_at, now, what="the event's time")
    if future is not None:
        problems.append(future.message)
    return problems


def event_key(facts: PlanEventFacts) -> str:
    """One event, however often it is recorded or imported: the pupil, the kind and the
    moment (to the minute, in UTC)."""
    minute = int(facts.occurred_at.timestamp() // 60)
    text = f"plan-event|{facts.child_ref}|{facts.kind.value}|{minute}"
    return hashlib.sha256(text.encode()).hexdigest()


def disclosure_text(facts: PlanEventFacts) -> str:
    """What children's social care is told: the kind, when, and the details given."""
    when = facts.occurred_at.astimezone(ENGLAND)
    head = f"Child Protection Plan event: {facts.kind.value}, {when:%Y-%m-%d %H:%M} (UK time)."
    return f"{head}\n{facts.details}" if facts.details else head


PURPOSE = (
    "The setting's policy: notify the pupil's children's social care unit immediately when a "
    "pupil on a Child Protection Plan is excluded, is absent without explanation, or has any "
    "change in circumstances."
)
