"""Where backups are taken and restored.

A backup is one consistent snapshot of every table (a repeatable-read transaction on PostgreSQL,
one read transaction on SQLite), with sealed columns kept sealed, written to the encrypted backup
file (foundations/backups.py). A restore checks the whole file first, then loads it into an empty
database in one transaction, verifies the audit chain and commits only if it holds: either the
whole backup is restored and verified, or nothing is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import JSON, Column, Engine, MetaData, Table, Text, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from foundations.audit import append
from foundations.audit_check import verify_chain
from foundations.backups import BackupError, new_header, open_backup, write_backup
from foundations.db import alembic_config, engine_for, get_engine
from foundations.sealing import CURRENT
from foundations.settings import get_settings
from models.tables.base import Base, Sealed, never_reused_tables, utcnow

BATCH = 1000


@dataclass(frozen=True)
class BackupReport:
    path: Path
    rows: int
    tables: int
    size: int
    revision: str


@dataclass(frozen=True)
class RestoreReport:
    rows: int
    audit_entries: int
    revision: str


def raw_tables() -> list[Table]:
    """Every table as stored: sealed columns as the text they hold, parents before children."""
    metadata = MetaData()
    return [
        Table(
            table.name,
            metadata,
            *[
                Column(
                    column.name,
                    Text() if isinstance(column.type, Sealed) else column.type.copy(),
                    primary_key=column.primary_key,
                    autoincrement=False,
                )
                for column in table.columns
            ],
        )
        for table in Base.metadata.sorted_tables
    ]


def _encode(value: Any, column: Column[Any]) -> Any:
    if isinstance(column.type, JSON):
        return {"$j": value}
    if isinstance(value, datetime):
        return {"$t": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "$j" in value:
            return value["$j"]
        if "$t" in value:
            return datetime.fromisoformat(value["$t"])
        if "$d" in value:
            return date.fromisoformat(value["$d"])
    return value


def _revision(connection: Connection) -> str:
    return str(connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one())


def _snapshot(engine: Engine) -> Connection:
    """A connection whose reads all see one moment of the database."""
    if engine.dialect.name == "sqlite":
        connection = engine.connect()
        connection.exec_driver_sql("BEGIN")  # one read transaction: WAL gives it a snapshot
        return connection
    connection = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    connection.begin()
    return connection


def take_backup(path: Path) -> BackupReport:
    """Write a backup of the case database to `path`."""
    engine, ring = get_engine(), CURRENT.get(fresh=True)
    counts: dict[str, int] = {}
    connection = _snapshot(engine)
    try:
        revision = _revision(connection)
        header = new_header(
            ring,
            revision=revision,
            database=engine.dialect.name,
            created_at=utcnow().isoformat(timespec="seconds"),
        )

        def lines() -> Iterator[dict[str, Any]]:
            for table in raw_tables():
                columns = list(table.columns)
                yield {"table": table.name, "columns": [c.name for c in columns]}
                key = [c for c in columns if c.primary_key]
                rows = connection.execute(select(table).order_by(*key)).yield_per(BATCH)
                for row in rows:
                    counts[table.name] = counts.get(table.name, 0) + 1
                    yield {"r": [_encode(v, c) for v, c in zip(row, columns, strict=True)]}
            yield {"ids": highest_ids(connection)}
            yield {"end": True, "counts": counts}

        size = write_backup(path, header, ring, lines())
    finally:
        connection.rollback()
        connection.close()
    with engine.begin() as writing:
        append(writing, "backup", detail={"rows": sum(counts.values()), "revision": revision})
    return BackupReport(
        path=path, rows=sum(counts.values()), tables=len(counts), size=size, revision=revision
    )


def highest_ids(connection: Connection) -> dict[str, int]:
    """The highest id each table whose ids are never reused has handed out, destroyed rows'
    included (a backup's rows alone would give a destroyed newest case's id out again)."""
    if connection.dialect.name == "sqlite":
        found = connection.execute(text("SELECT name, seq FROM sqlite_sequence")).all()
        return {str(name): int(seq) for name, seq in found if name in never_reused_tables()}
    highest = {}
    for table in never_reused_tables():
        sequence = connection.execute(
            text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}
        ).scalar()
        if sequence:
            last, called = connection.execute(
                text(f"SELECT last_value, is_called FROM {sequence}")
            ).one()
            highest[table] = int(last) if called else int(last) - 1
    return highest


def _read(
    plain: bytes,
) -> tuple[dict[str, list[str]], dict[str, list[list[Any]]], dict[str, int], dict[str, int]]:
    columns: dict[str, list[str]] = {}
    rows: dict[str, list[list[Any]]] = {}
    current: str | None = None
    counts: dict[str, int] | None = None
    ids: dict[str, int] = {}  # none in a backup from before they were kept
    for line in plain.splitlines():
        item = json.loads(line)
        if "table" in item:
            current = item["table"]
            columns[current], rows[current] = item["columns"], []
        elif "r" in item and current is not None:
            rows[current].append(item["r"])
        elif "ids" in item:
            ids = {str(t): int(n) for t, n in item["ids"].items()}
        elif item.get("end"):
            counts = item["counts"]
    if counts is None or any(len(rows.get(t, [])) != n for t, n in counts.items()):
        raise BackupError("the backup's content does not add up (its row counts differ)")
    return columns, rows, counts, ids


def restore_backup(path: Path, url: str | None = None) -> RestoreReport:
    """Restore the backup at `path` into the empty database at `url` (the configured one)."""
    url = url or get_settings().case_database_url
    ring = CURRENT.get(fresh=True)
    header, plain = open_backup(path, ring)  # every chunk checked before anything is written
    columns, rows, counts, ids = _read(plain)
    engine = engine_for(url)
    if "alembic_version" in inspect(engine).get_table_names():
        with engine.connect() as connection:
            found = _revision(connection)
        raise BackupError(
            f"restore needs an empty database, and this one already holds a case database "
            f"(schema {found}): point DATABASE_URL at a new database"
        )
    config = alembic_config(url)
    command.upgrade(config, header.revision)
    try:
        with engine.begin() as connection:
            tables = raw_tables()
            for table in reversed(tables):  # what the migrations seeded makes way for the backup
                if table.name != "audit_log":
                    connection.execute(table.delete())
            for table in tables:
                names = columns.get(table.name)
                if names is None:
                    raise BackupError(f"the backup holds no table {table.name}")
                batch = [dict(zip(names, map(_decode, r), strict=True)) for r in rows[table.name]]
                for start in range(0, len(batch), BATCH):
                    connection.execute(table.insert(), batch[start : start + BATCH])
            if connection.dialect.name == "postgresql":
                _reset_sequences(connection, tables)
            _never_reuse(connection, ids)
            with Session(bind=connection) as session:
                verified = verify_chain(session)
            if verified.broken is not None:
                raise BackupError(
                    f"the restored audit trail is broken at entry {verified.broken.seq}: "
                    f"{verified.broken.problem}; nothing was restored"
                )
            append(
                connection,
                "restore",
                detail={"backup_created_at": header.created_at, "rows": sum(counts.values())},
            )
    except BaseException:
        _drop_everything(engine)
        raise
    command.upgrade(config, "head")
    return RestoreReport(
        rows=sum(counts.values()), audit_entries=verified.entries, revision=header.revision
    )


def _reset_sequences(connection: Connection, tables: list[Table]) -> None:
    for table in tables:
        for column in table.primary_key.columns:
            sequence = connection.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
            ).scalar()
            if sequence:
                connection.execute(
                    text(
                        f"SELECT setval(:s, COALESCE((SELECT MAX({column.name}) FROM "
                        f"{table.name}), 1), (SELECT MAX({column.name}) FROM {table.name}) "
                        "IS NOT NULL)"
                    ),
                    {"s": sequence},
                )


def _never_reuse(connection: Connection, ids: dict[str, int]) -> None:
    """Set each table's next id past every id it ever handed out: the backup's highest, its rows'
    and, for cases, every case the restored audit trail names (a destroyed one's included)."""
    for table in never_reused_tables():
        queries = [f"SELECT MAX(id) FROM {table}"]
        if table == "cases":
            queries.append("SELECT MAX(case_id) FROM audit_log")
        used = [connection.execute(text(query)).scalar() for query in queries]
        highest = max([ids.get(table, 0), *(int(n) for n in used if n is not None)])
        if highest == 0:
            continue
        if connection.dialect.name == "sqlite":
            connection.execute(text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": table})
            connection.execute(
                text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :n)"),
                {"t": table, "n": highest},
            )
        else:
            connection.execute(
                text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :n, true)"),
                {"t": table, "n": highest},
            )


def _drop_everything(engine: Engine) -> None:
    """Leave the database as empty as it was found, after a restore that did not complete."""
    Base.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP FUNCTION IF EXISTS audit_log_refuse()"))
