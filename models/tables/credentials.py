"""The ways in that a person is sent (links and one-time codes to answer a wait, an agency's
receipt link, a member of staff's link to a notice: all personal links, one table), and every
use of a link.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.tables.base import NEVER_REUSED, Base, UTCDateTime, utcnow


class PersonalLink(Base):
    """A signed, expiring link or a one-time code held by one person (or one recipient of a
    disclosure), of one kind (`purpose`, a models.links.LinkPurpose): every kind is issued,
    superseded, verified and spent the same way (tasks/personal_links.py).

    `holder` is who may use it: a member of staff's id, or for a receipt link its recipient
    ("agency", the agency's duty inbox, or "social-worker", the pupil's social worker), with
    the agency in `agency_code`; together they name who confirmed. So it is no foreign key to
    staff. It answers a wait (`step`, `slot`, `key`), confirms a disclosure (`disclosure_id`),
    or opens a notice (the case alone). Only a hash of the secret is kept (a token's SHA-256, a
    code's keyed hash), so a copy of the database opens nothing. Codes are short: two may hash
    alike, so the hash is indexed, never unique. `used_at` with `outcome` says how it was spent
    ("answered", "confirmed", or "superseded" by a newer one to its holder); a notice link is
    never spent by reading, only superseded.
    """

    __tablename__ = "personal_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    holder: Mapped[str] = mapped_column(String(64))
    agency_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    step: Mapped[str | None] = mapped_column(String(32), nullable=True)
    slot: Mapped[str | None] = mapped_column(String(64), nullable=True)
    key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    disclosure_id: Mapped[int | None] = mapped_column(ForeignKey("disclosures.id"), nullable=True)
    flow_run_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    secret_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(24), nullable=True)

    __table_args__ = (
        Index("ix_personal_links_secret_hash", "secret_hash"),
        Index("ix_personal_links_case_key_holder", "case_id", "key", "holder"),
        Index("ix_personal_links_disclosure_holder", "disclosure_id", "holder"),
        NEVER_REUSED,
    )


class LinkAttempt(Base):
    """Every use of a link, failed ones too: when, from where, with what outcome."""

    __tablename__ = "link_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    link_id: Mapped[int | None] = mapped_column(ForeignKey("personal_links.id"), nullable=True)
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
