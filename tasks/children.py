"""Where children are written and listed: under a pseudonymous reference, with whether they are
on a Child Protection Plan and their social worker's address; their date of birth stays sealed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pydantic import ValidationError
from sqlalchemy import select

from foundations.db import session_scope
from models.identity import Reader, field_text, identity_lines, matches, told_apart
from models.kernel.directory import ChildFacts, child_problems
from models.kernel.values import CHILD_REF_RULE
from models.tables.base import utcnow
from models.tables.directory import Child
from tasks.directory import UNCHANGED, DirectoryError, sentence


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
        raise DirectoryError(sentence(p.message for p in problems))
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


def update_child(
    child_ref: str, *, cp_plan: bool | None = None, social_worker_notify: object = UNCHANGED
) -> None:
    """Put a child on or off a Child Protection Plan, or set (None: forget) their social
    worker's address. What is not given stays as it is."""
    with session_scope() as session:
        child = session.scalar(select(Child).where(Child.child_ref == child_ref))
        if child is None:
            raise DirectoryError(f"No child has the reference '{child_ref}'.")
        if cp_plan is not None:
            child.cp_plan = cp_plan
        if social_worker_notify is not UNCHANGED:
            assert social_worker_notify is None or isinstance(social_worker_notify, str)
            child.social_worker_notify = social_worker_notify


@dataclass(frozen=True)
class ChildEntry:
    """A child as the directory lists them: the reference only, never the date of birth."""

    child_ref: str
    cp_plan: bool
    has_social_worker: bool


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


@dataclass(frozen=True)
class FoundChild:
    """A pupil found by name or UPN, as the DSL or administrator needs to pick them."""

    child_ref: str
    name: str
    year_group: str
    left_on: str | None
    cp_plan: bool


def find_children(query: str, *, with_leavers: bool = False) -> list[FoundChild]:
    """The pupils the school information system holds whose names (or UPN) the query finds
    (models/identity.py::matches), on roll unless `with_leavers`; by name."""
    with session_scope() as session:
        rows = session.execute(
            select(Child.child_ref, Child.identity, Child.left_on, Child.cp_plan).where(
                Child.identity.is_not(None)
            )
        ).all()
    found = []
    for ref, identity, left_on, plan in rows:
        if (left_on is not None and not with_leavers) or not matches(identity, query):
            continue
        found.append(
            FoundChild(
                ref,
                field_text("name", identity),
                field_text("year_group", identity),
                left_on.isoformat() if left_on else None,
                bool(plan),
            )
        )
    return sorted(found, key=lambda c: (c.name.casefold(), c.child_ref))


def child_identity_lines(child_ref: str) -> list[tuple[str, str]]:
    """Everything on record of who a child is (as the child protection file shows it)."""
    with session_scope() as session:
        child = session.scalar(select(Child).where(Child.child_ref == child_ref))
        if child is None:
            raise DirectoryError(f"No child has the reference '{child_ref}'.")
        lines = identity_lines(Reader.CP_FILE, child_ref, child.identity, child.date_of_birth)
        if child.left_on is not None:
            lines.append(("On roll", f"no: left {child.left_on.isoformat()}"))
        return lines


def pupils_to_choose() -> list[tuple[str, str]]:
    """The pupils on roll as a member of staff picks one (the concern form): (reference, what
    the choice says: name, the name they are known by, year group), by name; a child added by
    hand, with no identity on record, by their reference, after them. Two pupils whose choices
    would read alike (the same name in the same year) are told apart by their dates of birth,
    and by their references should those agree too: a teacher never picks between two lines
    that say the same."""
    with session_scope() as session:
        rows = session.execute(
            select(Child.child_ref, Child.identity, Child.date_of_birth).where(
                Child.left_on.is_(None)
            )
        ).all()
    named, unnamed = [], []
    for ref, identity, born in rows:
        if identity is None:
            unnamed.append((ref, ref))
            continue
        text = field_text("name", identity) or ref
        if known := field_text("preferred_name", identity):
            text += f", known as {known}"
        if year := field_text("year_group", identity):
            text += f" ({year})"
        named.append((ref, text, field_text("date_of_birth", identity, born)))
    choices = told_apart(named)
    return sorted(choices, key=lambda p: p[1].casefold()) + sorted(unnamed)
