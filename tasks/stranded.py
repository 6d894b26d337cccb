"""Open cases whose workflow run has stopped, and runs Prefect found silent.

A run that a crash or a failure stopped is restarted under its own id by the `recover-run`
flow, whoever asks: Prefect's automations, the moment a run is Crashed or falls silent, and the
overdue check, for any stopped run it finds and any run in a process whose state has not changed
for longer than the silence (an automation that missed it: its services were down when the run
died, say). Each state of a run is acted on once, however many recoveries read it at once. An
open case that waits for nobody and has no run that will move it on is stranded, and the DSL is
told, once per fault, so whatever strands a case is seen within minutes. `safeshare overdue`
lists the stranded cases beside the overdue ones.

A run suspended on a wait whose answer the case database already holds (recorded while Prefect
could not be told, or at the very moment the wait began) is woken when serving starts and by
every overdue check (`resume_answered_runs`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from prefect.client.schemas.objects import StateType
from prefect.events.filters import (
    EventFilter,
    EventNameFilter,
    EventOccurredFilter,
    EventResourceFilter,
)
from prefect.exceptions import ObjectNotFound
from prefect.states import Crashed
from sqlalchemy import select

from foundations.audit import append
from foundations.db import session_scope
from foundations.settings import get_settings
from models.messages.cases import case_reference, stranded_message
from models.runs import (
    IN_PROCESS,
    RESTARTED,
    RUN_CRASHED,
    RUN_RESTARTED,
    STOPPED,
    CaseRun,
    Judgement,
    Verdict,
    judge_run,
    taken_for_dead,
)
from models.tables.cases import Case
from tasks.flow_runs import case_runs, flow_runs_by_id, prefect_client
from tasks.notify import deliver
from tasks.prefect_api import PrefectApi
from tasks.prefect_task import task
from tasks.run_claims import claimed
from tasks.run_input import Woken, hand_over, recorded_under

logger = logging.getLogger("safeshare.recovery")

#: A case opened, or a run whose state changed, this recently may be moving right now.
GRACE = timedelta(minutes=2)
#: Restarts in a row, without the run reaching a wait, before the DSL is told instead.
MAX_RESTARTS = 3


def _restarts_in_a_row(client: Any, run_id: UUID) -> int:
    """How many times the run was restarted since it last waited for a person."""
    count = 0
    for state in client.read_flow_run_states(run_id):
        if state.type.value == "PAUSED":
            count = 0
        elif state.name == RESTARTED:
            count += 1
    return count


def case_runs_judged(now: datetime, *, page: int | None = None) -> list[tuple[CaseRun, Any]]:
    """Every open case with what Prefect says of its run and what that means: (facts,
    judgement), oldest case first. Reads every open case, and their runs a page at a time."""
    with session_scope() as session:
        cases = session.execute(
            select(Case.id, Case.opened_at, Case.flow_run_id)
            .where(Case.status == "open")
            .order_by(Case.id)
        ).all()
    judged = []
    silence = timedelta(seconds=get_settings().run_silent_seconds)
    with prefect_client() as client:
        runs = flow_runs_by_id(client, [c.flow_run_id for c in cases if c.flow_run_id], page=page)
        for case in cases:
            run = runs.get(case.flow_run_id or "")
            state = run.state if run is not None else None
            facts = CaseRun(
                case_id=case.id,
                opened_at=case.opened_at,
                run_id=case.flow_run_id,
                found=run is not None,
                state=state.type.value if state is not None else None,
                state_at=state.timestamp if state is not None else None,
            )
            if run is not None and facts.state in STOPPED:
                facts = facts.model_copy(
                    update={"restarts_in_a_row": _restarts_in_a_row(client, run.id)}
                )
            judgement = judge_run(
                facts, now=now, grace=GRACE, max_restarts=MAX_RESTARTS, silence=silence
            )
            judged.append((facts, judgement))
    return judged


def stranded_cases(now: datetime, *, page: int | None = None) -> list[dict[str, Any]]:
    """Open cases that nothing moves on at `now`: ids, references, the run and what is wrong
    (for `safeshare overdue`; a run due a restart is not listed: the next check restarts it)."""
    return [
        {
            "case_id": facts.case_id,
            "reference": case_reference(facts.case_id),
            "flow_run_id": facts.run_id,
            "run_state": facts.state,
            "since": (facts.state_at or facts.opened_at).isoformat(),
            "stranded": judgement.why,
        }
        for facts, judgement in case_runs_judged(now, page=page)
        if judgement.verdict is Verdict.STRANDED
    ]


def recovery_deployment() -> str:
    """The deployment that restarts this stack's stopped runs, one at a time."""
    return f"recover-run/{get_settings().deployment}"


def ask_recovery(run_id: str) -> None:
    """Have the `recover-run` deployment look at this run (it restarts it if it is still
    stopped): never restarted from here, so two checks never restart one run twice."""
    from prefect.deployments import run_deployment

    run_deployment(
        recovery_deployment(), parameters={"run_id": run_id}, timeout=0, as_subflow=False
    )


def tell_stranded(facts: CaseRun, judgement: Judgement) -> None:
    """Tell the DSL that nothing moves this open case on (once per case, run and state)."""
    title, body = stranded_message(facts.case_id, judgement.why or "")
    deliver(
        f"case:{facts.case_id}:stranded:{facts.run_id or 'none'}:{facts.state or 'none'}",
        case_id=facts.case_id,
        tag="dsl",
        kind="stranded",
        title=title,
        body=body,
        exclusive=True,
    )
    logger.warning("case %s is stranded: %s", facts.case_id, judgement.why)


def restart_or_report(now: datetime, *, page: int | None = None) -> dict[str, list[int]]:
    """Have every open case's run that a crash or a failure stopped restarted, and every run in
    a process whose state is older than the silence looked at, by `recover-run`; tell the DSL
    of every stranded case. The case ids of each."""
    done: dict[str, list[int]] = {"restarted": [], "looked-at": [], "stranded": []}
    for facts, judgement in case_runs_judged(now, page=page):
        if judgement.verdict in (Verdict.RESTART, Verdict.LOOK) and facts.run_id is not None:
            ask_recovery(facts.run_id)
            done["restarted" if judgement.verdict is Verdict.RESTART else "looked-at"].append(
                facts.case_id
            )
        elif judgement.verdict is Verdict.STRANDED:
            tell_stranded(facts, judgement)
            done["stranded"].append(facts.case_id)
    return done


def heard_from(client: Any, run_id: UUID, since: datetime) -> bool:
    """Whether Prefect heard anything of the run (a heartbeat, a change of state) since then."""
    page = client.read_events(
        filter=EventFilter(
            occurred=EventOccurredFilter.model_validate({"since": since}),
            event=EventNameFilter(prefix=["prefect.flow-run."]),
            resource=EventResourceFilter(id=[f"prefect.flow-run.{run_id}"]),
        ),
        limit=1,
    )
    return bool(page.events)


def _enter(action: str, case_id: int | None, run_id: UUID, was: str | None) -> None:
    """Enter what recover-run did to a run in the audit trail: ids and states only."""
    with session_scope() as session:
        append(
            session.connection(), action, case_id=case_id, detail={"run": str(run_id), "was": was}
        )


def recover_run(run_id: UUID, now: datetime) -> str:
    """What `recover-run` does for one run: a running or pending run not heard from for the
    silence the settings allow is marked Crashed (its process is gone); a run a crash or a
    failure stopped is restarted under its own id, or, after too many restarts in a row, the
    DSL is told. Each state is acted on once, however many recoveries read it at once (an
    automation and the overdue check, say): by the first to claim it (tasks/run_claims.py).
    Each crash and restart of a case's run is entered in the audit trail. What was done, in a
    word: `alive`, `moving`, `not-a-case`, `closed`, `restarted`, `stranded` or `unknown`."""
    silence = timedelta(seconds=get_settings().run_silent_seconds)
    with session_scope() as session:
        case = session.execute(
            select(Case.id, Case.opened_at, Case.status).where(Case.flow_run_id == str(run_id))
        ).first()
    with prefect_client() as client:
        try:
            run = client.read_flow_run(run_id)
        except ObjectNotFound:
            return "unknown"
        state = run.state.type.value if run.state is not None else None
        if state in IN_PROCESS and run.state is not None:
            # the state itself is a sign of life while it is newer than the silence: Prefect
            # stores events a few seconds after they happen, a state change at once
            since = now - silence
            lately = run.state.timestamp > since or heard_from(client, run_id, since)
            if not taken_for_dead(state, lately):
                return "alive"
            with claimed(run_id, run.state.id, "crash") as mine:
                if not mine:
                    return "moving"  # another recovery crashes it, and restarts it
                client.set_flow_run_state(
                    run_id,
                    Crashed(message=f"Not heard from for {silence.seconds} s: its process is gone"),
                )
            logger.warning("flow run %s was silent while %s: crashed", run_id, state)
            _enter(RUN_CRASHED, case.id if case else None, run_id, state)
            run = client.read_flow_run(run_id)
            state = run.state.type.value if run.state is not None else None
        if state not in STOPPED or run.state is None:
            return "moving"
        if case is None:
            return "not-a-case"
        if case.status != "open":
            return "closed"
        facts = CaseRun(
            case_id=case.id,
            opened_at=case.opened_at,
            run_id=str(run_id),
            found=True,
            state=state,
            state_at=run.state.timestamp,
            restarts_in_a_row=_restarts_in_a_row(client, run_id),
        )
        judgement = judge_run(facts, now=now, grace=GRACE, max_restarts=MAX_RESTARTS)
        if judgement.verdict is Verdict.RESTART:
            with claimed(run_id, run.state.id, "restart") as mine:
                if not mine:
                    return "moving"  # another recovery restarts it
                with PrefectApi() as api:
                    api.restart(str(run_id))
            logger.warning("case %s's run %s was %s: restarted", case.id, run_id, state)
            _enter(RUN_RESTARTED, case.id, run_id, state)
            return "restarted"
    tell_stranded(facts, judgement)
    return "stranded"


@task(name="restart-stopped-runs", retries=1, retry_delay_seconds=5)
def restart_stopped_runs(at: str) -> dict[str, list[int]]:
    """The overdue check's third safety net: an open case's run that a crash or a failure
    stopped is restarted, and the DSL hears of any open case that nothing moves on."""
    return restart_or_report(datetime.fromisoformat(at))


# ---------------------------------------------------------------------------------------------
# Runs whose wait was answered while Prefect could not be told.


def resume_answered_runs(
    flow_names: Sequence[str], deployment_name: str, *, page: int | None = None
) -> list[str]:
    """Wake suspended runs whose wait is already answered (or refused) in the case database;
    the ids of those woken. Run when serving starts and by every overdue check. The runs are
    read `page` at a time (Prefect's most, unless a smaller page is asked for: see case_runs)."""
    resumed: list[str] = []
    with prefect_client() as client:
        runs = case_runs(client, flow_names, deployment_name, [StateType.PAUSED], page=page)
        for run in runs:
            pause_key = run.state.state_details.pause_key if run.state else None
            case_id = run.parameters.get("case_id")
            if not pause_key or not isinstance(case_id, int):
                continue
            if not recorded_under(case_id, pause_key):
                continue
            if hand_over(str(run.id), case_id, pause_key) is Woken.WOKEN:
                logger.warning("flow run %s was answered while away: woken", run.id)
                resumed.append(str(run.id))
    return resumed


@task(name="resume-answered-runs", retries=1, retry_delay_seconds=5)
def resume_answered(flow_names: Sequence[str], deployment_name: str) -> list[str]:
    """The overdue check's safety net: a wait answered in the case database whose run was not
    resumed (Prefect was away, or the answer came at the very moment the wait began) moves on
    at the next check, not only when serving restarts."""
    return resume_answered_runs(flow_names, deployment_name)
