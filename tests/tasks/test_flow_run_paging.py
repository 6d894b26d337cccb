"""Reading Prefect's flow runs for the safety nets, on a real Prefect server: every run a crash
left behind is restarted even when there are more than the server answers in one page (200),
and the reader pages through any page size once per run.

The runs are real flow runs of a case flow, created with their state set directly, under a
deployment of their own that nothing serves: what the safety nets do to them stays visible
(Scheduled) instead of starting hundreds of cases.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
from prefect.client.schemas.objects import StateType
from prefect.states import Crashed, State, Suspended

from models.runs import CASE_FLOWS, RESTARTED
from tasks.flow_runs import case_runs, every_flow_run, flow_runs_by_id
from tasks.prefect_api import PrefectApi

#: More than one page of Prefect's API as the real server answers it (200).
MORE_THAN_A_PAGE = 205


@pytest.fixture
def unserved(prefect_server: Any) -> Iterator[tuple[str, UUID]]:
    """A deployment of the sharing-case flow that no process serves: (its name, its id)."""
    name = f"paging-{uuid.uuid4().hex[:8]}"
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name(CASE_FLOWS[0])
        yield name, client.create_deployment(flow_id=flow_id, name=name)


def runs_in(deployment_id: UUID, states: list[State[Any]], case_ids: list[int]) -> list[str]:
    """One real flow run per case id, each created in its given state; their ids."""
    with get_client(sync_client=True) as client:
        return [
            str(
                client.create_flow_run_from_deployment(
                    deployment_id, parameters={"case_id": case_id}, state=state
                ).id
            )
            for state, case_id in zip(states, case_ids, strict=True)
        ]


def test_every_run_a_crash_left_behind_is_found_and_restarted_past_the_servers_page(
    unserved: tuple[str, UUID],
) -> None:
    name, deployment_id = unserved
    count = MORE_THAN_A_PAGE
    crashed = runs_in(deployment_id, [Crashed() for _ in range(count)], list(range(count)))

    with get_client(sync_client=True) as client, PrefectApi() as api:
        found = case_runs(client, CASE_FLOWS, name, [StateType.CRASHED])
        for run in found:
            api.restart(str(run.id))
        now = case_runs(client, CASE_FLOWS, name, [StateType.SCHEDULED])

    assert sorted(str(r.id) for r in found) == sorted(crashed)
    assert sorted(str(r.id) for r in now) == sorted(crashed)
    assert {r.state.name for r in now if r.state is not None} == {RESTARTED}


def test_the_reader_pages_through_a_smaller_page_once_per_run(
    unserved: tuple[str, UUID],
) -> None:
    name, deployment_id = unserved
    made = runs_in(
        deployment_id,
        [Suspended(pause_key=f"k-{i}", timeout_seconds=None) for i in range(11)],
        list(range(11)),
    )
    with get_client(sync_client=True) as client:
        for page in (1, 2, 4, 11, 12):
            runs = case_runs(client, CASE_FLOWS, name, [StateType.PAUSED], page=page)
            assert sorted(str(r.id) for r in runs) == sorted(made), page
        ours = every_flow_run(
            client,
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[name])),
            page=3,
        )
        assert sorted(str(r.id) for r in ours) == sorted(made)
        found = flow_runs_by_id(client, [*made, str(uuid.uuid4())], page=4)
    assert set(found) == set(made)
