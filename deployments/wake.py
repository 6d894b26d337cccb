"""Start a run the moment it is ready, not at the runner's next poll.

Prefect's server tells every change of a run's state on its events stream (/api/events/out). A
run of one of our deployments that becomes ready to start (state type SCHEDULED: a new case's
run, a resumed one, a retry) wakes the runner, which looks for its ready runs at once. Prefect's
runner only polls; the stream is the engine's own way of saying "now", and it reaches every
serving process on every machine, whoever resumed the run (a link, the CLI, the DSL's Resume
button in the dashboard).

A run is often resumed while the process that suspended it is still ending (its last ~0.8 s:
Prefect's heartbeat and observers shutting down); the runner skips a run it is still running.
Such a run is watched, locally and without asking the API, until its process is gone. And the
server may tell the event a moment before a query sees the run in its new state: each ready
run is looked for again, a few times over a few seconds, until it is started.

The runner's own poll stays as the safety net, at a slower pace: a run scheduled for later (a
cron slot, a retry's delay), an event lost while the stream was reconnecting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from typing import Any
from uuid import UUID

from prefect.events import Event
from prefect.events.clients import get_events_subscriber
from prefect.events.filters import EventFilter, EventNameFilter, EventRelatedFilter
from prefect.runner import Runner

log = logging.getLogger("safeshare.serve")

#: How long to wait before listening again when the stream cannot be reached.
RETRY_SECONDS = 5.0
#: How often a run still ending in this process is checked (a local set, no API call).
IN_FLIGHT_CHECK_SECONDS = 0.05


def runs_of(deployment_ids: Iterable[UUID]) -> EventFilter:
    """Every change of state of a run of these deployments. (The stream's filter by resource
    label did not match state types on Prefect 3.9's server: `ready_run` picks them here.)"""
    return EventFilter(
        event=EventNameFilter(prefix=["prefect.flow-run."]),
        related=EventRelatedFilter(id=[f"prefect.deployment.{id}" for id in deployment_ids]),
    )


def ready_run(event: Event) -> UUID | None:
    """The run that entered a state of type SCHEDULED (Scheduled, Resuming, AwaitingRetry,
    Late), or None for any other event."""
    if event.resource.get("prefect.state-type") != "SCHEDULED":
        return None
    try:
        return UUID(event.resource.id.removeprefix("prefect.flow-run."))
    except ValueError:
        return None


def in_flight(served: Runner) -> set[UUID]:
    """Runs this runner is submitting or running now. Prefect keeps the set privately; if a
    later version moves it, nothing is watched and such runs start at the next poll."""
    poller = getattr(served, "_scheduled_run_poller", None)
    return set(getattr(poller, "_submitting_flow_run_ids", ()))


class Looks:
    """The runner's looks for ready runs, one at a time: a caller that asks while one is under
    way waits for the next, which a burst of callers shares."""

    def __init__(self, served: Runner) -> None:
        self._served = served
        self._lock = asyncio.Lock()
        self._begun = 0
        self._done = 0

    async def after_now(self) -> None:
        """Return once a look that began after this call has ended."""
        wanted = self._begun + 1
        async with self._lock:
            if self._done >= wanted or not self._served.started or self._served.stopping:
                return
            self._begun += 1
            try:
                # the runner's own poll, done now (Prefect has no public door for it)
                await self._served._get_and_submit_flow_runs()  # type: ignore[no-untyped-call]
            except Exception:  # the API is away: the poll and the next event try again
                log.warning("looking for ready runs failed", exc_info=True)
            finally:
                self._done = self._begun


#: Pauses between looks for one ready run until it is started (the server may tell the event a
#: moment before a query sees the run); after them, the runner's own poll.
CHASE_PAUSES = (0.0, 0.2, 0.5, 1.0, 2.0)
#: How long a ready run not started for want of a free slot is looked for as slots free up
#: (another serving process may have taken it).
AT_CAPACITY_SECONDS = 300.0


async def wake_when_ready(served: Runner, deployment_ids: Iterable[UUID]) -> None:
    """Until cancelled: each run of ours that becomes ready is looked for until it is started
    (by this process: another serving process may take it first, and then the looks stop after
    a few seconds)."""
    wanted = runs_of(deployment_ids)
    looks = Looks(served)
    chased: set[UUID] = set()
    tasks: set[asyncio.Task[None]] = set()

    loop = asyncio.get_running_loop()
    #: Ready runs not started for want of a free slot, and until when to look for them.
    want_slot: dict[UUID, float] = {}
    wanting = asyncio.Event()

    async def chase(run_id: UUID, ending: bool) -> None:
        try:
            while ending and run_id in in_flight(served):  # its last process is still ending
                await asyncio.sleep(IN_FLIGHT_CHECK_SECONDS)
            for pause in CHASE_PAUSES:
                await asyncio.sleep(pause)
                await looks.after_now()
                if run_id in in_flight(served):
                    return
            if not served.has_slots_available():  # a burst: `free_slots` takes it from here
                want_slot[run_id] = loop.time() + AT_CAPACITY_SECONDS
                wanting.set()
        finally:
            chased.discard(run_id)

    async def free_slots() -> None:
        """One watcher for every run waiting for a slot: a look as soon as one is free. It
        sleeps on an event while no run waits."""
        while True:
            await wanting.wait()
            await asyncio.sleep(IN_FLIGHT_CHECK_SECONDS)
            if served.has_slots_available():
                await looks.after_now()
                started, now = in_flight(served), loop.time()
                for run_id, until in list(want_slot.items()):
                    if run_id in started or now > until:
                        del want_slot[run_id]
            if not want_slot:
                wanting.clear()

    def spawn(work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    spawn(free_slots())
    try:
        while True:
            try:
                async with get_events_subscriber(filter=wanted) as events:
                    spawn(looks.after_now())  # whatever became ready while nobody listened
                    async for event in events:
                        run_id = ready_run(event)
                        if run_id is not None and run_id not in chased:
                            chased.add(run_id)
                            spawn(chase(run_id, ending=run_id in in_flight(served)))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the server restarting, say: the poll covers the gap
                log.warning("events stream unavailable (%s); listening again", error)
            await asyncio.sleep(RETRY_SECONDS)
    finally:
        for task in list(tasks):
            task.cancel()
