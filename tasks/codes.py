"""Where a one-time code is checked and spent: in the transaction that records the answer it
came with, so that the answer and the spending commit together (models/codes.py judges it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from foundations.secret_key import secret_key
from foundations.settings import get_settings
from foundations.tokens import code_hash
from models.codes import CodeFacts, CodeOutcome, judge_code, normalise_code
from models.kernel.waits import Slot
from models.tables.credentials import AnswerCode


def spend_code(
    session: Session, slot: Slot, staff_id: str, typed: str | None, *, now: datetime
) -> CodeOutcome:
    """Check the code given with an answer in `staff_id`'s name and, if it proves them, spend it
    (in the caller's transaction: the answer and the spending commit together)."""
    key = secret_key(get_settings())
    row = None
    if typed is not None:
        wanted = code_hash(key, slot.case_id, slot.key, staff_id, normalise_code(typed))
        row = session.scalar(
            select(AnswerCode)
            .where(
                AnswerCode.case_id == slot.case_id,
                AnswerCode.key == slot.key,
                AnswerCode.staff_id == staff_id,
                AnswerCode.code_hash == wanted,
            )
            .order_by(AnswerCode.id.desc())
        )
    facts = (
        CodeFacts(
            staff_id=row.staff_id,
            key=row.key,
            expires_at=row.expires_at,
            used_at=row.used_at,
            matches=True,
        )
        if row is not None
        else None
    )
    outcome = judge_code(typed, facts, now=now)
    if outcome is CodeOutcome.VALID and row is not None:
        spent = session.execute(
            update(AnswerCode)
            .where(AnswerCode.id == row.id, AnswerCode.used_at.is_(None))
            .values(used_at=now, outcome="answered")
            .execution_options(synchronize_session=False)
        )
        if spent.rowcount != 1:  # type: ignore[attr-defined]
            return CodeOutcome.USED
    return outcome
