"""How fast this machine is today, so that figures taken on different days can be compared:
the CPU time of a loop of twenty million additions in one Python process (the best of three),
and the share of the cores the hypervisor gave to others (steal) meanwhile. Prints figures;
asserts nothing.

    .venv/bin/python -m benchmarks.machine_speed

The suite's and the benchmarks' figures in the README give this loop's time beside them: on
the same code, a machine whose loop takes twice as long takes about twice as long for them."""

from __future__ import annotations

import os
import time

from benchmarks.measures import machine_ticks

ADDITIONS = 20_000_000


def loop_seconds() -> float:
    """CPU seconds of one loop of ADDITIONS additions in this process."""
    started = time.process_time()
    total = 0
    for i in range(ADDITIONS):
        total += i
    return time.process_time() - started


def steal_ticks() -> tuple[int, int]:
    """(stolen, all) ticks of the whole machine since it started."""
    fields = machine_ticks()
    return fields[7], sum(fields)


def main() -> None:
    stolen, ticks = steal_ticks()
    times = [loop_seconds() for _ in range(3)]
    stolen_after, ticks_after = steal_ticks()
    steal = (stolen_after - stolen) / max(1, ticks_after - ticks)
    print(
        f"twenty million additions: {min(times):.2f} CPU-s at best "
        f"({', '.join(f'{t:.2f}' for t in times)}); {os.cpu_count()} cores, "
        f"{steal:.0%} of their time stolen meanwhile"
    )


if __name__ == "__main__":
    main()
