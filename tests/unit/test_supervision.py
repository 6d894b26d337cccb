"""Which part of the stack that died is started again, and when: in the production topology
after a pause that doubles (1, 2, 4, 8, 16, then 30 s at most), six times in ten minutes at
most (then the stack stops: a restart will not mend it); never in the embedded one, where the
person at the terminal sees the stack stop."""

from __future__ import annotations

from deployments.topology import RESTART_WINDOW_SECONDS, RESTARTS_ALLOWED, restart_delay


def test_a_part_of_the_production_topology_is_restarted_six_times_in_ten_minutes() -> None:
    restarted: list[float] = []
    delays = [restart_delay("production", restarted, 100.0 + n) for n in range(7)]
    assert delays == [1, 2, 4, 8, 16, 30, None]
    assert len(restarted) == RESTARTS_ALLOWED
    # the window moves on: the first restart is forgotten ten minutes later
    assert restart_delay("production", restarted, 100.0 + RESTART_WINDOW_SECONDS + 0.5) == 30
    assert restart_delay("production", restarted, 100.0 + RESTART_WINDOW_SECONDS + 0.6) is None


def test_a_part_of_the_embedded_topology_is_never_restarted() -> None:
    restarted: list[float] = []
    assert restart_delay("embedded", restarted, 1.0) is None
    assert restarted == []
