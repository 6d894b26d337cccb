"""Which events wake the serving process (deployments/wake.py): a run of its deployments entering
a state of type SCHEDULED, and nothing else."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest
from prefect.events import Event
from prefect.runner import Runner

from deployments.wake import Looks, in_flight, ready_run, runs_of


def state_event(name: str, state_type: str, resource_id: str) -> Event:
    return Event(
        event=f"prefect.flow-run.{name}",
        resource={
            "prefect.resource.id": resource_id,
            "prefect.state-name": name,
            "prefect.state-type": state_type,
        },
    )


@pytest.mark.parametrize(
    ("name", "state_type"),
    [("Scheduled", "SCHEDULED"), ("Resuming", "SCHEDULED"), ("AwaitingRetry", "SCHEDULED")],
)
def test_a_run_ready_to_start_wakes_the_runner(name: str, state_type: str) -> None:
    run = uuid4()
    assert ready_run(state_event(name, state_type, f"prefect.flow-run.{run}")) == run


@pytest.mark.parametrize(
    ("name", "state_type"),
    [
        ("Pending", "PENDING"),
        ("Running", "RUNNING"),
        ("Suspended", "PAUSED"),
        ("Completed", "COMPLETED"),
        ("Crashed", "CRASHED"),
    ],
)
def test_a_run_in_any_other_state_does_not(name: str, state_type: str) -> None:
    assert ready_run(state_event(name, state_type, f"prefect.flow-run.{uuid4()}")) is None


def test_an_event_without_a_run_id_is_ignored() -> None:
    assert ready_run(state_event("Scheduled", "SCHEDULED", "prefect.flow-run.not-a-uuid")) is None


def test_the_stream_is_asked_for_the_runs_of_its_own_deployments_only() -> None:
    ours = [uuid4(), uuid4()]
    wanted = runs_of(ours)
    assert wanted.event is not None and wanted.event.prefix == ["prefect.flow-run."]
    related = wanted.related
    assert related is not None and not isinstance(related, list)
    assert related.id == [f"prefect.deployment.{id}" for id in ours]


def test_a_runner_not_started_has_nothing_in_flight() -> None:
    assert in_flight(Runner(name="not-started")) == set()


class CountingRunner:
    """Stands in for Prefect's runner where only its look is counted: how many looks a burst of
    wake-ups costs is this module's own logic."""

    started, stopping = True, False

    def __init__(self) -> None:
        self.looks = 0

    async def _get_and_submit_flow_runs(self) -> None:
        self.looks += 1
        await asyncio.sleep(0.01)


def test_a_burst_of_wake_ups_shares_looks_and_each_sees_a_look_begun_after_it() -> None:
    async def burst() -> int:
        served = CountingRunner()
        looks = Looks(served)  # type: ignore[arg-type]
        first = asyncio.create_task(looks.after_now())
        await asyncio.sleep(0)  # the first look is under way
        await asyncio.gather(*(looks.after_now() for _ in range(50)))
        await first
        return served.looks

    # the first look, then one more for the fifty that asked while it was under way
    assert asyncio.run(burst()) == 2


def test_a_look_is_not_made_by_a_runner_stopping() -> None:
    served = CountingRunner()
    served.stopping = True
    asyncio.run(Looks(served).after_now())  # type: ignore[arg-type]
    assert served.looks == 0
