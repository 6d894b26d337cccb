"""Loaded once by the forkserver (`deployments.forkserver`), so that each run forked from it
starts with what it would otherwise load itself, on every resume:

- Apprise's plugins, which Apprise imports lazily on first use (about 0.3 s per run on two
  cores);
- the modules Prefect's engine and its clients import at a run's first task, log line or
  request, and this year's bank holidays (the holidays package imports every country's
  calendar): measured with `PYTHONPROFILEIMPORTTIME=1` on a served run, about 0.1 s per run;
- one verified TLS context for every Prefect client a run makes: Prefect's client module builds
  a new one for each client (the engine, its log and event workers and its suspension observer
  make several per run), reading the whole CA bundle each time, even for an http:// API: 27% of
  the CPU of a served run's processes (py-spy over the serving processes of the suite).

Importing this module does the loading; it has no other effect.
"""

from __future__ import annotations

import functools
import importlib
import ssl
from datetime import UTC, datetime
from typing import Any

import prefect.client.orchestration
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


class OneVerifiedContext:
    """`ssl` as Prefect's client module sees it: a verified context for a CA file (what Prefect
    builds for each client unless told to skip verification) is built once per file and shared;
    every other call, the unverified one Prefect then changes included, is the stdlib's own.
    Prefect and httpx only hand the context to connections; a context read from a file is not
    read again if the file changes while the process lives."""

    def __getattr__(self, name: str) -> Any:
        return getattr(ssl, name)

    @staticmethod
    def create_default_context(
        purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH,
        *,
        cafile: str | None = None,
        capath: str | None = None,
        cadata: str | bytes | None = None,
    ) -> ssl.SSLContext:
        if cafile is not None and capath is None and cadata is None:
            if purpose is ssl.Purpose.SERVER_AUTH:
                return verified_context(cafile)
        return ssl.create_default_context(purpose, cafile=cafile, capath=capath, cadata=cadata)


@functools.cache
def verified_context(cafile: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)


def share_prefect_tls() -> None:
    """From now on Prefect's clients in this process (and in runs forked from it) share one
    verified TLS context."""
    prefect.client.orchestration.ssl = OneVerifiedContext()  # type: ignore[assignment,attr-defined]


def load_run_imports() -> None:
    """Import what a run would, and work out the bank holidays deadlines are counted on now."""
    for name in RUN_IMPORTS:
        importlib.import_module(name)
    year = datetime.now(UTC).year
    england_and_wales_bank_holidays(range(year - 1, year + 3))  # as working_calendar asks


load_apprise_plugins()
load_run_imports()
share_prefect_tls()
