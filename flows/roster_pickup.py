"""The roster pickup: a scheduled flow that imports the school information system's exports
dropped in the roster inbox (pupils and staff), as `safeshare roster import` would."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow

from flows.names import scheduled_run_name
from foundations.audit import act_as
from tasks.roster_inbox import pick_up_rosters


@flow(
    name="roster-pickup",
    flow_run_name=scheduled_run_name("roster-pickup"),
    log_prints=False,
)
def roster_pickup(at: str | None = None) -> list[dict[str, object]]:
    """Each export picked up: its file name, what it held, what became of it, and counts."""
    act_as("system", "roster pickup")
    return pick_up_rosters(at or datetime.now(UTC).isoformat())
