"""How `safeshare up` stops a part of the stack, on real processes: its whole process group
goes, also when the part itself has already exited and left processes of its group behind
(as a killed serving process leaves its forkserver and runs)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from harness.processes import living

from deployments.stack import group_alive, stop

#: A part that starts a helper in its own group, says the helper's pid, and exits at once.
LEAVES_A_HELPER = """
import subprocess, sys
helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
print(helper.pid, flush=True)
"""
#: A part whose helper ignores SIGTERM: SIGKILL must follow.
STUBBORN = """
import signal, subprocess, sys, time
helper = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True);"
    " time.sleep(300)"], stdout=subprocess.PIPE)
helper.stdout.readline()
print(helper.pid, flush=True)
time.sleep(300)
"""


def start(script: str) -> tuple[subprocess.Popen[bytes], int]:
    part = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, start_new_session=True
    )
    assert part.stdout is not None
    return part, int(part.stdout.readline())


def cleanup(pgid: int) -> None:
    for proc in living():
        if proc.pgid == pgid:
            os.kill(proc.pid, signal.SIGKILL)


def test_a_part_that_exited_has_the_rest_of_its_group_stopped() -> None:
    part, helper = start(LEAVES_A_HELPER)
    try:
        part.wait(timeout=30)
        assert group_alive(part.pid) and helper in [p.pid for p in living()]

        stop(part)

        assert not group_alive(part.pid)
        assert helper not in [p.pid for p in living()]
    finally:
        cleanup(part.pid)


def test_a_group_that_ignores_sigterm_is_killed() -> None:
    part, helper = start(STUBBORN)
    try:
        stop(part, timeout=1)

        assert part.returncode == -signal.SIGTERM
        assert not group_alive(part.pid)
        assert helper not in [p.pid for p in living()]
    finally:
        cleanup(part.pid)
