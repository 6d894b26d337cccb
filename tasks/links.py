"""Where answer links are written and used: issued to each person who may answer a wait, and
claimed, once, when one of them answers through the web app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models.domain import Slot, Step
from models.links import LinkFacts, LinkOutcome, WaitFacts, judge_link, throttled
from models.messages import link_message
from models.tables import AnswerLink, Case, CaseStep, LinkAttempt, Staff, utcnow
from safeshare.db import session_scope
from safeshare.settings import get_settings, secret_key
from safeshare.tokens import fingerprint, make_token, token_hash
from tasks.notify import already_sent, deliver
from tasks.records import first_signer, staff_directory


def link_url(token: str) -> str:
    return f"{get_settings().web_url}/answer/{token}"


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def issue_links(slot: Slot, flow_run_id: str) -> list[int]:
    """Send each person who may answer this wait their own link, once; returns the link ids.

    The token exists only in the message: if a delivery fails, the next run issues a new link.
    """
    settings = get_settings()
    key = secret_key(settings)
    issued: list[int] = []
    for staff_id in slot.who:
        outbox_key = f"case:{slot.case_id}:{slot.key}:link:{staff_id}"
        if already_sent(outbox_key):
            continue
        with session_scope() as session:
            link = AnswerLink(
                case_id=slot.case_id,
                step=slot.step.value,
                slot=slot.slot,
                key=slot.key,
                staff_id=staff_id,
                flow_run_id=flow_run_id,
                expires_at=utcnow() + timedelta(hours=settings.link_ttl_hours),
            )
            session.add(link)
            session.flush()
            token = make_token(key, link.id)
            link.token_hash = token_hash(token)
            link_id, expires_at = link.id, link.expires_at
        title, body = link_message(slot.case_id, slot.step, link_url(token), expires_at)
        deliver(
            outbox_key,
            case_id=slot.case_id,
            tag=f"staff:{staff_id}",
            kind=f"link:{slot.step.value}",
            title=title,
            body=body,
        )
        issued.append(link_id)
    return issued


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
        key=link.key,
        staff_id=link.staff_id,
        flow_run_id=link.flow_run_id,
        expires_at=link.expires_at,
        used_at=link.used_at,
    )
    wait = WaitFacts(
        waiting_key=case.waiting_key,
        flow_run_id=case.flow_run_id,
        answered_by=answered,
        first_signer=first_signer(session, link.case_id),
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
    for_link = session.scalar(
        select(func.count())
        .select_from(LinkAttempt)
        .where(failed, LinkAttempt.token_fingerprint == fingerprint(token))
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


def claim_and_record(link_id: int, answer: Any, *, now: datetime) -> LinkOutcome:
    """Use the link once and write the answer as the step's accepted row, in one transaction.

    Of any number of simultaneous claims, exactly one wins; the others are told why not.
    """
    with session_scope() as session:
        link = session.get(AnswerLink, link_id)
        assert link is not None
        facts, wait = _facts(session, link)
        person = staff_directory(session).get(link.staff_id)
        outcome = judge_link(facts, wait, person, now=now)
        if outcome is not LinkOutcome.VALID:
            return outcome
        claimed = session.execute(
            update(AnswerLink)
            .where(AnswerLink.id == link_id, AnswerLink.used_at.is_(None))
            .values(used_at=now, outcome="answered")
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return LinkOutcome.USED
        from tasks.records import _insert_step

        row = _insert_step(
            session,
            CaseStep(
                case_id=link.case_id,
                step=link.step,
                slot=link.slot,
                key=link.key,
                accepted=True,
                actor=link.staff_id,
                channel="link",
                data=answer.model_dump(mode="json"),
            ),
        )
        if row.actor != link.staff_id or row.channel != "link" or not row.accepted:
            session.rollback()
            return LinkOutcome.ANSWERED
        case = session.get(Case, link.case_id)
        assert case is not None
        case.waiting_step = case.waiting_slot = case.waiting_key = None
        case.waiting_since = None
        return LinkOutcome.VALID


def staff_name(session: Session, staff_id: str) -> str:
    member = session.get(Staff, staff_id)
    return member.name if member is not None else staff_id
