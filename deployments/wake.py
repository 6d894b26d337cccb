"""Start a run the moment it is ready, not at the runner's next poll.

Prefect's server tells every change of a run's state on its events stream (/api/events/out). A
run of one of our deployments that becomes ready to start (state type SCHEDULED: a new case's
run, a resumed one, a retry) wakes the runner, which looks for its ready runs at once. Prefect's
runner only polls; the stream is the engine's own way of saying "now", and it reaches every
serving process on every machine, whoever resumed the run (a link, the CLI, the DSL's Resume
button in the dashboard).

A run is often resumed while the process that suspended it is still ending (its last ~0.8 s:
Prefect's heartbeat and observers shutting down); the runner skips a run it is still running.
Such a run is watched, locally and without asking the API, until its process is gone, and
then looked for again.

The runner's own poll stays as the safety net, at a slower pace: a run scheduled for later (a
cron slot, a retry's delay), an event lost while the stream was reconnecting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
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


async def wake_when_ready(served: Runner, deployment_ids: Iterable[UUID]) -> None:
    """Until cancelled: each event of a ready run makes the runner look for ready runs.

    Events that arrive while the runner is already looking are folded into one more look
    after it, so a burst of fifty answers costs a few looks, not fifty."""
    wanted = runs_of(deployment_ids)
    ready = asyncio.Event()
    watched: set[UUID] = set()

    async def look() -> None:
        while True:
            await ready.wait()
            ready.clear()
            if served.started and not served.stopping:
                try:
                    # the runner's own poll, done now (Prefect has no public door for it)
                    await served._get_and_submit_flow_runs()  # type: ignore[no-untyped-call]
                except Exception:  # the API is away: the poll and the next event try again
                    log.warning("looking for ready runs failed", exc_info=True)

    async def once_ended(run_id: UUID) -> None:
        try:
            while run_id in in_flight(served):
                await asyncio.sleep(IN_FLIGHT_CHECK_SECONDS)
            ready.set()
        finally:
            watched.discard(run_id)

    tasks = {asyncio.create_task(look(), name="safeshare-wake")}
    try:
        while True:
            try:
                async with get_events_subscriber(filter=wanted) as events:
                    ready.set()  # whatever became ready while nobody listened
                    async for event in events:
                        run_id = ready_run(event)
                        if run_id is None:
                            continue
                        ready.set()
                        if run_id in in_flight(served) and run_id not in watched:
                            watched.add(run_id)
                            task = asyncio.create_task(once_ended(run_id))
                            tasks.add(task)
                            task.add_done_callback(tasks.discard)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the server restarting, say: the poll covers the gap
                log.warning("events stream unavailable (%s); listening again", error)
            await asyncio.sleep(RETRY_SECONDS)
    finally:
        for task in list(tasks):
            task.cancel()
