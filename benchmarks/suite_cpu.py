"""Where the test suite's CPU goes, by test: a pytest plugin that writes each test's CPU (its
worker's process tree while it ran: the worker, the Prefect server and stacks it started, the
commands and browsers a test started) and a report of the tests and modules that cost most.
Prints figures; asserts nothing. On two cores the suite is CPU-bound, so its time is its CPU.

    SAFESHARE_SUITE_CPU=/tmp/suite-cpu PYTHONPATH=. .venv/bin/pytest -p benchmarks.suite_cpu \\
        -q -p no:cacheprovider -n 4
    .venv/bin/python -m benchmarks.suite_cpu /tmp/suite-cpu

A test is charged with whatever its worker's processes spent while it ran, the idle servers and
stacks that worker keeps included, and the first test of a worker with the session fixtures it
started. The machine's busy CPU over the whole run is written too: what the tests' trees do not
account for is the rest of the machine (the controller, whatever else runs).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.measures import cpu_seconds, machine_busy

ENV = "SAFESHARE_SUITE_CPU"


def _out() -> Path | None:
    where = os.environ.get(ENV)
    if not where:
        return None
    path = Path(where)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _write(name: str, record: dict[str, Any]) -> None:
    out = _out()
    if out is not None:
        with open(out / f"{name}.jsonl", "a") as file:
            file.write(json.dumps(record) + "\n")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    before, started = cpu_seconds([os.getpid()]), time.monotonic()
    yield
    _write(
        os.environ.get("PYTEST_XDIST_WORKER", "main"),
        {
            "test": item.nodeid,
            "cpu": round(cpu_seconds([os.getpid()]) - before, 2),
            "wall": round(time.monotonic() - started, 2),
        },
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the controller, once
        busy, _ = machine_busy()
        _write("machine", {"start": busy, "at": time.monotonic()})


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):
        busy, _ = machine_busy()
        _write("machine", {"end": busy, "at": time.monotonic()})


def report(where: Path, top: int = 25) -> None:
    tests: list[dict[str, Any]] = []
    machine: dict[str, float] = {}
    for path in sorted(where.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if path.stem == "machine":
                for key in ("start", "end"):
                    if key in record:
                        machine[key], machine[f"{key}_at"] = record[key], record["at"]
            else:
                tests.append(record | {"worker": path.stem})
    total = sum(t["cpu"] for t in tests)
    print(f"{len(tests)} tests, {total:.0f} CPU-s in the workers' process trees")
    if "start" in machine and "end" in machine:
        busy, wall = machine["end"] - machine["start"], machine["end_at"] - machine["start_at"]
        print(f"the machine: {busy:.0f} CPU-s busy over {wall:.0f} s ({busy / wall:.2f} cores)")
    print(f"\nthe {top} tests that cost most (CPU-s, wall s, test):")
    for t in sorted(tests, key=lambda t: -t["cpu"])[:top]:
        print(f"{t['cpu']:8.1f} {t['wall']:7.1f}  {t['test']}")
    modules: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for t in tests:
        module = modules[t["test"].split("::")[0]]
        module[0] += t["cpu"]
        module[1] += t["wall"]
        module[2] += 1
    print(f"\nthe {top} modules that cost most (CPU-s, share, wall s, tests, module):")
    for name, (cpu, wall, count) in sorted(modules.items(), key=lambda m: -m[1][0])[:top]:
        print(f"{cpu:8.1f} {cpu / total:6.1%} {wall:7.1f} {count:5.0f}  {name}")


if __name__ == "__main__":
    report(Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get(ENV, "")))
