"""Where need-to-know notices are written: the notice as the DSL recorded it, and one link per
member of staff the DSL chose, with when it went and when it was first opened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from foundations.db import session_scope
from foundations.secret_key import secret_key
from foundations.settings import get_settings
from foundations.tokens import NOTICE_SALT, token_hash
from models.kernel.steps import CaseKind, Step
from models.links import LinkOutcome
from models.messages.cases import case_reference
from models.messages.notice import notice_message
from models.notice import NoticeFacts, NoticeReview, NoticeSource
from models.tables.base import utcnow
from models.tables.credentials import NoticeLink
from models.tables.directory import Child, Staff
from models.tables.openings import Notice
from tasks.case_facts import find_case, latest_answer
from tasks.concerns import open_case
from tasks.notify import already_sent, deliver
from tasks.signed_links import add_signed
from tasks.steps import system_step


def record_notice(facts: NoticeFacts, *, now: datetime) -> int:
    """Record a notice about a child and open its case; returns the case id."""
    with session_scope() as session:
        case = open_case(
            session,
            kind=CaseKind.NOTICE,
            child_ref=facts.child_ref,
            recorded_by=facts.recorded_by,
            occurred_at=facts.received_at,
            now=now,
        )
        session.add(
            Notice(
                case_id=case.id,
                recorded_by=facts.recorded_by,
                source=facts.source.value,
                received_at=facts.received_at,
                details=facts.details,
            )
        )
        return case.id


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def notice_source(case_id: int) -> str:
    """Where the notice came from (a code): it decides how soon it must be reviewed."""
    with session_scope() as session:
        notice = session.get(Notice, find_case(session, case_id).id)
        if notice is None:
            raise RuntimeError(f"case {case_id} records no notice")
        return NoticeSource(notice.source).value


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def tell_staff(case_id: int, flow_run_id: str) -> int:
    """Send each member of staff the DSL chose a link of their own to the notice, once; record
    who was told. Returns how many were told. The token exists only in its message: a link
    whose message did not go is replaced on the next try."""
    settings = get_settings()
    with session_scope() as session:
        review = latest_answer(session, case_id, Step.NOTICE_REVIEW)
        if not isinstance(review, NoticeReview):
            raise RuntimeError(f"case {case_id} has no review of its notice")
    told, failed = [], []
    for staff_id in review.staff_to_tell:
        outbox_key = f"case:{case_id}:notice:{staff_id}"
        if already_sent(outbox_key):
            _mark_sent(case_id, staff_id)
            told.append(staff_id)
            continue
        now = utcnow()
        with session_scope() as session:
            session.execute(
                update(NoticeLink)
                .where(
                    NoticeLink.case_id == case_id,
                    NoticeLink.staff_id == staff_id,
                    NoticeLink.superseded_at.is_(None),
                )
                .values(superseded_at=now)
                .execution_options(synchronize_session=False)
            )
            link = NoticeLink(
                case_id=case_id,
                staff_id=staff_id,
                expires_at=now + timedelta(hours=settings.notice_link_ttl_hours),
            )
            token = add_signed(session, link, secret_key(settings), salt=NOTICE_SALT)
            expires_at = link.expires_at
        title, body = notice_message(
            case_id, link=f"{settings.web_url}/notice/{token}", expires_at=expires_at
        )
        if deliver(
            outbox_key,
            case_id=case_id,
            tag=f"staff:{staff_id}",
            kind="notice",
            title=title,
            body=body,
        ):
            _mark_sent(case_id, staff_id)
            told.append(staff_id)
        else:
            failed.append(staff_id)
    with session_scope() as session:
        system_step(session, case_id, Step.STAFF_TOLD, {"told": told, "failed": failed})
    return len(told)


def _mark_sent(case_id: int, staff_id: str) -> None:
    with session_scope() as session:
        session.execute(
            update(NoticeLink)
            .where(
                NoticeLink.case_id == case_id,
                NoticeLink.staff_id == staff_id,
                NoticeLink.superseded_at.is_(None),
                NoticeLink.sent_at.is_(None),
            )
            .values(sent_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def notices_of(session: Session, case_id: int) -> list[dict[str, Any]]:
    """Who was told of a notice, when, and when each first opened it."""
    links = session.scalars(
        select(NoticeLink)
        .where(NoticeLink.case_id == case_id, NoticeLink.superseded_at.is_(None))
        .order_by(NoticeLink.id)
    )
    return [
        {
            "staff_id": link.staff_id,
            "sent_at": link.sent_at.isoformat() if link.sent_at else None,
            "opened_at": link.opened_at.isoformat() if link.opened_at else None,
        }
        for link in links
    ]


# ---------------------------------------------------------------------------------------------
# Used by the web app (outside any flow).


@dataclass(frozen=True)
class NoticeCheck:
    outcome: LinkOutcome
    link: NoticeLink | None = None


def check_notice_link(
    session: Session, link_id: int | None, token: str, *, now: datetime
) -> NoticeCheck:
    """Judge a notice link: its holder may open it as often as they need while it lasts."""
    link = session.get(NoticeLink, link_id) if link_id is not None else None
    if link is None or link.token_hash != token_hash(token):
        return NoticeCheck(LinkOutcome.FORGED)
    if link.superseded_at is not None:
        return NoticeCheck(LinkOutcome.SUPERSEDED, link)
    if now >= link.expires_at:
        return NoticeCheck(LinkOutcome.EXPIRED, link)
    holder = session.get(Staff, link.staff_id)
    if holder is None or not holder.active:
        return NoticeCheck(LinkOutcome.WRONG_PERSON, link)
    return NoticeCheck(LinkOutcome.VALID, link)


def open_notice(link_id: int, *, now: datetime) -> dict[str, Any]:
    """What the holder is shown, and no more; their first opening is recorded."""
    with session_scope() as session:
        link = session.get(NoticeLink, link_id)
        assert link is not None
        if link.opened_at is None:
            link.opened_at = now
        review = latest_answer(session, link.case_id, Step.NOTICE_REVIEW)
        assert isinstance(review, NoticeReview)
        case = find_case(session, link.case_id)
        child = session.get(Child, case.child_id)
        return {
            "reference": case_reference(link.case_id),
            "child_ref": child.child_ref if child else None,
            "what_they_need_to_know": review.what_they_need_to_know,
            "told_by": review.answered_by,
            "source_to_parents": review.disclose_source_to_parents,
            "opened_at": link.opened_at,
        }
