"""Shared fixtures: one real Prefect server per session, a real case database per backend
(SQLite and PostgreSQL), the deployments served by a real `deployments.serve` process, and a
loopback HTTP listener that receives every Apprise notification."""

from __future__ import annotations

import os

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

import secrets  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402
import pytest  # noqa: E402
from harness import web  # noqa: E402
from harness.databases import DATA_KEYS, migrated_database  # noqa: E402
from harness.listeners import HttpListener  # noqa: E402
from harness.prefect_server import (  # noqa: E402
    PrefectServer,
    free_port,
    running_prefect_server,
    use_prefect_api,
)
from harness.processes import without_suite_settings  # noqa: E402

from foundations.settings import Settings, settings_env, settings_in_force  # noqa: E402

BACKENDS = ("sqlite", "postgresql")


def _commands_built_once() -> None:
    """Typer's CliRunner builds the whole command tree again at every invoke (each command's
    signature and type hints read: 30 ms quiet, a fifth of a flow-test worker's CPU by py-spy,
    the tests answering through the CLI); the tree is the same each time, so it is built once
    per app. A Typer that no longer builds it there fails here, not silently slower."""
    import functools

    import typer.testing

    assert callable(typer.testing._get_command), "typer.testing builds its commands elsewhere"
    typer.testing._get_command = functools.cache(typer.testing._get_command)


_commands_built_once()


@pytest.fixture(scope="session", autouse=True)
def _settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The settings in force for whatever a test runs in this process without settings of its
    own: a data directory of the session's, and the tests' keyring (never a developer's own
    data directory)."""
    home = tmp_path_factory.mktemp("home")
    with settings_in_force(Settings(home=home, data_keys=DATA_KEYS)) as settings:
        yield settings


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    with running_prefect_server(tmp_path_factory.mktemp("prefect")) as server:
        with use_prefect_api(server.api_url):
            yield server


@pytest.fixture(scope="session")
def listener() -> Iterator[HttpListener]:
    with HttpListener() as http:
        yield http


@dataclass
class Stack:
    """A served safeshare stack on one case database, as `safeshare up` would run it."""

    backend: str
    database_url: str
    home: Path
    settings: Settings  # in force in the test process while the stack runs
    env: dict[str, str]  # its processes' environment: the same settings
    serve_log: Path
    web_url: str
    process: subprocess.Popen[bytes] | None = None
    web: subprocess.Popen[bytes] | None = None

    def start_web(self) -> None:
        log = (self.home / "web.log").open("ab")
        self.web = subprocess.Popen(
            [sys.executable, "-m", "safeshare.web"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise RuntimeError(f"the web app exited with {self.web.returncode}")
            try:
                if (
                    httpx.get(f"{self.web_url}/health/live", timeout=2, verify=web.TLS).status_code
                    == 200
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError("the web app did not answer within 60 s")

    def stop_web(self) -> None:
        if self.web is not None and self.web.poll() is None:
            os.killpg(self.web.pid, signal.SIGTERM)
            self.web.wait(timeout=20)

    def start_serving(self) -> None:
        log = self.serve_log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "deployments.serve"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_deployment(self.settings.deployment, self.process)

    def kill_serving(self) -> None:
        """kill -9 the serving process and its children, as a crash would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop_serving(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def wait_for_deployment(name: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    """Wait until every flow that carries cases is served under the stack's name."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    from models.runs import CASE_FLOWS

    deadline = time.monotonic() + timeout
    waiting = [f"{flow}/{name}" for flow in CASE_FLOWS]
    with get_client(sync_client=True) as client:
        while waiting and time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"deployments.serve exited with {process.returncode}")
            try:
                client.read_deployment_by_name(waiting[0])
                waiting.pop(0)
            except ObjectNotFound:
                time.sleep(0.5)
    if waiting:
        raise RuntimeError(f"deployment {waiting[0]} was not served within {timeout} s")


@pytest.fixture(scope="session", params=BACKENDS)
def stack(
    request: pytest.FixtureRequest,
    prefect_server: PrefectServer,
    listener: HttpListener,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    backend: str = request.param
    home = tmp_path_factory.mktemp(f"home-{backend}")
    with migrated_database(backend, home) as url:
        from foundations.db import engine_for

        apprise_config = home / "apprise.yml"
        apprise_config.write_text(
            "urls:\n"
            f"  - {listener.url(f'/{backend}/tag/dsl')}:\n      tag: dsl\n"
            f"  - {listener.url(f'/{backend}/tag/slt')}:\n      tag: slt\n"
            f"  - {listener.url(f'/{backend}/tag/agency-csc')}:\n      tag: agency:csc\n"
            f"  - {listener.url(f'/{backend}/tag/agency-mash')}:\n      tag: agency:mash\n"
        )
        settings = Settings(
            home=home,
            database_url=url,
            data_keys=DATA_KEYS,
            apprise_config=apprise_config,
            deployment=f"test-{backend}",
            # the runner's own poll is only a safety net: the events stream wakes it when a run is
            # ready (tests/flow/test_serving_process.py proves that with the poll an hour apart),
            # so no test here waits on its pace, and each stack asks a sixth as often
            runner_poll_seconds=30,
            run_silent_seconds=40,  # a dead run is found within 40 s of its last heartbeat
            notify_retry_delay_seconds=0.2,
            web_port=free_port(),
            secret_key=secrets.token_urlsafe(48),
            link_failure_limit=1000,
            sign_in_failure_limit=1000,  # the slowing down is tested on its own
        )
        env = without_suite_settings() | (
            dict(prefect_server.env)
            | settings_env(settings)
            | {
                "PREFECT_LOCAL_STORAGE_PATH": str(home / "results"),
                "PREFECT_UI_URL": prefect_server.api_url.removesuffix("/api"),
                "SAFESHARE_USER": "dsl1",  # who runs the CLI's reading commands: the people's DSL
            }
        )
        stack = Stack(
            backend=backend,
            database_url=url,
            home=home,
            settings=settings,
            env=env,
            serve_log=home / "serve.log",
            web_url=settings.web_url,
        )
        with settings_in_force(settings):
            stack.start_serving()
            stack.start_web()
            try:
                yield stack
            finally:
                stack.stop_web()
                stack.stop_serving()
                # A worker that goes on to tests of the other database stops this stack, and
                # starts a new one, with a new case database, if tests of this one come again:
                # its case ids start again at 1, and a message this stack sent must not pass for
                # one of its.
                listener.forget(lambda record: record.path.startswith(f"/{backend}/"))
                engine_for(url).dispose()


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Hand tests to xdist's workers in lanes, one at a time (tests/harness/lanes.py)."""
    from harness.lanes import LaneScheduling

    return LaneScheduling(config, log)
