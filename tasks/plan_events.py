"""Where Child Protection Plan events are recorded, each opening its own case: all of a feed or
none of it, and an event recorded before keeps its case (models/plan_event/feed.py reads the
feed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from foundations.db import session_scope
from models.kernel.steps import CaseKind
from models.plan_event.feed import RowProblem
from models.plan_event.policy import PlanEventFacts, event_key, event_problems
from models.tables.cases import Case
from models.tables.directory import Child, Staff
from models.tables.openings import PlanEvent
from tasks.directory import DirectoryError


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
                    select(PlanEvent.event_key, PlanEvent.case_id).where(
                        PlanEvent.event_key.in_(key_chunk)
                    )
                )
            }
        recorded = []
        for (line, facts), key in zip(events, keys, strict=True):
            if key in known:
                recorded.append(RecordedEvent(line, known[key], new=False))
                continue
            case = Case(
                kind=CaseKind.PLAN_EVENT.value,
                child_id=children[facts.child_ref].id,
                status="open",
            )
            session.add(case)
            session.flush()
            session.add(
                PlanEvent(
                    case_id=case.id,
                    recorded_by=facts.recorded_by,
                    kind=facts.kind.value,
                    occurred_at=facts.occurred_at,
                    details=facts.details,
                    event_key=key,
                )
            )
            known[key] = case.id
            recorded.append(RecordedEvent(line, case.id, new=True))
        return recorded


def _chunks(values: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]
