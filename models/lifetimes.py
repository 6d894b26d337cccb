"""Which rule decides how long a personal link or one-time code lives (pure: the clock is passed
in).

A link or code is sent so that someone can answer a wait. It must still work while the wait's
reminders go out: at least until the wait's deadline plus the span of its escalation ladder,
with the configured lifetime as a minimum (a wait due in a month, or a leaver's file due five
working days after a move weeks away, outlives a 24-hour or 7-day link). Every reminder also
carries a fresh one, so a link that went astray or was spent is replaced on the next rung.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from models.kernel.steps import CaseKind

#: No link or code lives longer than this after it was issued, whatever its wait's deadline:
#: the web app refuses signatures older than this too. A wait due later than that is served by
#: the fresh links its reminders carry.
LONGEST = timedelta(days=366)

#: The deadline rule of each kind of case's receipt wait (the agency's link is sent before that
#: wait opens, so its lifetime is counted from the rule the wait will have).
RECEIPT_RULES: Mapping[CaseKind, str] = {
    CaseKind.SHARING: "confirm-receipt",
    CaseKind.PLAN_EVENT: "plan-event-receipt",
    CaseKind.TRANSFER: "transfer-receipt",
}


def credential_expiry(
    *,
    now: datetime,
    ttl: timedelta,
    due: datetime | None = None,
    span: timedelta = timedelta(0),
    longest: timedelta = LONGEST,
) -> datetime:
    """When a link or code issued at `now` stops working: `ttl` after it was issued at the
    earliest, and not before its wait's deadline `due` plus `span` (its escalation ladder),
    but never more than `longest` after it was issued."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("give the time a link is issued with its UTC offset")
    if ttl <= timedelta(0) or span < timedelta(0):
        raise ValueError("a link's lifetime and its ladder's span cannot be negative or nothing")
    until = now + ttl
    if due is not None:
        until = max(until, due + span)
    return min(until, now + longest)
