"""The topology benchmark's stand-in for a machine of its own (benchmarks/machines.py): a CPU
cgroup holds a process and what it starts afterwards to its share, and leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # benchmarks/ is not installed
from benchmarks.machines import ROOT, CpuBox  # noqa: E402

pytestmark = pytest.mark.skipif(not CpuBox.possible(), reason=f"needs {CpuBox.NEEDS}")

#: A parent that, once told to go on, starts a child, prints its pid, and both spin.
SPINNING = """
import subprocess, sys
sys.stdin.readline()
child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
print(child.pid, flush=True)
while True:
    pass
"""


def test_a_held_process_and_the_children_it_starts_later_are_kept_to_their_share() -> None:
    name = f"safeshare-test-{os.getpid()}"
    parent = subprocess.Popen(
        [sys.executable, "-c", SPINNING],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdin is not None and parent.stdout is not None
    child: int | None = None
    try:
        with CpuBox(name, 0.1) as box:
            assert box.hold([parent.pid, 2**22 + 1]) == 1  # a pid long gone is passed over
            parent.stdin.write("go\n")
            parent.stdin.flush()
            child = int(parent.stdout.readline())
            members = {int(pid) for pid in (box.path / "cgroup.procs").read_text().split()}
            assert members == {parent.pid, child}
            time.sleep(1)  # ten periods or so: two spinning processes on 10 ms of each 100
            assert box.throttled() > 0.5
        # left while they still run: they go back to the machine, the box is gone
        assert not (ROOT / name).exists()
        mine = {int(pid) for pid in (ROOT / "cgroup.procs").read_text().split()}
        assert {parent.pid, child} <= mine
    finally:
        parent.kill()
        parent.wait()
        if child is not None:
            os.kill(child, signal.SIGKILL)


def test_a_share_beyond_the_machine_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and"):
        CpuBox("never-made", (os.cpu_count() or 1) + 1)
    assert not (ROOT / "never-made").exists()
