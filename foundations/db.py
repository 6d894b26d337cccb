"""Engines, sessions and migrations for the case database (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from foundations import sealing
from foundations.audit import enter_writes
from foundations.settings import get_settings
from models.tables.base import SEALING

if TYPE_CHECKING:
    from alembic.config import Config

#: Every session enters the writes it flushes in the audit trail, in the same transaction.
event.listen(Session, "after_flush", enter_writes)


def new_engine(url: str) -> Engine:
    """An engine whose sealed columns seal and open with the process's data keys
    (foundations/sealing.py). SQLite gets WAL, foreign keys, a busy wait, and deleted content
    overwritten with zeros (records destroyed leave nothing in free pages). A statement's values
    never appear in its error: a value that failed to seal, or any other, would reach a log."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

    else:
        engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
    setattr(engine.dialect, SEALING, sealing)
    return engine


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per database URL per process."""
    return new_engine(url)


def clear_write_ahead_log(attempts: int = 5) -> bool:
    """After records are destroyed: fold SQLite's write-ahead log into the database file and
    truncate it, so no page image of them stays in the -wal file. True once cleared (and on
    PostgreSQL, where VACUUM is what reclaims deleted rows: see the README)."""
    import time

    engine = get_engine()
    if engine.dialect.name != "sqlite":
        return True
    for attempt in range(attempts):
        with engine.connect() as connection:
            busy = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").scalar()
        if not busy:
            return True
        time.sleep(0.2 * (attempt + 1))  # a reader still on an older snapshot
    return False


def get_engine() -> Engine:
    return engine_for(get_settings().case_database_url)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    factory = sessionmaker(get_engine(), expire_on_commit=False)
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str) -> Config:
    """Alembic's configuration for the case database at `url`. (Alembic is imported here, not
    with the module: every command opens a session, and only migrating and checking need it.)"""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "foundations:migrations")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str | None = None) -> None:
    """Bring the case database to the latest schema (creating the SQLite file if needed)."""
    url = url or get_settings().case_database_url
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    from alembic import command

    command.upgrade(alembic_config(url), "head")
