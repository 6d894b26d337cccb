"""The CPU a whole sharing case costs on a real stack: the serving process with every run it
starts (forked from its forkserver), and Prefect's server, each in CPU-seconds per case; and
what a case leaves in Prefect's database (task runs, states, logs, events). Prints figures;
asserts nothing.

A case is recorded, then answered at each of its four waits (assess criteria, management
sign-off, parents, confirm receipt) as soon as its run is suspended there, through the CLI's
door (`give_answer`: recorded in the case database, the run woken) or the dashboard's (the
answer as run input). `--cases` cases go through `--at-once` at a time. The stack's idle CPU,
read over `--idle` seconds before, is taken off; so is the server's CPU for the benchmark's own
reads of run states (one read's cost, measured first, times the reads made).

    .venv/bin/python -m benchmarks.bench_case_cpu --cases 12 --at-once 3
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from benchmarks.measures import (  # noqa: E402
    WHOLE_CASE,
    bench_stack,
    code_of,
    cpu_seconds,
    served,
    stop_cleanly_on_sigterm,
    tree,
)

#: The steps of a whole case, in the order of measures.WHOLE_CASE's answers.
STEPS = ("assess-criteria", "management-signoff", "parents", "confirm-receipt")
#: Prefect's tables counted per case.
TABLES = ("task_run", "task_run_state", "flow_run_state", "log", "events", "event_resources")
#: How often the benchmark reads a run's state while waiting for it to suspend or end.
POLL_SECONDS = 0.5


def main() -> None:

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=12, help="whole cases measured")
    parser.add_argument("--at-once", type=int, default=3, help="cases driven at the same time")
    parser.add_argument("--door", choices=("cli", "dashboard"), default="cli")
    parser.add_argument("--idle", type=float, default=20, help="seconds the idle stack is read")
    parser.add_argument("--warm", type=int, default=1, help="whole cases run first, unmeasured")
    parser.add_argument("--keep", type=Path, help="copy Prefect's database here at the end")
    parser.add_argument("--serve-log", type=Path, help="the serving process's output, here")
    args = parser.parse_args()
    stop_cleanly_on_sigterm()

    with bench_stack() as stack:
        measure(
            stack.server, stack.env, stack.listener, stack.work / "prefect" / "prefect.db", args
        )


def measure(server, env, listener, prefect_db: Path, args: argparse.Namespace) -> None:  # noqa: ANN001
    import httpx

    from models.kernel.steps import Step
    from models.sharing.concern import Category, ConcernFacts
    from tasks.answers import give_answer
    from tasks.concerns import record_concern
    from tasks.starting import start_case_run
    from tasks.views import show_case

    api = server.api_url
    reads = [0]
    reads_lock = threading.Lock()
    http = httpx.Client(timeout=60)

    def state_of(run_id: str) -> dict:
        with reads_lock:
            reads[0] += 1
        return http.get(f"{api}/flow_runs/{run_id}").json()["state"] or {}

    def until(pred, timeout: float = 600) -> None:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                raise TimeoutError("a case did not move on in time")
            time.sleep(POLL_SECONDS)

    def whole_case(_: int) -> None:
        facts = ConcernFacts(
            child_ref="B-1",
            raised_by="dsl1",
            category=Category.NEGLECT,
            occurred_at=datetime.now(UTC),
            what_happened="bench",
        )
        case_id = record_concern(facts)
        run_id, problem = start_case_run(case_id)
        if problem is not None or run_id is None:
            raise RuntimeError(problem)
        for step, answer in zip(STEPS, WHOLE_CASE, strict=True):
            until(lambda s=step: (show_case(case_id)["waiting"] or {}).get("step") == s)
            until(lambda: state_of(run_id).get("type") == "PAUSED")
            key = show_case(case_id)["waiting"]["key"]
            raw = dict(answer)
            code = code_of(listener, case_id, key, raw["answered_by"])
            if args.door == "dashboard":
                response = http.post(
                    f"{api}/flow_runs/{run_id}/resume",
                    json={"run_input": raw | {"one_time_code": code}},
                )
                if response.json().get("status") != "ACCEPT":
                    raise RuntimeError(f"resume refused: {response.text[:300]}")
            else:
                if not give_answer(case_id, Step(step), raw, code).accepted:
                    raise RuntimeError("an answer was refused")
        until(lambda: state_of(run_id).get("type") == "COMPLETED")

    log = open(args.serve_log, "wb") if args.serve_log else subprocess.DEVNULL  # noqa: SIM115
    serve = subprocess.Popen(
        [sys.executable, "-m", "deployments.serve"],
        env=env,
        start_new_session=True,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        served(serve)
        with ThreadPoolExecutor(max(1, args.at_once)) as pool:
            list(pool.map(whole_case, range(args.warm)))
        time.sleep(5)  # the last run's process ends

        # the stack at rest, and the server's cost of one read of a run's state
        serve0, server0, t0 = cpu_seconds([serve.pid]), cpu_seconds([server.pid]), time.monotonic()
        time.sleep(args.idle)
        idle_serve = (cpu_seconds([serve.pid]) - serve0) / (time.monotonic() - t0)
        idle_server = (cpu_seconds([server.pid]) - server0) / (time.monotonic() - t0)
        some_run = http.post(f"{api}/flow_runs/filter", json={"limit": 1}).json()[0]["id"]
        server0 = cpu_seconds([server.pid])
        for _ in range(200):
            state_of(some_run)
        per_read = (cpu_seconds([server.pid]) - server0) / 200
        reads[0] = 0

        at_rest = len(process_tree(serve.pid))  # serving, its forkserver and its helpers
        rows0 = count_rows(prefect_db)
        serve0, server0, t0 = cpu_seconds([serve.pid]), cpu_seconds([server.pid]), time.monotonic()
        with ThreadPoolExecutor(max(1, args.at_once)) as pool:
            list(pool.map(whole_case, range(args.cases)))
        until(lambda: len(process_tree(serve.pid)) <= at_rest, timeout=60)  # runs ended
        wall = time.monotonic() - t0
        serve_cpu = cpu_seconds([serve.pid]) - serve0 - idle_serve * wall
        server_cpu = cpu_seconds([server.pid]) - server0 - idle_server * wall - per_read * reads[0]
        rows = {t: n - rows0.get(t, 0) for t, n in count_rows(prefect_db).items()}
        if args.keep is not None:
            with sqlite3.connect(prefect_db) as source, sqlite3.connect(args.keep) as copy:
                source.backup(copy)
    finally:
        serve.terminate()
        serve.wait(timeout=30)
        http.close()

    n = args.cases
    print(f"door: {args.door}; {n} whole cases, {args.at_once} at a time, in {wall:.0f} s")
    print(f"idle: serving {idle_serve:.3f} CPU-s/s, Prefect server {idle_server:.3f} CPU-s/s")
    print(f"one read of a run's state: {per_read * 1000:.1f} ms of server CPU, {reads[0]} made")
    print(f"CPU-s per whole case, serving process and its runs: {serve_cpu / n:.2f}")
    print(f"CPU-s per whole case, Prefect server:               {server_cpu / n:.2f}")
    print(f"CPU-s per whole case, both:                         {(serve_cpu + server_cpu) / n:.2f}")
    print("Prefect rows per whole case: " + ", ".join(f"{t} {rows[t] / n:.1f}" for t in TABLES))


def process_tree(pid: int) -> list[int]:
    return tree([pid])


def count_rows(path: Path) -> dict[str, int]:
    """Rows in each of Prefect's tables counted here (its SQLite database, read only)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # noqa: S608


if __name__ == "__main__":
    main()
