"""Where retention decisions are written: the review of records past their retention date, a
person's decision to keep or destroy them, and the destruction itself (every row of the child's
cases, in one transaction). Held records are never destroyed; the attempt is recorded."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from foundations.audit import append
from foundations.db import clear_write_ahead_log, session_scope
from models.kernel.problems import Problem
from models.retention import KEEP_FOR, ChildFile, Decision, destruction_problem, hold, is_due
from models.retention import review_date as due_date
from models.tables.cases import Case, CaseStep, Concern
from models.tables.credentials import LinkAttempt, PersonalLink
from models.tables.directory import Child
from models.tables.disclosures import Disclosure, Receipt
from models.tables.openings import AccessRequest, Leaver, Notice, PlanEvent
from models.tables.outbox import Notification
from models.tables.retention import RetentionDecision
from tasks.directory import DirectoryError
from tasks.notify import deliver
from tasks.prefect_task import task


@task(retries=1, retry_delay_seconds=5)
def tell_review(today: date) -> int:
    """Tell the DSL, once a day at most, how many children's records await a retention decision
    (a count: the references are in `safeshare retention review`)."""
    due = due_for_review(today)
    if due:
        deliver(
            f"retention-review:{today.isoformat()}",
            case_id=None,
            tag="dsl",
            kind="retention",
            title=f"safeshare: {len(due)} child protection file(s) await a retention decision",
            body=f"{len(due)} child protection file(s) are past their retention date. Review them "
            "with `safeshare retention review`; nothing is destroyed without your decision.",
        )
    return len(due)


class RetentionRefused(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _files(session: Session, child_ref: str | None = None) -> list[ChildFile]:
    query = select(Child)
    if child_ref is not None:
        query = query.where(Child.child_ref == child_ref)
    children = session.scalars(query.order_by(Child.child_ref)).all()
    ids = [c.id for c in children]
    counts: dict[int, int] = {
        child_id: cases
        for child_id, cases in session.execute(
            select(Case.child_id, func.count(Case.id))
            .where(Case.child_id.in_(ids))
            .group_by(Case.child_id)
        )
    }
    # what a hold looks at: the categories of the child's concerns
    categories: dict[int, set[str]] = {}
    for child_id, category in session.execute(
        select(Case.child_id, Concern.category)
        .join(Concern, Case.concern_id == Concern.id)
        .where(Case.child_id.in_(ids))
        .distinct()
    ):
        categories.setdefault(child_id, set()).add(category)
    kept: dict[str, date] = {}
    for ref, until in session.execute(
        select(RetentionDecision.child_ref, func.max(RetentionDecision.kept_until))
        .where(RetentionDecision.decision == Decision.KEEP.value)
        .group_by(RetentionDecision.child_ref)
    ):
        if until is not None:
            kept[ref] = until
    return [
        ChildFile(
            child_ref=c.child_ref,
            date_of_birth=c.date_of_birth,
            categories=frozenset(categories.get(c.id, set())),
            cases=counts.get(c.id, 0),
            kept_until=kept.get(c.child_ref),
        )
        for c in children
    ]


def due_for_review(today: date) -> list[dict[str, Any]]:
    """Children whose records are past their retention date and not kept by a later decision:
    references, dates and counts only."""
    with session_scope() as session:
        files = [f for f in _files(session) if is_due(f, today)]
    return [
        {
            "child_ref": f.child_ref,
            "review_from": due_date(f).isoformat(),
            "cases": f.cases,
            "hold": hold(f),
        }
        for f in files
    ]


def decide(
    child_ref: str, decision: Decision, *, by: str, reason: str, today: date
) -> dict[str, Any]:
    """Record a person's decision on a child's records past their retention date, and carry
    it out. A refused destruction (a hold, or not yet due) is recorded too, then refused."""
    refused: Problem | None = None
    with session_scope() as session:
        files = _files(session, child_ref)
        if not files:
            raise DirectoryError(f"No child has the reference '{child_ref}'.")
        (file,) = files
        if decision is Decision.DESTROY:
            refused = destruction_problem(file, today)
        elif not is_due(file, today):
            refused = Problem(
                code="not-due", message=f"{child_ref}'s records are kept until {due_date(file)}."
            )
        kept_until = today + KEEP_FOR if decision is Decision.KEEP and refused is None else None
        session.add(
            RetentionDecision(
                child_ref=child_ref,
                decision="refused" if refused else decision.value,
                decided_by=by,
                reason=reason,
                kept_until=kept_until,
                cases=file.cases,
            )
        )
        if refused is None and decision is Decision.DESTROY:
            removed = _destroy(session, child_ref)
            append(session.connection(), "destroy:child-records", detail=removed)
        elif refused is not None:
            append(
                session.connection(),
                f"refused:retention-{decision.value}",
                detail={"child_ref": child_ref, "why": refused.code},
            )
    if refused is not None:
        raise RetentionRefused(refused)
    if decision is Decision.DESTROY:
        clear_write_ahead_log()  # destroyed means gone from the files too, not only the tables
    return {"child_ref": child_ref, "decision": decision.value, "kept_until": kept_until}


def _destroy(session: Session, child_ref: str) -> dict[str, Any]:
    """Delete every row of the child's records, children before parents; the counts."""
    child_id = session.scalar(select(Child.id).where(Child.child_ref == child_ref))
    case_ids = list(session.scalars(select(Case.id).where(Case.child_id == child_id)))
    links = select(PersonalLink.id).where(PersonalLink.case_id.in_(case_ids))
    disclosures = select(Disclosure.id).where(Disclosure.case_id.in_(case_ids))
    removed: dict[str, Any] = {"child_ref": child_ref, "case_ids": case_ids}
    for name, statement in (
        ("link_attempts", delete(LinkAttempt).where(LinkAttempt.link_id.in_(links))),
        ("personal_links", delete(PersonalLink).where(PersonalLink.case_id.in_(case_ids))),
        ("receipts", delete(Receipt).where(Receipt.disclosure_id.in_(disclosures))),
        ("notifications", delete(Notification).where(Notification.case_id.in_(case_ids))),
        ("disclosures", delete(Disclosure).where(Disclosure.case_id.in_(case_ids))),
        ("case_steps", delete(CaseStep).where(CaseStep.case_id.in_(case_ids))),
        *(
            (record.__tablename__, delete(record).where(record.case_id.in_(case_ids)))
            for record in (AccessRequest, Notice, Leaver, PlanEvent)
        ),
        ("cases", delete(Case).where(Case.id.in_(case_ids))),
        ("concerns", delete(Concern).where(Concern.child_id == child_id)),
        ("children", delete(Child).where(Child.id == child_id)),
    ):
        result = session.execute(statement.execution_options(synchronize_session=False))
        removed[name] = result.rowcount  # type: ignore[attr-defined]
    return removed
