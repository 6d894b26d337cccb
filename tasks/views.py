"""Read-only views of cases for people who may read them (the CLI's `case show` and `case list`,
the overdue list), and the fields of a disclosure as every view shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, and_, select

from foundations.db import session_scope
from models.forms.registry import FORMS
from models.identity import carer_line, carers_on_record
from models.kernel.answerers import eligible_answerers
from models.kernel.steps import CaseKind, Step
from models.kernel.waits import Wait
from models.messages.cases import case_reference
from models.summaries import summarise
from models.tables.cases import Case, CaseStep
from models.tables.directory import Child
from models.tables.disclosures import Disclosure, Receipt
from models.tables.outbox import Notification
from tasks.case_facts import (
    allegation_against,
    allegations_against,
    find_case,
    first_signer,
    first_signers,
    staff_directory,
)
from tasks.closing import disclosure_of_wait, disclosures_of
from tasks.notices import notices_of
from tasks.openings import opening, openings
from tasks.transfers import leaver_summary


def iso(value: Any) -> str | None:
    """A time as the views show it (ISO 8601), or None."""
    return value.isoformat() if value is not None else None


def _waiting(session: Any, case: Case) -> dict[str, Any] | None:
    if case.waiting_step is None:
        return None
    step = Step(case.waiting_step)
    who = eligible_answerers(
        step,
        staff_directory(session),
        first_signer=first_signer(session, case.id),
        subject=allegation_against(session, case.id),
    )
    waiting = {
        "step": case.waiting_step,
        "slot": case.waiting_slot,
        "key": case.waiting_key,
        "flow_run_id": case.flow_run_id,
        "since": iso(case.waiting_since),
        "due": iso(case.waiting_due),
        "deadline": case.waiting_deadline,
        "who_may_answer": who,
    }
    if step is Step.CONFIRM_RECEIPT and case.waiting_slot is not None:
        # whose receipt (a decision may share with several agencies, each awaited in turn)
        wait = Wait.parse(case.waiting_slot)
        waiting["agency"] = disclosure_of_wait(session, case.id, wait).agency_code
    return waiting


def list_open_cases() -> list[dict[str, Any]]:
    """Open cases, oldest wait first, with what each waits for."""
    with session_scope() as session:
        cases = session.scalars(
            select(Case)
            .where(Case.status == "open")
            .order_by(Case.waiting_since.is_(None), Case.waiting_since, Case.id)
        ).all()
        opened = openings(session, cases)
        return [
            {
                "case_id": case.id,
                "reference": case_reference(case.id),
                "kind": case.kind,
                "category": opened[case.id].label,
                "opened_at": iso(case.opened_at),
                "flow_run_id": case.flow_run_id,
                "waiting": _waiting(session, case),
            }
            for case in cases
        ]


def _receipt_fields(receipt: Receipt, agency_of: dict[int, str]) -> dict[str, Any]:
    return {
        "agency": agency_of.get(receipt.disclosure_id),
        "recipient": receipt.recipient,
        "confirmed_by_name": receipt.confirmed_by_name,
        "confirmed_by_role": receipt.confirmed_by_role,
        "confirmed_at": iso(receipt.confirmed_at),
        "agency_reference": receipt.agency_reference,
        "channel": receipt.channel,
        "recorded_by": receipt.recorded_by,
    }


def computed(row: CaseStep) -> dict[str, Any]:
    """What the rules computed from an accepted answer (an assessment's outcome and reason
    codes, a sign-off's decision ...), as the case moved on by it; None for rows that are not
    a person's answer."""
    try:
        step = Step(row.step)
    except ValueError:
        step = None
    if not row.accepted or row.data is None or step not in FORMS:
        return {"outcome": None, "reasons": []}
    assert step is not None
    try:
        answer = FORMS[step].domain.model_validate(row.data)
    except ValidationError:
        return {"outcome": None, "reasons": []}
    summary = summarise(step, row.slot, answer)
    return {"outcome": summary.outcome, "reasons": list(summary.reasons)}


def _with_parents(
    session: Any, case: Case, waiting: dict[str, Any] | None
) -> dict[str, Any] | None:
    """A wait for the parents step offers the parents and carers the school information system
    holds (those with parental responsibility first), to the DSL who reads the case; a list of
    cases never shows them."""
    if waiting is None or waiting["step"] != Step.PARENTS.value:
        return waiting
    child = session.get(Child, case.child_id)
    on_record = carers_on_record(child.identity if child is not None else None)
    return waiting | {"parents_on_record": [carer_line(c) for c in on_record]}


def show_case(case_id: int) -> dict[str, Any]:
    """Everything recorded on a case, in order: the concern, each step, disclosure, receipt."""
    with session_scope() as session:
        case = find_case(session, case_id)
        opened = opening(session, case_id)
        disclosures = disclosures_of(session, case_id)
        agency_of = {d.id: d.agency_code for d in disclosures}
        receipts = (
            session.scalars(
                select(Receipt).where(Receipt.disclosure_id.in_(agency_of)).order_by(Receipt.id)
            ).all()
            if disclosures
            else []
        )
        steps = session.scalars(
            select(CaseStep).where(CaseStep.case_id == case_id).order_by(CaseStep.id)
        ).all()
        notes = session.scalars(
            select(Notification).where(Notification.case_id == case_id).order_by(Notification.id)
        ).all()
        shared = [{"agency": d.agency_code, **disclosure_fields(d)} for d in disclosures]
        chronology: list[dict[str, Any]] = [
            {
                "at": iso(row.recorded_at),
                "step": row.step,
                "slot": row.slot,
                "key": row.key,
                "accepted": row.accepted,
                "by": row.actor,
                "channel": row.channel,
                "answer": row.data,
                "problems": row.problems,
                **computed(row),
            }
            for row in steps
        ]
        return {
            "case_id": case.id,
            "reference": case_reference(case.id),
            "kind": case.kind,
            "status": case.status,
            "opened_at": iso(case.opened_at),
            "closed_at": iso(case.closed_at),
            "flow_run_id": case.flow_run_id,
            "waiting": _with_parents(session, case, _waiting(session, case)),
            "written_confirmation_due": iso(case.written_due),
            # what opened the case, whatever its kind (named "concern" as it always was)
            "concern": {
                "child_ref": opened.child_ref,
                "category": opened.label,
                "occurred_at": iso(opened.occurred_at),
                "place": opened.place,
                "what_happened": opened.text,
                "child_words": opened.child_words,
                "action_taken": opened.action_taken,
                "who_told": opened.who_told,
                "raised_by": opened.recorded_by,
                "recorded_at": iso(opened.recorded_at),
            },
            "chronology": chronology,
            # the first disclosure, and every one (a decision may share with several agencies)
            "disclosure": shared[0] if shared else None,
            "disclosures": shared,
            # the case's first receipt, and every recipient's of every disclosure, as they came
            "receipt": _receipt_fields(receipts[0], agency_of) if receipts else None,
            "receipts": [_receipt_fields(receipt, agency_of) for receipt in receipts],
            "notices": notices_of(session, case_id),
            "leaver": leaver_summary(session, case_id)
            if case.kind == CaseKind.TRANSFER.value
            else None,
            "notifications": [
                {
                    "key": n.key,
                    "tag": n.tag,
                    "kind": n.kind,
                    "status": n.status,
                    "attempts": n.attempts,
                    "error": n.last_error,
                    "sent_at": iso(n.sent_at),
                }
                for n in notes
            ],
        }


def overdue_at(now: datetime) -> ColumnElement[bool]:
    """Open cases whose waiting step is past its deadline at `now` (the (status, waiting_due)
    index serves it)."""
    return and_(Case.waiting_due <= now, Case.status == "open")


def overdue_cases(now: datetime, limit: int | None = None) -> list[dict[str, Any]]:
    """Open cases whose waiting step is past its deadline at `now`, most overdue first.

    One range scan of the (status, waiting_due) index: its cost follows the number of overdue
    waits, not the number of cases."""
    with session_scope() as session:
        query = select(Case).where(overdue_at(now)).order_by(Case.waiting_due, Case.id)
        if limit is not None:
            query = query.limit(limit)
        cases = session.scalars(query).all()
        staff = staff_directory(session) if cases else {}
        signers = first_signers(session, [case.id for case in cases]) if cases else {}
        subjects = allegations_against(session, [case.id for case in cases]) if cases else {}
        overdue = []
        for case in cases:
            assert case.waiting_due is not None and case.waiting_step is not None
            step = Step(case.waiting_step)
            overdue.append(
                {
                    "case_id": case.id,
                    "reference": case_reference(case.id),
                    "step": case.waiting_step,
                    "key": case.waiting_key,
                    "since": iso(case.waiting_since),
                    "due": iso(case.waiting_due),
                    "deadline": case.waiting_deadline or case.waiting_step,
                    "overdue_hours": round((now - case.waiting_due).total_seconds() / 3600, 1),
                    "who_must_act": eligible_answerers(
                        step,
                        staff,
                        first_signer=signers[case.id],
                        subject=subjects[case.id],
                    ),
                }
            )
        return overdue


def disclosure_fields(disclosure: Disclosure) -> dict[str, Any]:
    """What a disclosure records was shared, why, on what basis, by whom and when."""
    return {
        "information": disclosure.information,
        "purpose": disclosure.purpose,
        "lawful_basis": disclosure.lawful_basis,
        "special_category_condition": disclosure.special_category_condition,
        "consent": disclosure.consent,
        "decided_by": disclosure.decided_by,
        "recorded_by": disclosure.recorded_by,
        "cosigned_by": disclosure.cosigned_by,
        "disclosed_at": iso(disclosure.disclosed_at),
    }
