"""Where need-to-know notices are written: the notice as the DSL recorded it, and one link per
member of staff the DSL chose, with when it went and when it was first opened."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from foundations.db import session_scope
from foundations.settings import get_settings
from models.identity import Reader
from models.kernel.steps import CaseKind, Step
from models.links import LinkPurpose
from models.messages.cases import case_reference
from models.messages.notice import notice_message
from models.notice import NoticeFacts, NoticeReview, NoticeSource
from models.tables.base import utcnow
from models.tables.credentials import PersonalLink
from models.tables.directory import Child
from models.tables.openings import Notice
from tasks.case_facts import find_case, latest_answer
from tasks.concerns import open_case
from tasks.identity import child_identity
from tasks.notify import already_sent, deliver
from tasks.personal_links import issue_link, links_of, mark_sent
from tasks.prefect_task import task
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


@task(retries=2, retry_delay_seconds=1)
def notice_source(case_id: int) -> str:
    """Where the notice came from (a code): it decides how soon it must be reviewed."""
    with session_scope() as session:
        notice = session.get(Notice, find_case(session, case_id).id)
        if notice is None:
            raise RuntimeError(f"case {case_id} records no notice")
        return NoticeSource(notice.source).value


@task(retries=2, retry_delay_seconds=1)
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
            link = PersonalLink(
                purpose=LinkPurpose.NOTICE_LINK.value,
                case_id=case_id,
                holder=staff_id,
                expires_at=now + timedelta(hours=settings.notice_link_ttl_hours),
            )
            # replacing their earlier link to the notice: a case holds one notice
            token = issue_link(session, link, same=(), now=now)
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
        mark_sent(session, LinkPurpose.NOTICE_LINK, staff_id, case_id, now=utcnow())


def notices_of(session: Session, case_id: int) -> list[dict[str, Any]]:
    """Who was told of a notice, when, and when each first opened it."""
    return [
        {
            "staff_id": link.holder,
            "sent_at": link.sent_at.isoformat() if link.sent_at else None,
            "opened_at": link.opened_at.isoformat() if link.opened_at else None,
        }
        for link in links_of(session, LinkPurpose.NOTICE_LINK, case_id)
        if link.outcome != "superseded"
    ]


# ---------------------------------------------------------------------------------------------
# Used by the web app (outside any flow).


def open_notice(link_id: int, *, now: datetime) -> dict[str, Any]:
    """What the holder is shown, and no more; their first opening is recorded."""
    with session_scope() as session:
        link = session.get(PersonalLink, link_id)
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
            "child": child_identity(session, link.case_id, Reader.STAFF_NOTICE),
            "what_they_need_to_know": review.what_they_need_to_know,
            "told_by": review.answered_by,
            "source_to_parents": review.disclose_source_to_parents,
            "opened_at": link.opened_at,
        }
