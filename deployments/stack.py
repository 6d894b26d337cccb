"""`safeshare up`: the whole system on one machine, on embedded defaults.

Starts a Prefect server (its SQLite database under the data directory unless Prefect's own
database setting says otherwise), migrates the case database, and serves the deployments; stops
them all on Ctrl-C, SIGTERM or SIGHUP, or when any of them dies (each with every process it
started).
"""

from __future__ import annotations

import ctypes
import http.client
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from deployments.topology import (
    Part,
    Topology,
    parts,
    production_env,
    production_problem,
    restart_delay,
)
from foundations.db import migrate
from foundations.private import private_home
from foundations.sealing import SealError, keys_path, load_keyring
from foundations.secret_key import SecretKeyError, secret_key
from foundations.settings import Settings, settings_env
from tasks.keys import key_the_chain


class StackError(RuntimeError):
    """The stack could not start; the message says what to do."""


#: Prefect's database keeps what runs did for 30 days after they end: Prefect's own vacuum
#: service deletes older runs with their logs and artifacts (hourly), and events after 7 days
#: (its default). The case database is the record; a waiting case's run has not ended and is
#: kept. An operator's own PREFECT_SERVER_SERVICES_DB_VACUUM_* settings stand.
PREFECT_RETENTION = {
    "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": "events,flow_runs",
    "PREFECT_SERVER_SERVICES_DB_VACUUM_RETENTION_PERIOD": str(30 * 24 * 3600),
}

#: Prefect's background services that nothing of the stack waits for look once a minute, not
#: every 5 to 20 s (Prefect's defaults): each look is a task on the server's own queue and a
#: query or two, and looking less often saves about 0.2 CPU-s a minute, a sixth of what a
#: server alone spends idle and a tenth of what an idle `up`'s spends
#: (benchmarks/idle_server.py). An answer reaches its next step through Prefect's events and
#: the serving process, and a silent or crashed run is found by the automations
#: (deployments/recovery.py: Prefect's triggers, left as they are); none goes through these.
#: Each comment says what a minute delays. An operator's own settings stand.
PREFECT_SERVICE_LOOPS = {
    # a run past its slot is marked Late 15 to 75 s after it, not 15 to 20 s (the dashboard's
    # word: the serving process starts a Scheduled run and a Late one alike)
    "PREFECT_SERVER_SERVICES_LATE_RUNS_LOOP_SECONDS": "60",
    # a pause past its timeout fails up to a minute later: the stack's waits have no timeout
    # (flows/waiting.py; a wait's deadline is the overdue check's)
    "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_LOOP_SECONDS": "60",
    # a cancelled run's unfinished task runs and child runs are marked Cancelled up to a
    # minute after it, not 20 s
    "PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_LOOP_SECONDS": "60",
    # a deployment whose serving process stopped asking for runs shows Not Ready in the
    # dashboard up to a minute later (workers and work pools: the stack has none)
    "PREFECT_SERVER_SERVICES_FOREMAN_LOOP_SECONDS": "60",
    # a concurrency slot whose holder died is freed up to a minute after its lease ends: the
    # stack sets no concurrency limit
    "PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS": "60",
    # a work pool's worker that took a clean-up message and died: the stack has no work pool
    "PREFECT_SERVER_SERVICES_CLEANUP_RECONCILER_LOOP_SECONDS": "60",
}


def prefect_env(settings: Settings) -> dict[str, str]:
    """The environment every process of the stack shares: where Prefect lives, no telemetry,
    and the stack's own settings."""
    env = dict(os.environ)
    env.update(
        {
            "PREFECT_HOME": str(settings.prefect_home),
            "PREFECT_API_URL": settings.prefect_api_url,
            "PREFECT_UI_URL": settings.prefect_api_url.removesuffix("/api"),
            "PREFECT_LOCAL_STORAGE_PATH": str(settings.prefect_home / "storage"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
        }
        | settings_env(settings)  # the settings `up` runs with, its options included
    )
    env.setdefault(
        "PREFECT_SERVER_DATABASE_CONNECTION_URL",
        f"sqlite+aiosqlite:///{settings.prefect_home / 'prefect.db'}",
    )
    for name, value in (client_env(env) | PREFECT_RETENTION | PREFECT_SERVICE_LOOPS).items():
        env.setdefault(name, value)  # an operator's own setting stands
    if settings.log_format == "json":  # Prefect's console handler, in its own JSON
        env.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_FORMATTER", "json")
    return env


def client_env(env: dict[str, str]) -> dict[str, str]:
    """What every Prefect client of the stack may skip, given the server `env` configures: each
    new client (a run makes about six) first asks the server for a CSRF token, which a server
    without CSRF protection (Prefect's default, and `up`'s) refuses; one request each, saved."""
    protected = env.get("PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED", "").lower()
    if protected in ("1", "true", "yes", "on"):
        return {}
    return {"PREFECT_CLIENT_CSRF_SUPPORT_ENABLED": "false"}


def wait_healthy(
    url: str, process: subprocess.Popen[bytes], timeout: float, name: str = "Prefect server"
) -> None:
    """Wait for a server's health page (`url`) to answer, or fail if its process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StackError(f"the {name} exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError, http.client.HTTPException):  # not up, or not it
            pass
        time.sleep(0.5)
    raise StackError(f"the {name} did not answer at {url} within {timeout:.0f} s")


def port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def group_alive(pgid: int) -> bool:
    """Whether any process of the group is still alive (zombies, already dead, do not count)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        state, _ppid, group = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(group) == pgid and state != "Z":
            return True
    return False


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


def stop(process: subprocess.Popen[bytes] | None, timeout: float = 20) -> None:
    """SIGTERM a child's whole process group, then SIGKILL whatever of it will not go. Also when
    the child itself has already exited: its group lives on without it (the serving process's
    forkserver and runs, a server's workers) and must not be left behind."""
    if process is None:
        return
    pgid = process.pid  # each child leads a session of its own: its group's id is its pid
    _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.poll()  # reaps the child once it exits, so it does not count as alive
        if not group_alive(pgid):
            break
        time.sleep(0.1)
    else:
        _signal_group(pgid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while group_alive(pgid) and time.monotonic() < deadline:
            process.poll()
            time.sleep(0.1)
    process.wait()


def run_stack(
    settings: Settings, say: Callable[[str], None], topology: Topology = "embedded"
) -> int:
    """Start everything (deployments/topology.py), wait for a signal, stop everything. A part
    that dies stops everything in the embedded topology, and is started again in the
    production one (`restart_delay`)."""
    loose = private_home(settings.home)  # and owner-only files from here on, in every child
    if loose:
        say(
            f"The data directory {settings.home} was readable by others: {len(loose)} "
            "file(s) and directories in it are now owner-only (0600 files, 0700 directories)."
        )
    (settings.prefect_home / "storage").mkdir(parents=True, exist_ok=True)
    logs = settings.home / "logs"
    logs.mkdir(exist_ok=True)
    web_apps = settings.web_processes if topology == "production" else 1
    for port, option in (
        (settings.prefect_port, "--prefect-port"),
        *((settings.web_port + n, "--web-port") for n in range(web_apps)),
    ):
        if not port_free(port):
            raise StackError(
                f"port {port} on 127.0.0.1 is in use: stop what uses it or pass {option}"
            )
    try:
        secret_key(settings, create=True)
    except SecretKeyError as exc:
        raise StackError(str(exc)) from None
    say("Migrating the case database ...")
    migrate(settings.case_database_url)
    try:
        ring = load_keyring(settings)
    except SealError as exc:
        raise StackError(str(exc)) from None
    if settings.data_keys is None:
        say(
            f"Personal data is sealed with data key {ring.primary} in {keys_path(settings)}: "
            "back that file up, apart from the database."
        )
    try:
        keyed = key_the_chain()
    except SealError as exc:
        say(f"Warning: {exc}.")
    else:
        if keyed is not None:
            say(f"The audit trail is keyed from entry {keyed} on; its key is in the key file.")
    env = prefect_env(settings)
    if topology == "production":
        problem = production_problem(settings, env)
        if problem:
            raise StackError(problem)
        for name, value in production_env(settings).items():
            env.setdefault(name, value)  # an operator's own setting stands
    stopping = False

    def _on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    # Ctrl-C, a service manager's SIGTERM, and SIGHUP when the terminal or SSH session that
    # started it closes (its children are in sessions of their own: they would not hear it)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _on_signal)

    started: list[tuple[Part, subprocess.Popen[bytes]]] = []
    try:
        for part in parts(settings, topology):
            say(f"Starting the {part.name} ...")
            process = _spawn(part.argv, env | part.env, logs / part.log)
            started.append((part, process))
            if part.health:
                wait_healthy(part.health, process, timeout=part.timeout, name=part.name)
        say(f"safeshare is up. Dashboard: {settings.prefect_api_url.removesuffix('/api')}")
        say(f"Sign-off links: {settings.web_url}")
        say(f"Staff sign in (record a concern; the DSL's cases): {settings.web_url}/sign-in")
        say(f"Data directory: {settings.home}  (logs in {logs}). Ctrl-C stops everything.")
        restarts: dict[str, list[float]] = {}
        due: dict[int, float] = {}  # a part that died: when it starts again
        while not stopping:
            now = time.monotonic()
            for index, (part, process) in enumerate(started):
                if index in due:
                    if now >= due[index]:
                        del due[index]
                        say(f"Starting the {part.name} again ...")
                        started[index] = (part, _spawn(part.argv, env | part.env, logs / part.log))
                    continue
                if process.poll() is None:
                    continue
                code = process.returncode
                delay = restart_delay(topology, restarts.setdefault(part.name, []), now)
                if delay is None:
                    say(f"The {part.name} stopped (exit {code}); stopping the stack.")
                    return 1
                say(f"The {part.name} stopped (exit {code}); starting it again in {delay:g} s.")
                due[index] = now + delay
            time.sleep(0.5)
        say("Stopping ...")
        return 0
    finally:
        for _, process in reversed(started):
            stop(process)


#: prctl(2): the signal a process gets when its parent dies.
PR_SET_PDEATHSIG = 1


def _dies_with(parent: int) -> Callable[[], None]:
    """What a child runs before its program (Linux): SIGTERM when `parent` dies, however it
    dies (kill -9 of `up` included: no handler of its own runs then), or exit if it already has.
    Its own children follow it: the serving process's runs are tethered to it."""

    def in_child() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            return  # not Linux: stop() is the only way down
        if os.getppid() != parent:
            os._exit(1)

    return in_child


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen(
        argv,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_dies_with(os.getpid()),  # `up` has no threads: safe before exec
    )
