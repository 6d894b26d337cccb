"""Where a recorded case's workflow is started: one flow run per case, keyed by the case, from
whichever door recorded it (the CLI or the web form), and, for a case whose door could not reach
Prefect, by the next overdue check or serving start."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import cast

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select

from models.tables import Case
from safeshare.db import session_scope
from safeshare.settings import get_settings, prefect_settings

logger = logging.getLogger("safeshare.starting")

#: A case recorded this long ago without a run was not started: its door could not reach Prefect
#: (or died between recording and starting). A younger one may be starting now.
UNSTARTED_AFTER = timedelta(minutes=1)


def start_case_run(case_id: int) -> tuple[str | None, str | None]:
    """Create the case's flow run (once: the run is keyed by the case); (run id, problem)."""
    settings = get_settings()
    prefect_settings(settings)
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    from deployments.serve import deployment_name
    from flows.kinds import FLOW_OF_KIND
    from tasks.directory import case_kind, set_flow_run

    kind = case_kind(case_id)
    try:
        run = cast(
            FlowRun,
            run_deployment(
                name=deployment_name(settings, kind),
                parameters={"case_id": case_id},
                timeout=0,
                # Prefect keys idempotency per flow, not per deployment: name the stack too, so two
                # case databases served through one Prefect server never share a run.
                idempotency_key=f"{settings.deployment}:{FLOW_OF_KIND[kind]}-{case_id}",
                tags=["safeshare"],
                # started from the overdue check too: the case's run is its own, not a child
                as_subflow=False,
            ),
        )
    except Exception as exc:  # the Prefect API is down or the deployment is not served
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    set_flow_run(case_id, str(run.id))
    return str(run.id), None


def unstarted_cases(now: datetime) -> list[int]:
    """Open cases recorded before `now - UNSTARTED_AFTER` that have no flow run."""
    with session_scope() as session:
        return list(
            session.scalars(
                select(Case.id)
                .where(
                    Case.status == "open",
                    Case.flow_run_id.is_(None),
                    Case.opened_at <= now - UNSTARTED_AFTER,
                )
                .order_by(Case.id)
            )
        )


def start_unstarted(now: datetime) -> list[int]:
    """Start the run of every open case recorded without one; the ids of those started. A run
    is keyed by its case, so one started meanwhile by `case start` is found, not doubled."""
    started = []
    for case_id in unstarted_cases(now):
        run_id, problem = start_case_run(case_id)
        if problem is None:
            logger.warning("case %s was recorded without a run: started as %s", case_id, run_id)
            started.append(case_id)
        else:
            logger.warning("case %s has no run and did not start: %s", case_id, problem)
    return started


@task(name="start-unstarted-cases", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def start_unstarted_cases(at: str) -> list[int]:
    """The overdue check's other safety net: a case recorded while Prefect was unreachable is
    started at the next check, so it never sits open with nobody told."""
    return start_unstarted(datetime.fromisoformat(at))
