"""Machines of their own, on one machine: a CPU cgroup holds a part of the topology (a serving
process, with its forkserver and every run it forks) to a share of the cores, as a machine of
that size would. On one machine whose cores are all busy a second serving process can only share
them with the first; held each to its own share, the benchmark shows what a second process on a
second machine adds (`bench_topology --serving-cpus`).

Linux's cgroup v1 `cpu` controller (`/sys/fs/cgroup/cpu`, as on these machines), as root: the
quota is CPU time per 100 ms period, and every process started inside the group stays in it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

ROOT = Path("/sys/fs/cgroup/cpu")
PERIOD_US = 100_000


class CpuBox:
    """A CPU cgroup of `cpus` cores (0.4: 40 ms of CPU in every 100 ms), removed on leaving."""

    #: What holding a process to a share of the cores needs of the machine.
    NEEDS = f"Linux's cgroup v1 cpu controller at {ROOT}, writable (as root)"

    @staticmethod
    def possible() -> bool:
        """Whether this machine lets the benchmark make CPU boxes."""
        return os.access(ROOT / "cgroup.procs", os.W_OK)

    def __init__(self, name: str, cpus: float) -> None:
        if not 0 < cpus <= (os.cpu_count() or 1):
            raise ValueError(f"{cpus} cores: give a share between 0 and this machine's cores")
        if not self.possible():
            raise SystemExit(f"holding a process to {cpus} cores needs {self.NEEDS}")
        self.cpus = cpus
        self.path = ROOT / name

    def __enter__(self) -> CpuBox:
        self.path.mkdir()
        (self.path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (self.path / "cpu.cfs_quota_us").write_text(str(round(self.cpus * PERIOD_US)))
        return self

    def hold(self, pids: list[int]) -> int:
        """Move these processes into the box (their children to come are born in it); how many
        were still alive to move."""
        moved = 0
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                (self.path / "cgroup.procs").write_text(str(pid))
                moved += 1
        return moved

    def throttled(self) -> float:
        """The share of the periods so far in which the box used all its quota and waited."""
        stat = dict(
            line.split() for line in (self.path / "cpu.stat").read_text().splitlines() if line
        )
        periods = int(stat.get("nr_periods", 0))
        return int(stat.get("nr_throttled", 0)) / periods if periods else 0.0

    def __exit__(self, *exc: object) -> None:
        for pid in (self.path / "cgroup.procs").read_text().split():
            with contextlib.suppress(ProcessLookupError):
                (ROOT / "cgroup.procs").write_text(pid)  # what outlives it, back to the machine
        self.path.rmdir()
