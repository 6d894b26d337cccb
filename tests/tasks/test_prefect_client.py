"""The clients safeshare makes of Prefect's API (tasks/flow_runs.py `prefect_client`), on a real
Prefect server: outside a run, each new client (and each of the door's, tasks/prefect_api.py)
reuses the process's one TLS context instead of reading the CA bundle again (Prefect's own
client does, about 30 ms of CPU each time, even for an http:// API); inside a run, the run's own
client is used, as Prefect's get_client would. And the door's own requests, made without
Prefect's client: what they read, write and delete is what Prefect's client reads back."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from harness.prefect_server import free_port
from prefect import flow, get_client
from prefect.context import SyncClientContext
from prefect.exceptions import PrefectHTTPStatusError
from prefect.states import Completed, Suspended

from tasks.flow_runs import prefect_client
from tasks.prefect_api import PrefectApi


def _prefect_clients() -> None:
    with prefect_client() as client:
        assert client.api_healthcheck() is None


def _door_requests() -> None:
    with PrefectApi() as api:
        assert api.run_state(str(uuid.uuid4())) is None


@pytest.mark.parametrize("ask", [_prefect_clients, _door_requests], ids=["client", "door"])
def test_new_clients_build_no_tls_context_of_their_own(
    prefect_server: Any, monkeypatch: pytest.MonkeyPatch, ask: Callable[[], None]
) -> None:
    """Prefect's client and httpx would each build one per client, reading the whole CA bundle
    (30-45 ms of CPU), and a door that records an answer makes three."""
    ask()  # the process's context is built at most once, here
    built: list[object] = []
    real = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(args or kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    for _ in range(3):
        ask()
    assert built == []


@flow(name="client-inside-a-run", persist_result=False)
def client_inside_a_run() -> bool:
    context = SyncClientContext.get()
    return context is not None and prefect_client() is context.client


def test_inside_a_run_the_runs_own_client_is_used(prefect_server: Any) -> None:
    assert client_inside_a_run() is True


def _warm_and_ask(api_url: str) -> list[str]:
    """In a new interpreter pointed at `api_url`: import what the forkserver loads, then fork,
    and say whether the forked child has the server's version remembered, under each spelling
    of the URL Prefect's clients use, and whether it still checks (a request to /admin/version)
    when its engine opens a client."""
    probe = (
        "import os, prefect\n"
        "import deployments.warm\n"
        "from prefect._internal import version_checking as v\n"
        "from prefect.client.orchestration import SyncPrefectClient\n"
        "url = os.environ['PREFECT_API_URL']\n"
        "asked = []\n"
        "real = SyncPrefectClient.api_version\n"
        "SyncPrefectClient.api_version = lambda self: asked.append(1) or real(self)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    keys = [v._api_version_check_key(u, prefect.__version__) for u in (url, url + '/')]\n"
        "    known = [v._is_api_version_check_cached(key) for key in keys]\n"
        "    from prefect.context import SyncClientContext\n"
        "    try:\n"
        "        with SyncClientContext.get_or_create():\n"
        "            pass\n"
        "    except RuntimeError:\n"
        "        pass  # the server is not there: the run's own check says so\n"
        "    print(*known, len(asked), flush=True)\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {"PREFECT_API_URL": api_url, "PREFECT_CLIENT_MAX_RETRIES": "0"}
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_runs_forked_after_warming_skip_the_version_handshake(prefect_server: Any) -> None:
    """The forkserver asks the server's version once; a run forked from it asks no more."""
    assert _warm_and_ask(prefect_server.api_url) == ["True", "True", "0"]


def test_a_server_not_there_when_warming_is_left_for_each_run_to_check() -> None:
    """Nothing remembered, nothing raised: a run checks for itself, as without the warm-up."""
    closed = f"http://127.0.0.1:{free_port()}/api"
    assert _warm_and_ask(closed) == ["False", "False", "1"]


def test_the_doors_requests_read_resume_and_forget_what_prefects_client_sees(
    prefect_server: Any,
) -> None:
    with get_client(sync_client=True) as client:  # Prefect resumes only a deployment's runs
        name = f"door-requests-{uuid.uuid4().hex[:8]}"
        deployment = client.create_deployment(client.create_flow_from_name(name), name)
        run = client.create_flow_run_from_deployment(
            deployment, state=Suspended(pause_key="w-signoff-0")
        )
        client.create_flow_run_input(run.id, "suspended-w-signoff-0-response", "{}")
        ended = client.create_flow_run_from_deployment(deployment, state=Completed())
        loose = client.create_flow_run(client_inside_a_run, state=Suspended(pause_key="w-0"))
    with PrefectApi() as api:
        assert api.run_state(str(uuid.uuid4())) is None
        paused = api.run_state(str(run.id))
        assert paused is not None and (paused.type, paused.pause_key) == ("PAUSED", "w-signoff-0")
        api.delete_input(str(run.id), "suspended-w-signoff-0-response")
        api.delete_input(str(run.id), "suspended-w-signoff-0-response")  # gone already: fine
        assert api.resume(str(run.id)) is True
        done = api.run_state(str(ended.id))
        assert done is not None and done.is_final
        assert api.resume(str(loose.id)) is False  # Prefect refuses: not a deployment's run
    with get_client(sync_client=True) as client:
        with pytest.raises(PrefectHTTPStatusError) as gone:
            client.read_flow_run_input(run.id, "suspended-w-signoff-0-response")
        assert gone.value.response.status_code == 404
        state = client.read_flow_run(run.id).state
        assert state is not None and (state.type.value, state.name) == ("SCHEDULED", "Resuming")
        assert str(state.state_details.flow_run_id) == str(run.id)
        assert client.read_flow_run(loose.id).state.type.value == "PAUSED"  # type: ignore[union-attr]


def test_a_run_started_twice_with_one_key_is_one_run(prefect_server: Any) -> None:
    """As a case is started by whichever door recorded it and again by the overdue check."""
    with get_client(sync_client=True) as client:
        name = f"door-starts-{uuid.uuid4().hex[:8]}"
        client.create_deployment(client.create_flow_from_name(name), name)
    key = f"{name}:case-1:{uuid.uuid4().hex}"
    with PrefectApi() as api:
        first = api.start_run(f"{name}/{name}", {"case_id": 1}, idempotency_key=key, tags=["s"])
        again = api.start_run(f"{name}/{name}", {"case_id": 1}, idempotency_key=key, tags=["s"])
    assert first.id == again.id and first.parameters == {"case_id": 1}
    assert first.state is not None and first.state.type == "SCHEDULED"
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(uuid.UUID(first.id))
    assert run.idempotency_key == key and run.tags == ["s"]
