"""Where a case's outcome is written: what is disclosed, to whom, why and on what basis (by a
decision to share, an emergency share, or the policy itself), each recipient's receipt of a
disclosure, and the case's close. Written once each: a re-run finds what is there."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundations.db import session_scope
from foundations.deadline_settings import deadline_rules
from foundations.settings import get_settings
from models.kernel.steps import CaseStatus, Step
from models.kernel.waits import Wait
from models.plan_event.policy import PLAN_EVENT_AGENCY, PLAN_EVENT_DECIDER, PURPOSE, disclosure_text
from models.sharing.criteria import Consent, CriteriaAnswers, LawfulBasis
from models.sharing.decision import assess, is_emergency
from models.sharing.disclosure import (
    SPECIAL_CATEGORY_CONDITION,
    ReceiptChannel,
    ReceiptConfirmation,
)
from models.tables.base import utcnow
from models.tables.disclosures import AGENCY_RECIPIENT, Disclosure, Receipt
from tasks.case_facts import accepted_rows, find_case, latest_answer, plan_event_facts
from tasks.prefect_task import task
from tasks.steps import due_for, system_step


def policy_disclosure(
    session: Session,
    case_id: int,
    *,
    agency: str,
    information: str,
    purpose: str,
    decided_by: str,
    detail: dict[str, Any],
    recorded_by: str | None = None,
) -> None:
    """Record, once, a disclosure the policy itself requires (a plan event, a leaver's file):
    public task, the safeguarding condition, consent not sought, no co-signer; and the step
    that says the agency is told."""
    if session.scalar(select(Disclosure.id).where(Disclosure.case_id == case_id)) is not None:
        return
    session.add(
        Disclosure(
            case_id=case_id,
            agency_code=agency,
            information=information,
            purpose=purpose,
            lawful_basis=LawfulBasis.PUBLIC_TASK.value,
            special_category_condition=SPECIAL_CATEGORY_CONDITION,
            consent=Consent.NOT_SOUGHT.value,
            decided_by=decided_by,
            cosigned_by=None,
            recorded_by=recorded_by,
        )
    )
    system_step(session, case_id, Step.NOTIFY_AGENCY, {"agency": agency, **detail})


@task(retries=2, retry_delay_seconds=1)
def write_plan_disclosure(case_id: int) -> str:
    """Record, once, that the event goes to children's social care at once, as the policy
    requires (no management wait): what, why, on what basis, and who recorded it; returns the
    event's kind."""
    with session_scope() as session:
        facts = plan_event_facts(session, case_id)
        policy_disclosure(
            session,
            case_id,
            agency=PLAN_EVENT_AGENCY,
            information=disclosure_text(facts),
            purpose=PURPOSE,
            decided_by=PLAN_EVENT_DECIDER,  # the policy: at once, no one's choice
            recorded_by=facts.recorded_by,
            detail={"event": facts.kind.value},
        )
        return facts.kind.value


def disclosures_of(session: Session, case_id: int) -> list[Disclosure]:
    """The case's disclosures, one per agency told, in the order the decision names them."""
    return list(
        session.scalars(
            select(Disclosure).where(Disclosure.case_id == case_id).order_by(Disclosure.id)
        )
    )


def disclosed(case_id: int) -> list[tuple[str, datetime]]:
    """Each agency the case told and when, in order (a plain read, not a task: a resumed run
    replays it in one query)."""
    with session_scope() as session:
        return [(d.agency_code, d.disclosed_at) for d in disclosures_of(session, case_id)]


def disclosure_of_wait(session: Session, case_id: int, wait: Wait) -> Disclosure:
    """The disclosure a receipt wait belongs to: the case's n-th, for `Wait.receipt(n)`."""
    if wait.disclosure is None:
        raise ValueError(f"{wait.slot} is not a receipt wait")
    disclosures = disclosures_of(session, case_id)
    if wait.disclosure >= len(disclosures):
        raise RuntimeError(f"case {case_id} has no disclosure for the wait {wait.slot}")
    return disclosures[wait.disclosure]


def write_receipt(
    session: Session,
    disclosure_id: int,
    answer: ReceiptConfirmation,
    *,
    recipient: str = AGENCY_RECIPIENT,
) -> None:
    """Record a recipient's receipt of a disclosure, once per recipient. The DSL's record of a
    confirmation given by phone or email is the agency's."""
    mine = (Receipt.disclosure_id == disclosure_id) & (Receipt.recipient == recipient)
    if session.scalar(select(Receipt).where(mine)) is None:
        session.add(
            Receipt(
                disclosure_id=disclosure_id,
                recipient=recipient,
                confirmed_by_name=answer.confirmed_by_name,
                confirmed_by_role=answer.confirmed_by_role,
                confirmed_at=answer.confirmed_at,
                agency_reference=answer.agency_reference,
                channel=answer.channel.value,
                recorded_by=(
                    None if answer.channel is ReceiptChannel.AGENCY_LINK else answer.answered_by
                ),
            )
        )


@task(retries=2, retry_delay_seconds=1)
def write_disclosure(case_id: int) -> list[str]:
    """Record what is shared, with whom, why and on what basis, once for each agency the
    decision names, in its order; returns the agency codes."""
    with session_scope() as session:
        existing = disclosures_of(session, case_id)
        if existing:
            return [d.agency_code for d in existing]
        assessment = latest_answer(session, case_id, Step.ASSESS_CRITERIA)
        if not isinstance(assessment, CriteriaAnswers) or not assess(assessment).shares:
            raise RuntimeError(f"case {case_id} has no assessment that decides to share")
        signoffs = accepted_rows(session, case_id, Step.MANAGEMENT_SIGNOFF)
        for agency in assessment.agencies:
            session.add(
                Disclosure(
                    case_id=case_id,
                    agency_code=agency,
                    information=assessment.information_to_share,
                    purpose=assessment.purpose,
                    lawful_basis=assessment.lawful_basis.value if assessment.lawful_basis else "",
                    special_category_condition=(
                        SPECIAL_CATEGORY_CONDITION if assessment.special_category_data else None
                    ),
                    consent=assessment.consent.value,
                    decided_by=assessment.answered_by,
                    cosigned_by=signoffs[-1].actor if signoffs else None,
                )
            )
            session.flush()  # ids in the order the decision names the agencies
        detail: dict[str, Any] = {"agency": assessment.agency}
        if assessment.other_agencies:
            detail["agencies"] = list(assessment.agencies)
        system_step(session, case_id, Step.NOTIFY_AGENCY, detail)
        return list(assessment.agencies)


@task(retries=2, retry_delay_seconds=1)
def record_emergency_share(case_id: int) -> datetime:
    """Record that the DSL shares at once, before sign-off, and by when the management team must
    ratify it; returns that deadline. Recorded once: a re-run keeps the first deadline."""
    with session_scope() as session:
        assessment = latest_answer(session, case_id, Step.ASSESS_CRITERIA)
        if not isinstance(assessment, CriteriaAnswers) or not is_emergency(assessment):
            raise RuntimeError(f"case {case_id} has no assessment that asks for an emergency share")
        now = utcnow()
        rule = deadline_rules(get_settings())[Step.RATIFICATION.value]
        row = system_step(
            session,
            case_id,
            Step.EMERGENCY_SHARE,
            {
                "decided_by": assessment.answered_by,
                "ratify_within": str(rule),
                "ratify_by": due_for(Step.RATIFICATION, now).isoformat(),
            },
            actor=assessment.answered_by,
        )
        assert row.data is not None
        return datetime.fromisoformat(row.data["ratify_by"])


@task(retries=2, retry_delay_seconds=1)
def close_case(case_id: int, status: CaseStatus, reasons: tuple[str, ...]) -> None:
    """Close the case with its outcome and reasons; closing twice changes nothing."""
    with session_scope() as session:
        case = find_case(session, case_id)
        system_step(
            session, case_id, Step.CLOSED, {"status": status.value, "reasons": list(reasons)}
        )
        if case.status == CaseStatus.OPEN.value:
            case.status = status.value
            case.closed_at = utcnow()
        case.stop_waiting()
