"""Where people, children, agencies and concerns are written (from the CLI or the web)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from foundations.db import session_scope
from models.access_request import AccessRequestFacts
from models.kernel.directory import AgencyKind, ChildFacts, child_problems
from models.kernel.problems import time_in_future
from models.kernel.roles import Role
from models.kernel.steps import CaseKind
from models.kernel.values import AGENCY_CODE_RULE, CHILD_REF_RULE, AgencyCode
from models.plan_event.feed import RowProblem
from models.plan_event.policy import PlanEventFacts, event_key, event_problems
from models.sharing.concern import ConcernFacts, concern_problems
from models.tables.base import utcnow
from models.tables.cases import Case, Concern
from models.tables.directory import Agency, Child, Staff


class DirectoryError(ValueError):
    """A request the directory refuses, with a sentence saying why."""


def add_staff(staff_id: str, *, name: str, role: Role, notify_url: str | None) -> None:
    """Add a member of staff; an id is never reused."""
    if not name.strip():
        raise DirectoryError("Give their name (--name).")
    with session_scope() as session:
        if session.get(Staff, staff_id) is not None:
            raise DirectoryError(f"Staff id '{staff_id}' already exists.")
        session.add(Staff(staff_id=staff_id, name=name, role=role.value, notify_url=notify_url))


def has_admin() -> bool:
    """Whether the directory has an active administrator (a new system has none)."""
    with session_scope() as session:
        return (
            session.scalar(
                select(Staff.staff_id).where(Staff.role == Role.ADMIN.value, Staff.active).limit(1)
            )
            is not None
        )


def add_child(
    child_ref: str,
    *,
    date_of_birth: date,
    cp_plan: bool,
    social_worker_notify: str | None = None,
) -> None:
    """Add a child under a pseudonymous reference (checked: a reference, never a path or a
    name's worth of text; a date of birth that has come)."""
    try:
        facts = ChildFacts(child_ref=child_ref, date_of_birth=date_of_birth, cp_plan=cp_plan)
    except ValidationError:
        raise DirectoryError(CHILD_REF_RULE[0].upper() + CHILD_REF_RULE[1:] + ".") from None
    problems = child_problems(facts, today=utcnow().date())
    if problems:
        raise DirectoryError(_sentence(p.message for p in problems))
    with session_scope() as session:
        if session.scalar(select(Child).where(Child.child_ref == facts.child_ref)) is not None:
            raise DirectoryError(f"Child reference '{facts.child_ref}' already exists.")
        session.add(
            Child(
                child_ref=facts.child_ref,
                date_of_birth=facts.date_of_birth,
                cp_plan=facts.cp_plan,
                social_worker_notify=social_worker_notify,
            )
        )


def _sentence(parts: Iterable[str]) -> str:
    text = "; ".join(parts)
    return text[:1].upper() + text[1:].rstrip(".") + "."


_UNCHANGED: object = object()


def update_child(
    child_ref: str, *, cp_plan: bool | None = None, social_worker_notify: object = _UNCHANGED
) -> None:
    """Put a child on or off a Child Protection Plan, or set (None: forget) their social
    worker's address. What is not given stays as it is."""
    with session_scope() as session:
        child = session.scalar(select(Child).where(Child.child_ref == child_ref))
        if child is None:
            raise DirectoryError(f"No child has the reference '{child_ref}'.")
        if cp_plan is not None:
            child.cp_plan = cp_plan
        if social_worker_notify is not _UNCHANGED:
            assert social_worker_notify is None or isinstance(social_worker_notify, str)
            child.social_worker_notify = social_worker_notify


def _agency_code(code: str) -> str:
    try:
        return str(TypeAdapter(AgencyCode).validate_python(code))
    except ValidationError:
        raise DirectoryError(AGENCY_CODE_RULE[0].upper() + AGENCY_CODE_RULE[1:] + ".") from None


def add_agency(code: str, *, name: str, kind: AgencyKind, notify_url: str | None) -> None:
    """Add an agency that cases can share with (its Apprise tag is agency:<code>)."""
    code = _agency_code(code)
    if not name.strip():
        raise DirectoryError("Give the agency's name.")
    with session_scope() as session:
        if session.get(Agency, code) is not None:
            raise DirectoryError(f"Agency '{code}' already exists.")
        session.add(Agency(code=code, name=name.strip(), kind=kind.value, notify_url=notify_url))


def update_agency(
    code: str,
    *,
    name: str | None = None,
    kind: AgencyKind | None = None,
    notify_url: object = _UNCHANGED,
) -> None:
    """Change an agency's name, kind or address (None: forget it); what is not given stays.
    The seeded agencies (csc, mash, police, lado) come without an address: this gives one."""
    with session_scope() as session:
        agency = session.get(Agency, code)
        if agency is None:
            raise DirectoryError(
                f"No agency has the code '{code}': see `safeshare agency list`, or add it with "
                "`safeshare agency add`."
            )
        if name is not None:
            if not name.strip():
                raise DirectoryError("Give the agency's name.")
            agency.name = name.strip()
        if kind is not None:
            agency.kind = kind.value
        if notify_url is not _UNCHANGED:
            assert notify_url is None or isinstance(notify_url, str)
            agency.notify_url = notify_url


@dataclass(frozen=True)
class StaffEntry:
    """A member of staff as the directory lists them: no address, no secret."""

    staff_id: str
    role: str
    name: str
    active: bool
    has_address: bool
    has_password: bool
    has_second_factor: bool


@dataclass(frozen=True)
class ChildEntry:
    """A child as the directory lists them: the reference only, never the date of birth."""

    child_ref: str
    cp_plan: bool
    has_social_worker: bool


@dataclass(frozen=True)
class AgencyEntry:
    """An agency as the directory lists it: its address (which may carry a password) is not
    shown, only whether it has one."""

    code: str
    name: str
    kind: str
    has_address: bool


def list_staff() -> list[StaffEntry]:
    """Everyone in the staff directory, by id."""
    with session_scope() as session:
        return [
            StaffEntry(
                staff_id=m.staff_id,
                role=m.role,
                name=m.name,
                active=m.active,
                has_address=bool(m.notify_url),
                has_password=m.password_hash is not None,
                has_second_factor=m.totp_secret is not None,
            )
            for m in session.scalars(select(Staff).order_by(Staff.staff_id))
        ]


def list_children() -> list[ChildEntry]:
    """Every child's reference, with whether they are on a plan and have a social worker on
    record (their date of birth stays sealed)."""
    with session_scope() as session:
        rows = session.execute(
            select(
                Child.child_ref, Child.cp_plan, Child.social_worker_notify.is_not(None)
            ).order_by(Child.child_ref)
        ).all()
        return [ChildEntry(ref, bool(plan), bool(worker)) for ref, plan, worker in rows]


def list_agencies() -> list[AgencyEntry]:
    """Every agency, by code."""
    with session_scope() as session:
        return [
            AgencyEntry(a.code, a.name, a.kind, bool(a.notify_url))
            for a in session.scalars(select(Agency).order_by(Agency.code))
        ]


def record_concern(facts: ConcernFacts, *, submission_key: str | None = None) -> int:
    """Write the concern and open its sharing case; returns the case id. With `submission_key`
    (a form's one-time value) a form sent twice records one concern: the second gets the
    first's case."""
    if submission_key is not None:
        existing = _case_of_submission(submission_key)
        if existing is not None:
            return existing
    try:
        return _record_concern(facts, submission_key)
    except IntegrityError:
        existing = _case_of_submission(submission_key) if submission_key else None
        if existing is None:
            raise
        return existing  # the same form, sent twice at once: the other one recorded it


def _case_of_submission(submission_key: str) -> int | None:
    with session_scope() as session:
        return session.scalar(
            select(Case.id)
            .join(Concern, Case.concern_id == Concern.id)
            .where(Concern.submission_key == submission_key)
        )


def _record_concern(facts: ConcernFacts, submission_key: str | None) -> int:
    problems = concern_problems(facts, now=utcnow())
    if problems:
        raise DirectoryError(_sentence(p.message for p in problems))
    with session_scope() as session:
        child = session.scalar(select(Child).where(Child.child_ref == facts.child_ref))
        if child is None:
            raise DirectoryError(f"No child has the reference '{facts.child_ref}'.")
        raiser = session.get(Staff, facts.raised_by)
        if raiser is None or not raiser.active:
            raise DirectoryError(f"No active member of staff has the id '{facts.raised_by}'.")
        # the subject of an allegation is kept from the case by their id: an id nobody has
        # would keep it from nobody, and the real subject could read it
        if (
            facts.allegation_against is not None
            and session.scalar(
                select(Staff.staff_id).where(Staff.staff_id == facts.allegation_against)
            )
            is None
        ):
            raise DirectoryError(
                f"No member of staff has the id '{facts.allegation_against}' (the allegation's "
                "subject): give their staff id as the directory has it."
            )
        concern = Concern(
            child_id=child.id,
            raised_by=facts.raised_by,
            category=facts.category.value,
            occurred_at=facts.occurred_at,
            place=facts.place,
            what_happened=facts.what_happened,
            child_words=facts.child_words,
            action_taken=facts.action_taken,
            who_told=facts.who_told,
            allegation_against=facts.allegation_against,
            submission_key=submission_key,
        )
        session.add(concern)
        session.flush()
        case = Case(concern_id=concern.id, status="open")
        session.add(case)
        try:
            session.flush()
        except IntegrityError as exc:  # pragma: no cover - unique concern per case
            raise DirectoryError("This concern already has a case.") from exc
        return case.id


def case_kind(case_id: int) -> CaseKind:
    """Which kind of case this is (which flow carries it)."""
    with session_scope() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise DirectoryError(f"No case has the id {case_id}.")
        return CaseKind(case.kind)


def set_flow_run(case_id: int, flow_run_id: str) -> None:
    """Remember which flow run carries the case (the run also records it when it starts)."""
    with session_scope() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise DirectoryError(f"No case has the id {case_id}.")
        case.flow_run_id = flow_run_id


class EventsRefused(DirectoryError):
    """Events that cannot be recorded, each problem with the line it came from: none of them
    was recorded."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class RecordedEvent:
    line: int
    case_id: int
    new: bool  # False: the same event was recorded before (or earlier in the same feed)


def record_plan_events(
    events: Sequence[tuple[int, PlanEventFacts]], *, now: datetime
) -> list[RecordedEvent]:
    """Record Child Protection Plan events, each opening its own case, all or nothing: if any
    event names an unknown pupil, a pupil not on a plan, an inactive recorder or a future time,
    EventsRefused lists every such problem and nothing is written. An event recorded before
    (the same pupil, kind and minute) is not recorded twice: it keeps its case."""
    try:
        return _record_plan_events(events, now)
    except IntegrityError:
        # the same event recorded at this moment by another import: read it back as recorded
        return _record_plan_events(events, now)


def plan_event_problems(
    events: Sequence[tuple[int, PlanEventFacts]], *, now: datetime
) -> list[RowProblem]:
    """Every reason any of these events cannot be recorded (an unknown pupil, a pupil not on a
    plan, an inactive recorder, a future time), each with its line; nothing is written."""
    with session_scope() as session:
        return _event_problems(session, events, now, _children(session, events))


def _children(session: Session, events: Sequence[tuple[int, PlanEventFacts]]) -> dict[str, Child]:
    refs = sorted({facts.child_ref for _, facts in events})
    return {
        child.child_ref: child
        for ref_chunk in _chunks(refs)
        for child in session.scalars(select(Child).where(Child.child_ref.in_(ref_chunk)))
    }


def _event_problems(
    session: Session,
    events: Sequence[tuple[int, PlanEventFacts]],
    now: datetime,
    children: dict[str, Child],
) -> list[RowProblem]:
    recorders = {
        member.staff_id: member
        for member in session.scalars(
            select(Staff).where(Staff.staff_id.in_({f.recorded_by for _, f in events}))
        )
    }
    return [
        RowProblem(line, message)
        for line, facts in events
        for message in event_problems(
            facts,
            on_plan=children[facts.child_ref].cp_plan if facts.child_ref in children else None,
            recorder_active=(
                facts.recorded_by in recorders and recorders[facts.recorded_by].active
            ),
            now=now,
        )
    ]


def _record_plan_events(
    events: Sequence[tuple[int, PlanEventFacts]], now: datetime
) -> list[RecordedEvent]:
    with session_scope() as session:
        children = _children(session, events)
        problems = _event_problems(session, events, now, children)
        if problems:
            raise EventsRefused(problems)
        keys = [event_key(facts) for _, facts in events]
        known: dict[str, int] = {}
        for key_chunk in _chunks(sorted(set(keys))):
            known |= {
                key: case_id
                for key, case_id in session.execute(
                    select(Concern.submission_key, Case.id)
                    .join(Case, Case.concern_id == Concern.id)
                    .where(Concern.submission_key.in_(key_chunk))
                )
                if key is not None
            }
        recorded = []
        for (line, facts), key in zip(events, keys, strict=True):
            if key in known:
                recorded.append(RecordedEvent(line, known[key], new=False))
                continue
            concern = Concern(
                child_id=children[facts.child_ref].id,
                raised_by=facts.recorded_by,
                category=facts.kind.value,
                occurred_at=facts.occurred_at,
                what_happened=facts.details or "",
                submission_key=key,
            )
            session.add(concern)
            session.flush()
            case = Case(concern_id=concern.id, kind=CaseKind.PLAN_EVENT.value, status="open")
            session.add(case)
            session.flush()
            known[key] = case.id
            recorded.append(RecordedEvent(line, case.id, new=True))
        return recorded


def open_case(
    session: Session,
    *,
    kind: CaseKind,
    child_ref: str,
    recorded_by: str,
    category: str,
    occurred_at: datetime,
    what_happened: str,
    now: datetime | None,
) -> Case:
    """Write what opened a case (a request, a notice, a leaver) and the case itself, after the
    checks every such record needs: a known child, an active recorder and, when `now` is
    given, a time that is not in the future."""
    child = session.scalar(select(Child).where(Child.child_ref == child_ref))
    if child is None:
        raise DirectoryError(f"No child has the reference '{child_ref}'.")
    recorder = session.get(Staff, recorded_by)
    if recorder is None or not recorder.active:
        raise DirectoryError(f"No active member of staff has the id '{recorded_by}'.")
    future = time_in_future(occurred_at, now) if now is not None else None
    if future is not None:
        raise DirectoryError(_sentence([future.message]))
    concern = Concern(
        child_id=child.id,
        raised_by=recorded_by,
        category=category,
        occurred_at=occurred_at,
        what_happened=what_happened,
    )
    session.add(concern)
    session.flush()
    case = Case(concern_id=concern.id, kind=kind.value, status="open")
    session.add(case)
    session.flush()
    return case


def record_access_request(facts: AccessRequestFacts, *, now: datetime) -> int:
    """Record a pupil's or parent's request to see child protection records and open its case
    (routed to the DSL or the SLT, never decided by whoever received it); returns the case id."""
    with session_scope() as session:
        case = open_case(
            session,
            kind=CaseKind.ACCESS_REQUEST,
            child_ref=facts.child_ref,
            recorded_by=facts.received_by,
            category=f"request-{facts.requester.value}",
            occurred_at=facts.received_at,
            what_happened=facts.request,
            now=now,
        )
        return case.id


def _chunks(values: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]
