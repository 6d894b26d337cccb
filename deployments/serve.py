"""Serve safeshare's deployments from one long-lived process (started by `safeshare up`).

Runs wait suspended, holding no process; this server starts a fresh process for each resumed
run. Several of these may run on different machines against one Prefect API to scale out.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import cast

from prefect import serve
from prefect.deployments.runner import RunnerDeployment

from deployments.recovery import restart_runs, resume_answered_runs
from flows.sharing_case import sharing_case
from safeshare.settings import Settings, get_settings

SHARING_CASE_FLOW = "sharing-case"


def deployments(settings: Settings) -> list[RunnerDeployment]:
    """Every deployment this stack serves, named after the stack."""
    case = sharing_case.to_deployment(
        name=settings.deployment,
        description="One safeguarding sharing case; its only parameter is the case id.",
        tags=["safeshare"],
    )
    return [cast(RunnerDeployment, case)]  # to_deployment is sync here, whatever its type says


def deployment_name(settings: Settings) -> str:
    return f"{SHARING_CASE_FLOW}/{settings.deployment}"


def main() -> None:
    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    restarted = restart_runs(
        SHARING_CASE_FLOW,
        settings.deployment,
        older_than=timedelta(seconds=settings.restart_after_seconds),
    )
    resume_answered_runs(SHARING_CASE_FLOW, settings.deployment)
    logging.getLogger("safeshare.serve").info("restarted %d run(s) left by a crash", len(restarted))
    serve(
        *deployments(settings),
        print_starting_message=False,
        pause_on_shutdown=False,
        query_seconds=settings.runner_poll_seconds,
    )


if __name__ == "__main__":
    main()
