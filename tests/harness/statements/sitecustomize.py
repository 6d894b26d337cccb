"""Loaded by every Python process of a `make statements` run (this folder is put on PYTHONPATH):
records each shape of statement a process sends to PostgreSQL, with the time and the database,
one JSON line per new (database, shape, second), in `$SAFESHARE_TEST_STATEMENTS/<pid>.jsonl`.
Served runs, the serving process, the web app and the test workers all record; the report
(`python -m harness.statements`) attributes each line to the test that was running on the worker
owning that database."""

from __future__ import annotations

import json
import os
import time

_OUT = os.environ.get("SAFESHARE_TEST_STATEMENTS")


def _install(out: str) -> None:
    try:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine
    except ImportError:  # a process of ours without SQLAlchemy has nothing to record
        return
    seen: set[tuple[str | None, str, int]] = set()
    files: dict[int, object] = {}

    @event.listens_for(Engine, "before_cursor_execute")
    def _record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if conn.dialect.name != "postgresql":
            return
        now = time.time()
        key = (conn.engine.url.database, statement, int(now))
        if key in seen:
            return
        seen.add(key)
        pid = os.getpid()  # a forked run writes a file of its own
        if pid not in files:
            files[pid] = open(os.path.join(out, f"{pid}.jsonl"), "a", buffering=1)  # noqa: SIM115
        files[pid].write(json.dumps([now, conn.engine.url.database, statement]) + "\n")  # type: ignore[attr-defined]


if _OUT:
    _install(_OUT)
