"""The audit trail's tables: its hash-chained entries, and its head."""

from __future__ import annotations

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.tables.base import Base


class AuditLog(Base):
    """The audit trail: every write and every read of case content, append-only (the database
    refuses UPDATE and DELETE), each entry chained to the one before by its hash."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(48))
    case_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (
        Index("ix_audit_log_case", "case_id", "seq"),
        Index("ix_audit_log_actor", "actor", "seq"),
        Index("ix_audit_log_action", "action", "seq"),  # /metrics: the runs recovered
    )


class AuditHead(Base):
    """One row: the last entry's number and hash. Appending locks it, so writers queue and the
    chain stays one; verifying compares it with the last entry, so a cut-off end is found."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
