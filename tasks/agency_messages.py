"""Where each agency a case shares with is told: one message per recipient of each disclosure
(the agency's duty inbox and, for a Child Protection Plan event, the pupil's social worker), each
with its own receipt link, made to last until the receipt wait it answers is due and its
escalation ladder has run. The link, used once, is taken in tasks/receipts.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from foundations.db import session_scope
from foundations.settings import get_settings
from models.kernel.answerers import eligible_answerers
from models.kernel.steps import CaseKind, Step
from models.kernel.waits import Wait
from models.lifetimes import RECEIPT_RULES
from models.links import SOCIAL_WORKER, social_worker_tag
from models.messages.disclosure import agency_message
from models.tables.base import utcnow
from models.tables.cases import Case
from models.tables.disclosures import AGENCY_RECIPIENT
from models.tables.outbox import Notification
from models.transfer import receipt_clock
from tasks.case_facts import allegation_against, phone_referral, plan_event_facts, staff_directory
from tasks.closing import disclosures_of
from tasks.event_order import after_earlier_events
from tasks.lifetimes import wait_lifetime
from tasks.notify import already_sent, deliver
from tasks.prefect_task import task
from tasks.receipt_links import new_receipt_link
from tasks.signed_links import receipt_url
from tasks.steps import due_for
from tasks.transfers import leaver_of, transfer_kind


@task(retries=2, retry_delay_seconds=1)
def notify_agency(case_id: int, flow_run_id: str) -> list[str]:
    """Tell each agency the case shares with, once, that information is shared with it, with
    its own link to read its disclosure and confirm receipt (the receipt wait of its own
    disclosure); returns the agency codes, in order. A Child Protection Plan event also goes to
    the pupil's social worker, with a link of their own: either confirmation is the case's
    receipt, and each recipient's own is recorded (see `confirm_receipt`).

    The token exists only in the message: a link whose message did not go is spent, and the
    next try sends a new one."""

    with session_scope() as session:
        disclosures = [(d.id, d.agency_code) for d in disclosures_of(session, case_id)]
        if not disclosures:
            raise RuntimeError(f"case {case_id} has no disclosure to notify")
        called = phone_referral(session, case_id)
        case = session.get(Case, case_id)
        assert case is not None
        event = None
        moving = transfer_kind(session, case_id)
        social_worker = None
        if case.kind == CaseKind.PLAN_EVENT:
            facts = plan_event_facts(session, case_id)
            event = facts.kind.value
            social_worker = social_worker_tag(facts.child_ref)
    if event is not None:  # after the pupil's earlier events, in the order they were recorded
        after_earlier_events(case_id)
    for index, (disclosure_id, agency) in enumerate(disclosures):
        recipients = [(AGENCY_RECIPIENT, f"agency:{agency}")]
        if social_worker is not None:
            recipients.append((SOCIAL_WORKER, social_worker))
        for recipient, tag in recipients:
            _send_receipt_link(
                case_id,
                disclosure_id,
                agency,
                flow_run_id,
                recipient=recipient,
                tag=tag,
                wait=Wait.receipt(index),
                phoned_at=called.phoned_at if called else None,
                event=event,
                transfer=moving,
            )
    return [agency for _, agency in disclosures]


def outbox_key(case_id: int, tag: str) -> str:
    """The outbox key of the message that tells `tag` what the case shares with it."""
    return f"case:{case_id}:notify-agency:{tag}"


def agencies_told(case_id: int) -> bool:
    """Whether the case's disclosures are written and each agency has been sent its message (a
    plain read, not a task: a resumed run past the sharing replays it in one query, where
    `write_disclosure` and `notify_agency` would each report a task run that changes nothing).
    A message not sent yet leaves it False, so the next run sends it. The agencies' messages
    only: a sharing case's (a plan event's also go to the pupil's social worker, and its flow
    calls `notify_agency` every time)."""
    with session_scope() as session:
        keys = [
            outbox_key(case_id, f"agency:{d.agency_code}") for d in disclosures_of(session, case_id)
        ]
        if not keys:
            return False
        sent = session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.key.in_(keys), Notification.status == "sent")
        )
        return sent == len(keys)


def _send_receipt_link(
    case_id: int,
    disclosure_id: int,
    agency: str,
    flow_run_id: str,
    *,
    recipient: str,
    tag: str,
    wait: Wait,
    phoned_at: datetime | None,
    event: str | None,
    transfer: str | None = None,
) -> None:
    key = outbox_key(case_id, tag)
    if already_sent(key):
        return
    now = utcnow()
    with session_scope() as session:
        expires_at = _receipt_link_expiry(session, case_id, now)
        token = new_receipt_link(
            session,
            case_id=case_id,
            disclosure_id=disclosure_id,
            agency=agency,
            recipient=recipient,
            slot=wait.slot,
            flow_run_id=flow_run_id,
            expires_at=expires_at,
            now=now,
        )
    title, body = agency_message(
        case_id,
        agency,
        link=receipt_url(token),
        expires_at=expires_at,
        phoned_at=phoned_at,
        event=event,
        to_social_worker=recipient == SOCIAL_WORKER,
        transfer=transfer,
    )
    deliver(key, case_id=case_id, tag=tag, kind="disclosure", title=title, body=body)


def _receipt_link_expiry(session: Session, case_id: int, now: datetime) -> datetime:
    """Until when a receipt link sent now works: at least its configured lifetime, and until
    the receipt wait it answers is due (by the rule that wait will have: a leaver's counted
    from the move or the new term) and its escalation ladder has run."""

    settings = get_settings()
    case = session.get(Case, case_id)
    assert case is not None
    kind = CaseKind(case.kind)
    clock = receipt_clock(leaver_of(session, case_id)) if kind is CaseKind.TRANSFER else now
    due = due_for(RECEIPT_RULES.get(kind, Step.CONFIRM_RECEIPT.value), clock)
    who = eligible_answerers(
        Step.CONFIRM_RECEIPT,
        staff_directory(session),
        subject=allegation_against(session, case_id),
    )
    return wait_lifetime(
        session,
        case_id,
        Step.CONFIRM_RECEIPT,
        who,
        settings.receipt_link_ttl_hours,
        due=due,
        now=now,
    )
