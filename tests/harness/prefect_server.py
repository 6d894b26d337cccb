"""A real Prefect server in a subprocess on 127.0.0.1, and a way for the test process to use it.

Start-up is dominated by database migrations, so a migrated SQLite template is built once per
machine and Prefect version (under a file lock) and copied into each session's workdir.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from deployments.stack import PREFECT_SERVICE_LOOPS, client_env

from .cache import cache_dir, locked

HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 120.0
STOP_GRACE_S = 15.0
LOG_TAIL_LINES = 40
PORT_ATTEMPTS = 3

# Settings every Prefect process we start (server or client) gets: nothing leaves the machine.
_OFFLINE_ENV = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}
# What a client of these servers may skip, decided as for every process of `safeshare up`: the
# servers run without CSRF protection, so no client need ask for a token first.
_CLIENT_ENV = client_env({})


@dataclass(frozen=True)
class PrefectServer:
    """A running Prefect server: where it listens, where it logs, what a client process needs."""

    api_url: str
    port: int
    log_path: Path
    env: Mapping[str, str]
    pid: int


#: Every port `free_port` has handed out in this process: the kernel may give the same free
#: port to two binds in a row (`prefect_port, web_port = free_port(), free_port()` once got
#: 60823 twice, and the web app could not listen).
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, then release), and
    not one this process was given before."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port = int(sock.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def free_ports(count: int) -> int:
    """The first of `count` consecutive free TCP ports on 127.0.0.1, below the range the kernel
    hands out to outgoing connections (32768 and up here), so that none of them is taken by
    one of the suite's own connections between now and when they are bound (as the web apps
    of the production topology take `SAFESHARE_WEB_PORT` and the ports after it)."""
    import random

    for _ in range(1000):
        first = random.randrange(20000, 32000 - count)
        ports = range(first, first + count)
        if _HANDED_OUT.isdisjoint(ports) and all(_bindable(port) for port in ports):
            _HANDED_OUT.update(ports)
            return first
    raise RuntimeError(f"no {count} consecutive free ports below 32000")


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def prefect_command() -> list[str]:
    """The `prefect` CLI of the interpreter running the tests."""
    script = Path(sys.executable).parent / "prefect"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "prefect"]


def _base_env() -> dict[str, str]:
    """The current environment minus any PREFECT_* a developer's shell may carry."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(_OFFLINE_ENV)
    return env


def _sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _is_migrated(path: Path) -> bool:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return False
    return row is not None


def prefect_template_database(directory: Path | None = None) -> Path:
    """Path of a fully migrated Prefect SQLite database, building it if this machine has none."""
    directory = directory or cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    template = directory / f"prefect-template-{version('prefect')}.db"
    if _is_migrated(template):
        return template
    with locked(directory / f"{template.name}.lock"):  # another session may be building it
        if _is_migrated(template):
            return template
        build_dir = directory / f"build-{os.getpid()}"
        shutil.rmtree(build_dir, ignore_errors=True)
        build_dir.mkdir()
        try:
            scratch = build_dir / "prefect.db"
            env = _base_env() | {
                "PREFECT_HOME": str(build_dir / "prefect-home"),
                "PREFECT_SERVER_DATABASE_CONNECTION_URL": _sqlite_url(scratch),
            }
            result = subprocess.run(
                [*prefect_command(), "server", "database", "upgrade", "-y"],
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=300,
            )
            if result.returncode != 0 or not _is_migrated(scratch):
                raise RuntimeError(
                    f"Building the Prefect template database failed (exit {result.returncode}):\n"
                    f"{_tail(result.stdout + result.stderr)}"
                )
            # Fold any WAL back into the main file and leave WAL mode, so the template is one
            # self-contained file that copyfile can copy (the server turns WAL back on).
            with contextlib.closing(sqlite3.connect(scratch)) as conn:
                conn.execute("PRAGMA journal_mode=DELETE")
            # Readers only ever see a complete file: rename is atomic within one directory.
            os.replace(scratch, template)
        finally:
            shutil.rmtree(build_dir, ignore_errors=True)
    return template


def _tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _serves(api_url: str, home: Path) -> bool:
    """True once `api_url` is healthy and is the server whose PREFECT_HOME is `home`.

    The identity check matters when a concurrent session grabbed our port first: its server
    would answer /health while ours is still importing and about to exit with "port in use".
    """
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            if response.status != 200:
                return False
        with urllib.request.urlopen(f"{api_url}/admin/settings", timeout=5) as response:
            settings = json.loads(response.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, ValueError):
        return False
    return bool(settings.get("home") == str(home))


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, then SIGKILL whatever is left after the grace period."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            pass
    # The group may outlive its leader (uvicorn children); make sure nothing is left behind.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextlib.contextmanager
def running_prefect_server(
    workdir: Path, *, startup_timeout: float = STARTUP_TIMEOUT_S
) -> Iterator[PrefectServer]:
    """Run `prefect server start` on a free 127.0.0.1 port with its own home and SQLite database."""
    workdir.mkdir(parents=True, exist_ok=True)
    home = workdir / "prefect-home"
    home.mkdir(exist_ok=True)
    database = workdir / "prefect.db"
    shutil.copyfile(prefect_template_database(), database)
    log_path = workdir / "prefect-server.log"

    for attempt in range(PORT_ATTEMPTS):
        port = free_port()
        api_url = f"http://{HOST}:{port}/api"
        log_offset = log_path.stat().st_size if log_path.exists() else 0
        process = _start_server(port, api_url, home, database, log_path, workdir)
        try:
            _wait_until_healthy(process, api_url, home, log_path, startup_timeout, log_offset)
        except _PortTaken:
            _stop(process)
            if attempt + 1 == PORT_ATTEMPTS:
                raise
            continue
        except BaseException:
            _stop(process)
            raise
        break
    client_env = {
        **_OFFLINE_ENV,
        **_CLIENT_ENV,
        "PREFECT_API_URL": api_url,
        "PREFECT_HOME": str(home),
    }
    try:
        yield PrefectServer(
            api_url=api_url, port=port, log_path=log_path, env=client_env, pid=process.pid
        )
    finally:
        _stop(process)


def _start_server(
    port: int, api_url: str, home: Path, database: Path, log_path: Path, workdir: Path
) -> subprocess.Popen[bytes]:
    env = _base_env() | {
        # the background services look as often as `safeshare up`'s do
        **PREFECT_SERVICE_LOOPS,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": _sqlite_url(database),
        # the dashboard too, as `safeshare up` serves it: tests drive its forms in a browser
        "PREFECT_SERVER_UI_ENABLED": "true",
        "PREFECT_API_URL": api_url,
    }
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            # as `safeshare up` starts it: no copy of a deleted answer is kept in its files
            [sys.executable, "-m", "deployments.prefect_server"]
            + ["server", "start", "--host", HOST, "--port", str(port)],
            env=env,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


class _PortTaken(RuntimeError):
    """The free port we picked was taken before the server bound it (another session won)."""


def _wait_until_healthy(
    process: subprocess.Popen[bytes],
    api_url: str,
    home: Path,
    log_path: Path,
    timeout: float,
    log_offset: int = 0,
) -> None:
    """Poll until our server answers; raise with the tail of this attempt's log if it does not."""

    def tail() -> str:
        with open(log_path, "rb") as log:
            log.seek(log_offset)
            return _tail(log.read().decode(errors="replace"))

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = tail()
            error = _PortTaken if "already in use" in output else RuntimeError
            raise error(
                f"Prefect server exited with code {process.returncode} before answering "
                f"{api_url}/health; last lines of {log_path}:\n{output}"
            )
        if _serves(api_url, home):
            return
        time.sleep(0.2)
    raise RuntimeError(
        f"Prefect server did not answer {api_url}/health within {timeout:.0f} s; "
        f"last lines of {log_path}:\n{tail()}"
    )


def drain_prefect_workers(timeout: float = 30.0) -> None:
    """Flush this process's log and event workers, so nothing is still posting to a stopped server.

    Without this, interpreter exit waits ~75 s on workers retrying a server that is gone.
    """
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    def drain() -> None:
        # drain_all touches only instances that exist (APILogWorker.instance() would start one).
        APILogWorker.drain_all(timeout=timeout, at_exit=False)
        EventsWorker.drain_all(timeout=timeout, at_exit=False)

    # drain_all returns a coroutine when the calling thread runs an event loop (async tests);
    # a thread of our own has none, so it blocks the same way everywhere.
    thread = threading.Thread(target=drain, name="drain-prefect-workers")
    thread.start()
    thread.join()


@contextlib.contextmanager
def use_prefect_api(api_url: str) -> Iterator[None]:
    """Point this process's flows and clients at `api_url`, threads included; drain on exit.

    Also turns ephemeral mode off, so anything that loses the API URL fails loudly instead of
    quietly starting a private server. The environment says the same, for what reads it there
    (a door's own requests, tasks/prefect_api.py, as in every process of a stack).
    """
    import prefect.context
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_CLIENT_CSRF_SUPPORT_ENABLED,
        PREFECT_SERVER_ALLOW_EPHEMERAL_MODE,
        temporary_settings,
    )

    env = {"PREFECT_API_URL": api_url, "PREFECT_CLIENT_CSRF_SUPPORT_ENABLED": "false"}
    before = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    with temporary_settings(
        updates={
            PREFECT_API_URL: api_url,
            PREFECT_SERVER_ALLOW_EPHEMERAL_MODE: False,
            PREFECT_CLIENT_CSRF_SUPPORT_ENABLED: False,  # as in _CLIENT_ENV
        }
    ):
        # temporary_settings only changes this context; threads and contexts copied earlier
        # read the process-global settings context, so replace that too.
        with prefect.context._temporary_global_settings_context(
            prefect.context.get_settings_context()
        ):
            try:
                yield
            finally:
                drain_prefect_workers()
                for name, value in before.items():
                    if value is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = value
