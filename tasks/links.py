"""Where answer links are used: claimed, once, when their holder answers through the web app.
(They are issued with the one-time codes, in tasks/credentials.py.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from foundations.db import session_scope
from foundations.settings import get_settings
from foundations.tokens import fingerprint, token_hash
from models.kernel.steps import Step
from models.kernel.waits import Slot, Wait
from models.links import LinkFacts, LinkOutcome, WaitFacts, judge_link, throttled
from models.tables.cases import Case, CaseStep
from models.tables.credentials import AnswerLink, LinkAttempt
from models.tables.directory import Staff
from tasks.answers import answer_row, next_key, settle
from tasks.case_facts import allegation_against, first_signer, staff_directory
from tasks.steps import insert_step

# ---------------------------------------------------------------------------------------------
# Used by the web app (outside any flow).


@dataclass(frozen=True)
class LinkCheck:
    outcome: LinkOutcome
    link: AnswerLink | None = None


def _facts(session: Session, link: AnswerLink) -> tuple[LinkFacts, WaitFacts]:
    case = session.get(Case, link.case_id)
    assert case is not None
    answered = session.scalar(
        select(CaseStep.actor).where(
            CaseStep.case_id == link.case_id,
            CaseStep.slot == link.slot,
            CaseStep.accepted.is_(True),
        )
    )
    facts = LinkFacts(
        case_id=link.case_id,
        step=Step(link.step),
        slot=link.slot,
        staff_id=link.staff_id,
        flow_run_id=link.flow_run_id,
        expires_at=link.expires_at,
        used_at=link.used_at,
        superseded=link.outcome == "superseded",
    )
    wait = WaitFacts(
        waiting_slot=case.waiting_slot if case.waiting_key is not None else None,
        flow_run_id=case.flow_run_id,
        answered_by=answered,
        first_signer=first_signer(session, link.case_id),
        subject=allegation_against(session, link.case_id),
    )
    return facts, wait


def check_link(session: Session, link_id: int | None, token: str, *, now: datetime) -> LinkCheck:
    """Judge a link as it stands: the token's hash must match the link it names."""
    link = session.get(AnswerLink, link_id) if link_id is not None else None
    if link is None or link.token_hash != token_hash(token):
        return LinkCheck(LinkOutcome.FORGED)
    facts, wait = _facts(session, link)
    person = staff_directory(session).get(link.staff_id)
    return LinkCheck(judge_link(facts, wait, person, now=now), link)


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
        link = session.get(AnswerLink, link_id)
        assert link is not None
        facts, wait = _facts(session, link)
        person = staff_directory(session).get(link.staff_id)
        outcome = judge_link(facts, wait, person, now=now)
        if outcome is not LinkOutcome.VALID:
            return Claim(outcome)
        claimed = session.execute(
            update(AnswerLink)
            .where(AnswerLink.id == link_id, AnswerLink.used_at.is_(None))
            .values(used_at=now, outcome="answered")
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return Claim(LinkOutcome.USED)
        asked = Wait.parse(link.slot)
        slot = Slot(case_id=link.case_id, wait=asked, key=next_key(session, link.case_id, asked))
        mine = answer_row(slot, channel="link", answer=answer, actor=link.staff_id)
        if insert_step(session, mine) is not mine:
            session.rollback()  # another answer took the key this moment: the link is unused
            return Claim(LinkOutcome.ANSWERED)
        settle(session, slot, mine)
        return Claim(LinkOutcome.VALID, slot.key, link.flow_run_id)


def staff_name(session: Session, staff_id: str) -> str:
    member = session.get(Staff, staff_id)
    return member.name if member is not None else staff_id
