"""How the processes log (foundations/logs.py): text by default, JSON lines with
SAFESHARE_LOG_FORMAT=json, in safeshare's own processes and, through `safeshare up`'s
environment, in Prefect's (its server, the serving process, each run). Each case is a fresh
interpreter, as the processes are."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from deployments.stack import prefect_env
from foundations.settings import Settings, settings_env

OURS = """
import logging
from foundations.logs import configure_logging
from foundations.settings import get_settings
configure_logging(get_settings())
log = logging.getLogger("safeshare.test")
log.info("case %s opened", 7)
try:
    raise KeyError("x")
except KeyError:
    log.exception("case %s failed", 8)
"""

PREFECTS = """
from prefect import flow  # sets up Prefect's logging, as in every Prefect process
from prefect.logging import get_logger
get_logger("prefect.test").warning("flow run %s crashed", "abc")
"""


def stderr_of(code: str, env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stderr.strip().splitlines()


def test_our_processes_log_json_lines_when_asked(tmp_path: Path) -> None:
    env = os.environ | settings_env(Settings(home=tmp_path, log_format="json"))
    opened, failed = (json.loads(line) for line in stderr_of(OURS, env))
    assert opened.keys() == {"at", "level", "logger", "message"}
    assert (opened["level"], opened["logger"], opened["message"]) == (
        "INFO",
        "safeshare.test",
        "case 7 opened",
    )
    assert failed["message"] == "case 8 failed" and failed["error"] == "KeyError"
    assert failed["traceback"].startswith("Traceback") and "KeyError: 'x'" in failed["traceback"]


def test_and_text_otherwise(tmp_path: Path) -> None:
    env = os.environ | settings_env(Settings(home=tmp_path))
    lines = stderr_of(OURS, env)
    assert lines[0].endswith(" safeshare.test INFO case 7 opened"), lines
    assert not lines[0].startswith("{")


def test_prefects_processes_log_json_lines_under_up_when_asked(tmp_path: Path) -> None:
    env = prefect_env(Settings(home=tmp_path, log_format="json"))
    (line,) = stderr_of(PREFECTS, env)
    said = json.loads(line)
    assert (said["levelname"], said["name"], said["msg"], said["args"]) == (
        "WARNING",
        "prefect.test",
        "flow run %s crashed",
        ["abc"],
    )
    env = prefect_env(Settings(home=tmp_path))
    (line,) = stderr_of(PREFECTS, {k: v for k, v in env.items() if "CONSOLE_FORMATTER" not in k})
    assert "flow run abc crashed" in line and not line.startswith("{")
