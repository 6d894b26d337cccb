"""Where people, children, agencies and concerns are written (from the CLI or the web)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models.domain import AgencyKind, ConcernFacts, Role
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


def add_child(child_ref: str, *, date_of_birth: date, cp_plan: bool) -> None:
    """Add a child under a pseudonymous reference."""
    with session_scope() as session:
        if session.scalar(select(Child).where(Child.child_ref == child_ref)) is not None:
            raise DirectoryError(f"Child reference '{child_ref}' already exists.")
        session.add(Child(child_ref=child_ref, date_of_birth=date_of_birth, cp_plan=cp_plan))


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


def set_flow_run(case_id: int, flow_run_id: str) -> None:
    """Remember which flow run carries the case (the run also records it when it starts)."""
    with session_scope() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise DirectoryError(f"No case has the id {case_id}.")
        case.flow_run_id = flow_run_id
