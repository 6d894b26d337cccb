"""Serve safeshare's deployments from one long-lived process (started by `safeshare up`).

Runs wait suspended, holding no process; this server starts a process for each resumed run.
Several of these may run on different machines against one Prefect API to scale out.

The flow is handed to Prefect's runner as a flow object (`Runner.add_flow`), not as a deployment
to load from its entrypoint: the runner then starts each run with `run_flow_in_subprocess`, which
`deployments.forkserver` can fork from a process that has already imported Prefect and the flows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from prefect import Flow
from prefect.exceptions import TerminationSignal
from prefect.runner import Runner

from deployments.forkserver import preload_for, start_runs_from_forkserver, start_runs_spawned
from deployments.recovery import install, recovery_automations
from deployments.wake import wake_when_ready
from flows.access_request import access_request
from flows.audit_anchor import audit_anchor
from flows.notice import notice
from flows.overdue_check import overdue_check
from flows.plan_event import plan_event
from flows.recover_run import recover_run
from flows.retention_review import retention_review
from flows.roster_pickup import roster_pickup
from flows.sharing_case import sharing_case
from flows.transfer import transfer
from foundations.logs import configure_logging
from foundations.private import owner_only
from foundations.settings import Settings, get_settings
from models.runs import CASE_FLOWS
from tasks.flow_runs import prefect_client
from tasks.starting import start_unstarted
from tasks.stranded import resume_answered_runs

log = logging.getLogger("safeshare.serve")


#: What each served flow is, as the dashboard describes its deployment.
DESCRIPTIONS: dict[str, str] = {
    "sharing-case": "One safeguarding sharing case; its only parameter is the case id.",
    "plan-event": "One Child Protection Plan event passed on at once; its only parameter is "
    "the case id.",
    "access-request": "One request to see child protection records, decided by the DSL or the "
    "SLT; its only parameter is the case id.",
    "notice": "One need-to-know notice: reviewed by the DSL, told to those who need to know; "
    "its only parameter is the case id.",
    "transfer": "One leaver's child protection file, sent to their next school and received; "
    "its only parameter is the case id.",
    "recover-run": "Restarts one case's run that crashed or fell silent (started by Prefect's "
    "automations and the overdue check; one at a time).",
    "overdue-check": "Escalates every wait past its deadline, one rung of its ladder at a time.",
    "audit-anchor": "Writes the audit trail's head down outside the case database (the anchor "
    "file, a message to the DSL), once the trail is checked.",
    "retention-review": "Tells the DSL how many children's records await a retention decision.",
    "roster-pickup": "Imports the school information system's exports of pupils and staff "
    "dropped in the roster inbox.",
}


def new_runner(settings: Settings) -> Runner:
    """Prefect's runner as the settings say: at most `runner_limit` runs at once, looking for
    runs to start every `runner_poll_seconds` besides being woken (deployments/wake.py)."""
    return Runner(
        name=f"safeshare-{settings.deployment}",
        pause_on_shutdown=False,
        query_seconds=settings.runner_poll_seconds,
        limit=settings.runner_limit,
    )


def runner(settings: Settings) -> tuple[Runner, list[UUID]]:
    """A runner with every deployment this stack serves, named after the stack, and the ids of
    those deployments; and the automations that start `recover-run` for the case flows' runs
    (deployments/recovery.py), unless they are in place already."""
    served = new_runner(settings)

    def add(flow: Flow[..., Any], cron: str | None = None, **options: Any) -> UUID:
        id = served.add_flow(  # synchronous here: outside an event loop it returns the id
            flow,
            name=settings.deployment,
            cron=cron,
            description=DESCRIPTIONS[flow.name],
            tags=["safeshare"],
            **options,
        )
        assert isinstance(id, UUID)
        return id

    cases = [add(flow) for flow in (sharing_case, plan_event, access_request, notice, transfer)]
    recovery = add(recover_run)
    with prefect_client() as client:
        install(
            client,
            recovery_automations(settings.deployment, recovery, cases, settings.run_silent_seconds),
        )
    scheduled = [
        add(overdue_check, settings.overdue_cron),
        add(audit_anchor, settings.audit_anchor_cron),
        add(retention_review, settings.retention_cron),
        add(roster_pickup, settings.roster_cron),
    ]
    return served, [*cases, recovery, *scheduled]


async def serve(served: Runner, deployment_ids: list[UUID]) -> None:
    """Run the runner, woken by the events stream whenever one of its runs is ready."""
    waking = asyncio.create_task(wake_when_ready(served, deployment_ids))
    try:
        await served.start()
    finally:
        waking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waking


def main() -> None:
    owner_only()  # runs fork or spawn from here: their results and logs are owner-only too
    settings = get_settings()
    # Prefect gave the root logger its console handler at WARNING, so the serving process's own
    # lines (runs restarted, cases started) went unsaid: ours, at INFO, in the settings' format
    configure_logging(settings)
    # every run it starts beats (Prefect's heartbeat): one that falls silent is found dead by
    # Prefect's automation and restarted (deployments/recovery.py); a run left Running here is
    # not restarted on sight, as it may be another live serving process's
    os.environ["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] = str(settings.run_heartbeat_seconds)
    resume_answered_runs(CASE_FLOWS, settings.deployment)
    if settings.run_start == "forkserver":
        start_runs_from_forkserver(preload_for(settings.case_database_url))
    else:
        start_runs_spawned()
    served, deployment_ids = runner(settings)
    try:  # cases recorded while Prefect was away, now that their deployments exist
        start_unstarted(datetime.now(UTC))
    except Exception:  # the case database is down, say: the next overdue check tries again
        log.exception("cases recorded without a run were not started")
    try:
        asyncio.run(serve(served, deployment_ids))
    except (KeyboardInterrupt, TerminationSignal) as stop:
        log.info("%s: stopped serving", type(stop).__name__)


if __name__ == "__main__":
    main()
