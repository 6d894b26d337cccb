"""Benchmark of the production topology (`safeshare up --topology production`) on this machine:
PostgreSQL for the cases and Prefect, a Redis of its own, Prefect's API and services apart, one
web app, and one serving process, then two. Prints figures; asserts nothing.

    make bench-topology     # or: .venv/bin/python -m benchmarks.bench_topology --help

For each number of serving processes: whole sharing cases driven at once through the dashboard
door (resumed with their answers as soon as they wait): cases per hour, and each answer's time
to the next wait (from Prefect's own state history: Resuming to the next Suspended or
Completed), median and p90. With the last: a burst of answers at once through the CLI door (time
until all wait for their next step), a feed of plan events imported (time until the agency was
told of the last, and until the last waits), the topology's memory per waiting case, and the
CPU of Prefect's API and services over a minute, idle, with 0 and with many suspended runs.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from benchmarks.measures import ASSESSMENT, WHOLE_CASE, code_of, rss_mb  # noqa: E402

SAFESHARE = Path(sys.executable).parent / "safeshare"
#: The tags the topology's Apprise configuration sends to, each to its own path.
TAGS = ("dsl", "slt", "agency:csc")
#: The pupils on a Child Protection Plan the feed of events is about, in turn.
PUPILS_ON_PLAN = 50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=40, help="whole cases driven at once")
    parser.add_argument("--burst", type=int, default=50, help="answers given at the same moment")
    parser.add_argument("--events", type=int, default=500, help="plan events in the feed")
    parser.add_argument("--suspended", type=int, default=5000, help="suspended runs, for CPU")
    parser.add_argument(
        "--serving", type=int, nargs="+", default=[1, 2], help="serving processes, in turn"
    )
    args = parser.parse_args()
    # stopped (SIGTERM), stop what it started too: the topology's `up` and its Redis
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    for count in args.serving:
        with topology(count) as stack:
            print(f"\n== {count} serving process(es) ==", flush=True)
            last = count == args.serving[-1]
            quiet = prefect_cpu(stack) if last and args.suspended else None
            whole_cases(stack, args.cases)
            if last and (args.burst or args.events):
                idle = rss_mb([stack.up.pid])
                before = sum(1 for step, _ in waiting_steps(stack).values() if step)
                burst(stack, args.burst)
                events(stack, args.events)
                waiting = sum(1 for step, _ in waiting_steps(stack).values() if step) - before
                busy = rss_mb([stack.up.pid])
                print(
                    f"memory of the whole topology: {idle:.0f} MB with the whole cases done, "
                    f"{busy:.0f} MB with {waiting} more waiting: "
                    f"{(busy - idle) * 1024 / waiting:.0f} KB per waiting case",
                    flush=True,
                )
            if quiet is not None:
                with_suspended(stack, args.suspended, quiet)


class Stack:
    """The running topology and what the benchmark drives it with."""

    def __init__(self, up: subprocess.Popen[str], api: str, env: dict[str, str], listener: Any):
        self.up, self.api, self.env, self.listener = up, api, env, listener

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
    databases and a Redis of its own, people and pupils added; stopped on leaving."""

    def __init__(self, serving: int) -> None:
        self.serving = serving

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
        prefect_port, web_port = free_port(), free_ports(1)
        env = (
            clean_env(work / "home")
            | databases
            | {
                "SAFESHARE_REDIS_URL": redis.url,
                "SAFESHARE_SERVING_PROCESSES": str(self.serving),
                "SAFESHARE_WEB_PROCESSES": "1",
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
        stack = Stack(up, f"http://127.0.0.1:{prefect_port}/api", env, listener)
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

    def __exit__(self, *exc: object) -> None:
        try:
            if self._up.poll() is None:
                os.killpg(self._up.pid, signal.SIGTERM)
            self._up.wait(timeout=120)
        finally:
            self._exit.close()


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

    engine = create_engine(stack.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, waiting_step, waiting_key FROM cases")).all()
    finally:
        engine.dispose()
    return {row.id: (row.waiting_step, row.waiting_key) for row in rows}


def run_state(stack: Stack, run_id: str) -> dict[str, Any]:
    import httpx

    return dict(httpx.get(f"{stack.api}/flow_runs/{run_id}", timeout=30).json()["state"] or {})


def whole_cases(stack: Stack, n: int) -> None:
    """n cases recorded, then each answered as soon as it waits, through the dashboard door."""
    if not n:
        return
    import httpx

    start = time.monotonic()
    ids = record(stack, n)
    runs = {i: run_of(stack, i) for i in ids}
    steps = ("assess-criteria", "management-signoff", "parents", "confirm-receipt")

    def drive(case_id: int) -> None:
        run_id = runs[case_id]
        for step, answer in zip(steps, WHOLE_CASE, strict=True):
            wait_until(lambda s=step: waiting_steps_one(stack, case_id)[0] == s, every=1)
            key = waiting_steps_one(stack, case_id)[1]
            wait_until(lambda: run_state(stack, run_id).get("type") == "PAUSED", every=1)
            coded = answer | {
                "one_time_code": code_of(stack.listener, case_id, key, answer["answered_by"])
            }
            for _ in range(120):  # until accepted: Prefect stores the wait's form a moment
                response = httpx.post(  # after the run is suspended, and refuses till then
                    f"{stack.api}/flow_runs/{run_id}/resume",
                    json={"run_input": coded},
                    timeout=60,
                )
                if response.status_code < 300 and response.json().get("status") == "ACCEPT":
                    break
                time.sleep(0.5)
            else:
                raise RuntimeError(f"case {case_id}'s {step} was never accepted: {response.text}")
        wait_until(lambda: run_state(stack, run_id).get("type") == "COMPLETED", every=1)

    with ThreadPoolExecutor(n) as pool:
        list(pool.map(drive, ids))
    took = time.monotonic() - start
    latencies = [s for run_id in runs.values() for s in answer_latencies(stack, run_id)]
    print(
        f"{n} whole cases at once: {took:.0f} s, {n * 3600 / took:.0f} cases per hour; "
        f"answer -> next wait (Prefect's states) median {statistics.median(latencies):.2f} s, "
        f"p90 {percentile(latencies, 90):.2f} s over {len(latencies)} answers",
        flush=True,
    )


def waiting_steps_one(stack: Stack, case_id: int) -> tuple[str | None, str | None]:
    from sqlalchemy import create_engine, text

    engine = _engine(stack.env["DATABASE_URL"], create_engine)
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT waiting_step, waiting_key FROM cases WHERE id = :id"), {"id": case_id}
        ).one()
    return row.waiting_step, row.waiting_key


_ENGINES: dict[str, Any] = {}


def _engine(url: str, create: Callable[..., Any]) -> Any:
    if url not in _ENGINES:
        _ENGINES[url] = create(url, pool_size=20)
    return _ENGINES[url]


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


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def burst(stack: Stack, n: int) -> None:
    """n cases waiting for the DSL's assessment, all answered at the same moment through the CLI
    door (as 50 sign-offs at the start of a school day): until all wait for their next step."""
    if not n:
        return
    ids = record(stack, n)
    wait_until(lambda: all(waiting_steps(stack)[i][0] == "assess-criteria" for i in ids))
    keys = {i: waiting_steps(stack)[i][1] for i in ids}
    codes = {i: code_of(stack.listener, i, str(keys[i]), "dsl1") for i in ids}

    gate = threading.Barrier(n)

    def answer(case_id: int) -> None:
        raw = dict(ASSESSMENT)
        gate.wait()
        stack.cli(
            "dsl1", "answer", str(case_id), "assess-criteria", "--as", "dsl1",
            "--input", json.dumps(raw), "--code", codes[case_id],
        )  # fmt: skip

    start = time.monotonic()
    with ThreadPoolExecutor(n) as pool:
        list(pool.map(answer, ids))
    answered = time.monotonic() - start
    wait_until(lambda: all(waiting_steps(stack)[i][0] == "management-signoff" for i in ids))
    print(
        f"burst of {n} answers at once (CLI): all recorded in {answered:.1f} s, all waiting "
        f"for their next step {time.monotonic() - start:.1f} s after the first",
        flush=True,
    )


def events(stack: Stack, n: int) -> None:
    """A feed of n plan events imported at once: until the agency was told of each, and until
    each waits for its receipt."""
    if not n:
        return
    first = datetime.now(UTC) - timedelta(days=1)
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as feed:
        feed.write("child_ref,kind,occurred_at,details\n")
        for i in range(n):
            at = (first + timedelta(minutes=i)).isoformat()  # a minute each: one event a
            pupil = f"P-{i % PUPILS_ON_PLAN + 1}"  # pupil, kind and minute
            feed.write(f"{pupil},unexplained-absence,{at},bench {i}\n")
    before = set(waiting_steps(stack))
    start = time.monotonic()
    stack.cli("dsl1", "events", "import", feed.name, "--recorded-by", "dsl1")
    imported = time.monotonic() - start
    ids = sorted(i for i in waiting_steps(stack) if i not in before)
    refs = {f"SS-{i:06d}" for i in ids}

    def told(records: list[Any]) -> bool:
        seen = {
            ref
            for r in records
            if r.path == "/agency:csc" and isinstance(r.body, dict)
            for ref in refs
            if ref in r.body.get("title", "")
        }
        return len(seen) == len(refs)

    records = stack.listener.wait_for(told, timeout=3600)
    agency = time.monotonic() - start
    order = [
        ids[sorted(refs).index(ref)]
        for r in records
        if r.path == "/agency:csc" and isinstance(r.body, dict)
        for ref in sorted(refs)
        if ref in r.body.get("title", "")
    ]
    pupil = {case_id: line % PUPILS_ON_PLAN for line, case_id in enumerate(ids)}
    # a message that arrived after one for a later event of the same pupil
    late = sum(
        1
        for n, case_id in enumerate(order)
        if any(pupil[c] == pupil[case_id] and c > case_id for c in order[:n])
    )
    wait_until(lambda: all(waiting_steps(stack)[i][0] == "confirm-receipt" for i in ids))
    print(
        f"{n} plan events imported: the import took {imported:.0f} s; the agency told of the "
        f"last {agency:.0f} s after it began; the last waiting for receipt after "
        f"{time.monotonic() - start:.0f} s; {late} of {len(order)} agency messages arrived "
        "after one for a later event of the same pupil",
        flush=True,
    )


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


def with_suspended(stack: Stack, suspended: int, quiet: float) -> None:
    """Prefect's CPU left alone, with `suspended` more suspended runs (made directly, as the runs
    of waiting cases are), against `quiet`: the same minute on the freshly started topology."""
    from harness.prefect_server import use_prefect_api
    from prefect import get_client
    from prefect.states import Suspended

    with use_prefect_api(stack.api), get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("sharing-case/safeshare")
        for i in range(suspended):
            client.create_flow_run_from_deployment(
                deployment.id,
                parameters={"case_id": 10_000_000 + i},
                state=Suspended(pause_key=f"bench-{i}", timeout_seconds=None),
            )
    time.sleep(60)  # what the cases before it left to do
    busy = prefect_cpu(stack)
    print(
        f"Prefect's API and services left alone for a minute: {quiet:.1f} CPU-s freshly "
        f"started (no suspended run), {busy:.1f} CPU-s with {suspended} more suspended runs",
        flush=True,
    )


if __name__ == "__main__":
    main()
