"""Which processes a stack runs, in what order, and what each needs (`safeshare up`).

`embedded` (the default): one Prefect server with its services, on SQLite in the data
directory unless Prefect's own database setting says otherwise; one serving process; one web
app. Enough for a school.

`production`: Prefect on PostgreSQL with Redis carrying its messaging, event ordering, leases and
background-service coordination (the `prefect-redis` integration), its API and its background
services as separate processes; `serving_processes` serving processes on the same deployments;
`web_processes` web apps, on consecutive ports from `web_port`, for a load balancer to share; the
case database on PostgreSQL. `up --topology production` starts them all on this machine for
trying; each can be started alone, as an operator would under systemd or in containers on
separate machines (README, "The production topology": the commands and what each needs).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Literal

from foundations.settings import Settings

Topology = Literal["embedded", "production"]


@dataclass(frozen=True)
class Part:
    """One process of the stack: how `up` names it, its command, its log, the environment it
    needs beyond the stack's shared one, and the address whose answer means it is up (the next
    part starts only then)."""

    name: str
    argv: list[str]
    log: str
    env: dict[str, str] = field(default_factory=dict)
    health: str | None = None
    timeout: float = 90


def _prefect(*args: str) -> list[str]:
    # Prefect's own CLI, keeping no copy of a deleted answer in a SQLite database
    return [sys.executable, "-m", "deployments.prefect_server", *args]


def _web_address(settings: Settings, port: int) -> str:
    host = "127.0.0.1" if settings.web_host in ("0.0.0.0", "::") else settings.web_host
    host = f"[{host}]" if ":" in host else host  # an IPv6 address
    return f"http://{host}:{port}/health/live"  # alive: /health says when a dependency is down


def parts(settings: Settings, topology: Topology) -> list[Part]:
    """The processes, in the order they start (they stop in the reverse order)."""
    api = ["server", "start", "--host", "127.0.0.1", "--port", str(settings.prefect_port)]
    api_health = f"{settings.prefect_api_url}/health"
    serve = [sys.executable, "-m", "deployments.serve"]
    web = [sys.executable, "-m", "safeshare.web"]
    if topology == "embedded":
        return [
            Part("Prefect server", _prefect(*api), "prefect-server.log", health=api_health,
                 timeout=180),
            Part("serving process", serve, "serve.log"),
            Part("web app", web, "web.log", health=_web_address(settings, settings.web_port)),
        ]  # fmt: skip
    listed = [
        Part("Prefect API", _prefect(*api, "--no-services"), "prefect-api.log",
             health=api_health, timeout=180),
        Part("Prefect services", _prefect("server", "services", "start"), "prefect-services.log"),
    ]  # fmt: skip
    for n in range(1, settings.serving_processes + 1):
        listed.append(Part(f"serving process {n}", serve, f"serve-{n}.log"))
    for n in range(settings.web_processes):
        port = settings.web_port + n
        listed.append(
            Part(f"web app {n + 1}", web, f"web-{n + 1}.log", {"SAFESHARE_WEB_PORT": str(port)},
                 health=_web_address(settings, port))
        )  # fmt: skip
    return listed


def production_env(settings: Settings) -> dict[str, str]:
    """What every process of the production topology adds to the stack's environment (where the
    operator has not set it): Prefect's messaging, event ordering, concurrency leases and
    background services on Redis."""
    assert settings.redis_url is not None
    redis = settings.redis_url.get_secret_value()
    return {
        "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
        "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
        "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING": "prefect_redis.ordering",
        "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect_redis.lease_storage",
        "PREFECT_REDIS_MESSAGING_URL": redis,
        "PREFECT_SERVER_DOCKET_URL": redis,
    }


def production_problem(settings: Settings, env: dict[str, str]) -> str | None:
    """What the production topology still needs, said as what to set, or None."""
    if not settings.case_database_url.startswith("postgresql"):
        return "the production topology keeps cases on PostgreSQL: set DATABASE_URL"
    prefect_db = env.get("PREFECT_SERVER_DATABASE_CONNECTION_URL", "")
    if not prefect_db.startswith("postgresql"):
        return (
            "the production topology keeps Prefect on PostgreSQL: set "
            "PREFECT_SERVER_DATABASE_CONNECTION_URL (postgresql+asyncpg://...)"
        )
    if settings.redis_url is None:
        return "the production topology needs Redis: set SAFESHARE_REDIS_URL (redis://...)"
    return None


#: The production topology starts a part that died again, as a service manager would, after a
#: pause that doubles each time (1, 2, 4 ... 30 s: a serving process that cannot reach Prefect's
#: API while the API itself starts again tries again later), unless it died this many times
#: within the window: then something is wrong that a restart won't mend.
RESTARTS_ALLOWED = 6
RESTART_WINDOW_SECONDS = 600.0
LONGEST_PAUSE_SECONDS = 30.0


def restart_delay(topology: Topology, restarted_at: list[float], now: float) -> float | None:
    """How long to wait before starting again a part that died (noting when, in
    `restarted_at`), or None to stop the stack instead: always in the embedded topology, where
    the person at the terminal sees the stack stop, and in the production one once the part
    died RESTARTS_ALLOWED times within the window."""
    if topology != "production":
        return None
    restarted_at[:] = [at for at in restarted_at if at > now - RESTART_WINDOW_SECONDS]
    if len(restarted_at) >= RESTARTS_ALLOWED:
        return None
    restarted_at.append(now)
    return min(2.0 ** (len(restarted_at) - 1), LONGEST_PAUSE_SECONDS)
