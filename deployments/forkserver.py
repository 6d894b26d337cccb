"""Start served flow runs by forking a process that has already imported Prefect and the flows.

Prefect's runner starts each flow run in a fresh `spawn` process, which imports Prefect and the
flow again: about 4 s of CPU on a small machine, paid on every resume of a waiting case. A
forkserver (standard library) imports them once; each run is then a fork of it, ready at once.
Nothing else changes: the run gets the same pickled call, environment and settings as with spawn,
and the runner watches, cancels and kills it the same way.

The switch is one attribute: the flow engine asks `multiprocessing.get_context("spawn")` for its
process context, and is handed the forkserver context instead. `SAFESHARE_RUN_START=spawn` turns
it off.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
from collections.abc import Sequence
from multiprocessing.context import BaseContext
from typing import Any

from sqlalchemy.engine import make_url

#: Imported once by the forkserver, so a run's process starts with them loaded: Prefect, every
#: flow the stack serves (`deployments.serve` imports them all), and `deployments.warm`.
PRELOAD = (
    "prefect",
    "prefect.flow_engine",
    "deployments.serve",
    "deployments.warm",
)


class _ForkserverMultiprocessing:
    """The `multiprocessing` module as the flow engine sees it, with forkserver contexts."""

    def get_context(self, method: str | None = None) -> BaseContext:
        return multiprocessing.get_context("forkserver")

    def __getattr__(self, name: str) -> Any:
        return getattr(multiprocessing, name)


def preload_for(database_url: str) -> tuple[str, ...]:
    """PRELOAD and the case database's driver, which a run would import at its first query
    (psycopg: about 0.4 s); SQLite's is part of Python and always loaded."""
    driver = make_url(database_url).get_driver_name()
    return PRELOAD if driver == "pysqlite" else (*PRELOAD, driver)


def start_runs_from_forkserver(preload: Sequence[str] = PRELOAD) -> None:
    """From now on, the flow engine forks each run from a preloaded forkserver."""
    import prefect.flow_engine

    multiprocessing.set_forkserver_preload(list(preload))
    # Start it now, not at the first run: that run is then fast too, and the stack's memory
    # figures include the forkserver from the start.
    multiprocessing.forkserver.ensure_running()
    prefect.flow_engine.multiprocessing = _ForkserverMultiprocessing()  # type: ignore[attr-defined,assignment]
