"""The ways in that a person is sent: links and one-time codes to answer a wait, an agency's
receipt link, a member of staff's link to a notice, and every use of a link.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.tables.base import NEVER_REUSED, Base, UTCDateTime, utcnow


class AnswerLink(Base):
    """A signed, expiring, single-use link that lets one person answer one wait of one case.

    Only a hash of the token is kept: a copy of the database cannot answer for anyone.
    """

    __tablename__ = "answer_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    step: Mapped[str] = mapped_column(String(32))
    slot: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(80))  # the wait this link answers
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.staff_id"))
    flow_run_id: Mapped[str] = mapped_column(String(36))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(24), nullable=True)

    __table_args__ = (Index("ix_answer_links_case_key", "case_id", "key"), NEVER_REUSED)


class LinkAttempt(Base):
    """Every use of a link, failed ones too: when, from where, with what outcome."""

    __tablename__ = "link_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    link_id: Mapped[int | None] = mapped_column(ForeignKey("answer_links.id"), nullable=True)
    token_fingerprint: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))
    outcome: Mapped[str] = mapped_column(String(24))
    status: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_link_attempts_fingerprint_at", "token_fingerprint", "at"),
        Index("ix_link_attempts_address_at", "address", "at"),
        NEVER_REUSED,
    )


class AnswerCode(Base):
    """A one-time code that proves one person answers one wait of one case, in the dashboard or
    the CLI. Only a keyed hash of the code is kept."""

    __tablename__ = "answer_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    step: Mapped[str] = mapped_column(String(32))
    slot: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(80))  # the wait this code answers
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.staff_id"))
    flow_run_id: Mapped[str] = mapped_column(String(36))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(24), nullable=True)

    __table_args__ = (
        Index("ix_answer_codes_case_key_staff", "case_id", "key", "staff_id"),
        NEVER_REUSED,
    )


class ReceiptLink(Base):
    """A signed, expiring, single-use link for an agency to confirm that it received one
    disclosure. Only a hash of the token is kept."""

    __tablename__ = "receipt_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    disclosure_id: Mapped[int] = mapped_column(ForeignKey("disclosures.id"))
    agency_code: Mapped[str] = mapped_column(String(32))
    # who in the agency it was sent to: its duty inbox (None) or the pupil's social worker
    recipient: Mapped[str | None] = mapped_column(String(32), nullable=True)
    slot: Mapped[str] = mapped_column(String(64))  # the receipt wait it answers
    flow_run_id: Mapped[str] = mapped_column(String(36))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(24), nullable=True)

    __table_args__ = (Index("ix_receipt_links_case", "case_id"), NEVER_REUSED)


class NoticeLink(Base):
    """One member of staff's link to a need-to-know notice: who was told, when, and when they
    first opened it. Only a hash of the token is kept."""

    __tablename__ = "notice_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.staff_id"))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # a link replaced by a newer one for the same person (its message did not go)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (Index("ix_notice_links_case_staff", "case_id", "staff_id"), NEVER_REUSED)
