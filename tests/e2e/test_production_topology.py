"""`safeshare up --topology production` on this machine as if on several: Prefect's API and its
background services as separate processes on PostgreSQL, with Redis carrying Prefect's
messaging, event ordering, leases and services' coordination; two serving processes on the same
deployments; two web apps; the case database on PostgreSQL. A concern recorded through the CLI
starts its run, the DSL's answer (with the code the DSL was sent) resumes it to the next wait,
both web apps say every dependency, Redis included, is up, and SIGTERM stops it all."""

from __future__ import annotations

import json
import random
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from harness import web
from harness.cases import assessment, marker
from harness.listeners import HttpListener
from harness.prefect_server import free_port, free_ports
from harness.up import (
    SERVED,
    case_waiting_for,
    clean_env,
    first_concern,
    production_databases,
    served_flows,
    up,
)

CODE = re.compile(r"one-time code: ([A-Z0-9]{4}-[A-Z0-9]{4})")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A database of the machine's Redis of this test's own, emptied before and after."""
    number = random.randint(1, 15)
    client = redis.Redis(host="127.0.0.1", port=6379, db=number)
    client.flushdb()
    try:
        yield f"redis://127.0.0.1:6379/{number}"
    finally:
        client.flushdb()
        client.close()


def test_a_case_moves_across_the_production_topologys_processes(
    tmp_path: Path, redis_url: str
) -> None:
    home = tmp_path / "home"
    env = clean_env(home)
    mark = marker()
    with production_databases(tmp_path) as (cases_url, databases), HttpListener() as listener:
        prefect_port, web_port = free_port(), free_ports(2)  # the second web app: the next
        env |= databases | {
            "SAFESHARE_REDIS_URL": redis_url,
        }
        with up(env, prefect_port, web_port, signal.SIGTERM, "--topology", "production") as said:
            for part in ("Prefect API", "Prefect services", "serving process 2", "web app 2"):
                assert f"Starting the {part} ..." in said, said
            api = f"http://127.0.0.1:{prefect_port}/api"
            assert served_flows(api) == SERVED
            for port in (web_port, web_port + 1):
                health = web.get(f"http://127.0.0.1:{port}/health")
                assert health.status_code == 200, health.text
                checks = health.json()["checks"]
                assert list(checks) == ["case database", "prefect api", "redis", "outbox"]
            # the scheduler runs in the services' process alone (the API has none): it is what
            # schedules the overdue check's runs
            assert _scheduled_runs_of(api, "overdue-check") > 0

            case_id, recorded, safeshare = first_concern(
                env, prefect_port, mark, listener.url("/dsl1")
            )
            case = case_waiting_for(safeshare, case_id, "assess-criteria", cases_url)
            key = case["waiting"]["key"]
            sent = listener.wait_for(
                lambda rs: [r for r in rs if r.path == "/dsl1" and f"({key})" in str(r.body)],
                timeout=60,
            )
            code = CODE.search(str(sent[-1].body))
            assert code, sent[-1].body
            safeshare(
                "answer", str(case_id), "assess-criteria", "--as", "dsl1",
                "--input", json.dumps(assessment(mark)), "--code", code.group(1),
            )  # fmt: skip
            case = case_waiting_for(safeshare, case_id, "management-signoff", cases_url)
            assert case["waiting"]["flow_run_id"] == recorded["flow_run_id"]
            # Prefect's messages went through Redis
            assert redis.Redis.from_url(redis_url).dbsize() > 0
        logs = {p.name for p in (home / "logs").iterdir()}
        assert {"prefect-api.log", "prefect-services.log", "serve-1.log", "serve-2.log"} <= logs


def _scheduled_runs_of(api: str, flow: str, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = web.post(
            f"{api}/flow_runs/filter",
            json={"flows": {"name": {"any_": [flow]}}, "limit": 5},
        ).json()
        if runs:
            return len(runs)
        time.sleep(2)
    return 0
