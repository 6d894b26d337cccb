"""Where an agency's confirmation of receipt is written: the disclosure's notification carries a
link for the agency, and the link, used once, records the receipt and moves the case on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from foundations.db import session_scope
from foundations.settings import get_settings
from foundations.tokens import token_hash
from models.domain import (
    AgencyReceipt,
    CaseKind,
    ReceiptChannel,
    ReceiptConfirmation,
    Step,
    receipt_slot,
)
from models.lifetimes import RECEIPT_RULES
from models.links import (
    SOCIAL_WORKER,
    LinkOutcome,
    ReceiptLinkFacts,
    judge_receipt_link,
    social_worker_tag,
)
from models.messages import agency_message
from models.rules import eligible_answerers, receipt_clock
from models.tables import (
    AGENCY_RECIPIENT,
    Case,
    CaseStep,
    Receipt,
    ReceiptLink,
    utcnow,
)
from tasks.answers import next_key
from tasks.case_facts import allegation_against, phone_referral, plan_event_facts, staff_directory
from tasks.closing import disclosures_of, write_receipt
from tasks.lifetimes import wait_lifetime
from tasks.notify import already_sent, deliver
from tasks.receipt_links import new_receipt_link
from tasks.signed_links import receipt_url
from tasks.steps import due_for, insert_step
from tasks.transfers import leaver_of, transfer_kind


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
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
    for index, (disclosure_id, agency) in enumerate(disclosures):
        recipients: list[tuple[str | None, str]] = [(None, f"agency:{agency}")]
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
                slot=receipt_slot(index),
                phoned_at=called.phoned_at if called else None,
                event=event,
                transfer=moving,
            )
    return [agency for _, agency in disclosures]


def recipient_of(link: ReceiptLink) -> str:
    """Whose receipt a link confirms: the agency's (its duty inbox) or the social worker's."""
    return link.recipient or AGENCY_RECIPIENT


def link_holder(link: ReceiptLink) -> str:
    """Who a receipt link answers as, in the record: `agency.<code>` for the agency's duty
    inbox, `social-worker.<code>` for the pupil's social worker at that agency."""
    return f"{recipient_of(link)}.{link.agency_code}"


def _send_receipt_link(
    case_id: int,
    disclosure_id: int,
    agency: str,
    flow_run_id: str,
    *,
    recipient: str | None,
    tag: str,
    slot: str,
    phoned_at: datetime | None,
    event: str | None,
    transfer: str | None = None,
) -> None:
    outbox_key = f"case:{case_id}:notify-agency:{tag}"
    if already_sent(outbox_key):
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
            slot=slot,
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
    deliver(outbox_key, case_id=case_id, tag=tag, kind="disclosure", title=title, body=body)


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


# ---------------------------------------------------------------------------------------------
# Used by the web app (outside any flow).


@dataclass(frozen=True)
class ReceiptCheck:
    outcome: LinkOutcome
    link: ReceiptLink | None = None


def _wait_answer(session: Session, link: ReceiptLink) -> CaseStep | None:
    """The accepted answer to the receipt wait the link belongs to, if there is one."""
    return session.scalar(
        select(CaseStep)
        .where(
            CaseStep.case_id == link.case_id,
            CaseStep.slot == link.slot,
            CaseStep.accepted.is_(True),
        )
        .order_by(CaseStep.id)
        .limit(1)
    )


def _received(session: Session, link: ReceiptLink) -> set[str]:
    """The recipients whose receipt of the link's disclosure is recorded. Every accepted answer
    to a receipt wait writes its receipt in its own transaction, so none means none answered."""
    of_disclosure = Receipt.disclosure_id == link.disclosure_id
    return set(session.scalars(select(Receipt.recipient).where(of_disclosure)))


def _facts(session: Session, link: ReceiptLink) -> ReceiptLinkFacts:
    case = session.get(Case, link.case_id)
    assert case is not None
    received = _received(session, link)
    return ReceiptLinkFacts(
        expires_at=link.expires_at,
        used_at=link.used_at,
        superseded=link.outcome == "superseded",
        case_open=case.status == "open",
        receipt_recorded=recipient_of(link) in received,
        case_received=bool(received),
    )


def check_receipt_link(
    session: Session, link_id: int | None, token: str, *, now: datetime
) -> ReceiptCheck:
    """Judge a receipt link as it stands: the token's hash must match the link it names."""
    link = session.get(ReceiptLink, link_id) if link_id is not None else None
    if link is None or link.token_hash != token_hash(token):
        return ReceiptCheck(LinkOutcome.FORGED)
    return ReceiptCheck(judge_receipt_link(_facts(session, link), now=now), link)


@dataclass(frozen=True)
class ReceiptClaim:
    outcome: LinkOutcome
    key: str | None = None  # the wait it answered, when the case waits for this receipt now
    flow_run_id: str | None = None  # the run to hand that answer over to


def confirm_receipt(link_id: int, given: AgencyReceipt, *, now: datetime) -> ReceiptClaim:
    """Use the link once: record the recipient's confirmation and its receipt in one
    transaction. The first confirmation is the receipt step's answer (say which wait and run to
    hand it over to, if the case waits for it); one that comes after another recipient's, or
    after the DSL's record of the agency's, is recorded beside it, in a step of its own."""

    with session_scope() as session:
        link = session.get(ReceiptLink, link_id)
        assert link is not None
        outcome = judge_receipt_link(_facts(session, link), now=now)
        if outcome is not LinkOutcome.VALID:
            return ReceiptClaim(outcome)
        claimed = session.execute(
            update(ReceiptLink)
            .where(ReceiptLink.id == link_id, ReceiptLink.used_at.is_(None))
            .values(used_at=now, outcome="confirmed")
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return ReceiptClaim(LinkOutcome.USED)
        case = session.get(Case, link.case_id)
        assert case is not None
        recipient = recipient_of(link)
        answer = ReceiptConfirmation(
            answered_by=link_holder(link),
            confirmed_by_name=given.confirmed_by_name,
            confirmed_by_role=given.confirmed_by_role,
            confirmed_at=now,
            agency_reference=given.agency_reference,
            channel=ReceiptChannel.AGENCY_LINK,
        )

        def step_row(slot: str, key: str) -> CaseStep:
            return CaseStep(
                case_id=link.case_id,
                step=Step.CONFIRM_RECEIPT.value,
                slot=slot,
                key=key,
                accepted=True,
                actor=answer.answered_by,
                channel=ReceiptChannel.AGENCY_LINK.value,
                data=answer.model_dump(mode="json"),
            )

        waiting_now = case.waiting_slot == link.slot and case.waiting_key is not None
        if _wait_answer(session, link) is None:
            # under the wait's own key when the case waits for it (or the key it is asked
            # again with, when a refused answer took that one a moment ago), so the woken run
            # finds it; otherwise ahead of the wait, which will then find the slot answered
            key = (
                next_key(session, link.case_id, link.slot)
                if waiting_now
                else f"{link.slot}-{recipient}"
            )
            first = step_row(link.slot, str(key))
            if insert_step(session, first) is first:
                write_receipt(session, link.disclosure_id, answer, recipient=recipient)
                if not waiting_now:
                    return ReceiptClaim(LinkOutcome.VALID)
                case.stop_waiting()
                return ReceiptClaim(LinkOutcome.VALID, str(key), case.flow_run_id)
            if _wait_answer(session, link) is None:
                # the key went this moment to an answer the DSL gave and the case refused (it
                # now waits under a new key): nothing is kept, and the link works again
                session.rollback()
                return ReceiptClaim(LinkOutcome.ANSWERED)
        # The wait is answered already (by the other recipient, or by the DSL, perhaps this
        # very moment): this recipient's confirmation is recorded beside it, unless theirs is.
        if recipient in _received(session, link):
            session.rollback()
            return ReceiptClaim(LinkOutcome.ANSWERED)
        also = f"{link.slot}:{recipient}"
        insert_step(session, step_row(also, also))
        write_receipt(session, link.disclosure_id, answer, recipient=recipient)
        return ReceiptClaim(LinkOutcome.VALID)
