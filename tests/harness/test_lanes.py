"""How the suite's tests are handed to xdist's workers (harness/lanes.py), driven as xdist drives
it: workers collect, the scheduler hands each one test at a time, workers finish tests in turn."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from harness.lanes import LaneScheduling


@dataclass(eq=False)
class Worker:
    """What the scheduler sees of one of xdist's workers."""

    name: str
    queued: list[int] = field(default_factory=list)
    shutting_down: bool = False

    @property
    def gateway(self) -> Any:
        return type("Gateway", (), {"id": self.name})()

    def send_runtest_some(self, indices: list[int]) -> None:
        self.queued.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True


class Config:
    def __init__(self, workers: int) -> None:
        self.workers = workers

    def getvalue(self, name: str) -> Any:
        assert name == "tx"
        return [f"{self.workers}*popen"]

    def getoption(self, name: str) -> Any:
        return None


COLLECTION = [
    "tests/e2e/test_up.py::test_files",
    "tests/e2e/test_up.py::test_no_copy",
    "tests/e2e/test_up.py::test_starts",
    "tests/e2e/test_up.py::test_on_postgresql",
    "tests/e2e/test_up_process_tree.py::test_kill_serving",
    "tests/e2e/test_up_process_tree.py::test_hangup",
    "tests/e2e/test_up_process_tree.py::test_kill_up",
    *(
        f"tests/flow/test_case.py::test_{n}[{db}]"
        for n in range(6)
        for db in ("sqlite", "postgresql")
    ),
    *(f"tests/unit/test_rules.py::test_{n}" for n in range(20)),
]


def run(workers: int) -> dict[str, list[str]]:
    """Every test of COLLECTION, by the worker that ran it, workers finishing in turn."""
    scheduler = LaneScheduling(Config(workers))
    nodes = [Worker(f"gw{n}") for n in range(workers)]
    for node in nodes:
        scheduler.add_node(node)  # type: ignore[arg-type]
        scheduler.add_node_collection(node, COLLECTION)  # type: ignore[arg-type]
    scheduler.schedule()
    ran: dict[str, list[str]] = defaultdict(list)
    while any(node.queued for node in nodes):
        for node in nodes:
            if node.queued:
                index = node.queued.pop(0)
                ran[COLLECTION[index]].append(node.name)
                scheduler.mark_test_complete(node, index)  # type: ignore[arg-type]
    return ran


def test_every_test_runs_once() -> None:
    for workers in (2, 3, 6):
        ran = run(workers)
        assert sorted(ran) == sorted(COLLECTION)
        assert all(len(names) == 1 for names in ran.values()), ran


def test_a_module_that_shares_one_stack_runs_on_one_lane() -> None:
    for workers in (2, 3, 6):
        ran = run(workers)
        lanes = {
            ran[nodeid][0] for nodeid in COLLECTION if nodeid.startswith("tests/e2e/test_up.py")
        }
        assert len(lanes) == 1, ran
        # the others are handed out as before: with four heavy lanes, the process-tree tests
        # (each a stack of its own) go to several
        if workers == 6:
            spread = {ran[n][0] for n in COLLECTION if "test_up_process_tree" in n}
            assert len(spread) > 1, ran
