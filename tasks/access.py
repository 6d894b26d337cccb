"""The doors' side of need to know: who is asking, what the case is, and the one rule
(models/access.py) applied to them. A refusal is entered in the audit trail and changes nothing.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundations.audit import append
from foundations.db import session_scope
from models.access import UNKNOWN, Action, CaseView, Principal, decide
from models.kernel.problems import Problem
from models.kernel.values import is_record_id
from models.tables.cases import Case
from models.tables.directory import Staff
from models.tables.disclosures import Disclosure
from tasks.case_facts import CaseNotFound, allegation_against, allegations_against


class AccessDenied(Exception):
    """Need to know says no; the message says why, in one sentence."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def principal(session: Session, staff_id: str | None) -> Principal | None:
    """The member of staff named, from the directory (ids and roles only: nothing sealed)."""
    if not staff_id:
        return None
    row = session.execute(
        select(Staff.staff_id, Staff.role, Staff.active).where(Staff.staff_id == staff_id)
    ).one_or_none()
    if row is None:
        return Principal(id=staff_id, role=UNKNOWN)
    return Principal(id=row.staff_id, role=row.role, active=row.active)


def hidden_from(staff_id: str | None, case_ids: list[int]) -> set[int]:
    """Of these cases, those about an allegation against `staff_id`: never shown to them."""
    if not staff_id or not case_ids:
        return set()
    with session_scope() as session:
        subjects = allegations_against(session, case_ids)
    return {c for c, subject in subjects.items() if subject == staff_id}


def case_view(session: Session, case_id: int) -> CaseView:
    case = session.get(Case, case_id) if is_record_id(case_id) else None
    if case is None:
        raise CaseNotFound(f"No case has the id {case_id}.")
    agencies = session.scalars(
        select(Disclosure.agency_code).where(Disclosure.case_id == case_id).order_by(Disclosure.id)
    )
    return CaseView(
        case_id=case_id,
        allegation_against=allegation_against(session, case_id),
        waiting_step=case.waiting_step,
        agencies=tuple(agencies),
    )


def require(staff_id: str | None, action: Action, case_id: int | None = None) -> Principal:
    """The principal, if need to know lets them do `action` (on the case); else AccessDenied,
    entered in the audit trail."""
    with session_scope() as session:
        who = principal(session, staff_id)
        # the person and their role first: whether a case exists is itself need-to-know
        problem = decide(who, action)
        if problem is None and case_id is not None:
            problem = decide(who, action, case_view(session, case_id))
        if problem is not None:
            # a number no case can have is kept as it was asked, not as a case's id
            odd = case_id is not None and not is_record_id(case_id)
            append(
                session.connection(),
                f"denied:{action.value}",
                case_id=None if odd else case_id,
                detail={"asked_as": staff_id, "why": problem.code}
                | ({"asked_case": str(case_id)} if odd else {}),
            )
    if problem is not None:
        raise AccessDenied(problem)
    assert who is not None
    return who
