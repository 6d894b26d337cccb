"""Where people are asked: a wait opened (the case marked as waiting under the wait's next key,
tasks/steps.py), the people told on the step's tag, and each person who may answer sent their
own code and link (tasks/credentials.py), in one task run. They were three, one after another at
every wait, and each task run costs Prefect's server about 44 ms of CPU (its three events, the
run and its states recorded) on top of the engine's own work; each part is idempotent by its
keys, so the whole is retried as one."""

from __future__ import annotations

from datetime import datetime

from models.kernel.waits import Slot, Wait
from models.messages.waits import waiting_message
from tasks.credentials import issue_credentials
from tasks.notify import deliver
from tasks.prefect_task import task
from tasks.steps import open_step


@task(retries=2, retry_delay_seconds=1)
def open_wait(
    case_id: int,
    wait: Wait,
    *,
    tag: str,
    flow_run_id: str,
    dashboard: str | None,
    deadline: str | None = None,
    clock_from: datetime | None = None,
    due: datetime | None = None,
    note: str | None = None,
) -> Slot:
    """The wait, opened: its answer if one was accepted already (nothing is sent), or the key it
    waits under now and who may answer, once `tag` is told (`note` first) and each of them has
    their own code (and link), the run's page in the dashboard beside it."""
    waiting = open_step(case_id, wait, deadline, clock_from)
    if waiting.answered is not None:
        return waiting
    title, body = waiting_message(
        case_id, wait.step, who=waiting.who, link=dashboard, due=due, note=note
    )
    deliver(
        f"case:{case_id}:{wait.slot}:{tag}",
        case_id=case_id,
        tag=tag,
        kind=f"waiting:{wait.step.value}",
        title=title,
        body=body,
    )
    issue_credentials(waiting, flow_run_id, dashboard=dashboard)
    return waiting
