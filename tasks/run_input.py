"""Answers in Prefect: resuming a waiting run with one, removing it once the case database holds
it (Prefect keeps no free text), and resuming runs whose answer the case database already has."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from prefect import get_client, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from prefect.runtime import flow_run

logger = logging.getLogger("safeshare.recovery")


def response_key(pause_key: str) -> str:
    """Where Prefect stores the answer to a suspended run's form."""
    return f"suspended-{pause_key}-response"


def forget_answer(pause_key: str, flow_run_id: str | None = None) -> None:
    """Delete the stored answer to one form of this (or the given) flow run; absent is fine."""
    run_id = flow_run_id or flow_run.get_id()
    if run_id is None:
        raise RuntimeError("forget_answer needs a flow run id outside a flow run")
    with get_client(sync_client=True) as client:
        try:
            client.delete_flow_run_input(UUID(str(run_id)), response_key(pause_key))
        except ObjectNotFound:
            pass
        except PrefectHTTPStatusError as exc:
            if exc.response.status_code != 404:
                raise


#: The dashboard's form requires a one-time code (Prefect's server refuses a resume without
#: one). An answer a link recorded, proved by the link, is handed over with this stand-in: the
#: flow finds that answer in the case database under its wait and checks no code for it.
PROVED_ELSEWHERE: dict[str, Any] = {"one_time_code": "recorded"}


def form_input(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer as the dashboard's form takes it: a field not given is left out (the form has
    no null to offer), and an answer without a code carries the stand-in."""
    return PROVED_ELSEWHERE | {name: value for name, value in answer.items() if value is not None}


class NotSuspended(RuntimeError):
    """The run did not become resumable within the time allowed."""


def _still_suspending(exc: Exception) -> bool:
    """Prefect marks a run suspended a moment before it stores the form's schema."""
    from prefect.exceptions import NotPausedError

    return isinstance(exc, NotPausedError) or (
        isinstance(exc, RuntimeError) and "Run input schema not found" in str(exc)
    )


def resume_when_suspended(
    flow_run_id: str, run_input: dict[str, Any], settle_seconds: float = 30
) -> None:
    """Resume a waiting run with an answer. The case database says a step waits a moment before
    the run has finished suspending, so a run still suspending is tried again for a while."""
    from prefect.flow_runs import resume_flow_run

    run_input = form_input(run_input)
    deadline = time.monotonic() + settle_seconds
    while True:
        try:
            resume_flow_run(UUID(flow_run_id), run_input=run_input)
            return
        except Exception as exc:
            if not _still_suspending(exc):
                raise
            if time.monotonic() > deadline:
                raise NotSuspended(f"flow run {flow_run_id} is not suspended") from None
            time.sleep(0.25)


_PAUSE_KEY = re.compile(r"^(?P<slot>.+)-a\d+$")


def recorded_answer(case_id: int, pause_key: str) -> dict[str, Any] | None:
    """The answer the case database holds for the slot a run waits on, if any: under the wait's
    own key (a link answered while Prefect was away) or ahead of it (an agency confirmed at the
    very moment the wait began)."""
    from sqlalchemy import select

    from models.tables import CaseStep
    from safeshare.db import session_scope

    found = _PAUSE_KEY.match(pause_key)
    if found is None:
        return None
    with session_scope() as session:
        data = session.scalar(
            select(CaseStep.data)
            .where(
                CaseStep.case_id == case_id,
                CaseStep.slot == found["slot"],
                CaseStep.accepted.is_(True),
            )
            .order_by(CaseStep.id)
            .limit(1)
        )
    return data if isinstance(data, dict) else None


def resume_answered_runs(flow_names: Sequence[str], deployment_name: str) -> list[str]:
    """Resume suspended runs whose wait is already answered in the case database; the ids of
    those resumed. Run when serving starts and by every overdue check."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    resumed: list[str] = []
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=list(flow_names))),
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[deployment_name])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
            ),
        )
        for run in runs:
            pause_key = run.state.state_details.pause_key if run.state else None
            case_id = run.parameters.get("case_id")
            if not pause_key or not isinstance(case_id, int):
                continue
            data = recorded_answer(case_id, pause_key)
            if data is None:
                continue
            client.resume_flow_run(run.id, run_input=form_input(data))
            logger.warning("flow run %s was answered while away: resumed", run.id)
            resumed.append(str(run.id))
    return resumed


@task(name="resume-answered-runs", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def resume_answered(flow_names: Sequence[str], deployment_name: str) -> list[str]:
    """The overdue check's safety net: a wait answered in the case database whose run was not
    resumed (Prefect was away, or the answer came at the very moment the wait began) moves on
    at the next check, not only when serving restarts."""
    return resume_answered_runs(flow_names, deployment_name)
