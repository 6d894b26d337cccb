"""What `recover-run` did to a case's workflow run: once per state of the run it acted on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.tables.base import NEVER_REUSED, Base, UTCDateTime, utcnow


class RunRecovery(Base):
    """A state of a run that recovery acted on (`crash`: a silent Running or Pending state
    marked Crashed; `restart`: a Crashed or Failed state put back to Scheduled). The state's
    id, unique, is the claim: of two recoveries that read the same state, only the first to
    write its row acts, so a run is never crashed or restarted twice for one fault, and a
    recovery whose process dies holds nothing (no lock, no lease)."""

    __tablename__ = "run_recoveries"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state_id: Mapped[str] = mapped_column(String(36), unique=True)
    flow_run_id: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
