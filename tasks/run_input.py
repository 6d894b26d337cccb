"""Removing answers from Prefect once the case database holds them (Prefect keeps no free text)."""

from __future__ import annotations

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
            client.delete_flow_run_input(run_id, response_key(pause_key))
        except ObjectNotFound:
            pass
        except PrefectHTTPStatusError as exc:
            if exc.response.status_code != 404:
                raise
