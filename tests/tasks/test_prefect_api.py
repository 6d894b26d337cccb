"""The door's requests of Prefect's API (tasks/prefect_api.py) against a loopback server that
answers as a busy, protected or broken Prefect would: a busy server is tried again, after what it
asks or with backoff, as often as Prefect's client would and no more; a refused connection is
said at once; an error that is not a busy server is not tried again; credentials and a CSRF
token go with the requests as Prefect's client sends them. (On a real Prefect server:
tests/tasks/test_prefect_client.py.)"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from harness.prefect_server import free_port

from tasks import prefect_api
from tasks.prefect_api import PrefectApi, PrefectApiError

RUN = "0b6f7d2e-4f7c-4c55-9a7e-1c1f8f6a0b01"
PAUSED = {"type": "PAUSED", "id": "5d1c", "state_details": {"pause_key": "w-signoff-0"}}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Script:
    """What the server answers, in turn (status, headers, body); the last answer repeats."""

    answers: list[tuple[int, dict[str, str], Any]]
    requests: list[Request] = field(default_factory=list)
    csrf: str | None = None  # the token the server wants with every change, when protected
    slept: list[float] = field(default_factory=list)  # the waits between tries, not waited


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Script, str]]:
    script = Script(answers=[(200, {}, {})])

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            script.requests.append(Request(self.command, self.path, dict(self.headers), body))
            if self.path.startswith("/api/csrf-token"):
                if script.csrf is None:
                    status, headers, reply = 422, {}, {"detail": "CSRF protection is disabled."}
                else:
                    status, headers, reply = 200, {}, {"token": script.csrf, "expiration": None}
            elif (
                script.csrf is not None
                and self.command != "GET"
                and self.headers.get("Prefect-Csrf-Token") != script.csrf
            ):
                status, headers, reply = 403, {}, {"detail": "Invalid CSRF token"}
            else:
                status, headers, reply = (
                    script.answers.pop(0) if len(script.answers) > 1 else script.answers[0]
                )
            data = json.dumps(reply).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    for name in ("PREFECT_API_AUTH_STRING", "PREFECT_API_KEY", "PREFECT_CLIENT_MAX_RETRIES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{httpd.server_port}/api")
    monkeypatch.setenv("PREFECT_CLIENT_CSRF_SUPPORT_ENABLED", "true")
    monkeypatch.setattr(prefect_api.time, "sleep", script.slept.append)
    try:
        yield script, f"http://127.0.0.1:{httpd.server_port}/api"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_run_paused_on_a_wait_is_read_and_resumed_as_prefects_resume_does(
    server: tuple[Script, str],
) -> None:
    script, _ = server
    script.answers = [(200, {}, {"id": RUN, "state": PAUSED}), (201, {}, {"status": "ACCEPT"})]
    with PrefectApi() as api:
        state = api.run_state(RUN)
        assert state is not None and (state.type, state.id, state.pause_key) == (
            "PAUSED",
            "5d1c",
            "w-signoff-0",
        )
        assert not state.is_final
        assert api.resume(RUN) is True
    resume = script.requests[-1]
    assert (resume.method, resume.path) == ("POST", f"/api/flow_runs/{RUN}/set_state")
    assert resume.body["force"] is False
    sent = resume.body["state"]
    assert (sent["type"], sent["name"], sent["state_details"]["flow_run_id"]) == (
        "SCHEDULED",
        "Resuming",
        RUN,
    )
    assert sent["state_details"]["scheduled_time"].endswith("Z")


def test_a_resume_prefect_refuses_is_not_taken_for_one(server: tuple[Script, str]) -> None:
    script, _ = server
    script.answers = [(200, {}, {"status": "REJECT"})]
    with PrefectApi() as api:
        assert api.resume(RUN) is False


def test_a_run_or_input_prefect_does_not_have_is_none_not_an_error(
    server: tuple[Script, str],
) -> None:
    script, _ = server
    script.answers = [(404, {}, {"detail": "Flow run not found"})]
    with PrefectApi() as api:
        assert api.run_state(RUN) is None
        api.delete_input(RUN, "suspended-w-signoff-0-response")
    assert [(r.method, r.path) for r in script.requests if "csrf" not in r.path] == [
        ("GET", f"/api/flow_runs/{RUN}"),
        ("DELETE", f"/api/flow_runs/{RUN}/input/suspended-w-signoff-0-response"),
    ]


def test_a_busy_server_is_tried_again_after_what_it_asks_then_with_backoff(
    server: tuple[Script, str],
) -> None:
    script, _ = server
    script.answers = [
        (503, {"Retry-After": "3"}, {}),
        (429, {}, {}),
        (502, {}, {}),
        (200, {}, {"id": RUN, "state": PAUSED}),
    ]
    with PrefectApi() as api:
        assert api.run_state(RUN) is not None
    assert len(script.requests) == 4
    slept = script.slept
    assert 3 <= slept[0] <= 3.6  # what the server asked, up to a fifth more
    # then 2 ** (tries so far) seconds, a fifth either way: 4 s after the second, 8 after the third
    assert 3.2 <= slept[1] <= 4.8 and 6.4 <= slept[2] <= 9.6


def test_a_server_busy_past_every_retry_is_an_error_after_as_many_tries_as_prefects_client(
    server: tuple[Script, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    script, _ = server
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "2")
    script.answers = [(503, {}, {})]
    with PrefectApi() as api, pytest.raises(PrefectApiError, match="HTTP 503"):
        api.run_state(RUN)
    assert len(script.requests) == 3


def test_an_error_that_is_not_a_busy_server_is_not_tried_again(
    server: tuple[Script, str],
) -> None:
    script, _ = server
    script.answers = [(500, {}, {"detail": "boom"})]
    with PrefectApi() as api, pytest.raises(PrefectApiError, match="HTTP 500"):
        api.resume(RUN)
    assert [r.method for r in script.requests if "csrf" not in r.path] == ["POST"]


def test_extra_retry_codes_are_tried_again(
    server: tuple[Script, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    script, _ = server
    monkeypatch.setenv("PREFECT_CLIENT_RETRY_EXTRA_CODES", "500, 520")
    script.answers = [(520, {}, {}), (200, {}, {"id": RUN, "state": PAUSED})]
    with PrefectApi() as api:
        assert api.run_state(RUN) is not None
    assert len(script.requests) == 2


def test_a_server_that_refuses_the_connection_is_down_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(prefect_api.time, "sleep", slept.append)
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{free_port()}/api")
    with PrefectApi() as api, pytest.raises(PrefectApiError, match="ConnectError"):
        api.run_state(RUN)
    assert slept == []


def test_with_no_api_address_the_stacks_own_server_is_asked(
    server: tuple[Script, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """As every command has it (foundations.settings.prefect_settings)."""
    from foundations.settings import Settings, settings_in_force

    script, url = server
    port = int(url.split(":")[-1].split("/")[0])
    monkeypatch.delenv("PREFECT_API_URL")
    script.answers = [(200, {}, {"id": RUN, "state": PAUSED})]
    with settings_in_force(Settings(home=tmp_path, prefect_port=port)):
        with PrefectApi() as api:
            assert api.run_state(RUN) is not None
    assert script.requests[-1].path == f"/api/flow_runs/{RUN}"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PREFECT_API_KEY": "pnu_key"}, "Bearer pnu_key"),
        (
            {"PREFECT_API_AUTH_STRING": "admin:pass", "PREFECT_API_KEY": "pnu_key"},
            "Basic " + base64.b64encode(b"admin:pass").decode(),
        ),
    ],
)
def test_credentials_go_as_prefects_client_sends_them(
    server: tuple[Script, str],
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    expected: str,
) -> None:
    script, _ = server
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    script.answers = [(200, {}, {"id": RUN, "state": PAUSED})]
    with PrefectApi() as api:
        api.run_state(RUN)
    assert script.requests[-1].headers["Authorization"] == expected


def test_a_protected_server_gets_its_csrf_token_and_a_new_one_when_it_expired(
    server: tuple[Script, str],
) -> None:
    script, _ = server
    script.csrf = "token-1"
    script.answers = [(200, {}, {"status": "ACCEPT"})]
    with PrefectApi() as api:
        assert api.resume(RUN) is True
        script.csrf = "token-2"  # the first one expired
        assert api.resume(RUN) is True
    posts = [r for r in script.requests if r.method == "POST"]
    assert [p.headers.get("Prefect-Csrf-Token") for p in posts] == ["token-1", "token-1", "token-2"]
    assert len({p.headers["Prefect-Csrf-Client"] for p in posts}) == 1
    assert script.slept == []


def test_an_unprotected_server_is_asked_for_a_token_once(server: tuple[Script, str]) -> None:
    script, _ = server
    script.answers = [(200, {}, {"status": "ACCEPT"})]
    with PrefectApi() as api:
        api.resume(RUN)
        api.resume(RUN)
        api.delete_input(RUN, "k")
    assert [r.path.split("?")[0] for r in script.requests].count("/api/csrf-token") == 1


def test_a_run_is_started_from_the_deployment_named_as_prefects_run_deployment_does(
    server: tuple[Script, str],
) -> None:
    script, _ = server
    script.answers = [
        (200, {}, {"id": "d-1", "name": "test"}),
        (201, {}, {"id": RUN, "parameters": {"case_id": 7}, "state": PAUSED}),
    ]
    with PrefectApi() as api:
        run = api.start_run(
            "sharing-case/test", {"case_id": 7}, idempotency_key="test:sharing-case-7:k", tags=["s"]
        )
    assert (run.id, run.parameters, run.state and run.state.type) == (RUN, {"case_id": 7}, "PAUSED")
    find, create = [r for r in script.requests if "csrf" not in r.path]
    assert (find.method, find.path) == ("GET", "/api/deployments/name/sharing-case/test")
    assert (create.method, create.path) == ("POST", "/api/deployments/d-1/create_flow_run")
    assert create.body["parameters"] == {"case_id": 7}
    assert create.body["idempotency_key"] == "test:sharing-case-7:k"
    assert create.body["tags"] == ["s"] and create.body["state"]["type"] == "SCHEDULED"


def test_a_deployment_prefect_does_not_have_is_said_so(server: tuple[Script, str]) -> None:
    script, _ = server
    script.answers = [(404, {}, {"detail": "Deployment not found"})]
    with PrefectApi() as api, pytest.raises(PrefectApiError, match="no deployment sharing-case/x"):
        api.start_run("sharing-case/x", {"case_id": 1}, idempotency_key="k", tags=[])
    assert [r.method for r in script.requests] == ["GET"]  # nothing was created


@pytest.mark.parametrize(
    ("env", "link"),
    [
        ({"PREFECT_API_URL": "http://127.0.0.1:4200/api"}, "http://127.0.0.1:4200"),
        (
            {"PREFECT_API_URL": "https://prefect.trust.example/api/"},
            "https://prefect.trust.example",
        ),
        (
            {
                "PREFECT_API_URL": "http://10.0.0.5:4200/api",
                "PREFECT_UI_URL": "https://dashboard.trust.example/",
            },
            "https://dashboard.trust.example",
        ),
    ],
)
def test_a_runs_dashboard_link_is_where_prefect_itself_says_its_dashboard_is(
    env: dict[str, str], link: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The web app's case page and a wait's messages link to the run in Prefect's dashboard
    without importing Prefect: the same address Prefect's own settings give."""
    from prefect.settings import Settings as PrefectSettings

    monkeypatch.delenv("PREFECT_UI_URL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    expected = f"{link}/runs/flow-run/{RUN}"
    assert prefect_api.run_dashboard_link(RUN) == expected
    assert f"{str(PrefectSettings().ui_url).rstrip('/')}/runs/flow-run/{RUN}" == expected
