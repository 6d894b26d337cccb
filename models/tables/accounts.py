"""Signing in to the web app: sessions, and every attempt to sign in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.tables.base import NEVER_REUSED, Base, UTCDateTime, utcnow


class WebSession(Base):
    """A signed-in person's session: only the hash of its cookie is kept."""

    __tablename__ = "web_sessions"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.staff_id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    second_factor_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SignInAttempt(Base):
    """Every sign-in attempt, failed ones too: who was tried, from where, and how it went."""

    __tablename__ = "sign_in_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[str] = mapped_column(String(64))  # as typed: it may name nobody
    address: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(16))  # password, code or school
    outcome: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_sign_in_attempts_staff_at", "staff_id", "at"),
        Index("ix_sign_in_attempts_address_at", "address", "at"),
        NEVER_REUSED,
    )
