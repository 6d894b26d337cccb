"""How the suite's tests are handed to xdist's workers: in lanes, one test at a time.

xdist's default hands out runs of consecutive tests (a quarter of a worker's share at first,
then half of what is left), so one worker got every end-to-end test and seventy flow tests
while three others ran out of unit tests after four minutes and sat idle for ten. Here:

- Tests are heavy (they start a Prefect server and a served stack, and wait on whole runs:
  `tests/e2e`, `tests/flow`, and the few task tests that need a server of their own) or light.
- The first `heavy_lanes` workers take heavy tests, the others light ones; each worker is given
  one more test as it finishes one (xdist needs the next one queued to know what to tear down),
  so a worker with long tests never hoards short ones. Heavy tests go longest first (the
  end-to-end ones start whole stacks).
- Each lane keeps to one case database (even lanes SQLite, odd PostgreSQL): a heavy lane whose
  database's heavy tests have run out takes light tests before it starts a second stack, and a
  light lane whose light tests have run out takes heavy tests of its database first. Every
  stack start (a serving process, its forkserver, a web app, the people) costs CPU the others
  wait for.
- A lane whose kind has run out takes the other kind: the suite ends with every worker busy.
- The tests of a module that share one module-scoped stack (TOGETHER) go to one lane, the one
  that took the first of them: handed out one at a time, they would start it on every lane.

The number of heavy lanes bounds how many stacks wait on runs at once, which is what loads the
two cores; `SAFESHARE_TEST_HEAVY_LANES` sets it (the default: every worker but one). Each
worker also starts a Prefect server and a stack per case database once it takes heavy tests
(about a minute of CPU in all, idle included), so fewer workers cost less: `make test` runs four.
"""

from __future__ import annotations

import os
from typing import Any

from xdist.scheduler import LoadScheduling
from xdist.workermanage import WorkerController

#: Tests that start a Prefect server, a stack or a whole `safeshare up`.
HEAVY = (
    "tests/e2e/",
    "tests/flow/",
    "tests/tasks/test_flow_run_paging.py",
    "tests/tasks/test_prefect_client.py",
    "tests/tasks/test_run_recovery.py",
    "tests/harness/test_harness.py",
)
#: Heavy tests that go first: each runs a whole stack for a minute or more. (The dashboard form
#: tests, Prefect's UI in Chromium, were tried here too: beside the end-to-end stacks they took
#: longer still, 636 s and 311 s, and Chromium's CPU doubled; the suite went from 20:17 to 21:25.)
LONGEST = ("tests/e2e/",)
#: Modules whose tests share one module-scoped stack (a whole `safeshare up`): the lane that takes
#: the first takes the rest next, or every lane handed one of them would start that stack again.
TOGETHER = ("tests/e2e/test_up.py::",)
#: Backends in the order of the heavy lanes that prefer them.
BACKENDS = ("sqlite", "postgresql")


def is_heavy(nodeid: str) -> bool:
    return nodeid.startswith(HEAVY)


def backend_of(nodeid: str) -> str | None:
    for backend in BACKENDS:
        if f"[{backend}" in nodeid or f"-{backend}]" in nodeid or f"-{backend}-" in nodeid:
            return backend
    return None


class LaneScheduling(LoadScheduling):
    """xdist's load scheduling, handing out one chosen test at a time (see the module)."""

    def __init__(self, config: Any, log: Any = None) -> None:
        super().__init__(config, log)
        #: The case database each worker's stack is on (the last it ran a heavy test of).
        self._database: dict[WorkerController, str] = {}
        #: The lane each module of TOGETHER went to, once one of its tests did.
        self._together: dict[str, WorkerController] = {}

    def heavy_lanes(self) -> int:
        default = max(1, len(self.nodes) - 1)
        return int(os.environ.get("SAFESHARE_TEST_HEAVY_LANES", default))

    def schedule(self) -> None:
        assert self.collection_is_completed
        if self.collection is not None:
            for node in self.nodes:
                self.check_schedule(node)
            return
        if not self._check_nodes_have_same_collection():
            self.log("**Different tests collected, aborting run**")
            return
        self.collection = list(next(iter(self.node2collection.values())))

        # longest first: the whole-stack tests, then the other heavy ones, then the light ones,
        # each in collection order (which keeps a module's tests and a database's together)
        def rank(index: int) -> int:
            nodeid = self.collection[index]  # type: ignore[index]
            return 0 if nodeid.startswith(LONGEST) else 1 if is_heavy(nodeid) else 2

        self.pending[:] = sorted(range(len(self.collection)), key=rank)
        if not self.collection:
            return
        for node in self.nodes:
            self.check_schedule(node)

    def check_schedule(self, node: WorkerController, duration: float = 0) -> None:
        if node.shutting_down:
            return
        while len(self.node2pending[node]) < 2 and self.pending:
            index = self._next_for(node)
            self.pending.remove(index)
            self.node2pending[node].append(index)
            node.send_runtest_some([index])
        if not self.pending:
            node.shutdown()

    def _next_for(self, node: WorkerController) -> int:
        """The first pending test the node's lane prefers: a heavy lane, heavy tests on its case
        database (or on none), then light tests, then heavy tests on the other database (a
        second stack); a light lane, light tests, then heavy ones in the same order."""
        assert self.collection is not None
        lane = int(str(node.gateway.id).removeprefix("gw"))  # gw0, gw1, ...
        heavy_lane = lane < self.heavy_lanes()
        database = self._database.setdefault(node, BACKENDS[lane % len(BACKENDS)])
        first: dict[int, int] = {}
        for index in self.pending:
            nodeid = self.collection[index]
            owner = self._together.get(nodeid.split("::", 1)[0])
            if owner is node:  # the rest of a module whose stack this lane has started
                first[-1] = index
                break
            if owner is not None:  # another lane's, unless nothing else is left
                first.setdefault(3, index)
                continue
            if not is_heavy(nodeid):
                rank = 1 if heavy_lane else 0
            elif backend_of(nodeid) in (None, database):
                rank = 0 if heavy_lane else 1
            else:
                rank = 2
            first.setdefault(rank, index)
            if rank == 0:
                break
        index = first[min(first)]
        if self.collection[index].startswith(TOGETHER):
            self._together.setdefault(self.collection[index].split("::", 1)[0], node)
        if is_heavy(self.collection[index]):  # a light test's database is its own, no stack's
            self._database[node] = backend_of(self.collection[index]) or database
        return index
