"""What the state of an open case's workflow run means (pure: the clock is passed in).

An open case is moved on by its run: suspended while it waits for a person, scheduled, pending
or running between two waits. A run that a crash or a failure stopped is restarted under its
own id, a few times in a row at most; a case whose run is over (or missing, or never started)
while the case is open is stranded: nobody is told anything and nothing is overdue, so the DSL
is told instead.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from models.kernel.steps import CaseKind
from models.kernel.values import Frozen

#: Which flow carries each kind of case; its deployment is `<flow>/<stack>`.
FLOW_OF_KIND: dict[CaseKind, str] = {
    CaseKind.SHARING: "sharing-case",
    CaseKind.PLAN_EVENT: "plan-event",
    CaseKind.ACCESS_REQUEST: "access-request",
    CaseKind.NOTICE: "notice",
    CaseKind.TRANSFER: "transfer",
}

#: The name of the state a restarted run is put in (under its own id), in the run's history.
RESTARTED = "Restarted after a crash"

#: Every flow whose runs carry one case (their only parameter is its id).
CASE_FLOWS: tuple[str, ...] = tuple(FLOW_OF_KIND.values())


def deployment_name(stack: str, kind: CaseKind = CaseKind.SHARING) -> str:
    """The served deployment that carries cases of this kind in the stack named `stack`."""
    return f"{FLOW_OF_KIND[kind]}/{stack}"


def start_key(stack: str, kind: CaseKind, case_id: int, run_key: str | None) -> str:
    """The idempotency key of a case's run. Prefect keys idempotency per flow, not per
    deployment: the stack is named too, so two case databases served through one Prefect server
    never share a run. A case opened before run keys existed keeps the key it started under."""
    key = f"{stack}:{FLOW_OF_KIND[kind]}-{case_id}"
    return key if run_key is None else f"{key}:{run_key}"


#: Prefect's state types in which a run still moves its case on (or waits for a person).
MOVING = frozenset({"PAUSED", "SCHEDULED", "PENDING", "RUNNING", "CANCELLING"})
#: The audit trail's entries for what recover-run did to a case's run (counted by /metrics).
RUN_CRASHED, RUN_RESTARTED = "run:crashed", "run:restarted"

#: In a process: started by a serving process, or about to be.
IN_PROCESS = frozenset({"PENDING", "RUNNING"})
#: Ended by a crash or a failure: restarted under its own id.
STOPPED = frozenset({"FAILED", "CRASHED"})


class Verdict(StrEnum):
    MOVING = "moving"  # waiting for a person, or on its way to the next wait
    TOO_SOON = "too-soon"  # opened or changed a moment ago: it may be moving right now
    RESTART = "restart"  # stopped by a crash or a failure: start it again under its own id
    LOOK = "look"  # in a process, unchanged for longer than the silence: is it alive?
    STRANDED = "stranded"  # nothing will move the case on: a person must look


class CaseRun(Frozen):
    """An open case and what Prefect says of its run: `state` is None when it has no run or
    Prefect does not know it (`found`)."""

    case_id: int
    opened_at: datetime
    run_id: str | None
    found: bool = False
    state: str | None = None
    state_at: datetime | None = None
    restarts_in_a_row: int = 0  # restarts since the run last reached a wait


class Judgement(Frozen):
    verdict: Verdict
    why: str | None = None  # for a stranded case: what is wrong, in a few words


def judge_run(
    run: CaseRun,
    *,
    now: datetime,
    grace: timedelta,
    max_restarts: int,
    silence: timedelta | None = None,
) -> Judgement:
    """Whether an open case's run moves it on, should be restarted, or leaves it stranded.
    `grace`: how long a case just opened, or a run that just changed state, is left alone (it
    may be moving right now); `max_restarts`: restarts in a row without reaching a wait before
    a person must look instead. A run a crash or a failure stopped is not moving, however new
    its case: it is restarted at once. `silence`: a run in a process (pending or running) whose
    state is older is looked at (`taken_for_dead`, once its heartbeats are read): Prefect's
    automation finds a silent run the moment it falls silent, this finds one it missed."""
    if run.state in STOPPED:
        if run.restarts_in_a_row < max_restarts:
            return Judgement(verdict=Verdict.RESTART)
        return Judgement(
            verdict=Verdict.STRANDED,
            why=f"its workflow run {run.state.lower()} again after {run.restarts_in_a_row} "
            "restarts",
        )
    if run.opened_at > now - grace:
        return Judgement(verdict=Verdict.TOO_SOON)
    if run.run_id is None:
        return Judgement(verdict=Verdict.STRANDED, why="its workflow never started")
    if not run.found or run.state is None:
        return Judgement(verdict=Verdict.STRANDED, why="its workflow run is not in Prefect")
    stale = silence is not None and (run.state_at or run.opened_at) < now - silence
    if run.state in IN_PROCESS and stale:
        return Judgement(verdict=Verdict.LOOK)
    if run.state in MOVING:
        return Judgement(verdict=Verdict.MOVING)
    if (run.state_at or run.opened_at) > now - grace:
        return Judgement(verdict=Verdict.TOO_SOON)
    return Judgement(verdict=Verdict.STRANDED, why=f"its workflow run is {run.state.lower()}")


def taken_for_dead(state: str | None, heard_lately: bool) -> bool:
    """Whether a run Prefect's automation found silent is dead: still in the process that fell
    silent (running, or pending its start) and not heard from since. A run that has moved on
    (suspended at its wait, restarted, ended) or spoke again is left alone."""
    return state in IN_PROCESS and not heard_lately
