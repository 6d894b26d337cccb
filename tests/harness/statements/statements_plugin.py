"""The pytest side of `make statements`: when each test ran, on which worker, and whether it is
one that normally runs on SQLite alone (`harness.databases.on_sqlite_only`)."""

from __future__ import annotations

import json
import os
import time
from typing import Any

_OUT = os.environ.get("SAFESHARE_TEST_STATEMENTS")
_started: dict[str, float] = {}


def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    _started[nodeid] = time.time()


def pytest_runtest_makereport(item: Any, call: Any) -> None:
    if _OUT and call.when == "teardown":
        entry = {
            "worker": os.getpid(),
            "test": item.nodeid,
            "start": _started.get(item.nodeid, call.start),
            "end": time.time(),
            "sqlite_only": item.get_closest_marker("on_sqlite_only") is not None,
        }
        with open(os.path.join(_OUT, f"tests-{os.getpid()}.jsonl"), "a") as f:
            f.write(json.dumps(entry) + "\n")
