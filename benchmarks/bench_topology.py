"""Benchmark of the production topology (`safeshare up --topology production`) on this machine:
PostgreSQL for the cases and Prefect, a Redis of its own, Prefect's API and services apart, two
web apps, and one serving process, then two. Prints figures; asserts nothing.

    make bench-topology     # or: .venv/bin/python -m benchmarks.bench_topology --help

For each number of serving processes: whole sharing cases driven at once through the dashboard
door (resumed with their answers as soon as they wait): cases per hour, and each answer's time
to the next wait (from Prefect's own state history: Resuming to the next Suspended or
Completed), median and p90. With the last: a burst of answers at once through the CLI door,
then of sign-offs at once through the senior leader's links (each: time until all wait for
their next step), a feed of plan events imported (time until the agency was told of the last,
and until the last waits), the topology's memory per waiting case, and the CPU of Prefect's
API and services over a minute, idle, with 0 and with many suspended runs.

On one machine whose cores the first serving process keeps busy, a second one can only share
them. So the whole cases are then driven again with each serving process (its forkserver and
runs with it) held to 0.4 cores, as if each had a small machine of its own
(benchmarks/machines.py, `--serving-cpus`): what a second one adds when it brings its own
cores."""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from benchmarks.machines import CpuBox  # noqa: E402
from benchmarks.measures import (  # noqa: E402
    ASSESSMENT,
    WHOLE_CASE,
    code_of,
    cpu_seconds,
    link_of,
    machine_busy,
    percentile,
    settled_pss,
    stop_cleanly_on_sigterm,
    tree,
)
from benchmarks.topology_stack import (  # noqa: E402
    PUPILS_ON_PLAN,
    Stack,
    Watch,
    answer_latencies,
    prefect_cpu,
    record,
    run_of,
    topology,
    wait_until,
    waiting_steps,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=40, help="whole cases driven at once")
    parser.add_argument("--burst", type=int, default=50, help="answers given at the same moment")
    parser.add_argument("--events", type=int, default=500, help="plan events in the feed")
    parser.add_argument("--more", type=int, default=300, help="cases waiting, for memory")
    parser.add_argument("--suspended", type=int, default=5000, help="suspended runs, for CPU")
    parser.add_argument(
        "--serving", type=int, nargs="+", default=[1, 2], help="serving processes, in turn"
    )
    parser.add_argument(
        "--serving-cpus",
        type=float,
        nargs="+",
        default=[0, 0.4],
        metavar="CORES",
        help="in turn: each serving process, with its forkserver and runs, held to this many "
        "cores, as on a machine of its own (a CPU cgroup: root, cgroup v1), the rest sharing "
        "the machine; 0 for all sharing the machine (default: 0, then 0.4)",
    )
    args = parser.parse_args()
    if any(args.serving_cpus) and not CpuBox.possible():
        parser.error(f"--serving-cpus above 0 needs {CpuBox.NEEDS}: give --serving-cpus 0")
    stop_cleanly_on_sigterm()  # the topology's `up` and its Redis too
    for cpus in args.serving_cpus:
        for count in args.serving:
            with topology(count, cpus or None) as stack:
                held = f", each held to {cpus:g} cores" if cpus else ""
                print(f"\n== {count} serving process(es){held} ==", flush=True)
                # the rest once, on the first setting's last topology
                last = count == args.serving[-1] and cpus == args.serving_cpus[0]
                quiet = prefect_cpu(stack) if last and args.suspended else None
                whole_cases(stack, args.cases)
                if last and (args.burst or args.events):
                    held_by_waits(stack, args.burst, args.events, args.more)
                if quiet is not None:
                    with_suspended(stack, args.suspended, quiet)


def held_by_waits(stack: Stack, bursting: int, feed: int, more: int) -> None:
    """The burst and the feed, and the memory (PSS) the cases they leave waiting hold; then what
    `more` cases waiting add to a topology that has run that many already (the first hundreds of
    runs also grow the heaps of Prefect's processes, which Python keeps, not the cases)."""
    top, parts = [stack.up.pid], len(tree([stack.up.pid]))
    idle = settled_pss(top, parts)
    before = sum(1 for step, _ in waiting_steps(stack).values() if step)
    burst(stack, bursting)
    events(stack, feed)
    waiting = sum(1 for step, _ in waiting_steps(stack).values() if step) - before
    busy = settled_pss(top, parts)
    ids = record(stack, more)
    wait_until(lambda: all(waiting_steps(stack)[i][0] == "assess-criteria" for i in ids))
    after = settled_pss(top, parts)
    print(
        f"memory of the whole topology (PSS): {idle:.0f} MB before, {busy:.0f} MB with "
        f"{waiting} more waiting ({(busy - idle) * 1024 / waiting:.0f} KB per waiting case), "
        f"{after:.0f} MB with {more} more again ({(after - busy) * 1024 / more:.0f} KB each)",
        flush=True,
    )


def whole_cases(stack: Stack, n: int) -> None:
    """n cases recorded, then each answered as soon as it waits, through the dashboard door."""
    if not n:
        return
    import httpx

    start, (busy, ticked), used = time.monotonic(), machine_busy(), cpu_seconds([stack.up.pid])
    ids = record(stack, n)
    runs = {i: run_of(stack, i) for i in ids}
    steps = ("assess-criteria", "management-signoff", "parents", "confirm-receipt")

    def drive(case_id: int) -> None:
        run_id = runs[case_id]
        for step, answer in zip(steps, WHOLE_CASE, strict=True):
            key = watch.until(case_id, step, "PAUSED")
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
        watch.until(case_id, None, "COMPLETED")

    with Watch(stack, runs) as watch, ThreadPoolExecutor(n) as pool:
        list(pool.map(drive, ids))
    took = time.monotonic() - start
    (busy_after, ticked_after), used = machine_busy(), cpu_seconds([stack.up.pid]) - used
    latencies = [s for run_id in runs.values() for s in answer_latencies(stack, run_id)]
    print(
        f"{n} whole cases at once: {took:.0f} s, {n * 3600 / took:.0f} cases per hour; "
        f"answer -> next wait (Prefect's states) median {statistics.median(latencies):.2f} s, "
        f"p90 {percentile(latencies, 90):.2f} s over {len(latencies)} answers; the machine's "
        f"{os.cpu_count()} cores {(busy_after - busy) / (ticked_after - ticked):.0%} busy, the "
        f"topology's processes {used:.0f} CPU-s ({used / n:.1f} per case; the rest is this "
        "benchmark recording and driving)",
        flush=True,
    )
    for number, box in enumerate(stack.boxes, 1):
        print(
            f"serving process {number}, held to {box.cpus:g} cores: at its limit in "
            f"{box.throttled():.0%} of the periods since it was held",
            flush=True,
        )


def burst(stack: Stack, n: int) -> None:
    """n cases waiting for the DSL's assessment, all answered at the same moment through the CLI
    door; then the same cases' sign-offs, all at the same moment through the senior leader's
    personal links (the door a head teacher uses: 50 sign-offs at the start of a school day),
    spread over the web apps: until all wait for their next step, each time."""
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
    keys = {i: waiting_steps(stack)[i][1] for i in ids}
    links = {i: link_of(stack.listener, i, str(keys[i]), "head1") for i in ids}
    signed = threading.Barrier(n + 1)

    def sign_off(case_id: int) -> None:
        import httpx

        path = "/answer/" + links[case_id].split("/answer/", 1)[1]
        web = stack.web[case_id % len(stack.web)]
        with httpx.Client(base_url=web, timeout=300) as client:
            page = client.get(path)  # the page the head reads first, with its form
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            if page.status_code != 200 or csrf is None:
                raise RuntimeError(f"case {case_id}'s link: {page.status_code}")
            signed.wait()
            done = client.post(path, data={"csrf": csrf.group(1), "decision": "approve"})
            if done.status_code != 200:
                raise RuntimeError(f"case {case_id}'s sign-off: {done.status_code}")

    with ThreadPoolExecutor(n) as pool:
        signing = [pool.submit(sign_off, i) for i in ids]
        signed.wait()
        start = time.monotonic()
        for future in signing:
            future.result()
        answered = time.monotonic() - start
    wait_until(lambda: all(waiting_steps(stack)[i][0] == "parents" for i in ids), every=0.2)
    print(
        f"burst of {n} sign-offs at once (links, {len(stack.web)} web apps): all recorded in "
        f"{answered:.1f} s, all waiting for their next step {time.monotonic() - start:.1f} s "
        "after the first",
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
    pupil_of = {case_id: line % PUPILS_ON_PLAN for line, case_id in enumerate(ids)}
    # a message that arrived after one for a later event of the same pupil
    late = sum(
        1
        for n, case_id in enumerate(order)
        if any(pupil_of[c] == pupil_of[case_id] and c > case_id for c in order[:n])
    )
    wait_until(lambda: all(waiting_steps(stack)[i][0] == "confirm-receipt" for i in ids))
    print(
        f"{n} plan events imported: the import took {imported:.0f} s; the agency told of the "
        f"last {agency:.0f} s after it began; the last waiting for receipt after "
        f"{time.monotonic() - start:.0f} s; {late} of {len(order)} agency messages arrived "
        "after one for a later event of the same pupil",
        flush=True,
    )


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
