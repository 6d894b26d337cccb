"""How every task of a case's run is declared: `@task(...)`, a Prefect task (no cache: each call
runs, and what it writes is keyed in the case database), made at its first call; and the logger
a task's lines go to (`run_logger`).

Prefect is most of what a process would import to read a case (about 1.5 s of CPU): the CLI's
reading commands and the web app's pages import the modules that hold the tasks for their plain
reads, and so import no Prefect until something calls a task. In a run (its process forked from
one that has imported Prefect already) the first call makes the task and every call after uses
it (the forkserver makes them all before it forks: `make_all`); called outside a run, it is
Prefect's standalone task run, as before.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

if TYPE_CHECKING:
    from prefect.client.schemas.objects import State

P = ParamSpec("P")
R = TypeVar("R")

#: Every task declared in the modules imported so far.
DECLARED: list[Task[Any, Any]] = []


class Task(Generic[P, R]):
    """A function of tasks/ run as a Prefect task when called."""

    def __init__(self, fn: Callable[P, R], options: dict[str, Any]) -> None:
        functools.update_wrapper(self, fn)
        #: The function itself, run without Prefect (as Prefect's tasks have it).
        self.fn = fn
        self._options = options
        self._made: Any = None
        DECLARED.append(self)

    def _task(self) -> Any:
        if self._made is None:
            from prefect import task  # here: see the module's docstring
            from prefect.cache_policies import NO_CACHE

            self._made = task(cache_policy=NO_CACHE, **self._options)(self.fn)
        return self._made

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        result: R = self._task()(*args, **kwargs)
        return result

    def final_state(self, *args: P.args, **kwargs: P.kwargs) -> State[R]:
        """Run it and return its final state, a failure included, instead of raising."""
        state: State[R] = self._task()(*args, return_state=True, **kwargs)
        return state


def task(
    *, name: str | None = None, retries: int = 0, retry_delay_seconds: float = 0
) -> Callable[[Callable[P, R]], Task[P, R]]:
    """Declare a function a Prefect task with these options, made when it is first called."""

    def declare(fn: Callable[P, R]) -> Task[P, R]:
        options: dict[str, Any] = {"retries": retries, "retry_delay_seconds": retry_delay_seconds}
        if name is not None:
            options["name"] = name
        return Task(fn, options)

    return declare


def run_logger(fallback: str) -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The logger of the run or task being run (its lines reach the dashboard), or the logger
    `fallback` outside one (a CLI command, a test calling `.fn`)."""
    from prefect import get_run_logger  # here: see the module's docstring
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(fallback)


def make_all() -> None:
    """Make every task declared so far (a process that forks runs does it once for them all)."""
    for declared in DECLARED:
        declared._task()
