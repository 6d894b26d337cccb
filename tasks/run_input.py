"""Runs in Prefect and the answers the case database holds: waking a waiting run once its answer
is recorded (the run reads the answer from the case database: nothing typed passes through
Prefect), and removing a dashboard answer from Prefect once the case database has it. Both over
plain HTTP (tasks/prefect_api.py): a door that records an answer loads no Prefect. Runs whose
answer was recorded while Prefect could not be told are woken by tasks/stranded.py."""

from __future__ import annotations

import logging
import time
from enum import StrEnum

from sqlalchemy import or_, select

from foundations.db import session_scope
from models.kernel.waits import Wait
from models.tables.cases import CaseStep
from tasks.prefect_api import PrefectApi
from tasks.run_claims import claimed, release

logger = logging.getLogger("safeshare.recovery")


def response_key(pause_key: str) -> str:
    """Where Prefect stores the answer to a suspended run's form (the dashboard's door)."""
    return f"suspended-{pause_key}-response"


def forget_answer(pause_key: str, flow_run_id: str | None = None) -> None:
    """Delete the stored answer to one form of this (or the given) flow run; absent is fine."""
    if flow_run_id is None:
        from prefect.runtime import flow_run  # in a run, where Prefect is loaded already

        flow_run_id = flow_run.get_id()
    if flow_run_id is None:
        raise RuntimeError("forget_answer needs a flow run id outside a flow run")
    with PrefectApi() as api:
        api.delete_input(str(flow_run_id), response_key(pause_key))


class Woken(StrEnum):
    """What became of a run told that its wait is answered in the case database."""

    WOKEN = "woken"  # it was suspended on that wait, and now runs on
    MOVED_ON = "moved-on"  # it had been woken already, or waits further on: nothing to do
    SUSPENDING = "suspending"  # still on its way to that wait after the time allowed
    ENDED = "ended"  # it is not running (failed, crashed, cancelled, completed)
    UNREACHABLE = "unreachable"  # Prefect could not be asked


def wake_run(flow_run_id: str, case_id: int, *, settle_seconds: float = 30) -> tuple[Woken, str]:
    """Move a suspended run on, without any run input, when the case database holds what its
    wait waits for (an answer or a refusal, which the run reads there); with the wait's key.

    The case says a wait has begun a moment before its run has finished suspending, so a run
    still Running is watched for a while. A run is never woken on a wait that has nothing
    recorded (it would find no answer anywhere): one suspended further on has moved on. Each
    suspension is woken once, by whoever claims it first (tasks/run_claims.py). A busy
    server is tried again as Prefect's client would (tasks/prefect_api.py); what remains is
    UNREACHABLE, and the next overdue check wakes the run: the answer is safe in the case
    database whatever Prefect says."""
    deadline = time.monotonic() + settle_seconds
    try:
        with PrefectApi() as api:
            while True:
                state = api.run_state(flow_run_id)
                if state is None or state.is_final:
                    return Woken.ENDED, ""
                if state.type == "PAUSED":
                    key = state.pause_key or ""
                    if not recorded_under(case_id, key):
                        return Woken.MOVED_ON, key
                    # one waker per suspension: a door and the overdue check may both have
                    # read it suspended, and Prefect would take the second resume too
                    with claimed(flow_run_id, state.id, "wake") as mine:
                        if not mine:
                            return Woken.MOVED_ON, key
                        accepted = api.resume(flow_run_id)
                    if accepted:
                        return Woken.WOKEN, key
                    release(state.id)
                elif state.type in ("SCHEDULED", "PENDING"):
                    return Woken.MOVED_ON, ""  # woken already: it will find the answer
                if time.monotonic() > deadline:
                    return Woken.SUSPENDING, ""
                time.sleep(0.2)
    except Exception as exc:  # the API is down, or answered an error after every retry
        logger.warning("flow run %s could not be woken: %s", flow_run_id, type(exc).__name__)
        return Woken.UNREACHABLE, ""


def hand_over(flow_run_id: str | None, case_id: int, key: str) -> Woken:
    """After a door recorded an answer (or its refusal) under the wait `key`: wake the run, and
    then remove whatever the dashboard may have stored for that wait in the same moment (the
    case database's answer is the one that counts; nothing typed stays in Prefect)."""
    if flow_run_id is None:
        return Woken.ENDED
    woken, paused_on = wake_run(flow_run_id, case_id)
    if woken is not Woken.UNREACHABLE:
        for stale in {key, paused_on} - {""}:
            try:
                forget_answer(stale, flow_run_id)
            except Exception as exc:
                logger.warning(
                    "flow run %s: input not removed: %s", flow_run_id, type(exc).__name__
                )
    return woken


def recorded_under(case_id: int, pause_key: str) -> bool:
    """Whether the case database holds what a run waiting on `pause_key` waits for: an answer or
    a refusal under the wait's own key (a door recorded it while Prefect was away), or an
    accepted answer to its slot given ahead of the wait (an agency confirmed at the very moment
    the wait began)."""
    try:
        wait, _attempt = Wait.parse_key(pause_key)
    except ValueError:
        return False
    with session_scope() as session:
        row = session.scalar(
            select(CaseStep.id)
            .where(
                CaseStep.case_id == case_id,
                or_(
                    CaseStep.key == pause_key,
                    (CaseStep.slot == wait.slot) & CaseStep.accepted.is_(True),
                ),
            )
            .limit(1)
        )
    return row is not None
