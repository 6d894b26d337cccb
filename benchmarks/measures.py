"""What the sharing-case benchmark measures with, beside its main run: the memory of a process
tree, bursts of answers through one door, the time a served deployment takes to appear, the
one-time code a person was sent, and a whole case against a bare flow of the same shape."""

from __future__ import annotations

import os
import re
import secrets
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

NOW = "2026-11-25T09:30:00+00:00"
#: A valid criteria assessment that leads to sharing without consent, then sign-off.
ASSESSMENT = {
    "answered_by": "dsl1",
    "evidence_of_harm": "yes",
    "reasonable_cause": "yes",
    "prevent_harm_or_crime": "no",
    "public_interest": "yes",
    "reasons": "r",
    "consent": "refused",
    "consent_override_reason": "o",
    "information_to_share": "i",
    "agency": "csc",
    "purpose": "p",
    "lawful_basis": "art6-1-e-public-task",
}
#: Every answer of a whole case, in order: assess, sign-off, parents, receipt.
WHOLE_CASE = (
    ASSESSMENT,
    {"answered_by": "head1", "decision": "approve"},
    {"answered_by": "dsl1", "choice": "told", "told_at": NOW, "told_by": "dsl1", "response": "r"},
    {
        "answered_by": "dsl1",
        "confirmed_by_name": "n",
        "confirmed_at": NOW,
        "channel": "phone",
        "agency_reference": "R",
    },
)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def tree(pids: list[int]) -> list[int]:
    """These processes and all their descendants (those still alive)."""
    found: list[int] = []
    stack = list(pids)
    while stack:
        pid = stack.pop()
        if pid in found:
            continue
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        found.append(pid)
        stack.extend(int(c) for c in children)
    return found


def _kb(pid: int, field: str, path: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def settled_pss(pids: list[int], processes: int, timeout: float = 120) -> float:
    """pss_mb once no more than `processes` processes are left in the tree (the runs that
    suspended last have ended theirs), or after `timeout`."""
    deadline = time.monotonic() + timeout
    while len(tree(pids)) > processes and time.monotonic() < deadline:
        time.sleep(0.5)
    return pss_mb(pids)


def rss_mb(pids: list[int]) -> float:
    """Resident memory of these processes and all their descendants, in MB. A forked process's
    pages shared with its parent are counted in each: see pss_mb."""
    return sum(_kb(pid, "VmRSS:", "status") for pid in tree(pids)) / 1024


def pss_mb(pids: list[int]) -> float:
    """The memory these processes and their descendants hold, in MB, each shared page divided
    among the processes that share it (Linux's proportional set size): what a run forked from a
    forkserver adds, not the forkserver's pages counted again."""
    return sum(_kb(pid, "Pss:", "smaps_rollup") for pid in tree(pids)) / 1024


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user and system) of these processes and all their living descendants, with
    what their ended children used (a run's process, once its serving process reaped it)."""
    ticks = 0
    for pid in tree(pids):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / _HZ


def machine_busy() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine since it started, over every core: the
    difference of two readings is how busy it was between them."""
    fields = machine_ticks()
    idle = fields[3] + fields[4]  # idle and waiting for I/O
    return (sum(fields) - idle) / _HZ, sum(fields) / _HZ


def machine_ticks() -> list[int]:
    """The whole machine's ticks since it started, by kind (/proc/stat's first line: user,
    nice, system, idle, iowait, irq, softirq, steal, ...)."""
    return [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]


_HZ = os.sysconf("SC_CLK_TCK")


def stop_cleanly_on_sigterm() -> None:
    """Stopped by SIGTERM (a `timeout`, say), a benchmark unwinds as on Ctrl-C: what it started
    is stopped by its own `finally`s and context managers, not left running (Python's default
    for SIGTERM ends the process at once)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


def burst(server, cases: list[int], give, with_code, door: str) -> None:  # noqa: ANN001
    """Answer many waiting cases at the same moment through one door (a school day's first
    sign-offs): what became of each at its first try, and how often Prefect's server found its
    SQLite database locked meanwhile."""
    import threading
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor

    if not cases:
        return
    answers = [(case_id, with_code(case_id, ASSESSMENT)) for case_id in cases]
    log = server.log_path.read_text(errors="replace")
    locked_before = log.count("database is locked")
    start = threading.Barrier(len(answers))

    def one(item: tuple[int, dict]) -> str:
        case_id, answer = item
        start.wait()
        try:
            return str(give(case_id, answer))
        except Exception as exc:
            return type(exc).__name__

    t = time.monotonic()
    with ThreadPoolExecutor(len(answers)) as pool:
        outcomes = Counter(pool.map(one, answers))
    locked = server.log_path.read_text(errors="replace").count("database is locked")
    print(
        f"burst of {len(answers)} answers at once, {door}: {dict(outcomes)} in "
        f"{time.monotonic() - t:.1f} s; 'database is locked' {locked - locked_before} times "
        "in Prefect's server log"
    )


@dataclass(frozen=True)
class BenchStack:
    """A Prefect server of the tests' harness, a migrated SQLite case database with a DSL (dsl1),
    a head teacher (head1) and a child (B-1), a listener for every message, and the environment
    a serving process (`python -m deployments.serve`) needs to serve deployment `bench`."""

    server: Any
    env: dict[str, str]
    listener: Any
    work: Path


@contextmanager
def bench_stack(**settings: Any) -> Iterator[BenchStack]:
    """A BenchStack, with its settings in force (`settings` add to the stack's own)."""
    from harness.databases import case_database
    from harness.listeners import HttpListener
    from harness.prefect_server import running_prefect_server, use_prefect_api
    from harness.processes import without_suite_settings

    from foundations.db import migrate
    from foundations.settings import Settings, settings_env, settings_in_force
    from models.kernel.roles import Role
    from tasks.children import add_child
    from tasks.staff import add_staff

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "prefect").mkdir()
        with (
            running_prefect_server(work / "prefect") as server,
            use_prefect_api(server.api_url),
            case_database("sqlite", work) as url,
            HttpListener() as listener,
        ):
            apprise_config = work / "apprise.yml"
            apprise_config.write_text(
                "urls:\n"
                + "".join(
                    f"  - {listener.url('/' + tag)}:\n      tag: {tag}\n"
                    for tag in ("dsl", "slt", "agency:csc")
                )
            )
            in_force = Settings(
                home=work,
                database_url=url,
                data_keys=None,  # made in the data directory, with the database
                deployment="bench",
                apprise_config=apprise_config,
                secret_key=secrets.token_urlsafe(48),
                **settings,
            )
            env = without_suite_settings() | (
                dict(server.env)
                | settings_env(in_force)
                | {"PREFECT_LOCAL_STORAGE_PATH": str(work / "results")}
            )
            with settings_in_force(in_force):
                migrate(url)
                add_staff("dsl1", name="D", role=Role.DSL, notify_url=listener.url("/staff/dsl1"))
                add_staff("head1", name="H", role=Role.SLT, notify_url=listener.url("/staff/head1"))
                add_child("B-1", date_of_birth=date(2015, 1, 1), cp_plan=False)
                yield BenchStack(server=server, env=env, listener=listener, work=work)


def served(serve, timeout: float = 120) -> None:  # noqa: ANN001
    """Wait until the serving process has registered the sharing case's deployment."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            if serve.poll() is not None:
                raise RuntimeError(f"deployments.serve exited with {serve.returncode}")
            try:
                client.read_deployment_by_name("sharing-case/bench")
                return
            except ObjectNotFound:
                if time.monotonic() > deadline:
                    raise TimeoutError("the deployment was not served in time") from None
                time.sleep(0.5)


#: What a personal message carries, each as a pattern whose first group is the thing itself.
CARRIED = {
    "code": r"one-time code: ([A-Z0-9]{4}-[A-Z0-9]{4})",
    "link": r"(https?://[^\s]+/answer/[A-Za-z0-9_.\-]+)",
}


def sent_to(listener, case_id: int, key: str, staff: str, what: str) -> str:  # noqa: ANN001
    """The code or link (`what`) `staff` was last sent for this wait, read off the listener, as
    they would read it."""
    ref, wait_key = f"SS-{case_id:06d}", f"({key})"

    def mine(records: list) -> list:
        return [
            r
            for r in records
            if r.path == f"/staff/{staff}"
            and isinstance(r.body, dict)
            and ref in r.body.get("title", "")
            and wait_key in r.body.get("title", "")
        ]

    message = mine(listener.wait_for(lambda rs: mine(rs), timeout=60))[-1].body["message"]
    found = re.search(CARRIED[what], message)
    if found is None:
        raise RuntimeError(f"no {what} in the message to {staff} for {key}")
    return found.group(1)


def code_of(listener, case_id: int, key: str, staff: str) -> str:  # noqa: ANN001
    """The code `staff` was sent for this wait."""
    return sent_to(listener, case_id, key, staff, "code")


def link_of(listener, case_id: int, key: str, staff: str) -> str:  # noqa: ANN001
    """The personal link `staff` was sent for this wait (a sign-off's)."""
    return sent_to(listener, case_id, key, staff, "link")


def overhead(server, env, start, resume, suspended, wait, with_code, whole: int) -> None:  # noqa: ANN001
    """Whole cases answered as soon as they wait, against the bare flow of the same shape."""
    import subprocess

    import httpx

    from benchmarks.bare_flow import BARE_DEPLOYMENT
    from tasks.views import show_case

    api = server.api_url

    def run_times(run_id: str) -> tuple[float, float]:
        run = httpx.get(f"{api}/flow_runs/{run_id}").json()
        return run["total_run_time"], _seconds(run["end_time"]) - _seconds(run["start_time"])

    def task_runs(run_id: str) -> int:
        body = {"flow_runs": {"id": {"any_": [run_id]}}}
        return int(httpx.post(f"{api}/task_runs/count", json=body).json())

    def completed(run_id: str) -> bool:
        state = httpx.get(f"{api}/flow_runs/{run_id}").json()["state"]
        return bool(state) and state["type"] == "COMPLETED"

    case_times, case_tasks = [], 0
    for _ in range(whole):
        case_id = start()
        run_id = show_case(case_id)["flow_run_id"]
        for answer in WHOLE_CASE:
            wait(lambda r=run_id: suspended(r))
            resume(run_id, with_code(case_id, answer))
        wait(lambda r=run_id: completed(r))
        case_times.append(run_times(run_id))
        case_tasks = task_runs(run_id)
    suspensions = len(WHOLE_CASE)
    segments = suspensions + 1
    per_segment = max(1, round(case_tasks / (segments * (segments + 1) / 2)))

    bare_serve = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bare_flow"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        from prefect.deployments import run_deployment

        bare_times, bare_tasks = [], 0
        for _ in range(whole):
            for _attempt in range(120):  # the deployment appears once the process serves it
                try:
                    flow_run = run_deployment(
                        BARE_DEPLOYMENT,
                        parameters={"tasks_per_segment": [per_segment] * segments},
                        timeout=0,
                    )
                    break
                except Exception:  # noqa: BLE001
                    time.sleep(0.5)
            run_id = str(flow_run.id)
            for _resume in range(suspensions):
                wait(lambda r=run_id: suspended(r))
                resume(run_id, None)
            wait(lambda r=run_id: completed(r))
            bare_times.append(run_times(run_id))
            bare_tasks = task_runs(run_id)
    finally:
        bare_serve.terminate()
        bare_serve.wait(timeout=30)

    case_run = statistics.median(t[0] for t in case_times)
    bare_run = statistics.median(t[0] for t in bare_times)
    case_wall = statistics.median(t[1] for t in case_times)
    bare_wall = statistics.median(t[1] for t in bare_times)
    print(
        f"whole case, answered at once ({suspensions} waits, {case_tasks} task runs): "
        f"running {case_run:.1f} s, start to end {case_wall:.1f} s (median of {whole})"
    )
    print(
        f"bare flow, same shape ({suspensions} waits, {bare_tasks} task runs): "
        f"running {bare_run:.1f} s, start to end {bare_wall:.1f} s (median of {whole})"
    )
    print(
        f"orchestration overhead, case / bare: {case_run / bare_run:.2f}x running time, "
        f"{case_wall / bare_wall:.2f}x start to end"
    )


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()
