"""Start served flow runs by forking a process that has already imported Prefect and the flows.

Prefect's runner starts each flow run in a fresh `spawn` process, which imports Prefect and the
flow again: about 4 s of CPU on a small machine, paid on every resume of a waiting case. A
forkserver (standard library) imports them once; each run is then a fork of it, ready at once.
Nothing else changes: the run gets the same pickled call, environment and settings as with spawn,
and the runner watches, cancels and kills it the same way.

The switch is one attribute: the flow engine asks `multiprocessing.get_context("spawn")` for its
process context, and is handed the forkserver context instead. `SAFESHARE_RUN_START=spawn` turns
it off.

Either way a run's process is tethered to the serving process that started it: it dies (SIGKILL)
the moment that process dies, however it dies. Otherwise a run forked from the forkserver
outlives a killed serving process (the forkserver too, as the run holds it open), goes on
writing steps and sending messages, and runs a second time at once when serving starts again
and restarts the runs a crash left Running.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import select
import signal
import threading
from collections.abc import Sequence
from multiprocessing.context import (
    BaseContext,
    ForkServerContext,
    ForkServerProcess,
    SpawnContext,
    SpawnProcess,
)
from typing import Any

from sqlalchemy.engine import make_url


def tether_to(pid: int) -> None:
    """End this process (SIGKILL) as soon as process `pid` ends, or now if it already has.

    A pidfd (Linux 5.3) names the process itself, never a later one given the same number; the
    run's process is created at that process's request, so it is alive when the run starts."""
    try:
        watched = os.pidfd_open(pid)
    except ProcessLookupError:
        os.kill(os.getpid(), signal.SIGKILL)
        return

    def watch() -> None:
        select.select([watched], [], [])  # readable once the process has exited
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="tethered-to-serving", daemon=True).start()


class _Tethered:
    """A run's process that ends with the process that asked for it (the serving process)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._serving_pid = os.getpid()

    def run(self) -> None:
        tether_to(self._serving_pid)
        super().run()  # type: ignore[misc]


class TetheredForkServerProcess(_Tethered, ForkServerProcess):
    pass


class TetheredSpawnProcess(_Tethered, SpawnProcess):
    pass


class _TetheredForkServerContext(ForkServerContext):
    Process = TetheredForkServerProcess


class _TetheredSpawnContext(SpawnContext):
    Process = TetheredSpawnProcess


#: Imported once by the forkserver, so a run's process starts with them loaded: Prefect, every
#: flow the stack serves (`deployments.serve` imports them all), and `deployments.warm`.
PRELOAD = (
    "prefect",
    "prefect.flow_engine",
    "deployments.serve",
    "deployments.warm",
)


class _RunMultiprocessing:
    """The `multiprocessing` module as the flow engine sees it: its runs' processes are started
    the chosen way (forked from the forkserver, or spawned), tethered to the serving process."""

    def __init__(self, context: BaseContext) -> None:
        self._context = context

    def get_context(self, method: str | None = None) -> BaseContext:
        return self._context

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
    prefect.flow_engine.multiprocessing = _RunMultiprocessing(_TetheredForkServerContext())  # type: ignore[attr-defined,assignment]


def start_runs_spawned() -> None:
    """From now on, the flow engine spawns each run as Prefect does, tethered all the same."""
    import prefect.flow_engine

    prefect.flow_engine.multiprocessing = _RunMultiprocessing(_TetheredSpawnContext())  # type: ignore[attr-defined,assignment]
