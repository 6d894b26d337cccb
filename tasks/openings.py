"""What opened a case, read as one value whatever its kind (models/kernel/opening.py): a concern,
a request to see records, a notice, a leaver or a Child Protection Plan event, each from its own
table. The views, the sign-off summary and the child protection file read a case's opening here,
so none of them needs to know where each kind keeps its record. Plain reads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.deadlines import ENGLAND
from models.kernel.opening import Opening
from models.kernel.steps import CaseKind
from models.tables.cases import Case, Concern
from models.tables.directory import Child
from models.tables.openings import AccessRequest, Leaver, Notice, PlanEvent
from tasks.case_facts import find_case


def opening(session: Session, case_id: int) -> Opening:
    """The record the case was opened with; CaseNotFound when there is no such case."""
    return openings(session, [find_case(session, case_id)])[case_id]


def openings(session: Session, cases: Sequence[Case]) -> dict[int, Opening]:
    """The openings of many cases (a listing), in one query per kind of case among them."""
    children = {
        child_id: ref
        for child_id, ref in session.execute(
            select(Child.id, Child.child_ref).where(Child.id.in_({c.child_id for c in cases}))
        )
    }
    found: dict[int, Opening] = {}
    for kind, read in _READERS.items():
        of_kind = {c.id: c for c in cases if c.kind == kind.value}
        if of_kind:
            for case_id, fields in read(session, list(of_kind)):
                ref = children[of_kind[case_id].child_id]
                found[case_id] = Opening(kind=kind, child_ref=ref, **fields)
    missing = [c.id for c in cases if c.id not in found]
    if missing:
        raise RuntimeError(f"case(s) {missing} hold no record of what opened them")
    return found


Fields = dict[str, Any]


def _concerns(session: Session, case_ids: list[int]) -> list[tuple[int, Fields]]:
    rows = session.execute(
        select(Case.id, Concern)
        .join(Concern, Case.concern_id == Concern.id)
        .where(Case.id.in_(case_ids))
    ).tuples()
    return [
        (
            case_id,
            {
                "label": c.category,
                "occurred_at": c.occurred_at,
                "text": c.what_happened,
                "recorded_by": c.raised_by,
                "recorded_at": c.recorded_at,
                "place": c.place,
                "child_words": c.child_words,
                "action_taken": c.action_taken,
                "who_told": c.who_told,
            },
        )
        for case_id, c in rows
    ]


def _requests(session: Session, case_ids: list[int]) -> list[tuple[int, Fields]]:
    rows = session.scalars(select(AccessRequest).where(AccessRequest.case_id.in_(case_ids)))
    return [(r.case_id, _common(r, occurred_at=r.received_at, text=r.request)) for r in rows]


def _notices(session: Session, case_ids: list[int]) -> list[tuple[int, Fields]]:
    rows = session.scalars(select(Notice).where(Notice.case_id.in_(case_ids)))
    return [(n.case_id, _common(n, occurred_at=n.received_at, text=n.details)) for n in rows]


def _leavers(session: Session, case_ids: list[int]) -> list[tuple[int, Fields]]:
    rows = session.scalars(select(Leaver).where(Leaver.case_id.in_(case_ids)))
    return [(r.case_id, _common(r, occurred_at=leaving_moment(r), text=None)) for r in rows]


def _plan_events(session: Session, case_ids: list[int]) -> list[tuple[int, Fields]]:
    rows = session.scalars(select(PlanEvent).where(PlanEvent.case_id.in_(case_ids)))
    return [(e.case_id, _common(e, occurred_at=e.occurred_at, text=e.details)) for e in rows]


def _common(
    record: AccessRequest | Notice | Leaver | PlanEvent, *, occurred_at: datetime, text: str | None
) -> Fields:
    return {
        "label": record.label,
        "occurred_at": occurred_at,
        "text": text,
        "recorded_by": record.recorded_by,
        "recorded_at": record.recorded_at,
    }


def leaving_moment(leaver: Leaver) -> datetime:
    """When a leaver's record says it happens: the start of their leaving day in England."""
    return datetime.combine(leaver.leaving_on, time(0), tzinfo=ENGLAND).astimezone(UTC)


_READERS: dict[CaseKind, Callable[[Session, list[int]], list[tuple[int, Fields]]]] = {
    CaseKind.SHARING: _concerns,
    CaseKind.ACCESS_REQUEST: _requests,
    CaseKind.NOTICE: _notices,
    CaseKind.TRANSFER: _leavers,
    CaseKind.PLAN_EVENT: _plan_events,
}
