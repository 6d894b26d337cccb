"""Where a disclosure's receipt links are made: one for each recipient (the agency's duty inbox,
or the pupil's social worker), replacing the ones it had; made again for a recipient that has
not confirmed (a resend, a reminder), and made to last as long as the receipt wait's codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from foundations.db import session_scope
from foundations.settings import get_settings
from models.kernel.values import Frozen
from models.kernel.waits import Slot
from models.links import SOCIAL_WORKER, LinkPurpose, social_worker_tag
from models.messages.disclosure import agency_message
from models.tables.base import utcnow
from models.tables.cases import Case
from models.tables.credentials import PersonalLink
from tasks.case_facts import current_slot, plan_event_facts
from tasks.lifetimes import wait_lifetime
from tasks.notify import already_sent, deliver
from tasks.personal_links import extend, issue_link, links_of, received_by
from tasks.signed_links import receipt_url


def new_receipt_link(
    session: Session,
    *,
    case_id: int,
    disclosure_id: int,
    agency: str,
    recipient: str,
    slot: str,
    flow_run_id: str,
    expires_at: datetime,
    now: datetime,
) -> str:
    """A new receipt link for one recipient of a disclosure (its agency's duty inbox, or the
    pupil's social worker), replacing the ones it had that are still unused; returns the token,
    which exists only in the message that carries it."""
    link = PersonalLink(
        purpose=LinkPurpose.RECEIPT_LINK.value,
        case_id=case_id,
        holder=recipient,
        agency_code=agency,
        disclosure_id=disclosure_id,
        slot=slot,
        flow_run_id=flow_run_id,
        expires_at=expires_at,
    )
    return issue_link(session, link, same=("disclosure_id",), now=now)


class ReceiptRecipient(Frozen):
    """One recipient of a disclosure's receipt link: codes and the Apprise tag it is told on."""

    disclosure_id: int
    agency: str
    recipient: str  # "agency" (its duty inbox) or "social-worker" (the pupil's social worker)
    tag: str
    slot: str  # the receipt wait of its disclosure


def unconfirmed_recipients(session: Session, case_id: int) -> list[ReceiptRecipient]:
    """Each recipient a receipt link of the case went to that has not confirmed receipt, in
    the order their links went out."""

    found: dict[tuple[int, str], ReceiptRecipient] = {}
    for link in links_of(session, LinkPurpose.RECEIPT_LINK, case_id):
        assert link.disclosure_id is not None and link.agency_code and link.slot
        if (link.disclosure_id, link.holder) in found:
            continue
        if receipt_confirmed(session, link.disclosure_id, link.holder):
            continue
        if link.holder == SOCIAL_WORKER:
            tag = social_worker_tag(plan_event_facts(session, case_id).child_ref)
        else:
            tag = f"agency:{link.agency_code}"
        found[(link.disclosure_id, link.holder)] = ReceiptRecipient(
            disclosure_id=link.disclosure_id,
            agency=link.agency_code,
            recipient=link.holder,
            tag=tag,
            slot=link.slot,
        )
    return list(found.values())


def receipt_confirmed(session: Session, disclosure_id: int, recipient: str) -> bool:
    """Whether this recipient's receipt of the disclosure is recorded (by any door)."""
    return recipient in received_by(session, disclosure_id)


def fresh_receipt_link(
    case_id: int, wait_key: str, recipient: ReceiptRecipient, *, due: datetime | None
) -> tuple[str, datetime] | None:
    """A new receipt link for a recipient that has not confirmed, replacing its old ones, for
    as long as the receipt wait (due at `due`) and its ladder last; its address and end. None
    when the case no longer waits under `wait_key` or the recipient has confirmed since."""
    settings = get_settings()
    now = utcnow()
    with session_scope() as session:
        case = session.get(Case, case_id)
        if case is None or case.waiting_key != wait_key or case.flow_run_id is None:
            return None
        if receipt_confirmed(session, recipient.disclosure_id, recipient.recipient):
            return None
        slot = current_slot(session, case)
        expires_at = wait_lifetime(
            session,
            case_id,
            slot.wait.step,
            slot.who,
            settings.receipt_link_ttl_hours,
            due=due,
            now=now,
        )
        token = new_receipt_link(
            session,
            case_id=case_id,
            disclosure_id=recipient.disclosure_id,
            agency=recipient.agency,
            recipient=recipient.recipient,
            slot=recipient.slot,
            flow_run_id=case.flow_run_id,
            expires_at=expires_at,
            now=now,
        )
    return receipt_url(token), expires_at


def resend_receipt_links(case_id: int, wait_key: str, round_: str) -> list[str]:
    """New receipt links, for a receipt wait, to each recipient that has not confirmed (the
    tags sent to): an agency whose link expired or went astray asks the DSL for another."""

    with session_scope() as session:
        case = session.get(Case, case_id)
        due = case.waiting_due if case is not None else None
        recipients = unconfirmed_recipients(session, case_id)
    sent_to = []
    for recipient in recipients:
        key = f"case:{case_id}:{wait_key}:receipt-link:{recipient.tag}{round_}"

        def compose(recipient: ReceiptRecipient = recipient) -> tuple[str, str] | None:
            fresh = fresh_receipt_link(case_id, wait_key, recipient, due=due)
            if fresh is None:
                return None
            url, expires_at = fresh
            return agency_message(
                case_id,
                recipient.agency,
                link=url,
                expires_at=expires_at,
                to_social_worker=recipient.recipient == SOCIAL_WORKER,
            )

        if already_sent(key) or deliver(
            key,
            case_id=case_id,
            tag=recipient.tag,
            kind="disclosure",
            compose=compose,
            exclusive=True,
        ):
            sent_to.append(recipient.tag)
    return sent_to


def receipt_links_last(slot: Slot) -> None:
    """When a receipt wait opens (perhaps long after its links went out, as after an emergency
    share), the receipt links still unused and unexpired live as long as its credentials do."""
    settings = get_settings()
    now = utcnow()
    with session_scope() as session:
        case = session.get(Case, slot.case_id)
        if case is None or case.waiting_key != slot.key:
            return
        until = wait_lifetime(
            session,
            slot.case_id,
            slot.wait.step,
            slot.who,
            settings.receipt_link_ttl_hours,
            due=case.waiting_due,
            now=now,
        )
        extend(
            session,
            LinkPurpose.RECEIPT_LINK,
            until=until,
            now=now,
            case_id=slot.case_id,
            slot=slot.wait.slot,
        )
