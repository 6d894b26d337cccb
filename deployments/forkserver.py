"""Start served flow runs by forking a process that has already imported Prefect and the flows.

Prefect's runner starts each flow run in a fresh `spawn` process, which imports Prefect and the
flow again: about 4 s of CPU on a small machine, paid on every resume of a waiting case. A
forkserver (standard library) imports them once; each run is then a fork of it, ready at once.
Nothing else changes: the run gets the same pickled call, environment and settings as with spawn,
and the runner watches, cancels and kills it the same way.

The switch is one attribute: the runner starts each run with the function
`prefect.runner._starter_direct.run_flow_in_subprocess` (Prefect's own hook for it), and is handed
`run_flow_forked` instead, which starts it the same way from the forkserver. One thing differs:
Prefect's settings. Prefect's function serializes the serving process's settings for each run
(to its context and to its environment), and the run's process builds them twice more (from its
environment, then from the context): about 0.15 s of CPU per run, a quarter of a resumed run's
CPU, for settings equal to those the forkserver built when it started. A forked run takes the
forkserver's own when its environment holds the same PREFECT_ settings as the forkserver's did,
and builds them from its environment as Prefect does otherwise. `SAFESHARE_RUN_START=spawn`
turns all of it off: runs are spawned by Prefect's own function.

Either way a run's process is tethered to the serving process that started it: it dies (SIGKILL)
the moment that process dies, however it dies. Otherwise a run forked from the forkserver
outlives a killed serving process (the forkserver too, as the run holds it open), goes on
writing steps and sending messages, and runs a second time at once when serving starts again
and restarts the runs a crash left Running.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import select
import signal
import threading
from collections.abc import Iterable, Mapping, Sequence
from multiprocessing.context import (
    BaseContext,
    ForkServerContext,
    ForkServerProcess,
    SpawnContext,
    SpawnProcess,
)
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.client.schemas.objects import FlowRun
    from prefect.futures import PrefectFuture
    from prefect.settings import Settings


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


def settings_env(env: Mapping[str, str | None]) -> frozenset[tuple[str, str]]:
    """The PREFECT_ settings an environment sets (Prefect's PREFECT__ variables say which run,
    port and token a run has, and are no settings)."""
    return frozenset(
        (name, value)
        for name, value in env.items()
        if name.startswith("PREFECT_") and not name.startswith("PREFECT__") and value is not None
    )


#: Prefect's settings as the forkserver built them, and the PREFECT_ settings of the environment a
#: run forked from it would be given (`remember_forkserver_settings`); None in any other process.
_forkserver_settings: tuple[frozenset[tuple[str, str]], Settings] | None = None


def remember_forkserver_settings() -> None:
    """Keep this process's Prefect settings for the runs forked from it, with the environment
    Prefect's function would give them from here (its settings exported, over its environment).
    Done in the forkserver before it forks (`deployments.warm`)."""
    global _forkserver_settings
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    exported = settings.to_environment_variables(exclude_unset=True)
    _forkserver_settings = (settings_env({**exported, **os.environ}), settings)


#: The settings last exported for a run, and their export: the serving process's settings
#: stay the same object while it serves.
_last_exported: list[tuple[Settings, dict[str, str]]] = []


def _exported(settings: Settings) -> dict[str, str]:
    """The settings as environment variables, as Prefect gives them to a run's process."""
    if not _last_exported or _last_exported[0][0] is not settings:
        _last_exported[:] = [(settings, settings.to_environment_variables(exclude_unset=True))]
    return _last_exported[0][1]


def _run_context() -> dict[str, Any]:
    """The serving process's context for a run, as Prefect's `serialize_context` makes it,
    without the settings: the run's process has its own (`_run_forked`)."""
    from prefect.context import (
        EngineContext,
        TagsContext,
        TaskRunContext,
        _deployment_id,
        _deployment_parameters,
    )

    engine, task_run, tags = EngineContext.get(), TaskRunContext.get(), TagsContext.get()
    deployment_id = _deployment_id.get()
    return {
        "flow_run_context": engine.serialize() if engine else {},
        "task_run_context": task_run.serialize() if task_run else {},
        "tags_context": tags.serialize() if tags else {},
        "settings_context": {},
        "asset_context": {},
        "deployment_id": str(deployment_id) if deployment_id else None,
        "deployment_parameters": _deployment_parameters.get(),
    }


def _run_forked(
    *args: Any,
    env: dict[str, str | None] | None = None,
    remove_env: Iterable[str] = (),
    **kwargs: Any,
) -> None:
    """In the run's process: what Prefect's `run_flow_in_subprocess` runs there, with the
    forkserver's settings when the run's environment sets the same PREFECT_ settings."""
    from prefect.context import SettingsContext, get_settings_context
    from prefect.engine import handle_engine_signals
    from prefect.flow_engine import _runtime_subprocess_env, run_flow
    from prefect.settings import Settings

    for key in remove_env:
        os.environ.pop(key, None)
    os.environ.update(_runtime_subprocess_env(env))
    kept = _forkserver_settings
    settings = kept[1] if kept is not None and settings_env(os.environ) == kept[0] else Settings()
    flow_run = kwargs.get("flow_run")
    with SettingsContext(profile=get_settings_context().profile, settings=settings):
        with handle_engine_signals(getattr(flow_run, "id", None)):
            maybe_coro = run_flow(*args, **kwargs)
            if asyncio.iscoroutine(maybe_coro):
                asyncio.run(maybe_coro)


def run_flow_forked(
    flow: Flow[..., Any],
    flow_run: FlowRun | None = None,
    parameters: dict[str, Any] | None = None,
    wait_for: Iterable[PrefectFuture[Any]] | None = None,
    context: dict[str, Any] | None = None,
    env: dict[str, str | None] | None = None,
) -> ForkServerProcess:
    """Prefect's `run_flow_in_subprocess` (what the runner calls to start a run), the run's
    process forked from the forkserver: the same environment, control channel and call, and
    the settings taken as `_run_forked` says."""
    from prefect.flow_engine import (
        _CONTROL_CHANNEL_ENV_KEYS,
        _run_serialized_call_with_control_bootstrap,
        _runtime_subprocess_env,
    )
    from prefect.settings import get_current_settings
    from prefect.utilities.callables import cloudpickle_wrapped_call
    from prefect.utilities.processutils import sanitize_subprocess_env

    merged_env: dict[str, str | None] = {
        **_exported(get_current_settings()),
        **os.environ,
        "PREFECT__ENABLE_CANCELLATION_AND_CRASHED_HOOKS": "false",
        **(env or {}),
    }
    sanitized = sanitize_subprocess_env(merged_env)
    call = cloudpickle_wrapped_call(
        _run_forked,
        env=_runtime_subprocess_env(sanitized),
        remove_env={key for key, value in merged_env.items() if value is None},
        flow=flow,
        flow_run=flow_run,
        parameters=parameters,
        wait_for=wait_for,
        context=context or _run_context(),
    )
    startup_env = {k: v for k, v in sanitized.items() if k in _CONTROL_CHANNEL_ENV_KEYS}
    process = _TetheredForkServerContext().Process(
        target=_run_serialized_call_with_control_bootstrap,
        args=(call.args[0], startup_env),  # type: ignore[attr-defined]
    )
    process.start()
    return process


#: Prefect's own (private) names that `run_flow_forked` starts a run with, by module.
PREFECT_NAMES = {
    "prefect.flow_engine": (
        "run_flow_in_subprocess",
        "_CONTROL_CHANNEL_ENV_KEYS",
        "_run_serialized_call_with_control_bootstrap",
        "_runtime_subprocess_env",
        "run_flow",
    ),
    "prefect.runner._starter_direct": ("run_flow_in_subprocess",),
    "prefect.context": ("_deployment_id", "_deployment_parameters", "serialize_context"),
    "prefect.utilities.processutils": ("sanitize_subprocess_env",),
}


def prefect_has_what_forked_runs_use() -> bool:
    """Whether this Prefect has every name `run_flow_forked` and `_run_forked` use (they follow
    Prefect's private `run_flow_in_subprocess`; a Prefect without them keeps its own)."""
    import importlib

    try:
        return all(
            hasattr(importlib.import_module(module), name)
            for module, names in PREFECT_NAMES.items()
            for name in names
        )
    except ImportError:
        return False


def start_runs_from_forkserver(preload: Sequence[str] = PRELOAD) -> None:
    """From now on, the runner forks each run from a preloaded forkserver."""
    import prefect.flow_engine
    import prefect.runner._starter_direct

    multiprocessing.set_forkserver_preload(list(preload))
    # Start it now, not at the first run: that run is then fast too, and the stack's memory
    # figures include the forkserver from the start.
    multiprocessing.forkserver.ensure_running()
    if prefect_has_what_forked_runs_use():
        prefect.runner._starter_direct.run_flow_in_subprocess = run_flow_forked  # type: ignore[attr-defined,assignment]
    else:  # another Prefect: its own function starts each run, from the forkserver all the same
        logging.getLogger("safeshare.serving").warning(
            "Prefect %s lacks what a forked run takes its settings with: runs build their own",
            prefect.__version__,
        )
    # anything else that starts a run in a process of its own forks it too
    prefect.flow_engine.multiprocessing = _RunMultiprocessing(_TetheredForkServerContext())  # type: ignore[attr-defined,assignment]


def start_runs_spawned() -> None:
    """From now on, the flow engine spawns each run as Prefect does, tethered all the same."""
    import prefect.flow_engine

    prefect.flow_engine.multiprocessing = _RunMultiprocessing(_TetheredSpawnContext())  # type: ignore[attr-defined,assignment]
