"""How safeshare's own processes write their logs: text for a person at a terminal, or JSON
lines (SAFESHARE_LOG_FORMAT=json) for a log collector. Prefect's processes (its server, the
serving process, each run) log through Prefect's console handler, which `safeshare up` switches
to Prefect's own JSON formatter at the same setting (`deployments/stack.py::prefect_env`).
What is logged anywhere is ids, codes and kinds of error: never a name or a case's text."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from foundations.settings import Settings

TEXT_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


class JsonLines(logging.Formatter):
    """One JSON object a line: when, how grave, which logger, the message, and the exception's
    kind and traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(settings: Settings, level: int = logging.INFO) -> None:
    """The root logger writes to stderr in the settings' format (replacing what it had)."""
    handler = logging.StreamHandler(sys.stderr)
    json_lines = settings.log_format == "json"
    handler.setFormatter(JsonLines() if json_lines else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
