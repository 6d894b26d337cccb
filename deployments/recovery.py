"""Restart the runs a crash left behind, before serving starts.

A served run lives in a child of the serving process. If that process dies while a run is
Running (between a resume and the next suspend), Prefect keeps the run Running forever; if it is
stopped, the run may end Crashed. Each such run is put back to Scheduled under its own id, so the
served deployment re-runs it from the top: the case database says which steps are done, and every
step is keyed, so nothing is recorded twice. Runs that are suspended, waiting for a person, are
left alone: they hold no process and lose nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from prefect import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterName,
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.states import Scheduled

logger = logging.getLogger("safeshare.recovery")

#: Left by a serving process that died mid-run: nobody will move these on.
ORPHANED = (StateType.RUNNING, StateType.PENDING)
#: Ended by a crash or a failure (a database outage outlasting the retries, say).
STOPPED = (StateType.CRASHED, StateType.FAILED)


def runs_to_restart(
    flow_names: Sequence[str], deployment_name: str, *, older_than: timedelta
) -> list[FlowRun]:
    """Runs of the deployment left orphaned or stopped, whose state is older than `older_than`."""
    cutoff = datetime.now(UTC) - older_than
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=list(flow_names))),
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[deployment_name])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[*ORPHANED, *STOPPED]))
            ),
        )
    return [
        run
        for run in runs
        if run.state is not None
        and run.state.timestamp is not None
        and run.state.timestamp <= cutoff
    ]


def restart_runs(
    flow_names: Sequence[str], deployment_name: str, *, older_than: timedelta
) -> list[str]:
    """Put every run left behind by a crash back to Scheduled; the ids of those restarted."""
    restarted: list[str] = []
    with get_client(sync_client=True) as client:
        for run in runs_to_restart(flow_names, deployment_name, older_than=older_than):
            previous = run.state.type.value if run.state else "unknown"
            client.set_flow_run_state(run.id, Scheduled(name="Restarted after a crash"), force=True)
            logger.warning("flow run %s was %s: restarted", run.id, previous)
            restarted.append(str(run.id))
    return restarted
