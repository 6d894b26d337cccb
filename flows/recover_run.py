"""Recover one case's run that Prefect found dead or stopped: started by Prefect's automations
the moment a run of a case falls silent or is Crashed (deployments/recovery.py), and by the
overdue check for any stopped or long-unchanged run it finds; each state of a run is acted on
once, however many recoveries look at it at once (tasks/stranded.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from prefect import flow

from foundations.audit import act_as
from tasks.stranded import recover_run as recover

#: How an event names a flow run (`prefect.flow-run.<id>`); Prefect's automations pass that.
RUN_RESOURCE = "prefect.flow-run."


@flow(name="recover-run", log_prints=False)
def recover_run(run_id: str) -> str:
    """Look at the run `run_id` (its id, or the resource id an event names it by) and recover
    it if it is dead or stopped; what was done, in a word (tasks/stranded.py)."""
    act_as("system", "run recovery")
    return recover(UUID(run_id.removeprefix(RUN_RESOURCE)), datetime.now(UTC))
