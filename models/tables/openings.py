"""What opens a case other than a concern, each kind in a table of its own with its own typed
columns: a request to see records, a need-to-know notice, a leaver, a Child Protection Plan
event. (A concern, which opens a sharing case, is in cases.py.)

Each row belongs to exactly one case, so the case's id is its key: no second id to hand out,
and a case cannot be opened twice. Whom the case is about is the case's own `child_id`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.tables.base import Base, Sealed, UTCDateTime, utcnow


class OpeningRecord:
    """What every record that opens a case holds: its case, who recorded it, and when; and
    `label`, the code that says what kind of request, notice, move or event it is."""

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    recorded_by: Mapped[str] = mapped_column(ForeignKey("staff.staff_id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def label(self) -> str:
        raise NotImplementedError


class AccessRequest(OpeningRecord, Base):
    """A pupil's or parent's request to see child protection records, as the member of staff
    who received it (`recorded_by`) recorded it."""

    __tablename__ = "access_requests"

    requester: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    request: Mapped[str] = mapped_column(Sealed("access_requests.request"))

    @property
    def label(self) -> str:
        return self.requester


class Notice(OpeningRecord, Base):
    """A need-to-know notice about a child, as the DSL recorded it: the whole of it, for the
    DSL alone."""

    __tablename__ = "notices"

    source: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    details: Mapped[str] = mapped_column(Sealed("notices.details"))

    @property
    def label(self) -> str:
        return self.source


class Leaver(OpeningRecord, Base):
    """A pupil leaving: when, what kind of move, and the school they go to (None when nobody
    knows)."""

    __tablename__ = "leavers"

    move: Mapped[str] = mapped_column(String(16))
    leaving_on: Mapped[date] = mapped_column(Date)
    # where a child has gone can be what keeps them safe: sealed, as it was in the step's answer
    destination: Mapped[str | None] = mapped_column(Sealed("leavers.destination"), nullable=True)
    new_term_starts: Mapped[date | None] = mapped_column(Date, nullable=True)

    @property
    def label(self) -> str:
        return self.move


class PlanEvent(OpeningRecord, Base):
    """An event in the life of a pupil on a Child Protection Plan. `event_key` names the event
    however often it is recorded or imported, so it opens one case."""

    __tablename__ = "plan_events"

    kind: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    details: Mapped[str | None] = mapped_column(Sealed("plan_events.details"), nullable=True)
    event_key: Mapped[str] = mapped_column(String(64), unique=True)

    @property
    def label(self) -> str:
        return self.kind
