"""Where a recorded case's workflow is started: one flow run per case, keyed by the case, from
whichever door recorded it (the CLI or the web form)."""

from __future__ import annotations

from typing import cast

from safeshare.settings import get_settings, prefect_settings


def start_case_run(case_id: int) -> tuple[str | None, str | None]:
    """Create the case's flow run (once: the run is keyed by the case); (run id, problem)."""
    settings = get_settings()
    prefect_settings(settings)
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    from deployments.serve import deployment_name
    from flows.kinds import FLOW_OF_KIND
    from tasks.directory import case_kind, set_flow_run

    kind = case_kind(case_id)
    try:
        run = cast(
            FlowRun,
            run_deployment(
                name=deployment_name(settings, kind),
                parameters={"case_id": case_id},
                timeout=0,
                # Prefect keys idempotency per flow, not per deployment: name the stack too, so two
                # case databases served through one Prefect server never share a run.
                idempotency_key=f"{settings.deployment}:{FLOW_OF_KIND[kind]}-{case_id}",
                tags=["safeshare"],
            ),
        )
    except Exception as exc:  # the Prefect API is down or the deployment is not served
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    set_flow_run(case_id, str(run.id))
    return str(run.id), None
