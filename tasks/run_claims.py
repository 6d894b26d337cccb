"""Where the right to act on one state of a case's run is taken: once per state (its Prefect
id), by the first process to write it in the case database (models/tables/runs.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from uuid import UUID

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from foundations.db import session_scope
from models.tables.base import utcnow
from models.tables.runs import RunClaim

#: A claim whose state has not moved on after this long is taken over: its claimer died (a
#: wake or a recovery takes a few seconds, a wake's wait for a run still suspending 30 s).
STALE_AFTER = timedelta(minutes=2)


def claim(run_id: UUID | str, state_id: UUID | str, action: str) -> bool:
    """Take the one right to act on this state of the run: False when another process took it
    first and may still be acting on it."""
    now = utcnow()
    try:
        with session_scope() as session:
            session.add(RunClaim(state_id=str(state_id), flow_run_id=str(run_id), action=action))
        return True
    except IntegrityError:
        with session_scope() as session:
            taken = session.execute(
                update(RunClaim)
                .where(RunClaim.state_id == str(state_id), RunClaim.at < now - STALE_AFTER)
                .values(at=now, action=action)
                .execution_options(synchronize_session=False)
            )
            return bool(taken.rowcount)  # type: ignore[attr-defined]


def release(state_id: UUID | str) -> None:
    """Give the claim up (the act failed before it changed anything): another may act."""
    with session_scope() as session:
        session.execute(delete(RunClaim).where(RunClaim.state_id == str(state_id)))


@contextmanager
def claimed(run_id: UUID | str, state_id: UUID | str, action: str) -> Iterator[bool]:
    """Whether this process took the right to act on the state (`claim`); the block acts when
    it did, and an act that raises gives the claim up again (`release`) before it goes on."""
    if not claim(run_id, state_id, action):
        yield False
        return
    try:
        yield True
    except BaseException:
        release(state_id)
        raise
