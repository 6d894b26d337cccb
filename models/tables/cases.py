"""A case's tables: the concern that opens a sharing case, the case with its listing projection,
and every answer or action on its steps. (What opens the other kinds of case is in openings.py.)
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.tables.base import NEVER_REUSED, Base, Sealed, SealedJSON, UTCDateTime, utcnow


def new_run_key() -> str:
    """A token that names one start of a case's run: 128 random bits, never recurring."""
    return secrets.token_hex(16)


class Concern(Base):
    """What a member of staff saw or heard about a child, in their words: it opens a sharing
    case, and nothing else is kept here."""

    __tablename__ = "concerns"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id"))
    raised_by: Mapped[str] = mapped_column(ForeignKey("staff.staff_id"))
    category: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str | None] = mapped_column(Sealed("concerns.place"), nullable=True)
    what_happened: Mapped[str] = mapped_column(Sealed("concerns.what_happened"))
    child_words: Mapped[str | None] = mapped_column(Sealed("concerns.child_words"), nullable=True)
    action_taken: Mapped[str | None] = mapped_column(Sealed("concerns.action_taken"), nullable=True)
    who_told: Mapped[str | None] = mapped_column(Sealed("concerns.who_told"), nullable=True)
    # the web form's one-time value: a form sent twice records one concern
    submission_key: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    # the member of staff an allegation is about: kept from them (need to know)
    allegation_against: Mapped[str | None] = mapped_column(
        Sealed("concerns.allegation_against"), nullable=True
    )
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Case(Base):
    """A case about one child (`child_id`): a sharing decision, or another kind (`kind`) opened
    by a record of its own (openings.py); only a sharing case has a concern. Its facts live in
    `case_steps`; the other columns are a listing projection."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="sharing", server_default="sharing")
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id"), index=True)
    concern_id: Mapped[int | None] = mapped_column(
        ForeignKey("concerns.id"), unique=True, nullable=True
    )
    status: Mapped[str] = mapped_column(String(16), default="open")
    flow_run_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # names the case's run in Prefect (its start key), random so that no other case, in this
    # database or one that replaces it, can ever find this case's run; a new one starts the
    # case's workflow afresh. None on cases opened before it existed (keyed by their id).
    run_key: Mapped[str | None] = mapped_column(String(32), nullable=True, default=new_run_key)
    waiting_step: Mapped[str | None] = mapped_column(String(32), nullable=True)
    waiting_slot: Mapped[str | None] = mapped_column(String(64), nullable=True)
    waiting_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    waiting_due: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # which deadline rule set waiting_due: the step's own, or "written-confirmation"
    waiting_deadline: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # a phone referral was made: its written confirmation (the agency notification) is due then
    written_due: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    def stop_waiting(self) -> None:
        """Nothing is awaited from anyone on this case now."""
        self.waiting_step = self.waiting_slot = self.waiting_key = None
        self.waiting_since = self.waiting_due = None
        self.waiting_deadline = None

    __table_args__ = (
        Index("ix_cases_status_waiting", "status", "waiting_since"),
        # the overdue check: open cases, by deadline (an equality, then a range and its order)
        Index("ix_cases_status_due", "status", "waiting_due"),
        NEVER_REUSED,
    )


class CaseStep(Base):
    """One row per answer or action on a case step; rejected answers are kept too."""

    __tablename__ = "case_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    step: Mapped[str] = mapped_column(String(32))
    slot: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(80))
    accepted: Mapped[bool] = mapped_column(Boolean)
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any] | None] = mapped_column(
        SealedJSON("case_steps.data"), nullable=True
    )
    problems: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("case_id", "key", name="uq_case_steps_case_key"),
        Index("ix_case_steps_case_slot", "case_id", "slot"),
        NEVER_REUSED,
    )
