"""Where who a case's child is, is read for a reader outside the case (an agency, the social
worker, the next school, a member of staff told on a need-to-know basis, the child protection
file): the identity on record, opened, cut to what that reader needs (models/identity.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from models.identity import Reader, identity_lines
from models.tables.cases import Case
from models.tables.directory import Child
from tasks.case_facts import CaseNotFound


def child_identity(session: Session, case_id: int, reader: Reader) -> list[tuple[str, str]]:
    """Who the case's child is, as `reader` needs to know it: (label, text) lines."""
    case = session.get(Case, case_id)
    if case is None:
        raise CaseNotFound(f"No case has the id {case_id}.")
    child = session.get(Child, case.child_id)
    assert child is not None
    return identity_lines(reader, child.child_ref, child.identity, child.date_of_birth)
