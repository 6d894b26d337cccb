"""Where a case's steps are written: the case's start, the wait a slot opens (its key, its
deadline, who may answer), the full check of an answer to it, a note, and the one way a step
row goes in (`insert_step`: once per key).

Each task opens its own session, is keyed by (case, slot, attempt) so that re-running a resumed
flow or retrying a task never writes a fact twice, and returns ids or codes only: Prefect
persists task results, and the case content must stay in the case database.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from foundations.db import session_scope
from foundations.deadline_settings import deadline_rules, setting_calendar
from foundations.settings import get_settings
from models.access_request import AccessDecision, access_request_problems
from models.deadlines import Whose, due_at, wait_due
from models.forms.registry import parse_answer
from models.kernel.answerers import answerer_problems, eligible_answerers
from models.kernel.problems import InvalidAnswer, Problem, future_times
from models.kernel.steps import FIRST_STEP, CaseKind, CaseNote, Step
from models.kernel.waits import Slot, Wait, unwaited
from models.notice import NoticeReview
from models.sharing.criteria import CriteriaAnswers
from models.sharing.parents import ParentsDecision
from models.tables.base import utcnow
from models.tables.cases import CaseStep
from models.tables.directory import Agency
from tasks.case_facts import (
    allegation_against,
    find_case,
    first_signer,
    request_of,
    staff_directory,
    step_summary,
)
from tasks.prefect_task import task


def due_for(kind: str, since: datetime) -> datetime:
    """When a deadline of this kind (a step's wait, or the written confirmation of a phone
    referral) that started at `since` is due, under the configured rule."""
    settings = get_settings()
    rule = deadline_rules(settings)[kind]
    calendar = setting_calendar(settings, since.date())
    try:
        return due_at(rule, since, calendar, day_starts=settings.school_day_starts)
    except ValueError:
        # the setting's terms end before a school day comes: a deadline must still be set, so
        # it is counted on everyone's working days until next year's terms are configured
        logging.getLogger("safeshare.deadlines").warning(
            "no setting working day for the %s deadline: check the terms; counting public ones",
            kind,
        )
        public = rule.model_copy(update={"whose": Whose.PUBLIC})
        return due_at(public, since, calendar, day_starts=settings.school_day_starts)


def insert_step(session: Session, row: CaseStep) -> CaseStep:
    """Insert a step row once; a second writer of the same key gets the first one's row."""
    existing = session.scalar(
        select(CaseStep).where(CaseStep.case_id == row.case_id, CaseStep.key == row.key)
    )
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = session.scalar(
            select(CaseStep).where(CaseStep.case_id == row.case_id, CaseStep.key == row.key)
        )
        assert existing is not None
        return existing
    return row


def system_step(
    session: Session, case_id: int, step: Step, data: dict[str, Any], actor: str | None = None
) -> CaseStep:
    """Record, once, a step the pipeline itself took (no one answered it)."""
    slot, key = unwaited(step)
    return insert_step(
        session,
        CaseStep(
            case_id=case_id,
            step=step.value,
            slot=slot,
            key=key,
            accepted=True,
            actor=actor,
            channel="system",
            data=data,
        ),
    )


@task(retries=2, retry_delay_seconds=1)
def start_case(case_id: int, flow_run_id: str) -> int:
    """Record that the concern (or the plan event) is in and the case's pipeline has started."""
    with session_scope() as session:
        case = find_case(session, case_id)
        case.flow_run_id = flow_run_id
        first = FIRST_STEP[CaseKind(case.kind)]
        # a concern has an id of its own; every other opening record is keyed by the case's id
        opened = {"concern_id": case.concern_id} if case.concern_id is not None else {}
        system_step(session, case_id, first, opened)
    return case_id


def add_note(case_id: int, staff_id: str, text: str) -> str:
    """Add a note to a case's chronology (an open or a closed case): as written, never edited.
    Returns its slot. ValueError when the text is empty or too long."""
    try:
        note = CaseNote(text=text)
    except ValidationError:
        raise InvalidAnswer(
            [Problem(code="invalid:text", message="a note needs 1 to 20,000 characters of text")]
        ) from None
    with session_scope() as session:
        find_case(session, case_id)
        count = session.scalar(
            select(func.count())
            .select_from(CaseStep)
            .where(CaseStep.case_id == case_id, CaseStep.step == Step.NOTE.value)
        )
        slot = f"note-{count or 0}"
        session.add(
            CaseStep(
                case_id=case_id,
                step=Step.NOTE.value,
                slot=slot,
                key=f"{slot}-{uuid.uuid4().hex[:12]}",
                accepted=True,
                actor=staff_id,
                channel="note",
                data=note.model_dump(mode="json"),
            )
        )
    return slot


def open_step(
    case_id: int,
    wait: Wait,
    deadline: str | None = None,
    clock_from: datetime | None = None,
) -> Slot:
    """Find the answer to a wait, or the key to wait under next and who may answer. The wait is
    due under the step's own deadline rule, or the one named by `deadline`, counted from when
    the wait began or from `clock_from` (a request received before it was recorded)."""
    step, slot = wait.step, wait.slot
    with session_scope() as session:
        case = find_case(session, case_id)
        rows = list(
            session.scalars(
                select(CaseStep)
                .where(CaseStep.case_id == case_id, CaseStep.slot == slot)
                .order_by(CaseStep.id)
            )
        )
        signer = first_signer(session, case_id)
        accepted = next((r for r in rows if r.accepted), None)
        if accepted is not None:
            return Slot(
                case_id=case_id,
                wait=wait,
                key=accepted.key,
                answered=step_summary(step, accepted),
            )
        key = wait.key(len(rows))
        if case.waiting_key != key:
            # A re-asked answer keeps the slot's original waiting time: deadlines run from it.
            if case.waiting_slot != slot or case.waiting_since is None:
                case.waiting_since = utcnow()
                case.waiting_due, case.waiting_deadline = wait_due(
                    step.value,
                    due_for(deadline or step.value, clock_from or case.waiting_since),
                    case.written_due,
                    deadline,
                )
            case.waiting_step = step.value
            case.waiting_slot = slot
            case.waiting_key = key
        last_problems = rows[-1].problems if rows else None
        who = eligible_answerers(
            step,
            staff_directory(session),
            first_signer=signer,
            subject=allegation_against(session, case_id),
        )
        return Slot(
            case_id=case_id,
            wait=wait,
            key=key,
            previous_problems=tuple(Problem.model_validate(p) for p in last_problems or ()),
            who=tuple(who),
            first_signer=signer,
        )


def answer_problems(session: Session, case_id: int, step: Step, answer: Any) -> list[Problem]:
    """Checks that need the case database: who may answer, two people, known agency and staff."""
    staff = staff_directory(session)
    problems = answerer_problems(
        step,
        staff.get(answer.answered_by),
        first_signer=first_signer(session, case_id),
        subject=allegation_against(session, case_id),
    )
    problems.extend(future_times(answer, utcnow()))
    if isinstance(answer, AccessDecision):
        problems.extend(access_request_problems(answer, request_of(session, case_id)))
    if isinstance(answer, NoticeReview):
        unknown = [s for s in answer.staff_to_tell if s not in staff or not staff[s].active]
        if unknown:
            problems.append(
                Problem(
                    code="unknown-staff-to-tell",
                    message=f"No active member of staff is {', '.join(unknown)}.",
                )
            )
    if isinstance(answer, CriteriaAnswers):
        unknown = [code for code in answer.agencies if session.get(Agency, code) is None]
        if unknown:
            problems.append(
                Problem(
                    code="unknown-agency",
                    message=f"No agency has the code {', '.join(repr(c) for c in unknown)}.",
                )
            )
    if isinstance(answer, ParentsDecision) and answer.told_by is not None:
        if answer.told_by not in staff:
            problems.append(
                Problem(
                    code="unknown-told-by", message=f"No member of staff is '{answer.told_by}'."
                )
            )
    return problems


def validate_answer(session: Session, case_id: int, step: Step, raw: dict[str, Any]) -> Any:
    """The full check of an answer, shared by the CLI and the flow: form, policy, people."""
    answer = parse_answer(step, raw)
    problems = answer_problems(session, case_id, step, answer)
    if problems:
        raise InvalidAnswer(problems)
    return answer
