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
  the CPU of a served run's processes (py-spy over the serving processes of the suite);
- the server's answer to Prefect's version handshake, which each client otherwise asks for once
  per process (a request, and another TLS context, in every run);
- Prefect's settings, which a forked run takes as they are (`deployments.forkserver`) rather
  than build them again;
- the Prefect task of every function of tasks/ the flows call, which is made at its first call
  (`tasks.prefect_task`);
- the validators of Prefect's own pydantic models, which Prefect builds at a model's first use
  (its models defer their build): a run built about twenty of them (its run's update, the run
  read back, the deployment, the suspension's observer and filter, logs, task runs), about 6%
  of the CPU of a served run's process (py-spy over served runs).

Importing this module does the loading; it has no other effect.
"""

from __future__ import annotations

import functools
import importlib
import ssl
from datetime import UTC, datetime
from typing import Any

import prefect
import prefect.client.orchestration
import pydantic
from apprise.manager_attachment import AttachmentManager
from apprise.manager_config import ConfigurationManager
from apprise.manager_plugins import NotificationManager
from prefect._internal import version_checking
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL

from deployments.forkserver import remember_forkserver_settings
from models.deadlines import england_and_wales_bank_holidays
from tasks.prefect_task import make_all

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


def build_prefect_models() -> None:
    """Build every Prefect model whose build was deferred to its first use, the run contexts
    with the names Prefect gives them when it builds them (`prefect.context.hydrated_context`).
    A model whose references cannot be resolved is left to be built when first used."""
    from prefect._internal.result_records import ResultRecordMetadata
    from prefect.flows import Flow
    from prefect.tasks import Task

    names = {"Flow": Flow, "Task": Task, "ResultRecordMetadata": ResultRecordMetadata}
    seen: set[type[pydantic.BaseModel]] = set()
    pending = [pydantic.BaseModel]
    while pending:
        for model in pending.pop().__subclasses__():
            if model in seen:
                continue
            seen.add(model)
            pending.append(model)
            if model.__module__.startswith("prefect") and not model.__pydantic_complete__:
                try:
                    model.model_rebuild(_types_namespace=names)
                except (pydantic.PydanticUserError, NameError):
                    pass


def check_server_version_once() -> None:
    """Check the API's version here, once, as each run's first client would, and remember it as
    Prefect does for the rest of a process's life: every run forked from here has it remembered.
    Prefect keys what it remembers by the URL as each kind of client spells it (with and without
    the trailing slash httpx adds). A server that cannot be reached, or is of another major
    version, is left for each run to find, as before."""
    api_url = PREFECT_API_URL.value()
    if not api_url:
        return
    try:
        with get_client(sync_client=True) as client:
            client.raise_for_api_version_mismatch()
            spellings = {api_url, str(client.api_url)}
    except RuntimeError:
        return
    for url in spellings:
        key = version_checking._api_version_check_key(url, prefect.__version__)
        version_checking._cache_api_version_check(key)


load_apprise_plugins()
load_run_imports()
build_prefect_models()
share_prefect_tls()
check_server_version_once()
remember_forkserver_settings()
make_all()  # the forkserver imported the flows, and with them every task, before this module
