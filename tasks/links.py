"""Where answer links are used: claimed, once, when their holder answers through the web app;
and every attempt at any link, kept to slow down guessing. (Answer links are issued with the
one-time codes, in tasks/credentials.py; found, judged and spent in tasks/personal_links.py.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from foundations.db import session_scope
from foundations.settings import get_settings
from foundations.tokens import fingerprint
from models.kernel.waits import Slot, Wait
from models.links import LinkOutcome, throttled
from models.tables.credentials import LinkAttempt, PersonalLink
from tasks.answers import answer_row, next_key, settle
from tasks.personal_links import judge, spend
from tasks.steps import insert_step

# ---------------------------------------------------------------------------------------------
# Used by the web app (outside any flow).


def is_throttled(session: Session, token: str, address: str, *, now: datetime) -> bool:
    settings = get_settings()
    since = now - timedelta(minutes=settings.link_failure_window_minutes)
    failed = (LinkAttempt.status >= 400) & (LinkAttempt.at >= since)
    # A link is slowed down by failures, but not by 409s: a used or answered link cannot be
    # guessed further, and the losers of a race for it (a double click, a scanner) are told why.
    for_link = session.scalar(
        select(func.count())
        .select_from(LinkAttempt)
        .where(
            failed, LinkAttempt.status != 409, LinkAttempt.token_fingerprint == fingerprint(token)
        )
    )
    # An address is slowed down by failures that suggest guessing, not by losing a race.
    from_address = session.scalar(
        select(func.count())
        .select_from(LinkAttempt)
        .where(failed, LinkAttempt.address == address, LinkAttempt.status.in_((403, 410)))
    )
    return throttled(for_link or 0, from_address or 0, limit=settings.link_failure_limit)


def record_attempt(
    token: str, link_id: int | None, address: str, method: str, outcome: str, status: int
) -> None:
    """Keep every attempt, failed ones too (the token only as a fingerprint)."""
    with session_scope() as session:
        session.add(
            LinkAttempt(
                link_id=link_id,
                token_fingerprint=fingerprint(token),
                address=address[:64],
                method=method,
                outcome=outcome,
                status=status,
            )
        )


@dataclass(frozen=True)
class Claim:
    """What using a link came to: its outcome, and when it answered, the wait's key and the run
    to hand the answer over to."""

    outcome: LinkOutcome
    key: str | None = None
    flow_run_id: str | None = None


def claim_and_record(link_id: int, answer: Any, *, now: datetime) -> Claim:
    """Use the link once and write the answer as its slot's accepted row, in one transaction.

    The row goes under the key the case waits on, or, when a refused answer took that key a
    moment ago and the step is being asked again, under the key it is asked again with. Of any
    number of simultaneous claims, exactly one wins; the others are told why not.
    """

    with session_scope() as session:
        link = session.get(PersonalLink, link_id)
        assert link is not None and link.slot is not None
        outcome = judge(session, link, now=now)
        if outcome is not LinkOutcome.VALID:
            return Claim(outcome)
        if not spend(session, link_id, outcome="answered", now=now):
            return Claim(LinkOutcome.USED)
        asked = Wait.parse(link.slot)
        slot = Slot(case_id=link.case_id, wait=asked, key=next_key(session, link.case_id, asked))
        mine = answer_row(slot, channel="link", answer=answer, actor=link.holder)
        if insert_step(session, mine) is not mine:
            session.rollback()  # another answer took the key this moment: the link is unused
            return Claim(LinkOutcome.ANSWERED)
        settle(session, slot, mine)
        return Claim(LinkOutcome.VALID, slot.key, link.flow_run_id)
