"""What is read of a case: its row, who has acted on it and whom its concern is about, the
latest answer to a step and its summary, the staff directory as the rules see it, what the
request, notice or plan event that opened it says (the whole opening, of any kind, is read in
tasks/openings.py), and the wait it is in now. Plain reads, none a Prefect task; nothing
here writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundations.db import session_scope
from models.access_request import Requester
from models.forms.registry import FORMS
from models.kernel.answerers import eligible_answerers
from models.kernel.roles import Role, StaffMember
from models.kernel.steps import CaseKind, Step
from models.kernel.values import is_record_id
from models.kernel.waits import Slot, StepSummary, Wait
from models.plan_event.policy import PlanEventFacts, PlanEventKind
from models.sharing.criteria import CriteriaAnswers
from models.sharing.decision import DecisionBasis
from models.sharing.decision import decision_basis as basis_of
from models.summaries import summarise
from models.tables.base import utcnow
from models.tables.cases import Case, CaseStep, Concern
from models.tables.directory import Child, Staff
from models.tables.openings import AccessRequest, Notice, PlanEvent


class CaseNotFound(LookupError):
    """No case has that id."""


class NotWaiting(LookupError):
    """The case does not wait for that (or for anybody) now: nothing was recorded or sent."""


def find_case(session: Session, case_id: int) -> Case:
    """The case with that id; CaseNotFound when there is none (or the id is not one)."""
    case = session.get(Case, case_id) if is_record_id(case_id) else None
    if case is None:
        raise CaseNotFound(f"No case has the id {case_id}.")
    return case


def staff_directory(session: Session) -> dict[str, StaffMember]:
    """Everyone on the staff list, as the rules see them."""
    return {
        row.staff_id: StaffMember(staff_id=row.staff_id, role=Role(row.role), active=row.active)
        for row in session.scalars(select(Staff))
    }


def accepted_rows(session: Session, case_id: int, step: Step | None = None) -> list[CaseStep]:
    query = select(CaseStep).where(CaseStep.case_id == case_id, CaseStep.accepted.is_(True))
    if step is not None:
        query = query.where(CaseStep.step == step.value)
    return list(session.scalars(query.order_by(CaseStep.id)))


def first_signer(session: Session, case_id: int) -> str | None:
    """Who has acted and may not answer the case's next decision as well: the DSL whose latest
    accepted assessment the management team is asked to co-sign, or, for a request to see
    records, whoever received it."""
    return first_signers(session, [case_id])[case_id]


def allegation_against(session: Session, case_id: int) -> str | None:
    """The member of staff a case's concern is an allegation about, if any."""
    return session.scalar(
        select(Concern.allegation_against)
        .join(Case, Case.concern_id == Concern.id)
        .where(Case.id == case_id)
    )


def allegations_against(session: Session, case_ids: Sequence[int]) -> dict[int, str | None]:
    """allegation_against for many cases in one query (the overdue list, a list of cases)."""
    found: dict[int, str | None] = dict.fromkeys(case_ids)
    rows = session.execute(
        select(Case.id, Concern.allegation_against)
        .join(Concern, Case.concern_id == Concern.id)
        .where(Case.id.in_(case_ids))
    )
    for case_id, subject in rows:
        found[case_id] = subject
    return found


def first_signers(session: Session, case_ids: Sequence[int]) -> dict[int, str | None]:
    """first_signer for many cases in two queries (a listing of overdue cases, say)."""
    signers: dict[int, str | None] = dict.fromkeys(case_ids)
    received = session.execute(
        select(AccessRequest.case_id, AccessRequest.recorded_by).where(
            AccessRequest.case_id.in_(case_ids)
        )
    )
    for case_id, receiver in received:
        signers[case_id] = receiver
    rows = session.execute(
        select(CaseStep.case_id, CaseStep.actor)
        .where(
            CaseStep.case_id.in_(case_ids),
            CaseStep.step == Step.ASSESS_CRITERIA.value,
            CaseStep.accepted.is_(True),
        )
        .order_by(CaseStep.id)
    )
    for case_id, actor in rows:
        signers[case_id] = actor  # the latest wins
    return signers


def latest_answer(session: Session, case_id: int, step: Step) -> Any | None:
    """The latest accepted answer to a step, as its domain value."""
    rows = accepted_rows(session, case_id, step)
    if not rows or rows[-1].data is None:
        return None
    return FORMS[step].domain.model_validate(rows[-1].data)


def decision_basis(case_id: int) -> DecisionBasis | None:
    """What the decision a second person is asked to co-sign rests on, in codes (the latest
    accepted assessment's); None before there is one."""
    with session_scope() as session:
        answer = latest_answer(session, case_id, Step.ASSESS_CRITERIA)
    return basis_of(answer) if isinstance(answer, CriteriaAnswers) else None


def phone_referral(session: Session, case_id: int) -> CriteriaAnswers | None:
    """The accepted assessment that recorded the case's (first) phone referral, if any."""
    called = [
        answer
        for row in accepted_rows(session, case_id, Step.ASSESS_CRITERIA)
        if row.data is not None
        and (answer := CriteriaAnswers.model_validate(row.data)).phoned_at is not None
    ]
    return min(called, key=lambda a: a.phoned_at or utcnow()) if called else None


def request_of(session: Session, case_id: int) -> Requester:
    """Who asked to see the records, for an access-request case."""
    request = session.get(AccessRequest, case_id)
    if request is None:
        raise RuntimeError(f"case {case_id} is not a request to see records")
    return Requester(request.requester)


def request_received_at(case_id: int) -> datetime:
    """When what opened the case came in (a request to see records, a notice): its deadline
    runs from then."""
    with session_scope() as session:
        case = find_case(session, case_id)
        record: AccessRequest | Notice | None = (
            session.get(AccessRequest, case_id)
            if case.kind == CaseKind.ACCESS_REQUEST
            else session.get(Notice, case_id)
        )
        if record is None:
            raise RuntimeError(f"case {case_id} is neither a request to see records nor a notice")
        return record.received_at


def plan_event_facts(session: Session, case_id: int) -> PlanEventFacts:
    """The Child Protection Plan event a plan-event case was opened by."""
    case = find_case(session, case_id)
    event = session.get(PlanEvent, case_id)
    child = session.get(Child, case.child_id)
    if event is None or child is None:
        raise RuntimeError(f"case {case_id} is not a Child Protection Plan event")
    return PlanEventFacts(
        child_ref=child.child_ref,
        kind=PlanEventKind(event.kind),
        occurred_at=event.occurred_at,
        details=event.details,
        recorded_by=event.recorded_by,
    )


def step_summary(step: Step, row: CaseStep) -> StepSummary:
    """What the rules make of an accepted answer to a step (its outcome and reason codes)."""
    return summarise(step, row.slot, FORMS[step].domain.model_validate(row.data))


def answered_step(case_id: int, wait: Wait) -> StepSummary | None:
    """The accepted answer to a wait, if it has one: a plain read, not a task, so that a
    resumed run replays the steps already answered without reporting a task run for each."""
    with session_scope() as session:
        row = session.scalar(
            select(CaseStep)
            .where(
                CaseStep.case_id == case_id,
                CaseStep.slot == wait.slot,
                CaseStep.accepted.is_(True),
            )
            .order_by(CaseStep.id)
            .limit(1)
        )
        return step_summary(wait.step, row) if row is not None else None


def current_slot(session: Session, case: Case) -> Slot:
    """The wait a case is in now, with who may answer it."""
    assert case.waiting_slot is not None and case.waiting_key is not None
    wait = Wait.parse(case.waiting_slot)
    signer = first_signer(session, case.id)
    return Slot(
        case_id=case.id,
        wait=wait,
        key=case.waiting_key,
        who=tuple(
            eligible_answerers(
                wait.step,
                staff_directory(session),
                first_signer=signer,
                subject=allegation_against(session, case.id),
            )
        ),
        first_signer=signer,
    )
