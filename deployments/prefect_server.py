"""`python -m deployments.prefect_server server start ...`: Prefect's own server, as `prefect`
runs it, keeping no copy of what is deleted from its SQLite database.

An answer typed into the dashboard reaches Prefect as a flow run input and is deleted once the
case database holds it. SQLite alone would keep it twice over: in the page the row was deleted
from (until the space is reused) and in every page image of the write-ahead log (the -wal file
is only rewound, never cleared, and a stop without a last checkpoint leaves it whole). So every
connection of the server runs with `PRAGMA secure_delete=ON` (deleted content is overwritten
with zeros), and shortly after a flow run input or a flow run is deleted, and again when the
server stops, the log is checkpointed into the database file and truncated to nothing
(`PRAGMA wal_checkpoint(TRUNCATE)`). On PostgreSQL none of this applies (see the README).

Everything the server writes is owner-only (umask 077), as in every process of the stack.

Its background worker (docket's, which runs Prefect's background services and the tasks its
API hands over) looks for work once a second, not four times (`background_work_looks_less_
often`): idle, that looking is a good part of what the server costs.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import signal
import sqlite3
import threading
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from foundations.private import owner_only

log = logging.getLogger("safeshare.prefect_server")

#: Statements that delete what a person typed: run inputs, or runs (their inputs go with them).
_DELETES_ANSWERS = re.compile(r"^\s*DELETE\s+FROM\s+\"?flow_run(_input)?\b", re.IGNORECASE)
#: How long after such a delete the log is cleared: its transaction commits first.
SETTLE_SECONDS = 0.5
#: How long a checkpoint waits for readers and writers before it gives up and tries again.
BUSY_TIMEOUT_MS = 10_000
ATTEMPTS = 5


class Eraser:
    """Clears the write-ahead log of every SQLite database the server uses, on request."""

    def __init__(self) -> None:
        self._files: set[str] = set()
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._thread: threading.Thread | None = None

    def connected(self, dbapi_connection: Any, _record: Any) -> None:
        """A new connection: overwrite deleted content, and note which file it uses."""
        if "sqlite" not in type(dbapi_connection).__module__:
            return
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA secure_delete = ON")
        cursor.execute("PRAGMA database_list")
        files = [row[2] for row in cursor.fetchall() if row[1] == "main" and row[2]]
        cursor.close()
        with self._lock:
            self._files.update(files)

    def executed(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if _DELETES_ANSWERS.match(statement):
            self.soon()

    def soon(self) -> None:
        """Clear the log shortly (once, however many deletes ask in the meantime)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="wal-eraser", daemon=True)
                self._thread.start()
        self._wanted.set()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            time.sleep(SETTLE_SECONDS)
            self._wanted.clear()
            self.now()

    def now(self) -> None:
        """Checkpoint each database's log into its file and truncate the log to nothing."""
        with self._lock:
            files = sorted(self._files)
        for path in files:
            for attempt in range(ATTEMPTS):
                try:
                    busy = checkpoint(path)
                except sqlite3.Error as exc:
                    log.warning("the log of %s was not cleared: %s", path, exc)
                    break
                if not busy:
                    break
                time.sleep(0.2 * (attempt + 1))
            else:
                log.warning("the log of %s stayed busy: cleared at the next delete", path)


def checkpoint(path: str) -> bool:
    """`PRAGMA wal_checkpoint(TRUNCATE)` on the database at `path`; True if it was busy."""
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return bool(busy)
    finally:
        connection.close()


ERASER = Eraser()


def keep_no_deleted_copies() -> None:
    """Every SQLite connection this process opens from now on overwrites what it deletes, and
    deleting an answer (or the server stopping) clears the write-ahead log."""
    event.listen(Pool, "connect", ERASER.connected)
    event.listen(Engine, "after_cursor_execute", ERASER.executed)
    atexit.register(ERASER.now)


def write_transactions_wait_their_turn() -> None:
    """Every transaction Prefect's server opens to write takes SQLite's write lock when it
    begins (`BEGIN IMMEDIATE`), as Prefect already does for its `with_for_update` ones.

    Prefect begins the others DEFERRED: such a transaction reads, then wants to write, and when
    another writer has committed meanwhile SQLite refuses it at once ("database is locked"; its
    busy timeout cannot help a reader that must upgrade), which the API answers 503. A burst of
    dashboard resumes met that on 18 of 20 first tries (`make bench`'s burst). Taking the lock
    at BEGIN makes such a transaction wait its turn under the busy timeout instead. Reads
    outside a transaction are unchanged. (Prefect is pinned below 3.10; this wraps one of its
    methods, `AioSqliteConfiguration.begin_transaction`.)"""
    from contextlib import asynccontextmanager

    from prefect.server.database.configurations import AioSqliteConfiguration

    prefect_begin = AioSqliteConfiguration.begin_transaction

    @asynccontextmanager
    async def begin_immediate(
        self: AioSqliteConfiguration, session: Any, with_for_update: bool = False
    ) -> Any:
        async with prefect_begin(self, session, with_for_update=True) as transaction:
            yield transaction

    AioSqliteConfiguration.begin_transaction = begin_immediate  # type: ignore[method-assign]


#: How often (seconds) the server's background worker looks for due and new work, unless the
#: environment's LOOK_SETTING says otherwise (docket's default: every 0.25 s). Nothing the stack
#: waits for goes through it: the services it runs look once a minute
#: (deployments/stack.py::PREFECT_SERVICE_LOOPS), and the API's own background tasks (a
#: deployment marked ready when polled, a deleted run's logs deleted) are bookkeeping.
BACKGROUND_LOOK_SECONDS = 1.0
LOOK_SETTING = "SAFESHARE_PREFECT_BACKGROUND_LOOK_SECONDS"


def background_look_seconds() -> float:
    """BACKGROUND_LOOK_SECONDS, or the operator's own LOOK_SETTING (a number of seconds, more
    than 0 and at most 60)."""
    given = os.environ.get(LOOK_SETTING, "").strip()
    if not given:
        return BACKGROUND_LOOK_SECONDS
    try:
        seconds = float(given)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= 60:
        raise SystemExit(
            f"{LOOK_SETTING} must be a number of seconds above 0, at most 60: {given!r}"
        )
    return seconds


def background_work_looks_less_often() -> bool:
    """Prefect's server builds its background worker with docket's defaults: it moves due work
    every 0.25 s and waits at most 0.25 s for new work before looking again: about a fifth of
    what an idle server spends (with `safeshare up`'s own in-memory docket, each look runs a
    Redis script emulated in Python). Here it looks every `background_look_seconds()` (both are
    parameters of docket's `Worker`, which Prefect leaves at their defaults and exposes no
    setting for). Prefect builds it through the name `Worker` in
    `prefect.server.api.background_workers`; a Prefect without that name keeps its own worker,
    and False says so (the server's log too)."""
    import prefect.server.api.background_workers as background
    from docket import Worker

    every = timedelta(seconds=background_look_seconds())
    if getattr(background, "Worker", None) is not Worker:
        log.warning("Prefect's background worker is not docket's Worker: left as it is")
        return False

    class LessOftenWorker(Worker):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("scheduling_resolution", every)
            kwargs.setdefault("minimum_check_interval", every)
            super().__init__(*args, **kwargs)

    background.Worker = LessOftenWorker  # type: ignore[attr-defined]
    return True


def _stopped(signum: int, _frame: Any) -> None:
    raise SystemExit(0)


def main() -> None:
    owner_only()
    keep_no_deleted_copies()
    write_transactions_wait_their_turn()
    background_work_looks_less_often()
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again to the handler it
    # found: Python's default would end the process there, before the last checkpoint
    signal.signal(signal.SIGTERM, _stopped)
    from prefect.cli import app

    app()


if __name__ == "__main__":
    main()
