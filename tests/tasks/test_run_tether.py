"""A run's process dies with the serving process that asked for it, however it was started
(forked from the forkserver, or spawned): real processes, the parent killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from harness.processes import Proc, descendants, living, wait_until_gone

PARENT = """
import sys, time
from deployments import forkserver
if sys.argv[1] == "forkserver":
    import multiprocessing
    multiprocessing.set_forkserver_preload(["deployments.forkserver"])
context = {
    "forkserver": forkserver._TetheredForkServerContext,
    "spawn": forkserver._TetheredSpawnContext,
}[sys.argv[1]]()
child = context.Process(target=time.sleep, args=(300,))
child.start()
print(child.pid, flush=True)
time.sleep(300)
"""


@pytest.mark.parametrize("started", ["forkserver", "spawn"])
def test_a_run_process_dies_with_the_process_that_started_it(started: str) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, started],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        below = descendants(parent.pid)
        assert child in [p.pid for p in below]
        os.kill(parent.pid, signal.SIGKILL)  # the parent alone: its group is left to itself
        parent.wait()

        assert wait_until_gone(below, timeout=10) == []
    finally:
        left: list[Proc] = [p for p in living() if p.pgid == parent.pid]
        for proc in left:
            os.kill(proc.pid, signal.SIGKILL)
