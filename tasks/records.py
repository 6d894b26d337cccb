"""Where a sharing case is written: every step's row goes in before the flow moves on.

Each task opens its own session, is keyed by (case, slot, attempt) so that re-running a resumed
flow or retrying a task never writes a fact twice, and returns ids or codes only: Prefect
persists task results, and the case content must stay in the case database.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from foundations.db import session_scope
from foundations.settings import deadline_rules, get_settings, setting_calendar
from models.access_request import AccessDecision, Requester, access_request_problems
from models.deadlines import Whose, due_at, wait_due
from models.forms.base import InvalidAnswer
from models.forms.registry import FORMS, parse_answer
from models.kernel.answerers import answerer_problems, eligible_answerers
from models.kernel.problems import Problem, future_times
from models.kernel.roles import Role, StaffMember
from models.kernel.steps import CaseKind, CaseNote, CaseStatus, Step
from models.kernel.values import is_record_id
from models.kernel.waits import Slot, StepSummary, receipt_index
from models.notice import NoticeReview
from models.plan_event.policy import (
    PLAN_EVENT_AGENCY,
    PLAN_EVENT_DECIDER,
    PURPOSE,
    PlanEventFacts,
    PlanEventKind,
    disclosure_text,
)
from models.sharing.criteria import Consent, CriteriaAnswers, LawfulBasis
from models.sharing.decision import DecisionBasis, assess, is_emergency
from models.sharing.decision import decision_basis as basis_of
from models.sharing.disclosure import (
    SPECIAL_CATEGORY_CONDITION,
    ReceiptChannel,
    ReceiptConfirmation,
)
from models.sharing.parents import ParentsDecision
from models.summaries import summarise
from models.tables.base import utcnow
from models.tables.cases import Case, CaseStep, Concern
from models.tables.directory import Agency, Child, Staff
from models.tables.disclosures import AGENCY_RECIPIENT, Disclosure, Receipt


class CaseNotFound(LookupError):
    """No case has that id."""


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
        select(Case.id, Concern.raised_by)
        .join(Concern, Case.concern_id == Concern.id)
        .where(Case.id.in_(case_ids), Case.kind == CaseKind.ACCESS_REQUEST.value)
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


@task(cache_policy=NO_CACHE)
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


def answer_problems(session: Session, case_id: int, step: Step, answer: Any) -> list[Problem]:
    """Checks that need the case database: who may answer, two people, known agency and staff."""
    staff = staff_directory(session)
    problems = answerer_problems(
        step,
        staff.get(answer.answered_by),
        first_signer=first_signer(session, case_id),
        subject=allegation_against(session, case_id),
    )
    problems.extend(future_times(answer, utcnow()))
    if isinstance(answer, AccessDecision):
        problems.extend(access_request_problems(answer, request_of(session, case_id)))
    if isinstance(answer, NoticeReview):
        unknown = [s for s in answer.staff_to_tell if s not in staff or not staff[s].active]
        if unknown:
            problems.append(
                Problem(
                    code="unknown-staff-to-tell",
                    message=f"No active member of staff is {', '.join(unknown)}.",
                )
            )
    if isinstance(answer, CriteriaAnswers):
        unknown = [code for code in answer.agencies if session.get(Agency, code) is None]
        if unknown:
            problems.append(
                Problem(
                    code="unknown-agency",
                    message=f"No agency has the code {', '.join(repr(c) for c in unknown)}.",
                )
            )
    if isinstance(answer, ParentsDecision) and answer.told_by is not None:
        if answer.told_by not in staff:
            problems.append(
                Problem(
                    code="unknown-told-by", message=f"No member of staff is '{answer.told_by}'."
                )
            )
    return problems


def validate_answer(session: Session, case_id: int, step: Step, raw: dict[str, Any]) -> Any:
    """The full check of an answer, shared by the CLI and the flow: form, policy, people."""
    answer = parse_answer(step, raw)
    problems = answer_problems(session, case_id, step, answer)
    if problems:
        raise InvalidAnswer(problems)
    return answer


def _case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id) if is_record_id(case_id) else None
    if case is None:
        raise CaseNotFound(f"No case has the id {case_id}.")
    return case


def due_for(kind: str, since: datetime) -> datetime:
    """When a deadline of this kind (a step's wait, or the written confirmation of a phone
    referral) that started at `since` is due, under the configured rule."""
    settings = get_settings()
    rule = deadline_rules(settings)[kind]
    calendar = setting_calendar(settings, since.date())
    try:
        return due_at(rule, since, calendar, day_starts=settings.school_day_starts)
    except ValueError:
        # the setting's terms end before a school day comes: a deadline must still be set, so
        # it is counted on everyone's working days until next year's terms are configured
        logging.getLogger("safeshare.deadlines").warning(
            "no setting working day for the %s deadline: check the terms; counting public ones",
            kind,
        )
        public = rule.model_copy(update={"whose": Whose.PUBLIC})
        return due_at(public, since, calendar, day_starts=settings.school_day_starts)


def _insert_step(session: Session, row: CaseStep) -> CaseStep:
    """Insert a step row once; a second writer of the same key gets the first one's row."""
    existing = session.scalar(
        select(CaseStep).where(CaseStep.case_id == row.case_id, CaseStep.key == row.key)
    )
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = session.scalar(
            select(CaseStep).where(CaseStep.case_id == row.case_id, CaseStep.key == row.key)
        )
        assert existing is not None
        return existing
    return row


def _system_step(
    session: Session, case_id: int, step: Step, data: dict[str, Any], actor: str | None = None
) -> CaseStep:
    """Record, once, a step the pipeline itself took (no one answered it)."""
    return _insert_step(
        session,
        CaseStep(
            case_id=case_id,
            step=step.value,
            slot=step.value,
            key=f"{step.value}-a0",
            accepted=True,
            actor=actor,
            channel="system",
            data=data,
        ),
    )


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def start_case(case_id: int, flow_run_id: str) -> int:
    """Record that the concern (or the plan event) is in and the case's pipeline has started."""
    with session_scope() as session:
        case = _case(session, case_id)
        case.flow_run_id = flow_run_id
        first = {
            CaseKind.PLAN_EVENT.value: Step.RECORD_EVENT,
            CaseKind.ACCESS_REQUEST.value: Step.RECORD_REQUEST,
            CaseKind.NOTICE.value: Step.RECORD_NOTICE,
            CaseKind.TRANSFER.value: Step.RECORD_LEAVER,
        }.get(case.kind, Step.RECORD_CONCERN)
        _system_step(session, case_id, first, {"concern_id": case.concern_id})
    return case_id


def request_of(session: Session, case_id: int) -> Requester:
    """Who asked to see the records, for an access-request case."""
    category = session.scalar(
        select(Concern.category).join(Case, Case.concern_id == Concern.id).where(Case.id == case_id)
    )
    return Requester(str(category).removeprefix("request-"))


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def request_received_at(case_id: int) -> datetime:
    """When what opened the case came in (a request to see records, a notice): its deadline
    runs from then."""
    with session_scope() as session:
        case = _case(session, case_id)
        concern = session.get(Concern, case.concern_id)
        assert concern is not None
        return concern.occurred_at


def add_note(case_id: int, staff_id: str, text: str) -> str:
    """Add a note to a case's chronology (an open or a closed case): as written, never edited.
    Returns its slot. ValueError when the text is empty or too long."""
    import uuid

    from pydantic import ValidationError

    try:
        note = CaseNote(text=text)
    except ValidationError:
        raise InvalidAnswer(
            [Problem(code="invalid:text", message="a note needs 1 to 20,000 characters of text")]
        ) from None
    with session_scope() as session:
        _case(session, case_id)
        count = session.scalar(
            select(func.count())
            .select_from(CaseStep)
            .where(CaseStep.case_id == case_id, CaseStep.step == Step.NOTE.value)
        )
        slot = f"note-{count or 0}"
        session.add(
            CaseStep(
                case_id=case_id,
                step=Step.NOTE.value,
                slot=slot,
                key=f"{slot}-{uuid.uuid4().hex[:12]}",
                accepted=True,
                actor=staff_id,
                channel="note",
                data=note.model_dump(mode="json"),
            )
        )
    return slot


def plan_event_facts(session: Session, case_id: int) -> PlanEventFacts:
    """The Child Protection Plan event a plan-event case was opened by."""
    case = _case(session, case_id)
    if case.kind != CaseKind.PLAN_EVENT:
        raise RuntimeError(f"case {case_id} is not a Child Protection Plan event")
    concern = session.get(Concern, case.concern_id)
    assert concern is not None
    child = session.get(Child, concern.child_id)
    assert child is not None
    return PlanEventFacts(
        child_ref=child.child_ref,
        kind=PlanEventKind(concern.category),
        occurred_at=concern.occurred_at,
        details=concern.what_happened or None,
        recorded_by=concern.raised_by,
    )


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
    _system_step(session, case_id, Step.NOTIFY_AGENCY, {"agency": agency, **detail})


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
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


def _summary(step: Step, row: CaseStep) -> StepSummary:
    return summarise(step, row.slot, FORMS[step].domain.model_validate(row.data))


def answered_step(case_id: int, step: Step, slot: str) -> StepSummary | None:
    """The accepted answer to a slot, if it has one: a plain read, not a task, so that a
    resumed run replays the steps already answered without reporting a task run for each."""
    with session_scope() as session:
        row = session.scalar(
            select(CaseStep)
            .where(CaseStep.case_id == case_id, CaseStep.slot == slot, CaseStep.accepted.is_(True))
            .order_by(CaseStep.id)
            .limit(1)
        )
        return _summary(step, row) if row is not None else None


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def open_step(
    case_id: int,
    step: Step,
    slot: str,
    deadline: str | None = None,
    clock_from: datetime | None = None,
) -> Slot:
    """Find the answer to a slot, or the key to wait under next and who may answer. The wait is
    due under the step's own deadline rule, or the one named by `deadline`, counted from when
    the wait began or from `clock_from` (a request received before it was recorded)."""
    with session_scope() as session:
        case = _case(session, case_id)
        rows = list(
            session.scalars(
                select(CaseStep)
                .where(CaseStep.case_id == case_id, CaseStep.slot == slot)
                .order_by(CaseStep.id)
            )
        )
        signer = first_signer(session, case_id)
        accepted = next((r for r in rows if r.accepted), None)
        if accepted is not None:
            return Slot(
                case_id=case_id,
                step=step,
                slot=slot,
                key=accepted.key,
                answered=_summary(step, accepted),
            )
        key = f"{slot}-a{len(rows)}"
        if case.waiting_key != key:
            # A re-asked answer keeps the slot's original waiting time: deadlines run from it.
            if case.waiting_slot != slot or case.waiting_since is None:
                case.waiting_since = utcnow()
                case.waiting_due, case.waiting_deadline = wait_due(
                    step.value,
                    due_for(deadline or step.value, clock_from or case.waiting_since),
                    case.written_due,
                    deadline,
                )
            case.waiting_step = step.value
            case.waiting_slot = slot
            case.waiting_key = key
        last_problems = rows[-1].problems if rows else None
        who = eligible_answerers(
            step,
            staff_directory(session),
            first_signer=signer,
            subject=allegation_against(session, case_id),
        )
        return Slot(
            case_id=case_id,
            step=step,
            slot=slot,
            key=key,
            previous_problems=tuple(Problem.model_validate(p) for p in last_problems or ()),
            who=tuple(who),
            first_signer=signer,
        )


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


def disclosure_of_slot(session: Session, case_id: int, slot: str) -> Disclosure:
    """The disclosure a receipt wait belongs to: its n-th, for `confirm-receipt-<n>`."""
    disclosures = disclosures_of(session, case_id)
    index = receipt_index(slot)
    if index >= len(disclosures):
        raise RuntimeError(f"case {case_id} has no disclosure for the wait {slot}")
    return disclosures[index]


def _write_receipt(
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


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
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
        _system_step(session, case_id, Step.NOTIFY_AGENCY, detail)
        return list(assessment.agencies)


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def record_emergency_share(case_id: int) -> datetime:
    """Record that the DSL shares at once, before sign-off, and by when the management team must
    ratify it; returns that deadline. Recorded once: a re-run keeps the first deadline."""
    with session_scope() as session:
        assessment = latest_answer(session, case_id, Step.ASSESS_CRITERIA)
        if not isinstance(assessment, CriteriaAnswers) or not is_emergency(assessment):
            raise RuntimeError(f"case {case_id} has no assessment that asks for an emergency share")
        now = utcnow()
        rule = deadline_rules(get_settings())[Step.RATIFICATION.value]
        row = _system_step(
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


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def close_case(case_id: int, status: CaseStatus, reasons: tuple[str, ...]) -> None:
    """Close the case with its outcome and reasons; closing twice changes nothing."""
    with session_scope() as session:
        case = _case(session, case_id)
        _system_step(
            session, case_id, Step.CLOSED, {"status": status.value, "reasons": list(reasons)}
        )
        if case.status == CaseStatus.OPEN.value:
            case.status = status.value
            case.closed_at = utcnow()
        case.stop_waiting()
