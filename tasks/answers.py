"""Where an answer to a waiting step is written, whatever door it came through.

Every door records the answer (or its refusal) in the case database, in one transaction with
the proof it came with (a one-time code spent, a link used), and only then tells the run, which
reads the answer from the case database: nothing a person typed passes through Prefect. The
CLI and every link door call `give_answer` (or their link's claim) and then `hand_over`; the
dashboard's door alone goes through Prefect's run input, which the run copies here
(`record_answer`) and then deletes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from foundations.db import session_scope
from models.codes import CodeOutcome, code_problem
from models.deadlines import WRITTEN_CONFIRMATION
from models.forms.registry import FORMS, form_problems
from models.kernel.problems import InvalidAnswer, Problem
from models.kernel.steps import Step
from models.kernel.waits import Slot, StepSummary, Wait
from models.sharing.criteria import CriteriaAnswers
from models.sharing.disclosure import ReceiptChannel, ReceiptConfirmation
from models.summaries import summarise
from models.tables.base import utcnow
from models.tables.cases import Case, CaseStep
from tasks.case_facts import NotWaiting, current_slot, find_case
from tasks.closing import disclosure_of_wait, write_receipt
from tasks.personal_links import spend_code
from tasks.prefect_task import task
from tasks.run_input import Woken, forget_answer, hand_over
from tasks.steps import due_for, insert_step, validate_answer


def waiting_slot(session: Session, case: Case) -> Slot:
    """The wait a case is in now, with who may answer it; NotWaiting when it waits for nobody."""
    if case.status != "open":
        raise NotWaiting(f"case {case.id} is closed ({case.status}).")
    if case.waiting_key is None or case.waiting_slot is None or case.flow_run_id is None:
        raise NotWaiting(f"case {case.id} is not waiting for anyone right now; try again shortly.")
    return current_slot(session, case)


def next_key(session: Session, case_id: int, wait: Wait) -> str:
    """The key the next answer to `wait` is recorded under: the wait's own key, unless a refusal
    took it a moment ago (the run is then asking again, under this one)."""
    count = session.scalar(
        select(func.count())
        .select_from(CaseStep)
        .where(CaseStep.case_id == case_id, CaseStep.slot == wait.slot)
    )
    return wait.key(count or 0)


def answer_row(
    slot: Slot,
    *,
    channel: str,
    answer: Any = None,
    problems: list[Problem] | None = None,
    actor: Any = None,
) -> CaseStep:
    """The row one answer to a wait is recorded as: accepted with its answer (a domain value),
    or refused with its problems (codes and messages, never the text it came with)."""
    accepted = problems is None
    return CaseStep(
        case_id=slot.case_id,
        step=slot.wait.step.value,
        slot=slot.wait.slot,
        key=slot.key,
        accepted=accepted,
        actor=actor if isinstance(actor, str) else None,
        channel=channel,
        data=answer.model_dump(mode="json") if accepted else None,
        problems=None if accepted else [p.model_dump() for p in problems or ()],
    )


def checked_row(
    session: Session, slot: Slot, raw: dict[str, Any], typed_code: Any, *, channel: str
) -> CaseStep:
    """The row an answer earns: accepted only when the form, the policy, the people and the
    code all agree. The code is spent in this transaction, with the row."""
    try:
        answer = validate_answer(session, slot.case_id, slot.wait.step, raw)
    except InvalidAnswer as exc:
        return answer_row(
            slot, channel=channel, problems=exc.problems, actor=raw.get("answered_by")
        )
    typed = typed_code if isinstance(typed_code, str) else None
    outcome = spend_code(session, slot, answer.answered_by, typed, now=utcnow())
    if outcome is not CodeOutcome.VALID:
        problems = [code_problem(outcome)]
        return answer_row(slot, channel=channel, problems=problems, actor=answer.answered_by)
    return answer_row(slot, channel=channel, answer=answer, actor=answer.answered_by)


def settle(session: Session, slot: Slot, row: CaseStep) -> StepSummary | None:
    """What an accepted answer brings with it, in its transaction: the case stops waiting, a
    receipt the DSL records is the agency's, a phone referral's written confirmation falls due.
    None for a refusal."""
    if not row.accepted:
        return None
    # a link's confirmation wrote its own receipt, with its recipient, in its transaction
    if slot.wait.step is Step.CONFIRM_RECEIPT and row.channel != ReceiptChannel.AGENCY_LINK.value:
        disclosure = disclosure_of_wait(session, slot.case_id, slot.wait)
        write_receipt(session, disclosure.id, ReceiptConfirmation.model_validate(row.data))
    case = find_case(session, slot.case_id)
    case.stop_waiting()
    answer = FORMS[slot.wait.step].domain.model_validate(row.data)
    if isinstance(answer, CriteriaAnswers) and answer.phoned_at is not None:
        written = due_for(WRITTEN_CONFIRMATION, answer.phoned_at)
        case.written_due = min(case.written_due or written, written)
    return summarise(slot.wait.step, slot.wait.slot, answer)


@dataclass(frozen=True)
class Given:
    """What became of an answer given through a door."""

    case_id: int
    slot: str
    key: str
    accepted: bool
    problems: tuple[Problem, ...]
    woken: Woken


def give_answer(
    case_id: int, step: Step, raw: dict[str, Any], code: str | None, *, channel: str = "cli"
) -> Given:
    """Record an answer to the step a case waits for, with the one-time code of the person it
    names: accepted, or refused with its problems (kept in the chronology and the audit trail,
    and the step is asked again with new codes), in one transaction; then the run is woken.

    An answer that is not a filled-in form of the step at all (a field missing, a value not
    allowed, a field the form does not have) is refused at once and changes nothing, as the
    dashboard's form refuses it before anything is sent: the code stays usable.
    NotWaiting when the case does not wait for `step`."""
    with session_scope() as session:
        case = find_case(session, case_id)
        slot = waiting_slot(session, case)
        if slot.wait.step is not step:
            raise NotWaiting(f"case {case_id} waits for {slot.wait.step.value}, not {step.value}.")
        if step is Step.MASH_ADVICE:
            raw = {"context": slot.wait.context} | raw
        if problems := form_problems(step, raw):
            raise InvalidAnswer(problems)
        row = checked_row(session, slot, raw, code, channel=channel)
        if (taken := insert_step(session, row)) is not row:
            # (raising rolls back: the code spent with the row stays usable)
            if taken.accepted:
                raise NotWaiting(f"case {case_id}'s {step.value} was answered a moment ago.")
            raise NotWaiting(
                f"an answer to case {case_id}'s {step.value} was just refused, so the step is "
                "asked again: new one-time codes are on their way to everyone who may answer."
            )
        settle(session, slot, row)
        given = Given(
            case_id=case_id,
            slot=slot.wait.slot,
            key=slot.key,
            accepted=bool(row.accepted),
            problems=tuple(Problem.model_validate(p) for p in row.problems or ()),
            woken=Woken.ENDED,
        )
        flow_run_id = case.flow_run_id
    return dataclasses.replace(given, woken=hand_over(flow_run_id, case_id, given.key))


# ---------------------------------------------------------------------------------------------
# The dashboard's door: the run reads its form's answer from Prefect and copies it here.


@task(retries=2, retry_delay_seconds=1)
def record_rejection(slot: Slot, problems: list[Problem]) -> None:
    """Keep an unusable answer's problems (codes and messages, not its text) and forget it."""
    with session_scope() as session:
        insert_step(session, answer_row(slot, channel="form", problems=problems))
    forget_answer(slot.key)


@task(retries=2, retry_delay_seconds=1)
def record_answer(slot: Slot, raw: dict[str, Any]) -> StepSummary | None:
    """Check a dashboard answer in full, and the one-time code of the person it names, and
    write it; None when it was refused. An answer already recorded under this wait (by another
    door, or by an earlier try of this task) is taken as it stands. Then it is deleted from
    Prefect."""
    raw = dict(raw)
    typed_code = raw.pop("one_time_code", None)
    with session_scope() as session:
        row = session.scalar(
            select(CaseStep).where(CaseStep.case_id == slot.case_id, CaseStep.key == slot.key)
        ) or session.scalar(  # answered ahead of the wait (an agency's receipt link)
            select(CaseStep).where(
                CaseStep.case_id == slot.case_id,
                CaseStep.slot == slot.wait.slot,
                CaseStep.accepted.is_(True),
            )
        )
        if row is None:
            row = insert_step(session, checked_row(session, slot, raw, typed_code, channel="form"))
        summary = settle(session, slot, row)
    forget_answer(slot.key)
    return summary
