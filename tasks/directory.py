"""Where people, children, agencies and concerns are written (from the CLI or the web)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.domain import (
    AccessRequestFacts,
    AgencyKind,
    CaseKind,
    ConcernFacts,
    PlanEventFacts,
    Role,
)
from models.plan_events import RowProblem, event_key, event_problems
from models.tables import Agency, Case, Child, Concern, Staff
from safeshare.db import session_scope


class DirectoryError(ValueError):
    """A request the directory refuses, with a sentence saying why."""


def add_staff(staff_id: str, *, name: str, role: Role, notify_url: str | None) -> None:
    """Add a member of staff; an id is never reused."""
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
    """Add a child under a pseudonymous reference."""
    with session_scope() as session:
        if session.scalar(select(Child).where(Child.child_ref == child_ref)) is not None:
            raise DirectoryError(f"Child reference '{child_ref}' already exists.")
        session.add(
            Child(
                child_ref=child_ref,
                date_of_birth=date_of_birth,
                cp_plan=cp_plan,
                social_worker_notify=social_worker_notify,
            )
        )


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


def add_agency(code: str, *, name: str, kind: AgencyKind, notify_url: str | None) -> None:
    """Add an agency that cases can share with (its Apprise tag is agency:<code>)."""
    with session_scope() as session:
        if session.get(Agency, code) is not None:
            raise DirectoryError(f"Agency '{code}' already exists.")
        session.add(Agency(code=code, name=name, kind=kind.value, notify_url=notify_url))


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
    with session_scope() as session:
        child = session.scalar(select(Child).where(Child.child_ref == facts.child_ref))
        if child is None:
            raise DirectoryError(f"No child has the reference '{facts.child_ref}'.")
        raiser = session.get(Staff, facts.raised_by)
        if raiser is None or not raiser.active:
            raise DirectoryError(f"No active member of staff has the id '{facts.raised_by}'.")
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


def _record_plan_events(
    events: Sequence[tuple[int, PlanEventFacts]], now: datetime
) -> list[RecordedEvent]:
    with session_scope() as session:
        refs = sorted({facts.child_ref for _, facts in events})
        children = {
            child.child_ref: child
            for ref_chunk in _chunks(refs)
            for child in session.scalars(select(Child).where(Child.child_ref.in_(ref_chunk)))
        }
        recorders = {
            member.staff_id: member
            for member in session.scalars(
                select(Staff).where(Staff.staff_id.in_({f.recorded_by for _, f in events}))
            )
        }
        problems = [
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
    from models.plan_events import FUTURE_SLACK

    child = session.scalar(select(Child).where(Child.child_ref == child_ref))
    if child is None:
        raise DirectoryError(f"No child has the reference '{child_ref}'.")
    recorder = session.get(Staff, recorded_by)
    if recorder is None or not recorder.active:
        raise DirectoryError(f"No active member of staff has the id '{recorded_by}'.")
    if now is not None and occurred_at > now + FUTURE_SLACK:
        raise DirectoryError(f"The time {occurred_at.isoformat()} is in the future.")
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
