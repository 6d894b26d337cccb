"""The production topology as the topology benchmark drives it (benchmarks/bench_topology.py):
`up --topology production` on fresh PostgreSQL databases and a Redis of its own, the people and
pupils it needs, and the ways the benchmark records cases and reads where they are."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from benchmarks.machines import CpuBox  # noqa: E402
from benchmarks.measures import tree  # noqa: E402

SAFESHARE = Path(sys.executable).parent / "safeshare"
#: The tags the topology's Apprise configuration sends to, each to its own path.
TAGS = ("dsl", "slt", "agency:csc")
#: The web apps the topology runs (the links' answers are spread over them).
WEB_APPS = 2
#: The pupils on a Child Protection Plan the feed of events is about, in turn.
PUPILS_ON_PLAN = 50


class Stack:
    """The running topology and what the benchmark drives it with."""

    def __init__(
        self,
        up: subprocess.Popen[str],
        api: str,
        env: dict[str, str],
        listener: Any,
        web: list[str],
    ) -> None:
        self.up, self.api, self.env, self.listener = up, api, env, listener
        self.web = web  # each web app's address
        #: Each serving process's CPU box, when held to a share of the cores (`--serving-cpus`).
        self.boxes: list[CpuBox] = []

    def cli(self, user: str, *argv: str) -> str:
        done = subprocess.run(
            [str(SAFESHARE), *argv],
            env=self.env | {"SAFESHARE_USER": user},
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        if done.returncode != 0:
            raise RuntimeError(f"safeshare {' '.join(argv[:2])}: {done.stderr[-500:]}")
        return done.stdout


class topology:  # noqa: N801 - used as a context manager, read as a noun
    """`safeshare up --topology production` with `serving` serving processes, on fresh
    databases and a Redis of its own, people and pupils added; stopped on leaving. With
    `serving_cpus`, each serving process (its forkserver and runs with it) is held to that many
    cores, as on a machine of its own (benchmarks/machines.py)."""

    def __init__(self, serving: int, serving_cpus: float | None = None) -> None:
        self.serving = serving
        self.serving_cpus = serving_cpus

    def __enter__(self) -> Stack:
        from contextlib import ExitStack

        from harness.listeners import HttpListener
        from harness.prefect_server import free_port, free_ports
        from harness.redis_server import own_redis
        from harness.up import clean_env, production_databases, start_up

        self._exit = ExitStack()
        work = Path(self._exit.enter_context(tempfile.TemporaryDirectory()))
        _, databases = self._exit.enter_context(production_databases(work))
        redis = self._exit.enter_context(own_redis())
        listener = self._exit.enter_context(HttpListener())
        config = work / "apprise.yml"
        config.write_text(
            "urls:\n" + "".join(f"  - {listener.url('/' + t)}:\n      tag: {t}\n" for t in TAGS)
        )
        prefect_port, web_port = free_port(), free_ports(WEB_APPS)
        env = (
            clean_env(work / "home")
            | databases
            | {
                "SAFESHARE_REDIS_URL": redis.url,
                "SAFESHARE_SERVING_PROCESSES": str(self.serving),
                "SAFESHARE_WEB_PROCESSES": str(WEB_APPS),
                "SAFESHARE_APPRISE_CONFIG": str(config),
                "SAFESHARE_PREFECT_PORT": str(prefect_port),
                "SAFESHARE_WEB_PORT": str(web_port),
            }
        )
        up = start_up(env, prefect_port, web_port, "--topology", "production")
        self._up = up
        said: list[str] = []
        threading.Thread(target=lambda: said.extend(up.stdout or []), daemon=True).start()
        deadline = time.monotonic() + 300
        while not any(line.startswith("Data directory:") for line in said):
            if up.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("up did not start:\n" + "".join(said))
            time.sleep(0.5)
        web = [f"http://127.0.0.1:{web_port + n}" for n in range(WEB_APPS)]
        stack = Stack(up, f"http://127.0.0.1:{prefect_port}/api", env, listener, web)
        if self.serving_cpus:
            stack.boxes = self._hold_serving(up.pid, self.serving_cpus)
        stack.cli("it1", "staff", "add", "it1", "--name", "IT", "--role", "admin")
        for staff, role in (("dsl1", "dsl"), ("head1", "slt")):
            stack.cli("it1", "staff", "add", staff, "--name", staff, "--role", role,
                      "--notify", listener.url(f"/staff/{staff}"))  # fmt: skip
        stack.cli("it1", "child", "add", "B-1", "--dob", "2015-01-01")
        with in_process(stack):  # the pupils on a plan, whose events the feed brings
            from tasks.children import add_child

            for n in range(1, PUPILS_ON_PLAN + 1):
                add_child(f"P-{n}", date_of_birth=date(2015, 1, 1), cp_plan=True)
        return stack

    def _hold_serving(self, up: int, cpus: float) -> list[CpuBox]:
        """Each serving process and what it has started, in a CPU box of its own."""
        deadline = time.monotonic() + 120
        while len(serving := _serving_processes(up)) < self.serving:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(serving)} of {self.serving} serving processes started")
            time.sleep(0.5)
        boxes = []
        for n, pid in enumerate(serving, 1):
            box = self._exit.enter_context(CpuBox(f"safeshare-bench-{os.getpid()}-{n}", cpus))
            box.hold(tree([pid]))
            boxes.append(box)
        return boxes

    def __exit__(self, *exc: object) -> None:
        try:
            if self._up.poll() is None:
                os.killpg(self._up.pid, signal.SIGTERM)
            self._up.wait(timeout=120)
        finally:
            self._exit.close()


def _serving_processes(up: int) -> list[int]:
    """The serving processes `up` started (`python -m deployments.serve`), as the topology's
    test finds them (tests/e2e/test_production_topology.py::parts_of)."""
    from harness.processes import descendants

    return sorted(
        p.pid for p in descendants(up) if p.ppid == up and "deployments.serve" in p.cmdline
    )


def record(stack: Stack, n: int) -> list[int]:
    """n sharing concerns recorded and their runs started, as the web app's form does it (in
    this process: a CLI process per concern would cost the machine more than the case's own
    first step); their case ids."""
    from models.sharing.concern import Category, ConcernFacts
    from tasks.concerns import record_concern
    from tasks.starting import start_case_run

    ids = []
    with in_process(stack):
        for i in range(n):
            case_id = record_concern(
                ConcernFacts(
                    child_ref="B-1",
                    raised_by="dsl1",
                    category=Category.NEGLECT,
                    occurred_at=datetime.now(UTC),
                    what_happened=f"bench {i}",
                )
            )
            _, problem = start_case_run(case_id)
            if problem is not None:
                raise RuntimeError(problem)
            ids.append(case_id)
    return ids


@contextmanager
def in_process(stack: Stack) -> Iterator[None]:
    """This process acting on the topology's case database and Prefect's API."""
    from harness.prefect_server import use_prefect_api

    from foundations.settings import Settings, settings_in_force

    settings = Settings(
        home=Path(stack.env["SAFESHARE_HOME"]),
        database_url=stack.env["DATABASE_URL"],
        prefect_port=int(stack.env["SAFESHARE_PREFECT_PORT"]),
    )
    with settings_in_force(settings), use_prefect_api(stack.api):
        yield


def run_of(stack: Stack, case_id: int) -> str:
    from sqlalchemy import create_engine, text

    engine = _engine(stack.env["DATABASE_URL"], create_engine)
    with engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT flow_run_id FROM cases WHERE id = :id"), {"id": case_id}
            ).scalar_one()
        )


def wait_until(check: Callable[[], bool], timeout: float = 1800, every: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark waited too long")
        time.sleep(every)


def waiting_steps(stack: Stack) -> dict[int, tuple[str | None, str | None]]:
    """Every case's (waiting step, wait key), read from the case database in one query."""
    from sqlalchemy import create_engine, text

    engine = _engine(stack.env["DATABASE_URL"], create_engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, waiting_step, waiting_key FROM cases")).all()
    return {row.id: (row.waiting_step, row.waiting_key) for row in rows}


class Watch:
    """Where every driven case is, read for all of them at once by one thread: each case's
    waiting step and key from the case database in one query, and its run's state from Prefect
    in one filtered read, every `every` seconds. The threads that drive the cases wait on it
    (forty of them each asked the case database and Prefect's API every second, a load the
    benchmark put on the topology it measures)."""

    def __init__(self, stack: Stack, runs: dict[int, str], every: float = 1.0) -> None:
        self.stack, self.runs, self.every = stack, runs, every
        self.steps: dict[int, tuple[str | None, str | None]] = {}
        self.states: dict[str, str] = {}
        self._changed = threading.Condition()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Watch:
        self._read()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._thread.join()

    def _read(self) -> None:
        import httpx

        steps = waiting_steps(self.stack)
        body = {"flow_runs": {"id": {"any_": list(self.runs.values())}}, "limit": 200}
        states: dict[str, str] = {}
        for offset in range(0, len(self.runs), 200):
            found = httpx.post(
                f"{self.stack.api}/flow_runs/filter", json=body | {"offset": offset}, timeout=60
            )
            found.raise_for_status()
            for run in found.json():
                states[run["id"]] = (run.get("state") or {}).get("type", "")
        with self._changed:
            self.steps, self.states = steps, states
            self._changed.notify_all()

    def _watch(self) -> None:
        while not self._stopped.wait(self.every):
            self._read()

    def until(self, case_id: int, step: str | None, state: str, timeout: float = 1800) -> str:
        """Wait until the case waits at `step` (None: at none) with its run in `state`; the
        wait's key."""
        run_id = self.runs[case_id]

        def there() -> bool:
            waiting = self.steps.get(case_id, (None, None))[0]
            return waiting == step and self.states.get(run_id) == state

        with self._changed:
            if not self._changed.wait_for(there, timeout):
                raise TimeoutError(f"case {case_id} never reached {step} ({state})")
            return str(self.steps[case_id][1])


_ENGINES: dict[str, Any] = {}


def _engine(url: str, create: Callable[..., Any]) -> Any:
    if url not in _ENGINES:
        _ENGINES[url] = create(url, pool_size=20)
    return _ENGINES[url]


def prefect_cpu(stack: Stack) -> float:
    """CPU seconds Prefect's API and services spend over a minute, left alone."""
    from harness.processes import descendants

    prefect = [p.pid for p in descendants(stack.up.pid) if "prefect_server" in p.cmdline]

    def cpu() -> float:
        total = 0
        for pid in prefect:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    before = cpu()
    time.sleep(60)
    return cpu() - before


def answer_latencies(stack: Stack, run_id: str) -> list[float]:
    """Each resume of the run to its next wait or its end, from Prefect's state history."""
    import httpx

    states = httpx.get(
        f"{stack.api}/flow_run_states/", params={"flow_run_id": run_id}, timeout=30
    ).json()
    states.sort(key=lambda s: s["timestamp"])
    found, resumed = [], None
    for state in states:
        at = datetime.fromisoformat(state["timestamp"])
        if state["name"] == "Resuming":
            resumed = at
        elif resumed is not None and state["name"] in ("Suspended", "Completed"):
            found.append((at - resumed).total_seconds())
            resumed = None
    return found
