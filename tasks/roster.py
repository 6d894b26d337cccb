"""Where a school information system's roster is written: pupils (who they are, sealed whole)
and staff (name, work email, job title, sealed), from a CSV or JSON export. The whole file is
checked before anything is written; an import writes everything or nothing, in one transaction
with one entry in the audit trail that counts what it did; importing the same file again changes
nothing and says so. Nothing is deleted: a pupil missing from the export has left (and the DSL
is prompted to send the file of a leaver with child protection records); a member of staff
imported before and missing now can no longer sign in or be asked, until an export holds them
again. Roles are never taken from an export.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from foundations.audit import append, hold_the_chain
from foundations.db import session_scope
from models.kernel.exports import Columns, FeedError, FeedRow, RowProblem, read_export
from models.kernel.roles import Role
from models.roster import (
    PUPIL_COLUMNS,
    STAFF_COLUMNS,
    PupilRecord,
    RosterPlan,
    StaffRecord,
    duplicates,
    has_left,
    newly_left,
    plan_import,
    pupil_from_row,
    staff_from_row,
)
from models.tables.cases import Case
from models.tables.directory import FROM_ROSTER, Child, Staff
from tasks.directory import DirectoryError
from tasks.notify import deliver

R = TypeVar("R", PupilRecord, StaffRecord)


class RosterRefused(DirectoryError):
    """An export that cannot be imported: every problem, each with its line; nothing written."""

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__("; ".join(str(p) for p in self.problems[:5]))


@dataclass(frozen=True)
class RosterResult:
    """What an import did (or, on a dry run, would do): counts, the names of what changed (how
    many records each), the columns left aside, and those found to have left (child
    references or staff ids), with the leavers whose child protection file must follow them."""

    what: str  # "pupils" or "staff"
    dry_run: bool
    counts: dict[str, int]
    changed_fields: dict[str, int]
    ignored_columns: list[str]
    left: list[str]
    leavers_with_records: list[str] = field(default_factory=list)

    @property
    def nothing(self) -> bool:
        return not (self.counts["added"] or self.counts["changed"] or self.counts["left"])

    def as_json(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "dry_run": self.dry_run,
            **self.counts,
            "changed_fields": self.changed_fields,
            "ignored_columns": self.ignored_columns,
            "left_refs": self.left,
            "leavers_with_records": self.leavers_with_records,
        }


def _rows(text: str, fmt: str, columns: Any) -> tuple[list[Any], list[str]]:
    try:
        return read_export(text, fmt, columns)
    except FeedError as exc:
        raise RosterRefused([RowProblem(exc.line or 0, exc.message)]) from None


def _changed_fields(plan: RosterPlan[Any, Any]) -> dict[str, int]:
    counted = Counter(name for change in plan.changed for name in change.fields)
    return dict(sorted(counted.items()))


def _records(
    text: str,
    fmt: str,
    columns: Columns,
    record: Callable[[FeedRow], R | RowProblem],
    unique: Sequence[tuple[str, Callable[[R], str | None]]],
) -> tuple[list[R], list[str]]:
    """The records of an export (`record` reads a row), and the columns left aside;
    RosterRefused with every problem: each row's own, and each value that must be unique
    (`unique`: what it is called, and how a record gives it; None is not checked) given twice."""
    rows, ignored = _rows(text, fmt, columns)
    read = [(row.line, record(row)) for row in rows]
    problems = [r for _, r in read if isinstance(r, RowProblem)]
    records = [(line, r) for line, r in read if not isinstance(r, RowProblem)]
    for what, key in unique:
        problems += duplicates([(n, r) for n, r in records if key(r)], key, what)
    if problems:
        raise RosterRefused(problems)
    return [r for _, r in records], ignored


def read_pupils(text: str, fmt: str, *, today: date) -> tuple[list[PupilRecord], list[str]]:
    """The pupils of an export, and the columns left aside; RosterRefused with every problem."""
    return _records(
        text, fmt, PUPIL_COLUMNS, lambda row: pupil_from_row(row, today=today), [("UPN", _upn)]
    )


def _upn(pupil: PupilRecord) -> str:
    return pupil.upn


def _pupil_of(child: Any) -> PupilRecord:
    return PupilRecord(**child.identity, date_of_birth=child.date_of_birth)


def import_pupils(text: str, fmt: str, *, today: date, dry_run: bool = False) -> RosterResult:
    """Import a pupils' export (see the module's docstring); on a dry run, write nothing."""
    pupils, ignored = read_pupils(text, fmt, today=today)
    for attempt in range(2):  # a new pupil's drawn reference taken meanwhile: draw again
        try:
            with session_scope() as session:
                result = _import_pupils(session, pupils, ignored, today, dry_run)
                if dry_run:
                    session.rollback()
                return result
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def _import_pupils(
    session: Session, pupils: list[PupilRecord], ignored: list[str], today: date, dry_run: bool
) -> RosterResult:
    hold_the_chain(session.connection())  # one import at a time: read, decide, write
    children = session.execute(
        select(Child.id, Child.child_ref, Child.identity, Child.date_of_birth, Child.left_on).where(
            Child.source == FROM_ROSTER
        )
    ).all()
    existing: dict[str, PupilRecord] = {}
    by_upn: dict[str, Any] = {}
    for child in children:  # each sealed identity opened once
        pupil = _pupil_of(child)
        existing[pupil.upn], by_upn[pupil.upn] = pupil, child
    present = frozenset(upn for upn, c in by_upn.items() if c.left_on is None)
    plan = plan_import(existing, present, pupils, lambda p: p.upn)
    gone = newly_left(plan, existing, today)
    left_refs = sorted(by_upn[upn].child_ref for upn in gone)
    with_records = _with_records(session, [by_upn[upn].id for upn in gone])
    result = RosterResult(
        what="pupils",
        dry_run=dry_run,
        counts=plan.counts(),
        changed_fields=_changed_fields(plan),
        ignored_columns=ignored,
        left=left_refs,
        leavers_with_records=sorted(
            by_upn[upn].child_ref for upn in gone if by_upn[upn].id in with_records
        ),
    )
    if dry_run or plan.nothing:
        return result
    if plan.added:
        session.execute(
            insert(Child),
            [
                {
                    "child_ref": f"P-{secrets.token_hex(4)}",
                    "date_of_birth": p.date_of_birth,
                    "cp_plan": False,
                    "identity": _identity(p),
                    "left_on": _left_on(p, today),
                    "source": FROM_ROSTER,
                }
                for p in plan.added
            ],
        )
    for change in plan.changed:
        p = change.record
        session.execute(
            update(Child)
            .where(Child.id == by_upn[change.key].id)
            .values(
                identity=_identity(p),
                date_of_birth=p.date_of_birth,
                left_on=_left_on(p, today),
            )
        )
    for upn in plan.left:
        record = existing[upn]
        if not has_left(record, today):
            record = record.model_copy(update={"leaving_date": today})
        session.execute(
            update(Child)
            .where(Child.id == by_upn[upn].id)
            .values(identity=_identity(record), left_on=record.leaving_date)
        )
    append(session.connection(), "import:pupils", detail=_detail(result))
    return result


def _left_on(pupil: PupilRecord, today: date) -> date | None:
    """The day the pupil left, once it has come (a leaving date to come is not a leaver)."""
    return pupil.leaving_date if has_left(pupil, today) else None


def _identity(pupil: PupilRecord) -> dict[str, Any]:
    return pupil.model_dump(mode="json", exclude={"date_of_birth"})


def _with_records(session: Session, child_ids: list[int]) -> set[int]:
    """Which of these children have a case (any kind): their file must follow them."""
    if not child_ids:
        return set()
    return set(session.scalars(select(Case.child_id).where(Case.child_id.in_(child_ids))))


def _detail(result: RosterResult) -> dict[str, Any]:
    """The audit entry of an import: counts and references, never a name."""
    return {
        **result.counts,
        "changed_fields": result.changed_fields,
        "left": result.left[:200],
    }


def read_staff(text: str, fmt: str) -> tuple[list[StaffRecord], list[str]]:
    """The members of staff of an export, and the columns left aside; RosterRefused with every
    problem."""
    return _records(
        text,
        fmt,
        STAFF_COLUMNS,
        staff_from_row,
        [("staff id", lambda s: s.staff_id.lower()), ("email", lambda s: (s.email or "").lower())],
    )


def import_staff(text: str, fmt: str, *, today: date, dry_run: bool = False) -> RosterResult:
    """Import a staff export (see the module's docstring); on a dry run, write nothing. A
    member of staff added by hand under the same staff id is taken over by the roster (their
    role stays); one stopped by hand stays stopped."""
    records, ignored = read_staff(text, fmt)
    with session_scope() as session:
        hold_the_chain(session.connection())  # one import at a time: read, decide, write
        rows = session.execute(
            select(
                Staff.staff_id,
                Staff.name,
                Staff.email,
                Staff.job_title,
                Staff.active,
                Staff.left_on,
                Staff.source,
            )
        ).all()
        by_id = {r.staff_id: r for r in rows}
        incoming_ids = {s.staff_id for s in records}
        existing = {
            r.staff_id: StaffRecord(
                staff_id=r.staff_id, name=r.name, email=r.email, job_title=r.job_title
            )
            for r in rows
            if r.source == FROM_ROSTER or r.staff_id in incoming_ids
        }
        # those the roster may mark as gone: imported before, and not stopped by hand
        present = frozenset(
            r.staff_id for r in rows if r.source == FROM_ROSTER and r.active and r.left_on is None
        )
        plan = plan_import(existing, present, records, lambda s: s.staff_id)
        returning = sorted(
            s.staff_id
            for s in records
            if s.staff_id in by_id and by_id[s.staff_id].left_on is not None
        )
        counts = plan.counts()
        fields = _changed_fields(plan)
        if returning:  # back in the export after the roster found them gone: a change too
            counts["changed"] += len({*returning} - {c.key for c in plan.changed})
            counts["unchanged"] -= len({*returning} - {c.key for c in plan.changed})
            fields["active"] = len(returning)
        result = RosterResult(
            what="staff",
            dry_run=dry_run,
            counts=counts,
            changed_fields=fields,
            ignored_columns=ignored,
            left=sorted(plan.left),
        )
        if dry_run or result.nothing:
            session.rollback()
            return result
        if plan.added:
            session.execute(
                insert(Staff),
                [
                    {
                        "staff_id": s.staff_id,
                        "name": s.name,
                        "email": s.email,
                        "job_title": s.job_title,
                        "role": Role.STAFF.value,
                        "active": True,
                        "source": FROM_ROSTER,
                    }
                    for s in plan.added
                ],
            )
        for change in plan.changed:
            s = change.record
            session.execute(
                update(Staff)
                .where(Staff.staff_id == s.staff_id)
                .values(name=s.name, email=s.email, job_title=s.job_title, source=FROM_ROSTER)
            )
        for staff_id in returning:
            session.execute(
                update(Staff)
                .where(Staff.staff_id == staff_id)
                .values(active=True, left_on=None, source=FROM_ROSTER)
            )
        for staff_id in plan.left:
            session.execute(
                update(Staff).where(Staff.staff_id == staff_id).values(active=False, left_on=today)
            )
        append(session.connection(), "import:staff", detail=_detail(result))
        return result


def prompt_for_leavers(child_refs: list[str], today: date) -> list[str]:
    """Tell the DSL of each leaver with child protection records: their file must follow them
    (`safeshare leaver record`). One message per leaver and day, whoever imports; the message
    names the pupil by reference only. The references whose message was delivered."""
    told = []
    for ref in child_refs:
        if deliver(
            f"roster-leaver:{ref}:{today.isoformat()}",
            case_id=None,
            tag="dsl",
            kind="roster-leaver",
            title=f"safeshare: pupil {ref} has left, with child protection records",
            body=(
                f"The school information system no longer holds pupil {ref} as on roll, and "
                "safeshare holds child protection records about them. Record the move so that "
                f"their file follows them: safeshare leaver record --child {ref} ..."
            ),
        ):
            told.append(ref)
    return told
