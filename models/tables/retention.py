"""Decisions on records past their retention date, kept after the records are gone."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.tables.base import NEVER_REUSED, Base, Sealed, UTCDateTime, utcnow


class RetentionDecision(Base):
    """A person's decision on records past their retention date (or a refused attempt to
    destroy held ones): kept after the records themselves are gone."""

    __tablename__ = "retention_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_ref: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))  # keep, destroy or refused
    decided_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Sealed("retention_decisions.reason"))
    kept_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    cases: Mapped[int] = mapped_column(Integer)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_retention_decisions_child", "child_ref", "id"), NEVER_REUSED)
