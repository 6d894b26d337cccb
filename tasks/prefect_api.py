"""The few requests a door makes of Prefect's API, over plain HTTP: when an answer is recorded,
read the run's state, move it on, delete a stored run input; when a case is recorded, start its
run from the case's deployment (or restart the run a crash stopped).

Prefect's own client is most of what a process imports to answer a case (about 1.2 s of CPU of the
2.8 s `safeshare answer` took): fifty people answering at the start of a school day ran fifty of
those imports on two cores before a single run was woken. These requests need none of it. They are
made as Prefect's client makes them, from the same settings in the environment (every process of the
stack has them there): PREFECT_API_URL (the stack's own server when it is not set, as
`foundations.settings.prefect_settings` has it for every command); PREFECT_API_AUTH_STRING (Basic)
or PREFECT_API_KEY (Bearer); PREFECT_API_TLS_INSECURE_SKIP_VERIFY and PREFECT_API_SSL_CERT_FILE; a
CSRF token when the server asks for one (PREFECT_CLIENT_CSRF_SUPPORT_ENABLED). A busy or restarting
server is tried again as Prefect's client tries it: after 408, 429, 502 and 503 (and
PREFECT_CLIENT_RETRY_EXTRA_CODES), a timeout or a dropped connection, up to
PREFECT_CLIENT_MAX_RETRIES times, after the server's Retry-After or 2, 4, 8... seconds, give or take
a fifth; a server that refuses the connection from the first request is down, at once.
"""

from __future__ import annotations

import base64
import functools
import os
import random
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any

import httpx

from foundations.settings import Settings, get_settings
from models.runs import RESTARTED

#: Statuses a request is tried again after (Prefect's client: the same, with its extra codes).
RETRY_STATUSES = frozenset({408, 429, 502, 503})
#: Failures of the connection a request is tried again after, once the server has answered.
RETRY_ERRORS: tuple[type[Exception], ...] = (
    httpx.ReadTimeout,
    httpx.PoolTimeout,
    httpx.ConnectTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.LocalProtocolError,
)
#: The states a run does not leave (Prefect's final states).
FINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED", "CRASHED"})


class PrefectApiError(RuntimeError):
    """Prefect's API could not be asked, or answered with an error after every retry."""


@dataclass(frozen=True)
class RunState:
    """What a door needs of a flow run's state: its type, its id, the wait it is paused on."""

    type: str
    id: str
    pause_key: str | None

    @property
    def is_final(self) -> bool:
        return self.type in FINAL


@dataclass(frozen=True)
class Run:
    """A flow run as a door needs it: its id, what it was started with, its state."""

    id: str
    parameters: dict[str, Any]
    state: RunState | None


def _state_of(found: dict[str, Any] | None) -> RunState | None:
    if not found:
        return None
    details = found.get("state_details") or {}
    return RunState(type=found["type"], id=str(found["id"]), pause_key=details.get("pause_key"))


def _scheduled(name: str | None, run_id: str | None = None) -> dict[str, Any]:
    """A Scheduled state, due now, as Prefect's client sends one (`to_state_create`)."""
    details: dict[str, Any] = {
        "scheduled_time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "transition_id": str(uuid.uuid4()),
    }
    if run_id is not None:
        details["flow_run_id"] = run_id
    return {
        "type": "SCHEDULED",
        "name": name,
        "message": None,
        "data": None,
        "state_details": details,
    }


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (a number, or an HTTP date), when it says."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _backoff(attempt: int, retry_after: float | None) -> float:
    """How long to wait before trying again, as Prefect's client waits: what the server asked,
    up to a fifth more; or 2, 4, 8... seconds, a fifth either way."""
    if retry_after is not None:
        return retry_after * random.uniform(1.0, 1.2)
    return float(2 ** (attempt + 1)) * random.uniform(0.8, 1.2)


@functools.cache
def _tls(skip_verify: bool, cafile: str | None) -> ssl.SSLContext:
    """The TLS context every client of this process shares, built once: httpx builds a new one
    for each client otherwise, reading the whole CA bundle (about 45 ms of CPU, three times per
    answer), even for an http:// API."""
    if skip_verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if cafile is None:
        import certifi

        cafile = certifi.where()
    return ssl.create_default_context(cafile=cafile)


def api_url(settings: Settings | None = None) -> str:
    """PREFECT_API_URL, or the stack's own server (of `settings`, else this process's) when it is
    not set (as every command points Prefect there when nothing else says)."""
    given = os.environ.get("PREFECT_API_URL") or (settings or get_settings()).prefect_api_url
    return given.rstrip("/")


def run_dashboard_link(flow_run_id: str) -> str:
    """The run's page in Prefect's dashboard: under PREFECT_UI_URL, or where Prefect's own
    server serves its dashboard, the API's address without its `/api` (Prefect's own rule for a
    self-hosted server, `prefect.settings.PREFECT_UI_URL`, without importing Prefect)."""
    ui = os.environ.get("PREFECT_UI_URL") or api_url().removesuffix("/api")
    return f"{ui.rstrip('/')}/runs/flow-run/{flow_run_id}"


class PrefectApi:
    """A client of the Prefect API in the environment; use it as a context manager."""

    def __init__(self, *, timeout: float = 30, settings: Settings | None = None) -> None:
        url = api_url(settings)
        headers = {"Accept": "application/json"}
        if auth := os.environ.get("PREFECT_API_AUTH_STRING"):
            headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
        elif key := os.environ.get("PREFECT_API_KEY"):
            headers["Authorization"] = f"Bearer {key}"
        verify = _tls(
            _flag("PREFECT_API_TLS_INSECURE_SKIP_VERIFY", False),
            os.environ.get("PREFECT_API_SSL_CERT_FILE") or None,
        )
        self._http = httpx.Client(base_url=url, headers=headers, verify=verify, timeout=timeout)
        self._max_retries = int(os.environ.get("PREFECT_CLIENT_MAX_RETRIES") or 5)
        extra = os.environ.get("PREFECT_CLIENT_RETRY_EXTRA_CODES", "")
        self._retry_statuses = RETRY_STATUSES | {int(c) for c in extra.split(",") if c.strip()}
        self._csrf = _flag("PREFECT_CLIENT_CSRF_SUPPORT_ENABLED", True)
        self._csrf_client = str(uuid.uuid4())
        self._csrf_token: str | None = None
        self._connected = False

    def __enter__(self) -> PrefectApi:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self._http.close()

    # the requests ----------------------------------------------------------------------------

    def health(self) -> int:
        """The status of Prefect's /health, asked once: a health check says what it finds now,
        without the retries of a change (httpx's errors as they come)."""
        return self._http.get("/health").status_code

    def run_state(self, run_id: str) -> RunState | None:
        """The run's state now; None when Prefect has no such run (or it has no state)."""
        response = self._request("GET", f"/flow_runs/{run_id}", missing_ok=True)
        return None if response is None else _state_of(response.json().get("state"))

    def resume(self, run_id: str) -> bool:
        """Move a suspended run on without any run input, as Prefect's own resume does: put it
        back to Scheduled now, named "Resuming"; whether Prefect accepted it."""
        return self.schedule(run_id, "Resuming")

    def restart(self, run_id: str) -> bool:
        """Put a run back to Scheduled under its own id, so its deployment re-runs it from the
        top: the case database says which steps are done, and every step is keyed.

        Forced, so that Prefect keeps the waits the run has already passed: one resumed with a
        dashboard answer that was not recorded yet hands the run that answer again."""
        return self.schedule(run_id, RESTARTED, force=True)

    def schedule(self, run_id: str, name: str, *, force: bool = False) -> bool:
        """Put a run in a Scheduled state named `name`, due now (`force`: whatever Prefect's
        rules say); whether Prefect accepted it."""
        body = {"state": _scheduled(name, run_id), "force": force}
        response = self._request("POST", f"/flow_runs/{run_id}/set_state", json=body)
        assert response is not None
        return bool(response.json().get("status") == "ACCEPT")

    def start_run(
        self, deployment: str, parameters: dict[str, Any], *, idempotency_key: str, tags: list[str]
    ) -> Run:
        """A run of the deployment named `deployment` ("flow/deployment") with these parameters,
        Scheduled now; or the run this key already started (Prefect's idempotency: the key is
        per flow), as it is now. What Prefect's `run_deployment(timeout=0)` does."""
        found = self._request("GET", f"/deployments/name/{deployment}", missing_ok=True)
        if found is None:
            raise PrefectApiError(f"no deployment {deployment} in Prefect: is it served?")
        body = {
            "parameters": parameters,
            "context": {},
            "state": _scheduled(None),
            "tags": tags,
            "idempotency_key": idempotency_key,
            "labels": {},
        }
        response = self._request(
            "POST", f"/deployments/{found.json()['id']}/create_flow_run", json=body
        )
        assert response is not None
        run = response.json()
        state = _state_of(run.get("state"))
        return Run(id=str(run["id"]), parameters=run.get("parameters") or {}, state=state)

    def delete_input(self, run_id: str, key: str) -> None:
        """Delete one stored input of a run; one that is not there is fine."""
        self._request("DELETE", f"/flow_runs/{run_id}/input/{key}", missing_ok=True)

    # how a request is made ---------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, json: Any = None, missing_ok: bool = False
    ) -> httpx.Response | None:
        for attempt in range(self._max_retries + 1):
            last = attempt == self._max_retries
            wait: float | None = None
            try:
                headers = self._csrf_headers() if method != "GET" else {}
                response = self._http.request(method, path, json=json, headers=headers)
            except httpx.ConnectError as exc:  # refused from the start: the server is down
                if not self._connected or last:
                    raise PrefectApiError(f"{method} {path}: {type(exc).__name__}") from exc
            except RETRY_ERRORS as exc:
                if last:
                    raise PrefectApiError(f"{method} {path}: {type(exc).__name__}") from exc
            else:
                self._connected = True
                status = response.status_code
                if missing_ok and status == 404:
                    return None
                if status == 403 and "Invalid CSRF token" in response.text and not last:
                    self._csrf_token = None  # expired: a new one, and at once
                    continue
                if status not in self._retry_statuses or last:
                    if response.is_error:
                        raise PrefectApiError(f"{method} {path}: HTTP {status}")
                    return response
                wait = _retry_after(response.headers.get("Retry-After"))
            time.sleep(_backoff(attempt, wait))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _csrf_headers(self) -> dict[str, str]:
        """The CSRF token a protected server wants with every change (none when it has none)."""
        if not self._csrf:
            return {}
        if self._csrf_token is None:
            response = self._http.get("/csrf-token", params={"client": self._csrf_client})
            if response.status_code == 404 or (
                response.status_code == 422 and "CSRF protection is disabled" in response.text
            ):
                self._csrf = False
                return {}
            if response.is_error:
                raise PrefectApiError(f"GET /csrf-token: HTTP {response.status_code}")
            self._connected = True
            self._csrf_token = str(response.json()["token"])
        return {"Prefect-Csrf-Token": self._csrf_token, "Prefect-Csrf-Client": self._csrf_client}
