"""Where an agency's confirmation of receipt is written: the disclosure's notification carries a
link for each recipient (tasks/agency_messages.py), and the link, used once, records the receipt
and moves the case on. Used by the web app, outside any flow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundations.db import session_scope
from models.kernel.steps import Step
from models.kernel.waits import Wait
from models.links import LinkOutcome
from models.sharing.disclosure import AgencyReceipt, ReceiptChannel, ReceiptConfirmation
from models.tables.cases import Case, CaseStep
from models.tables.credentials import PersonalLink
from tasks.answers import next_key
from tasks.closing import write_receipt
from tasks.personal_links import holder_of, judge, received_by, spend
from tasks.steps import insert_step


def _wait_answer(session: Session, link: PersonalLink) -> CaseStep | None:
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
        link = session.get(PersonalLink, link_id)
        assert link is not None and link.slot is not None and link.disclosure_id is not None
        outcome = judge(session, link, now=now)
        if outcome is not LinkOutcome.VALID:
            return ReceiptClaim(outcome)
        if not spend(session, link_id, outcome="confirmed", now=now):
            return ReceiptClaim(LinkOutcome.USED)
        case = session.get(Case, link.case_id)
        assert case is not None
        recipient = link.holder  # whose receipt it confirms: the agency's or the social worker's
        disclosure_id = link.disclosure_id
        answer = ReceiptConfirmation(
            answered_by=holder_of(link),
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

        wait = Wait.parse(link.slot)
        waiting_now = case.waiting_slot == wait.slot and case.waiting_key is not None
        if _wait_answer(session, link) is None:
            # under the wait's own key when the case waits for it (or the key it is asked
            # again with, when a refused answer took that one a moment ago), so the woken run
            # finds it; otherwise ahead of the wait, which will then find the slot answered
            key = (
                next_key(session, link.case_id, wait) if waiting_now else wait.ahead_key(recipient)
            )
            first = step_row(wait.slot, key)
            if insert_step(session, first) is first:
                write_receipt(session, disclosure_id, answer, recipient=recipient)
                if not waiting_now:
                    return ReceiptClaim(LinkOutcome.VALID)
                case.stop_waiting()
                return ReceiptClaim(LinkOutcome.VALID, key, case.flow_run_id)
            if _wait_answer(session, link) is None:
                # the key went this moment to an answer the DSL gave and the case refused (it
                # now waits under a new key): nothing is kept, and the link works again
                session.rollback()
                return ReceiptClaim(LinkOutcome.ANSWERED)
        # The wait is answered already (by the other recipient, or by the DSL, perhaps this
        # very moment): this recipient's confirmation is recorded beside it, unless theirs is.
        if recipient in received_by(session, disclosure_id):
            session.rollback()
            return ReceiptClaim(LinkOutcome.ANSWERED)
        also = wait.beside(recipient)
        insert_step(session, step_row(also, also))
        write_receipt(session, disclosure_id, answer, recipient=recipient)
        return ReceiptClaim(LinkOutcome.VALID)
