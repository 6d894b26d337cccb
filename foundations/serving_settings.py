"""The settings of the processes that run cases (the serving processes, the production
topology): how many runs at once, how runs start, how a run whose process died is found.

Part of every process's Settings (foundations/settings.py), read from the same SAFESHARE_
variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Prefect's shortest heartbeat (its PREFECT_FLOWS_HEARTBEAT_FREQUENCY is at least this).
SHORTEST_HEARTBEAT_SECONDS = 30


class ServingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAFESHARE_", extra="ignore")

    #: The serving process's safety-net poll for runs to start (Prefect's events stream wakes
    #: it when one is resumed or scheduled).
    runner_poll_seconds: float = Field(default=5.0, gt=0)
    #: How many runs one serving process runs at once (Prefect's runner limit); more wait
    runner_limit: int = Field(default=5, ge=1, le=100)
    #: How the serving process starts a run: forked from a process that has imported Prefect
    #: and the flows already (fast), or Prefect's own fresh spawn (slow).
    run_start: Literal["forkserver", "spawn"] = "forkserver"
    #: How often a running case's run tells Prefect it is alive (Prefect's flow run heartbeat,
    #: PREFECT_FLOWS_HEARTBEAT_FREQUENCY in the runs the serving process starts).
    run_heartbeat_seconds: int = Field(default=SHORTEST_HEARTBEAT_SECONDS, ge=30, le=3600)
    #: A running (or pending) case's run that says nothing for this long is taken for dead by
    #: Prefect's automation: marked Crashed and restarted (deployments/recovery.py).
    run_silent_seconds: int = Field(default=90, ge=35, le=86400)
    #: Redis, for the production topology: Prefect's messaging, event order, leases, services
    redis_url: SecretStr | None = None
    #: The production topology's serving and web processes (`safeshare up --topology production`)
    serving_processes: int = Field(default=2, ge=1, le=32)
    web_processes: int = Field(default=2, ge=1, le=32)

    @model_validator(mode="after")
    def _silence_outlasts_a_heartbeat(self) -> ServingSettings:
        if self.run_silent_seconds <= self.run_heartbeat_seconds:
            raise ValueError(
                f"SAFESHARE_RUN_SILENT_SECONDS ({self.run_silent_seconds}) must be longer than "
                f"SAFESHARE_RUN_HEARTBEAT_SECONDS ({self.run_heartbeat_seconds}): a live run "
                "says it is alive once a heartbeat"
            )
        return self
