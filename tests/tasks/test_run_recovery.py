"""Finding a case's run whose process died, on a real Prefect server and both case databases.

The automations that start `recover-run` are put in place once: a serving process that starts
again keeps them (and what they have heard of each run's heartbeat), a changed setting replaces
them, a second copy made by a serving process starting at the same moment is removed.
`recover-run`'s own work: a running run heard from lately is left alone, a silent one is marked
Crashed; a case's stopped run is restarted under its own id, three times in a row at most, and
then the DSL is told instead; a run at its wait, or that is no case's, is not touched. Each
state is acted on once: two recoveries that read the same state (they run side by side) crash
or restart it once. The overdue check has a run in a process whose state is older than the
silence looked at (one an automation missed).

The runs are real flow runs created in the state each test needs, under a deployment nothing
serves, so what recovery does to them stays in view.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from harness.databases import DATA_KEYS
from prefect import get_client
from prefect.states import Crashed, Running, State, Suspended
from sqlalchemy import select, update

from deployments.recovery import install, recovery_automations
from foundations.db import session_scope
from foundations.settings import Settings, settings_in_force
from models.kernel.roles import Role
from models.runs import CASE_FLOWS, RESTARTED, Verdict
from models.sharing.concern import Category, ConcernFacts
from models.tables.audit import AuditLog
from models.tables.cases import Case
from models.tables.outbox import Notification
from models.tables.runs import RunClaim
from tasks.children import add_child
from tasks.concerns import record_concern
from tasks.staff import add_staff
from tasks.stranded import case_runs_judged, heard_from, recover_run


@pytest.fixture
def deployments(prefect_server: Any) -> tuple[UUID, UUID]:
    """A case flow's deployment and a `recover-run` deployment, neither served: their ids."""
    name = f"recovery-{uuid.uuid4().hex[:8]}"
    with get_client(sync_client=True) as client:
        case = client.create_deployment(client.create_flow_from_name(CASE_FLOWS[0]), name)
        recover = client.create_deployment(client.create_flow_from_name("recover-run"), name)
    return case, recover


@pytest.fixture
def in_force(database: str, tmp_path: Path) -> Iterator[Settings]:
    with settings_in_force(
        Settings(home=tmp_path, database_url=database, data_keys=DATA_KEYS, run_silent_seconds=40)
    ) as settings:
        yield settings


def by_name(name: str) -> list[Any]:
    with get_client(sync_client=True) as client:
        return client.read_automations_by_name(name)


def test_automations_are_made_once_and_kept_when_serving_starts_again(
    deployments: tuple[UUID, UUID],
) -> None:
    case, recover = deployments
    stack = f"s-{uuid.uuid4().hex[:6]}"
    wanted = recovery_automations(stack, recover, [case], 90)
    with get_client(sync_client=True) as client:
        first = install(client, wanted)
        again = install(client, recovery_automations(stack, recover, [case], 90))

    assert again == first  # the same automations, with what they heard
    assert [[a.id for a in by_name(w.name)] for w in wanted] == [[id] for id in first]
    silent = by_name(wanted[0].name)[0]
    assert silent.trigger.posture == "Proactive"
    assert silent.trigger.within == timedelta(seconds=90)
    assert silent.actions[0].deployment_id == recover


INSTALL = """
import sys
from uuid import UUID
from prefect import get_client
from deployments.recovery import install, recovery_automations
stack, recover, case = sys.argv[1], UUID(sys.argv[2]), UUID(sys.argv[3])
with get_client(sync_client=True) as client:
    print(*install(client, recovery_automations(stack, recover, [case], 90)))
"""


def test_serving_processes_started_apart_keep_the_same_automations(
    deployments: tuple[UUID, UUID], prefect_server: Any
) -> None:
    """Each serving process is a new interpreter: the trigger's sets of event names come out
    in another order in each (string hashing is seeded per process), and must still match."""
    case, recover = deployments
    stack = f"s-{uuid.uuid4().hex[:6]}"

    def serving_starts(seed: int) -> str:
        done = subprocess.run(
            [sys.executable, "-c", INSTALL, stack, str(recover), str(case)],
            env={**os.environ, **prefect_server.env, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert {serving_starts(seed) for seed in (1, 2, 3, 4)} == {serving_starts(5)}


def test_a_changed_silence_replaces_the_automation_and_a_second_copy_is_removed(
    deployments: tuple[UUID, UUID],
) -> None:
    case, recover = deployments
    stack = f"s-{uuid.uuid4().hex[:6]}"
    with get_client(sync_client=True) as client:
        first = install(client, recovery_automations(stack, recover, [case], 90))
        changed = recovery_automations(stack, recover, [case], 120)
        copy = client.create_automation(changed[1])  # a second serving process, at once
        now = install(client, changed)

    assert now[0] != first[0]  # replaced: the silence changed
    assert [a.trigger.within for a in by_name(changed[0].name)] == [timedelta(seconds=120)]
    assert [a.id for a in by_name(changed[1].name)] == [min(first[1], copy)]
    assert now[1] == min(first[1], copy)


def run_in(deployment: UUID, state: State[Any]) -> UUID:
    with get_client(sync_client=True) as client:
        return client.create_flow_run_from_deployment(
            deployment, parameters={"case_id": 1}, state=state
        ).id


def state_of(run_id: UUID) -> tuple[str, str | None, str]:
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run_id).state
    assert state is not None
    return state.type.value, state.name, state.message or ""


def heard(run_id: UUID, timeout: float = 30) -> None:
    """Wait until Prefect's event store holds the run's latest event (it stores them in
    batches, a few seconds after they happen)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with get_client(sync_client=True) as client:
            if heard_from(client, run_id, datetime.now(UTC) - timedelta(minutes=1)):
                return
        time.sleep(0.5)
    raise AssertionError(f"no event of run {run_id} was stored")


def case_with_run(suffix: str, run_id: UUID) -> int:
    add_staff(f"dsl-{suffix}", name="D", role=Role.DSL, notify_url=None)
    add_child(f"C-{suffix}", date_of_birth=date(2016, 5, 1), cp_plan=False)
    case_id = record_concern(
        ConcernFacts(
            child_ref=f"C-{suffix}",
            raised_by=f"dsl-{suffix}",
            category=Category.NEGLECT,
            occurred_at=datetime.now(UTC),
            what_happened="x",
        )
    )
    with session_scope() as session:
        session.execute(update(Case).where(Case.id == case_id).values(flow_run_id=str(run_id)))
    return case_id


def test_a_running_run_heard_from_lately_is_left_alone_and_a_silent_one_is_crashed(
    deployments: tuple[UUID, UUID], in_force: Settings
) -> None:
    case, _ = deployments
    alive, silent = run_in(case, Running()), run_in(case, Running())
    heard(alive)
    heard(silent)

    assert recover_run(alive, datetime.now(UTC)) == "alive"
    assert state_of(alive)[0] == "RUNNING"
    # as the automation sees it once the silence has passed (40 s here): nothing since
    later = datetime.now(UTC) + timedelta(seconds=in_force.run_silent_seconds + 5)
    assert recover_run(silent, later) == "not-a-case"
    kind, _, message = state_of(silent)
    assert kind == "CRASHED" and "Not heard from for 40 s" in message
    with session_scope() as session:
        crashed = session.scalars(
            select(AuditLog.detail).where(AuditLog.action == "run:crashed")
        ).all()
    assert [d for d in crashed if str(silent) in d] != []


def test_a_run_at_its_wait_is_not_touched(
    deployments: tuple[UUID, UUID], in_force: Settings
) -> None:
    case, _ = deployments
    waiting = run_in(case, Suspended(pause_key="k", timeout_seconds=None))

    later = datetime.now(UTC) + timedelta(minutes=5)
    assert recover_run(waiting, later) == "moving"
    assert state_of(waiting)[:2] == ("PAUSED", "Suspended")


def test_a_cases_crashed_run_is_restarted_three_times_then_the_dsl_is_told(
    deployments: tuple[UUID, UUID], in_force: Settings, tmp_path: Path
) -> None:
    case, _ = deployments
    run_id = run_in(case, Crashed())
    case_id = case_with_run(tmp_path.name[-6:], run_id)

    for _ in range(3):
        assert recover_run(run_id, datetime.now(UTC)) == "restarted"
        assert state_of(run_id)[:2] == ("SCHEDULED", RESTARTED)
        assert recover_run(run_id, datetime.now(UTC)) == "moving"  # asked twice: once
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(run_id, Crashed(), force=True)
    assert recover_run(run_id, datetime.now(UTC)) == "stranded"

    assert state_of(run_id)[0] == "CRASHED"  # left for a person
    with session_scope() as session:
        told = session.scalars(
            select(Notification.key).where(Notification.case_id == case_id)
        ).all()
        entered = session.scalars(
            select(AuditLog.action).where(
                AuditLog.case_id == case_id, AuditLog.action.like("run:%")
            )
        ).all()
    assert told == [f"case:{case_id}:stranded:{run_id}:CRASHED"]
    assert entered == ["run:restarted"] * 3  # each restart, in the audit trail


def test_a_run_prefect_does_not_know_is_unknown(in_force: Settings, prefect_server: Any) -> None:
    assert recover_run(uuid.uuid4(), datetime.now(UTC)) == "unknown"


def state_id(run_id: UUID) -> UUID:
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run_id).state
    assert state is not None
    return state.id


def claimed_by_another(run_id: UUID, action: str) -> None:
    """What a recovery that read the run's state a moment earlier wrote before it acted."""
    with session_scope() as session:
        session.add(
            RunClaim(state_id=str(state_id(run_id)), flow_run_id=str(run_id), action=action)
        )


def test_a_state_another_recovery_claimed_is_left_to_it(
    deployments: tuple[UUID, UUID], in_force: Settings, tmp_path: Path
) -> None:
    case, _ = deployments
    crashed = run_in(case, Crashed())
    case_with_run(tmp_path.name[-6:], crashed)
    silent = run_in(case, Running())
    heard(silent)
    later = datetime.now(UTC) + timedelta(seconds=in_force.run_silent_seconds + 5)

    claimed_by_another(crashed, "restart")
    assert recover_run(crashed, datetime.now(UTC)) == "moving"
    assert state_of(crashed)[0] == "CRASHED"  # the other restarts it
    claimed_by_another(silent, "crash")
    assert recover_run(silent, later) == "moving"
    assert state_of(silent)[0] == "RUNNING"  # the other crashes it


def test_two_recoveries_of_one_crashed_run_restart_it_once(
    deployments: tuple[UUID, UUID], in_force: Settings, tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    case, _ = deployments
    run_id = run_in(case, Crashed())
    case_id = case_with_run(tmp_path.name[-6:], run_id)
    crash = state_id(run_id)

    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(lambda _: recover_run(run_id, datetime.now(UTC)), range(4)))

    assert sorted(done) == ["moving"] * 3 + ["restarted"], done
    with session_scope() as session:
        claims = session.scalars(
            select(RunClaim.action).where(RunClaim.state_id == str(crash))
        ).all()
        entered = session.scalars(
            select(AuditLog.action).where(
                AuditLog.case_id == case_id, AuditLog.action == "run:restarted"
            )
        ).all()
    assert claims == ["restart"] and len(entered) == 1
    with get_client(sync_client=True) as client:
        restarts = [s for s in client.read_flow_run_states(run_id) if s.name == RESTARTED]
    assert len(restarts) == 1


def test_a_running_run_whose_state_just_changed_is_alive_before_its_events_are_stored(
    deployments: tuple[UUID, UUID], in_force: Settings
) -> None:
    case, _ = deployments
    running = run_in(case, Running())  # no wait for its events: the state is enough

    assert recover_run(running, datetime.now(UTC)) == "alive"
    assert state_of(running)[0] == "RUNNING"


def test_the_overdue_check_looks_at_a_run_unchanged_in_its_process_for_longer_than_the_silence(
    deployments: tuple[UUID, UUID], in_force: Settings, tmp_path: Path
) -> None:
    case, _ = deployments
    running, waiting = (
        run_in(case, Running()),
        run_in(case, Suspended(pause_key="k", timeout_seconds=None)),
    )
    ids = {
        case_with_run(f"{tmp_path.name[-5:]}r", running): Verdict.LOOK,
        case_with_run(f"{tmp_path.name[-5:]}w", waiting): Verdict.MOVING,
    }
    # past the grace of a case just opened, and past the silence
    later = datetime.now(UTC) + timedelta(minutes=3)
    soon = datetime.now(UTC) + timedelta(seconds=in_force.run_silent_seconds - 10)

    judged = {
        facts.case_id: j.verdict for facts, j in case_runs_judged(later) if facts.case_id in ids
    }
    assert judged == ids
    assert recover_run(running, later) == "restarted"  # what the look finds: silent, dead
    assert {
        facts.case_id: j.verdict for facts, j in case_runs_judged(soon) if facts.case_id in ids
    } == dict.fromkeys(ids, Verdict.TOO_SOON)


def test_a_suspension_answered_once_is_woken_once_however_many_wake_it(
    deployments: tuple[UUID, UUID], in_force: Settings, tmp_path: Path
) -> None:
    """A door that recorded the answer and the overdue check's safety net may both read the run
    suspended: Prefect would take both resumes (two Resuming states, CI saw it); one wakes it."""
    from concurrent.futures import ThreadPoolExecutor

    from models.kernel.steps import Step
    from models.kernel.waits import Wait
    from models.tables.cases import CaseStep
    from tasks.run_input import Woken, wake_run

    case, _ = deployments
    wait = Wait(step=Step.MANAGEMENT_SIGNOFF)
    key = wait.key(0)
    run_id = run_in(case, Suspended(pause_key=key, timeout_seconds=None))
    case_id = case_with_run(tmp_path.name[-6:], run_id)
    with session_scope() as session:
        session.add(
            CaseStep(
                case_id=case_id, step="management-signoff", slot=wait.slot,
                key=key, accepted=True, actor="head1", channel="link",
            )
        )  # fmt: skip

    with ThreadPoolExecutor(4) as pool:
        woken = list(pool.map(lambda _: wake_run(str(run_id), case_id)[0], range(4)))

    assert sorted(woken) == [Woken.MOVED_ON] * 3 + [Woken.WOKEN], woken
    with get_client(sync_client=True) as client:
        resumes = [s for s in client.read_flow_run_states(run_id) if s.name == "Resuming"]
    assert len(resumes) == 1


def test_case_start_restarts_a_crashed_run_once_whoever_else_restarts_it(
    in_force: Settings, prefect_server: Any, tmp_path: Path
) -> None:
    """`safeshare case start` (start_case_run) restarts an open case's crashed run, unless a
    recovery has claimed that crash: one restart per stop, from whichever door."""
    from tasks.run_claims import claim, release
    from tasks.starting import start_case_run

    name = f"start-{uuid.uuid4().hex[:8]}"
    with get_client(sync_client=True) as client:
        client.create_deployment(client.create_flow_from_name(CASE_FLOWS[0]), name)
    with settings_in_force(in_force.model_copy(update={"deployment": name})):
        case_id = case_with_run(tmp_path.name[-6:], uuid.uuid4())
        run_id, problem = start_case_run(case_id)
        assert problem is None and run_id is not None
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(UUID(run_id), Crashed(), force=True)
        crash = state_id(UUID(run_id))

        assert claim(run_id, crash, "restart")  # recover-run, at this very moment
        assert start_case_run(case_id) == (run_id, None)
        assert state_of(UUID(run_id))[0] == "CRASHED"  # left to the one that claimed it
        release(crash)  # which gave up
        assert start_case_run(case_id) == (run_id, None)
        assert state_of(UUID(run_id))[:2] == ("SCHEDULED", RESTARTED)
