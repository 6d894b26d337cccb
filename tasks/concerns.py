"""Where a case is opened: a concern from staff with its sharing case (a form sent twice records
one), or a case of another kind after the checks every record that opens one needs (the record
itself is written by its own module); and which flow run carries a case."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from foundations.db import session_scope
from models.kernel.problems import time_in_future
from models.kernel.steps import CaseKind
from models.sharing.concern import ConcernFacts, concern_problems
from models.tables.base import utcnow
from models.tables.cases import Case, Concern
from models.tables.directory import Child, Staff
from tasks.directory import DirectoryError, sentence


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
        raise DirectoryError(sentence(p.message for p in problems))
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
        case = Case(concern_id=concern.id, child_id=child.id, status="open")
        session.add(case)
        try:
            session.flush()
        except IntegrityError as exc:  # pragma: no cover - unique concern per case
            raise DirectoryError("This concern already has a case.") from exc
        return case.id


def open_case(
    session: Session,
    *,
    kind: CaseKind,
    child_ref: str,
    recorded_by: str,
    occurred_at: datetime,
    now: datetime | None,
) -> Case:
    """Open a case of `kind` about a child after the checks every record that opens one needs
    (a known child, an active recorder and, when `now` is given, a time that is not in the
    future); the caller adds its record (models/tables/openings.py) under the case's id."""
    child = session.scalar(select(Child).where(Child.child_ref == child_ref))
    if child is None:
        raise DirectoryError(f"No child has the reference '{child_ref}'.")
    recorder = session.get(Staff, recorded_by)
    if recorder is None or not recorder.active:
        raise DirectoryError(f"No active member of staff has the id '{recorded_by}'.")
    future = time_in_future(occurred_at, now) if now is not None else None
    if future is not None:
        raise DirectoryError(sentence([future.message]))
    case = Case(kind=kind.value, child_id=child.id, status="open")
    session.add(case)
    session.flush()
    return case


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
