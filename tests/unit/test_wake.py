"""Which events wake the serving process (deployments/wake.py): a run of its deployments entering
a state of type SCHEDULED, and nothing else."""

from __future__ import annotations

from uuid import uuid4

import pytest
from prefect.events import Event
from prefect.runner import Runner

from deployments.wake import in_flight, ready_run, runs_of


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
