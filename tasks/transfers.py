"""Where a leaver's transfer is written: the leaver as recorded (where they go, when, what kind
of move), the disclosure to the next school (or, when nobody knows where they went, to the local
authority), and what the flow needs to know to set its deadline."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from foundations.db import session_scope
from foundations.settings import get_settings
from models.deadlines import ENGLAND
from models.kernel.directory import AgencyKind
from models.kernel.steps import CaseKind, Step
from models.kernel.values import Frozen
from models.kernel.waits import unwaited
from models.tables.cases import Case, CaseStep
from models.tables.directory import Agency, Child
from models.tables.disclosures import Disclosure
from models.tables.openings import Leaver
from models.transfer import (
    LeaverFacts,
    MoveKind,
    TransferReview,
    leaver_problems,
    receipt_clock,
)
from tasks.case_facts import find_case, latest_answer
from tasks.closing import policy_disclosure
from tasks.concerns import open_case
from tasks.directory import DirectoryError
from tasks.prefect_task import task

PURPOSE = (
    "Keeping children safe in education: a leaver's child protection file goes to their next "
    "school, separately from the main pupil file, and its receipt is confirmed."
)
UNKNOWN_PURPOSE = (
    "A pupil left and their destination is not known: the local authority is told, and the "
    "school keeps the child protection file until the new school is known."
)


def record_leaver(facts: LeaverFacts) -> int:
    """Record a pupil leaving (where to, when, what kind of move) and open its transfer case;
    returns the case id."""
    problems = leaver_problems(facts)
    if problems:
        raise DirectoryError("; ".join(p.message for p in problems) + ".")
    with session_scope() as session:
        if facts.destination is not None:
            school = session.get(Agency, facts.destination)
            if school is None or school.kind != AgencyKind.SCHOOL.value:
                raise DirectoryError(
                    f"No school is in the agency directory as '{facts.destination}': add it "
                    "with `safeshare agency add CODE --kind school --notify URL` (its DSL's "
                    "address), or give --destination unknown."
                )
        case = open_case(
            session,
            kind=CaseKind.TRANSFER,
            child_ref=facts.child_ref,
            recorded_by=facts.recorded_by,
            occurred_at=datetime.combine(facts.leaving_on, time(0), tzinfo=ENGLAND),
            now=None,  # a leaving date may be ahead
        )
        session.add(
            Leaver(
                case_id=case.id,
                recorded_by=facts.recorded_by,
                move=facts.move.value,
                leaving_on=facts.leaving_on,
                destination=facts.destination,
                new_term_starts=facts.new_term_starts,
            )
        )
        slot, key = unwaited(Step.RECORD_LEAVER)
        session.add(
            CaseStep(
                case_id=case.id,
                step=Step.RECORD_LEAVER.value,
                slot=slot,
                key=key,
                accepted=True,
                actor=facts.recorded_by,
                channel="cli",
                data=facts.model_dump(mode="json"),
            )
        )
        return case.id


def leaver_of(session: Session, case_id: int) -> LeaverFacts:
    """The leaver a transfer case was opened for, as recorded."""
    leaver = session.get(Leaver, case_id)
    child_ref = session.scalar(
        select(Child.child_ref).join(Case, Case.child_id == Child.id).where(Case.id == case_id)
    )
    if leaver is None or child_ref is None:
        raise RuntimeError(f"case {case_id} records no leaver")
    return LeaverFacts(
        child_ref=child_ref,
        leaving_on=leaver.leaving_on,
        destination=leaver.destination,
        move=MoveKind(leaver.move),
        new_term_starts=leaver.new_term_starts,
        recorded_by=leaver.recorded_by,
    )


class TransferPlan(Frozen):
    """What the transfer flow needs: codes and times, nothing personal."""

    known: bool  # the destination is known: the file goes there
    agency: str  # the school's agency code, or the local authority's
    clock_from: datetime  # when the 5 days for the file's receipt start


@task(retries=2, retry_delay_seconds=1)
def transfer_plan(case_id: int) -> TransferPlan:
    with session_scope() as session:
        leaver = leaver_of(session, case_id)
    return TransferPlan(
        known=leaver.destination is not None,
        agency=leaver.destination or get_settings().local_authority_agency,
        clock_from=receipt_clock(leaver),
    )


def _records_in_file(session: Session, case_id: int) -> int:
    """How many cases the child's file holds (transfers themselves left out)."""
    case = find_case(session, case_id)
    return (
        session.scalar(
            select(func.count())
            .select_from(Case)
            .where(Case.child_id == case.child_id, Case.kind != CaseKind.TRANSFER.value)
        )
        or 0
    )


@task(retries=2, retry_delay_seconds=1)
def write_transfer_disclosure(case_id: int, plan: TransferPlan) -> str:
    """Record, once, what goes to the next school (the whole file) or to the local authority
    (that the pupil left for an unknown destination), decided by the DSL who reviewed it."""
    with session_scope() as session:
        if session.scalar(select(Disclosure.id).where(Disclosure.case_id == case_id)):
            return plan.agency
        leaver = leaver_of(session, case_id)
        review = latest_answer(session, case_id, Step.TRANSFER_REVIEW)
        if not isinstance(review, TransferReview):
            raise RuntimeError(f"case {case_id} has no review of its transfer")
        records = _records_in_file(session, case_id)
        if plan.known:
            information = (
                f"The child protection file of pupil {leaver.child_ref}, who leaves on "
                f"{leaver.leaving_on.isoformat()} ({leaver.move.value} move): {records} "
                "record(s), as one document behind this link, separate from the main pupil file."
            )
        else:
            information = (
                f"Pupil {leaver.child_ref} left on {leaver.leaving_on.isoformat()}; where they "
                f"have gone is not known. The school keeps their child protection file "
                f"({records} record(s)) and will send it when their new school is known."
            )
        policy_disclosure(
            session,
            case_id,
            agency=plan.agency,
            information=information,
            purpose=PURPOSE if plan.known else UNKNOWN_PURPOSE,
            decided_by=review.answered_by,
            detail={"file": plan.known, "records": records},
        )
        return plan.agency


def transfer_kind(session: Session, case_id: int) -> str | None:
    """For the agency's message and page: "file" when a file goes to a school, "unknown" when
    the local authority is told of an unknown destination; None for other cases."""
    case = find_case(session, case_id)
    if case.kind != CaseKind.TRANSFER.value:
        return None
    return "file" if leaver_of(session, case_id).destination is not None else "unknown"


def leaver_summary(session: Session, case_id: int) -> dict[str, Any]:
    leaver = leaver_of(session, case_id)
    return leaver.model_dump(mode="json")
