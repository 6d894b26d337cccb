"""`safeshare health`, the web app's /health and its /metrics on a served stack, with a real
Prefect server: every dependency up. (Each one down, on both case databases:
tests/tasks/test_health.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import web
from harness.databases import on_sqlite_only

pytestmark = pytest.mark.flow


@on_sqlite_only  # what is checked here is Prefect's API; both databases are checked in tasks/
def test_every_dependency_of_a_running_stack_is_up(stack: Any) -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "safeshare"), "health", "--json"],  # the console script
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    said = json.loads(done.stdout)
    assert said == {
        "status": "ok",
        "down": [],
        "checks": {
            "case database": {"ok": True, "detail": "reachable, schema current"},
            "prefect api": {"ok": True, "detail": "answering"},
            "outbox": said["checks"]["outbox"],  # other tests' messages may be on their way
        },
    }
    page = httpx.get(f"{stack.web_url}/health", timeout=30, verify=web.TLS)
    assert page.status_code == 200 and page.json()["down"] == []
    figures = httpx.get(f"{stack.web_url}/metrics", timeout=30, verify=web.TLS).text
    for dependency in ("case database", "prefect api", "outbox"):
        assert f'safeshare_up{{dependency="{dependency}"}} 1.0' in figures, figures
    assert "safeshare_cases_open" in figures
