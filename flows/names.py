"""What each run is called in the dashboard: a case's run by its case (`SS-000016 sharing-case`),
a scheduled check by its flow and the time it was due (`overdue-check 2026-11-25 09:35 UTC`),
never a generated name (`sweet-elk`) that says nothing of what waits. Prefect names a run this
way each time its engine starts it: when it is first started, and again on every resume."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC

from prefect.runtime import flow_run

from models.messages.cases import case_reference


def case_run_name(flow_name: str) -> Callable[[], str]:
    """The name of the runs of a flow whose only parameter is a case id: reference and flow."""

    def name() -> str:
        return f"{case_reference(int(flow_run.parameters['case_id']))} {flow_name}"

    return name


def scheduled_run_name(flow_name: str) -> Callable[[], str]:
    """The name of a scheduled check's runs: the flow and the minute it was due, in UTC."""

    def name() -> str:
        due = flow_run.scheduled_start_time
        return f"{flow_name} {due.astimezone(UTC):%Y-%m-%d %H:%M} UTC"

    return name
