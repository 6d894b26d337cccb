"""Until when a wait's one-time codes and links work: their own lifetime at least, and past the
wait's deadline until its escalation ladder has run its course (models/lifetimes.py), so that
each reminder of an overdue wait finds them still working."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundations.settings import get_settings
from models.escalation import ladder, ladder_span
from models.kernel.steps import Step
from models.lifetimes import credential_expiry
from models.tables.disclosures import Disclosure


def wait_lifetime(
    session: Session,
    case_id: int,
    step: Step,
    who: Sequence[str],
    ttl_hours: float,
    *,
    due: datetime | None,
    now: datetime,
) -> datetime:
    """Until when a credential for a wait of `step` due at `due` works: its own lifetime at
    least, and past the deadline until the wait's escalation ladder has run its course."""
    settings = get_settings()
    agency = session.scalar(
        select(Disclosure.agency_code).where(Disclosure.case_id == case_id).limit(1)
    )
    rungs = ladder(step, who, agency=agency, rungs=settings.escalation_ladder)
    return credential_expiry(
        now=now,
        ttl=timedelta(hours=ttl_hours),
        due=due,
        span=ladder_span(rungs, timedelta(hours=settings.escalate_every_hours)),
    )
