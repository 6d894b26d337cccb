"""The retention review: a scheduled flow that tells the DSL when child protection files are
past their retention date and await a person's decision."""

from __future__ import annotations

from datetime import UTC, date, datetime

from prefect import flow

from flows.names import scheduled_run_name
from foundations.audit import act_as
from tasks.retention import tell_review


@flow(
    name="retention-review",
    flow_run_name=scheduled_run_name("retention-review"),
    log_prints=False,
)
def retention_review(on: str | None = None) -> int:
    """How many files await a decision on `on` (YYYY-MM-DD; today when unset)."""
    act_as("system", "retention review")
    today = date.fromisoformat(on) if on else datetime.now(UTC).date()
    return tell_review(today)
