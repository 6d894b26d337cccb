"""The directory's tables: children (pseudonymous references), staff and agencies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.tables.base import (
    NEVER_REUSED,
    Base,
    Sealed,
    SealedDate,
    SealedJSON,
    UTCDateTime,
    utcnow,
)

#: Where a directory row came from when a school information system's export wrote it (a
#: roster import); None for one added by hand.
FROM_ROSTER = "roster"


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
    # who the child is, from the school information system (models/roster.py PupilRecord, but
    # the date of birth, which has its own column): names, UPN, the consistent child
    # identifier or why there is none, year group, admission and leaving dates, parents and
    # carers; sealed whole
    identity: Mapped[dict[str, Any] | None] = mapped_column(
        SealedJSON("children.identity"), nullable=True
    )
    # the day the pupil left (a roster import found them gone, or their leaving date came)
    left_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    source: Mapped[str | None] = mapped_column(String(16), nullable=True)
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
    # from the school information system: the work email (how a sign-in provider's account is
    # matched) and job title; the day a roster import found them gone (only such a one is
    # made active again when an export holds them once more: one stopped by hand stays stopped)
    email: Mapped[str | None] = mapped_column(Sealed("staff.email"), nullable=True)
    job_title: Mapped[str | None] = mapped_column(Sealed("staff.job_title"), nullable=True)
    left_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    source: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Agency(Base):
    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    # an Apprise address may carry a password
    notify_url: Mapped[str | None] = mapped_column(Sealed("agencies.notify_url"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
