"""Loaded once by the forkserver (`deployments.forkserver`), so that each run forked from it
starts with what it would otherwise load itself, on every resume:

- Apprise's plugins, which Apprise imports lazily on first use (about 0.3 s per run on two
  cores);
- the modules Prefect's engine and its clients import at a run's first task, log line or
  request, and this year's bank holidays (the holidays package imports every country's
  calendar): measured with `PYTHONPROFILEIMPORTTIME=1` on a served run, about 0.1 s per run.

Importing this module does the loading; it has no other effect.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

from apprise.manager_attachment import AttachmentManager
from apprise.manager_config import ConfigurationManager
from apprise.manager_plugins import NotificationManager

from models.deadlines import england_and_wales_bank_holidays

#: Modules a forked run imported after the fork (PYTHONPROFILEIMPORTTIME=1 on a served run).
RUN_IMPORTS = (
    "prefect.task_engine",
    "prefect.utilities.visualization",
    "prefect._vendor.croniter",
    "rich._emoji_codes",
    "anyio._core._sockets",
    "anyio._core._streams",
    "netrc",
    "sqlite3",
)


def load_apprise_plugins() -> None:
    """Import every Apprise plugin now (each manager is a process-wide singleton)."""
    managers = (NotificationManager, ConfigurationManager, AttachmentManager)
    for manager in managers:
        manager().load_modules()  # type: ignore[no-untyped-call]


def load_run_imports() -> None:
    """Import what a run would, and work out the bank holidays deadlines are counted on now."""
    for name in RUN_IMPORTS:
        importlib.import_module(name)
    year = datetime.now(UTC).year
    england_and_wales_bank_holidays(range(year - 1, year + 3))  # as working_calendar asks


load_apprise_plugins()
load_run_imports()
