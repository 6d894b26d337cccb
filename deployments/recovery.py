"""Restart the runs a crash left behind, before serving starts.

A served run lives in a child of the serving process. If that process dies while a run is
Running (between a resume and the next suspend), Prefect keeps the run Running forever; if it is
stopped, the run may end Crashed. Each such run is put back to Scheduled under its own id, so the
served deployment re-runs it from the top: the case database says which steps are done, and every
step is keyed, so nothing is recorded twice. Runs that are suspended, waiting for a person, are
left alone: they hold no process and lose nothing. (While serving, the overdue check restarts
the crashed or failed run of an open case the same way: tasks/stranded.py.)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from prefect.client.schemas.objects import FlowRun, StateType

from tasks.flow_runs import case_runs, prefect_client, restart

logger = logging.getLogger("safeshare.recovery")

#: Left by a serving process that died mid-run: nobody will move these on.
ORPHANED = (StateType.RUNNING, StateType.PENDING)
#: Ended by a crash or a failure (a database outage outlasting the retries, say).
STOPPED = (StateType.CRASHED, StateType.FAILED)


def runs_to_restart(
    flow_names: Sequence[str],
    deployment_name: str,
    *,
    older_than: timedelta,
    page: int | None = None,
) -> list[FlowRun]:
    """Runs of the deployment left orphaned or stopped, whose state is older than `older_than`
    (all of them: every page of Prefect's answer)."""
    cutoff = datetime.now(UTC) - older_than
    with prefect_client() as client:
        runs = case_runs(client, flow_names, deployment_name, [*ORPHANED, *STOPPED], page=page)
    return [
        run
        for run in runs
        if run.state is not None
        and run.state.timestamp is not None
        and run.state.timestamp <= cutoff
    ]


def restart_runs(
    flow_names: Sequence[str],
    deployment_name: str,
    *,
    older_than: timedelta,
    page: int | None = None,
) -> list[str]:
    """Put every run left behind by a crash back to Scheduled; the ids of those restarted."""
    restarted: list[str] = []
    with prefect_client() as client:
        for run in runs_to_restart(flow_names, deployment_name, older_than=older_than, page=page):
            previous = run.state.type.value if run.state else "unknown"
            restart(client, run.id)
            logger.warning("flow run %s was %s: restarted", run.id, previous)
            restarted.append(str(run.id))
    return restarted
