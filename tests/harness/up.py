"""`safeshare up` as a person runs it, for the end-to-end tests: a person's shell, `up` started
and stopped as a terminal or a service manager would, the CLI in its own processes, and what
the case database and Prefect's API say meanwhile."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, create_engine, text

from harness import web
from harness.processes import with_environment, without_suite_settings

SAFESHARE = Path(sys.executable).parent / "safeshare"
SERVED = {
    "sharing-case",
    "plan-event",
    "access-request",
    "notice",
    "transfer",
    "recover-run",
    "overdue-check",
    "retention-review",
    "audit-anchor",
    "roster-pickup",
}


def clean_env(home: Path) -> dict[str, str]:
    """A person's shell: none of the suite's own Prefect or safeshare settings."""
    return without_suite_settings() | {"SAFESHARE_HOME": str(home)}


@contextlib.contextmanager
def production_databases(directory: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The production topology's two PostgreSQL databases, made for the test and dropped after:
    the case database's URL, and the environment that names both."""
    from harness.databases import case_database

    with (
        case_database("postgresql", directory) as cases_url,
        case_database("postgresql", directory) as prefect_url,
    ):
        yield (
            cases_url,
            {
                "DATABASE_URL": cases_url,
                "PREFECT_SERVER_DATABASE_CONNECTION_URL": prefect_url.replace(
                    "postgresql+psycopg://", "postgresql+asyncpg://"
                ),
            },
        )


def start_up(
    env: dict[str, str], prefect_port: int, web_port: int, *options: str
) -> subprocess.Popen[str]:
    """`safeshare up` started as from a terminal of its own (a process group), its output read
    as text."""
    return subprocess.Popen(
        [str(SAFESHARE), "up", "--prefect-port", str(prefect_port), "--web-port", str(web_port),
         *options],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        text=True,
    )  # fmt: skip


@contextlib.contextmanager
def up(
    env: dict[str, str], prefect_port: int, web_port: int, stop: signal.Signals, *options: str
) -> Iterator[str]:
    """Run `safeshare up` until it is up; yield what it said; send `stop` to its process group
    (SIGINT: Ctrl-C in its terminal; SIGTERM: a service manager), or SIGHUP to `up` alone (the
    terminal or SSH session that started it closed, which leaves `up` to stop its parts); check
    that it stopped, cleanly, and that nothing of it is left (`nothing_left`)."""
    process = start_up(env, prefect_port, web_port, *options)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout], daemon=True
    ).start()  # type: ignore[union-attr]
    said: list[str] = []
    try:
        deadline = time.monotonic() + 240
        # everything `up` says, up to its last line
        while not any(line.startswith("Data directory:") for line in said):
            assert time.monotonic() < deadline, "\n".join(said)
            assert process.poll() is None or not lines.empty(), "\n".join(said)
            try:
                said.append(lines.get(timeout=1))
            except queue.Empty:
                pass
        output = "".join(said)
        assert "safeshare is up" in output
        yield output
    finally:
        if process.poll() is None:
            if stop == signal.SIGHUP:
                os.kill(process.pid, stop)
            else:
                os.killpg(process.pid, stop)
        code = process.wait(timeout=90)
    assert code == 0
    nothing_left(Path(env["SAFESHARE_HOME"]), (prefect_port, web_port))


def nothing_left(home: Path, ports: tuple[int, ...], timeout: float = 90) -> None:
    """No process of the stack is left (they all carry its SAFESHARE_HOME, whatever group or
    session they are in), and nothing answers on its ports."""
    deadline = time.monotonic() + timeout
    while left := with_environment("SAFESHARE_HOME", str(home)):
        assert time.monotonic() < deadline, f"left running: {left}"
        time.sleep(0.5)
    for port in ports:
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"


def served_flows(api: str, timeout: float = 90) -> set[str]:
    flows: set[str] = set()
    deadline = time.monotonic() + timeout
    while flows != SERVED and time.monotonic() < deadline:
        deployments = web.post(f"{api}/deployments/filter", json={}).json()
        found = web.post(
            f"{api}/flows/filter",
            json={"flows": {"id": {"any_": [d["flow_id"] for d in deployments]}}},
        ).json()
        flows = {f["name"] for f in found}
        time.sleep(1)
    return flows


def loose_paths(home: Path) -> list[str]:
    """Everything under `home` its owner's group or anyone else could read, write or enter."""
    loose = []
    for directory, _, files in os.walk(home):
        for path in (Path(directory), *(Path(directory) / name for name in files)):
            mode = path.lstat().st_mode
            if mode & 0o077:
                loose.append(f"{path.relative_to(home.parent)} {oct(mode & 0o777)}")
    return loose


def cli(env: dict[str, str]) -> Callable[..., str]:
    def safeshare(*argv: str) -> str:
        done = subprocess.run(
            [str(SAFESHARE), *argv],
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    return safeshare


def wait_of(cases_url: str, case_id: int, step: str, timeout: float = 120) -> dict[str, Any]:
    """The case's wait (its step, key and run), read from the case database once the case waits
    for `step`: the one column that says so is polled (a CLI process each second cost about a
    second of CPU each, on a machine the rest of the suite keeps busy)."""
    engine = create_engine(cases_url)
    try:
        deadline = time.monotonic() + timeout
        waiting: dict[str, Any] = {}
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                row = conn.execute(
                    text(
                        "SELECT waiting_step AS step, waiting_key AS key, flow_run_id "
                        "FROM cases WHERE id = :id"
                    ),
                    {"id": case_id},
                ).one()
            waiting = dict(row._mapping)
            if waiting["step"] == step:
                return waiting
            time.sleep(0.5)
        raise AssertionError(f"case {case_id} never waited for {step}: {waiting}")
    finally:
        engine.dispose()


def case_waiting_for(
    safeshare: Callable[..., str], case_id: int, step: str, cases_url: str, timeout: float = 120
) -> dict[str, Any]:
    """The case, as `safeshare case show` tells it, once it waits for `step` (`wait_of` until
    then; the CLI is asked once, after)."""
    wait_of(cases_url, case_id, step, timeout)
    case: dict[str, Any] = json.loads(safeshare("case", "show", str(case_id), "--json"))
    assert case["waiting"] and case["waiting"]["step"] == step, case
    return case


def outbox_of(cases_url: str, case_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """Each case's rows of the outbox (key, status), read from the case database."""
    engine = create_engine(cases_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT case_id, key, status FROM notifications WHERE case_id IN :ids"
                ).bindparams(bindparam("ids", expanding=True)),
                {"ids": case_ids},
            ).all()
    finally:
        engine.dispose()
    found: dict[int, list[tuple[str, str]]] = {i: [] for i in case_ids}
    for case_id, key, status in rows:
        found[case_id].append((key, status))
    return found


def first_concern(
    env: dict[str, str], prefect_port: int, mark: str, dsl_inbox: str | None = None
) -> tuple[int, dict[str, Any], Callable[..., str]]:
    """On a fresh `up`, through the CLI: an administrator adds the DSL (notified at `dsl_inbox`
    when given), a teacher and a child; the teacher records a concern. The case's id, what
    `concern record --json` said, and the CLI acting as the DSL from then on."""
    shell = {**env, "SAFESHARE_PREFECT_PORT": str(prefect_port)}
    cli(shell)("staff", "add", "it1", "--name", "IT", "--role", "admin")
    admin = cli(shell | {"SAFESHARE_USER": "it1"})
    notify = ("--notify", dsl_inbox) if dsl_inbox else ()
    admin("staff", "add", "dsl1", "--name", "D", "--role", "dsl", *notify)
    admin("staff", "add", "teacher1", "--name", "T", "--role", "staff")
    admin("child", "add", "C-0001", "--dob", "2016-05-01")
    recorded: dict[str, Any] = json.loads(
        cli(shell | {"SAFESHARE_USER": "teacher1"})(
            "concern", "record", "--child", "C-0001", "--raised-by", "teacher1",
            "--category", "physical", "--what", f"{mark} what", "--json",
        )
    )  # fmt: skip
    assert recorded["started"] is True, recorded
    return int(recorded["case_id"]), recorded, cli(shell | {"SAFESHARE_USER": "dsl1"})


README = Path(__file__).resolve().parents[2] / "README.md"
#: What the school information system exports on a new school's first Monday.
MONDAY_STAFF = (
    "Staff Code,First Name,Last Name,Work Email,Job Title\n"
    "JSM,Jo,Smith,jo.smith@school.example,Deputy Head\n"
    "ABC,Al,Brown,al.brown@school.example,Teacher\n"
)
MONDAY_PUPILS = (
    "\ufeffUPN;Legal Surname;Legal Forename;DOB;Year;Contact 1 Name;"
    "Contact 1 Parental Responsibility\n"
    "A123456789012;O'Brien;Zoë;01/09/2016;Year 5;Siobhán O'Brien;Y\n"
)


def monday_commands() -> list[str]:
    """The command lines of the README's "A new school's first Monday", comments cut off."""
    text = README.read_text()
    block = text.split("### A new school's first Monday", 1)[1].split("\n\n", 2)[1]
    lines = [line.strip().split("  #", 1)[0].strip() for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def monday_morning(
    env: dict[str, str], prefect_port: int, dsl_inbox: str, folder: Path
) -> tuple[int, Callable[..., str]]:
    """On a fresh `up`: the README's first Monday, line by line (its `make up` is the `up`
    running; the exports are files the school information system gave; the DSL's address is
    `dsl_inbox`; with no terminal, the password comes on standard input), then a teacher from
    the roster records the first concern about a pupil from the roster. The case's id, and the
    CLI acting as the DSL."""
    import shlex

    (folder / "staff.csv").write_text(MONDAY_STAFF, encoding="utf-8")
    (folder / "pupils.csv").write_text(MONDAY_PUPILS, encoding="utf-8")
    shell = {**env, "SAFESHARE_PREFECT_PORT": str(prefect_port)}
    commands = monday_commands()
    assert commands[0] == "make up" and len(commands) == 9, commands
    for line in commands[1:]:
        argv = shlex.split(line.replace("'mailtos://...'", shlex.quote(dsl_inbox)))
        if argv[0] == "export":
            name, value = argv[1].split("=", 1)
            shell[name] = value
            continue
        assert argv[0] == "safeshare", line
        given = None
        if argv[1:3] == ["staff", "password"]:
            argv.append("--password-stdin")
            given = "a long passphrase for Monday\n"
        done = subprocess.run(
            [str(SAFESHARE), *argv[1:]],
            env=shell,
            cwd=folder,
            capture_output=True,
            text=True,
            input=given,
            stdin=None if given else subprocess.DEVNULL,
            timeout=120,
        )
        assert done.returncode == 0, f"{line}: {done.stdout}{done.stderr}"
    admin = cli(shell)
    (pupil,) = json.loads(admin("child", "list", "--json"))
    recorded = json.loads(
        cli(shell | {"SAFESHARE_USER": "ABC"})(
            "concern", "record", "--child", pupil["child_ref"], "--raised-by", "ABC",
            "--category", "physical", "--what", "a bruise", "--json",
        )
    )  # fmt: skip
    assert recorded["started"] is True, recorded
    return int(recorded["case_id"]), cli(shell | {"SAFESHARE_USER": "JSM"})
