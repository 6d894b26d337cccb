"""Removing answers from Prefect once the case database holds them (Prefect keeps no free text)."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from prefect import get_client
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from prefect.runtime import flow_run


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
