"""How a case's run whose process died is found and restarted: by Prefect's own engine.

A served run lives in a child of a serving process; several serving processes, on several
machines, may serve one stack's deployments. If a serving process dies while a run is Running
(between a resume and the next suspend), Prefect would keep the run Running forever. So:

- every run sends Prefect a heartbeat (`SAFESHARE_RUN_HEARTBEAT_SECONDS`, Prefect's own
  PREFECT_FLOWS_HEARTBEAT_FREQUENCY, set by the serving process for the runs it starts);
- an automation on Prefect's server (a proactive trigger) fires for any run of a case that,
  once it beat or was handed to a process (Pending, Submitting, Running), says nothing for
  `SAFESHARE_RUN_SILENT_SECONDS`: no heartbeat, no change of state;
- a second trigger fires the moment a run of a case is Crashed (the runner saw its process die);
- each starts a `recover-run` for that run (the overdue check, every few minutes, also starts
  one for any run in a process whose state is older than the silence: one an automation missed).
  Recoveries run side by side; each state of a run is acted on once (tasks/stranded.py: the
  first recovery to write the state's id in the case database acts), so a run is never crashed
  or restarted twice for one fault. (They ran one at a time under a deployment concurrency
  limit: a recovery waiting its turn was put off 30 s at a time, and one killed mid-way held
  the only slot for the five minutes of its lease, recovering nothing meanwhile.)

The automations are kept as they are when a serving process starts and finds them already in
place (`install`): Prefect keeps, per automation, the heartbeat it last heard of each run, and
an automation made again would forget the runs of the serving process that just died (so not
the deployment's own `triggers=`, which Prefect makes again each time a deployment is applied).
Two serving processes starting together may both make one: the one with the lowest id stays.

What stays ours (flows/recover_run.py, tasks/stranded.py), because Prefect cannot: telling a
run that is really silent from one that suspended at its wait a moment after its last heartbeat
(the run's state now, and whether Prefect heard from it since); acting once per state of a run;
restarting a run under its own id, so the case keeps its run and its answers; counting restarts
in a row and telling the DSL, not restarting again, when a case's run keeps crashing.

A serving process that starts does not touch runs left Running: one may be another live
process's. Those whose process is gone fall silent, and the automation finds them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from prefect.events.actions import RunDeployment
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient

log = logging.getLogger("safeshare.recovery")

#: What a run in a process says: its heartbeat, and its states on the way from the runner's
#: hands to running (Pending, then Submitting while its process starts, then Running). Each
#: starts the silence again; anything else of the run (a wait, an end) counts as said too, but
#: a run at its wait or ended is not expected to say more.
IN_PROCESS_EVENTS = {
    "prefect.flow-run.heartbeat",
    "prefect.flow-run.Pending",
    "prefect.flow-run.Submitting",
    "prefect.flow-run.Running",
    "prefect.flow-run.Retrying",
}

#: The run an event is about, as `recover-run`'s parameter (Prefect renders the template).
THE_EVENTS_RUN = {"run_id": "{{ event.resource.id }}"}


def _runs(deployment_ids: Sequence[UUID]) -> tuple[ResourceSpecification, ResourceSpecification]:
    """The events of the runs of these deployments: (match, match_related)."""
    return (
        ResourceSpecification({"prefect.resource.id": "prefect.flow-run.*"}),
        ResourceSpecification(
            {
                "prefect.resource.role": "deployment",
                "prefect.resource.id": [f"prefect.deployment.{id}" for id in deployment_ids],
            }
        ),
    )


def recovery_automations(
    stack: str, recovery_id: UUID, case_deployment_ids: Sequence[UUID], silent_seconds: int
) -> list[AutomationCore]:
    """The two automations that start the stack's `recover-run` (deployment `recovery_id`)
    for the runs of its cases: one fell silent, one was Crashed."""
    match, related = _runs(case_deployment_ids)
    recover: list[Any] = [
        RunDeployment(
            source="selected",
            deployment_id=recovery_id,
            parameters=THE_EVENTS_RUN,
            job_variables=None,
        )
    ]
    return [
        AutomationCore(
            name=f"safeshare {stack}: a case's run fell silent",
            description="A run of a case said nothing (no heartbeat, no change of state) for "
            f"{silent_seconds} s while running or pending: recover-run looks at it.",
            trigger=EventTrigger(
                posture=Posture.Proactive,
                after=IN_PROCESS_EVENTS,
                expect={"prefect.flow-run.*"},
                for_each={"prefect.resource.id"},
                threshold=1,
                within=timedelta(seconds=silent_seconds),
                match=match,
                match_related=related,
            ),
            actions=recover,
        ),
        AutomationCore(
            name=f"safeshare {stack}: a case's run crashed",
            description="A run of a case was Crashed: recover-run restarts it.",
            trigger=EventTrigger(
                posture=Posture.Reactive,
                expect={"prefect.flow-run.Crashed"},
                for_each={"prefect.resource.id"},
                threshold=1,
                within=timedelta(0),
                match=match,
                match_related=related,
            ),
            actions=recover,
        ),
    ]


def _spec(automation: AutomationCore) -> dict[str, Any]:
    """What an automation does, without the ids Prefect gives it. (Python values, not JSON: the
    trigger's event names are sets, whose JSON order differs from one process to the next.)"""
    return automation.model_dump(
        include={"description", "enabled", "trigger", "actions"},
        exclude={"trigger": {"id"}},
    )


def install(client: SyncPrefectClient, automations: Sequence[AutomationCore]) -> list[UUID]:
    """Each automation in place on Prefect's server, once, by its name: one already there that
    does the same is kept (with what it has heard), one that differs is replaced, a second copy
    is removed. The ids of those in place."""
    ids = []
    for wanted in automations:
        found = client.read_automations_by_name(wanted.name)
        same = [a.id for a in found if _spec(a) == _spec(wanted)]
        for stale in (a for a in found if a.id not in same):
            client.delete_automation(stale.id)
            log.info("automation %r changed: replaced", wanted.name)
        if not same:
            made = client.create_automation(wanted)
            again = client.read_automations_by_name(wanted.name)
            same = [a.id for a in again if a.id == made or _spec(a) == _spec(wanted)]
        keep, *copies = sorted(same)
        for copy in copies:
            client.delete_automation(copy)
        ids.append(keep)
    return ids
