"""The clients safeshare makes of Prefect's API (tasks/flow_runs.py `prefect_client`), on a real
Prefect server: outside a run, each new client reuses the process's one TLS context instead of
reading the CA bundle again (Prefect's own client does, about 30 ms of CPU each time, even for
an http:// API); inside a run, the run's own client is used, as Prefect's get_client would."""

from __future__ import annotations

import ssl
from typing import Any

import pytest
from prefect import flow
from prefect.context import SyncClientContext

from tasks.flow_runs import prefect_client


def test_new_clients_build_no_tls_context_of_their_own(
    prefect_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with prefect_client() as client:  # the process's context is built at most once, here
        assert client.api_healthcheck() is None
    built: list[object] = []
    real = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(args or kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    for _ in range(3):
        with prefect_client() as client:
            assert client.api_healthcheck() is None
    assert built == []


@flow(name="client-inside-a-run", persist_result=False)
def client_inside_a_run() -> bool:
    context = SyncClientContext.get()
    return context is not None and prefect_client() is context.client


def test_inside_a_run_the_runs_own_client_is_used(prefect_server: Any) -> None:
    assert client_inside_a_run() is True
