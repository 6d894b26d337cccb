"""A bare Prefect flow of the sharing case's shape, to measure what safeshare adds on top.

Same number of task runs and of suspensions as a whole case, but the tasks do nothing and the
suspensions take no form: the difference between the two is the case's own orchestration
(database writes, notifications through the outbox, form checks, the re-run from the top).
It is served the way `deployments.serve` serves the case (a runner holding the flow object,
runs forked from a preloaded forkserver unless SAFESHARE_RUN_START=spawn), so that the
comparison measures what the case adds, not how its processes start.

    python -m benchmarks.bare_flow    # serves the deployment `bare-steps/bench`
"""

from __future__ import annotations

import asyncio
import os

from prefect import flow, task
from prefect.flow_runs import suspend_flow_run
from prefect.runner import Runner

BARE_DEPLOYMENT = "bare-steps/bench"


@task
def step(index: int) -> int:
    """A task that does nothing but be orchestrated."""
    return index


@flow(name="bare-steps", persist_result=True)
def bare_steps(tasks_per_segment: list[int]) -> int:
    """Run each segment's tasks, suspending between segments as a case waits between steps."""
    done = 0
    for number, count in enumerate(tasks_per_segment):
        if number > 0:
            suspend_flow_run(key=f"wait-{number}", timeout=None)
        for _ in range(count):
            step(done)
            done += 1
    return done


def main() -> None:
    from deployments.forkserver import start_runs_from_forkserver

    if os.environ.get("SAFESHARE_RUN_START", "forkserver") == "forkserver":
        start_runs_from_forkserver(("prefect", "prefect.flow_engine", "benchmarks.bare_flow"))
    runner = Runner(pause_on_shutdown=False, query_seconds=0.5)
    runner.add_flow(bare_steps, name="bench")
    asyncio.run(runner.start())


if __name__ == "__main__":
    main()
