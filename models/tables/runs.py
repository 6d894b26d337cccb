"""Who acted on which state of a case's workflow run: each state is acted on once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.tables.base import NEVER_REUSED, Base, UTCDateTime, utcnow


class RunClaim(Base):
    """A state of a run that one process took the right to act on: `wake` (a suspended state
    moved on once its answer is recorded), `crash` (a silent Running or Pending state marked
    Crashed), `restart` (a Crashed or Failed state put back to Scheduled). The state's id,
    unique, is the claim: of two processes that read the same state (a door and the overdue
    check; two recoveries), only the first to write its row acts. A claim whose state has not
    moved on a while later is taken over (its claimer died): no lock, no lease is held."""

    __tablename__ = "run_claims"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state_id: Mapped[str] = mapped_column(String(36), unique=True)
    flow_run_id: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
