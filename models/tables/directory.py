"""The directory's tables: children (pseudonymous references), staff and agencies."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.tables.base import NEVER_REUSED, Base, Sealed, SealedDate, UTCDateTime, utcnow


class Child(Base):
    __tablename__ = "children"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_ref: Mapped[str] = mapped_column(String(64), unique=True)
    date_of_birth: Mapped[date] = mapped_column(SealedDate("children.date_of_birth"))
    cp_plan: Mapped[bool] = mapped_column(Boolean, default=False)
    # the pupil's social worker (on a Child Protection Plan): an Apprise address, told of plan
    # events beside children's social care's duty inbox
    social_worker_notify: Mapped[str | None] = mapped_column(
        Sealed("children.social_worker_notify"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Staff(Base):
    __tablename__ = "staff"

    staff_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Sealed("staff.name"))
    role: Mapped[str] = mapped_column(String(16))
    notify_url: Mapped[str | None] = mapped_column(Sealed("staff.notify_url"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # signing in to the web front door: an argon2id hash, and the TOTP secret (sealed) once the
    # second factor is set up
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    totp_secret: Mapped[str | None] = mapped_column(Sealed("staff.totp_secret"), nullable=True)
    # the last TOTP time step used: a code is good once (no replay within its window)
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Agency(Base):
    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    # an Apprise address may carry a password
    notify_url: Mapped[str | None] = mapped_column(Sealed("agencies.notify_url"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
