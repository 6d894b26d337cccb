"""What every table of the case database stands on: `Base` with its naming convention (so
migrations are stable), the column types (timezone-aware times; text, JSON and dates sealed at
rest under their column's name, with keys from the engine), the option of tables whose ids are
never reused, and what is asked of every table at once.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy import DateTime, MetaData, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware timestamps on both SQLite (which drops the offset) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store times with their offset")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class Sealing(Protocol):
    """What seals and opens a column's text under its label (foundations/sealing.py)."""

    def seal_text(self, value: str, label: str) -> str: ...

    def open_text(self, value: str, label: str) -> str: ...


class NoSealing(RuntimeError):
    """An engine not made by foundations/db.py: it cannot seal or open a sealed column."""


def sealing_of(dialect: Any) -> Sealing:
    """The sealing the engine set-up (foundations/db.py) gave this engine's dialect."""
    sealing: Sealing | None = getattr(dialect, SEALING, None)
    if sealing is None:
        raise NoSealing(
            "this engine has no sealing: make it with foundations.db.new_engine, which gives "
            "sealed columns their keys"
        )
    return sealing


#: The attribute of an engine's dialect that holds its sealing.
SEALING = "safeshare_sealing"


class Sealed(TypeDecorator[str]):
    """Text sealed at rest under the name of its column: the database, its files and its dumps
    hold only ciphertext. The keys come from the engine (foundations/db.py gives every engine it
    makes the process's sealing), so this declaration imports nothing above models/. Never
    compare a sealed column in SQL."""

    impl = Text
    cache_ok = True

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return sealing_of(dialect).seal_text(self.encode(value), self.label)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        return self.decode(sealing_of(dialect).open_text(value, self.label))

    def encode(self, value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"{self.label} holds text, not {type(value).__name__}")
        return value

    def decode(self, text: str) -> Any:
        return text


class SealedJSON(Sealed):
    """A JSON value sealed at rest."""

    cache_ok = True  # (SQLAlchemy asks each type class itself)

    def encode(self, value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)

    def decode(self, text: str) -> Any:
        return json.loads(text)


class SealedDate(Sealed):
    """A date sealed at rest (a date of birth)."""

    cache_ok = True

    def encode(self, value: Any) -> str:
        if not isinstance(value, date) or isinstance(value, datetime):
            raise TypeError(f"{self.label} holds a date, not {type(value).__name__}")
        return value.isoformat()

    def decode(self, text: str) -> Any:
        return date.fromisoformat(text)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: Table options of every table whose ids leave the database (in references, links, messages,
#: audit entries, Prefect parameters): an id once used is never handed out again, even after
#: the newest rows are destroyed. PostgreSQL's sequences never go back; SQLite reuses the
#: highest rowid unless the table is AUTOINCREMENT.
NEVER_REUSED: dict[str, Any] = {"sqlite_autoincrement": True}


def never_reused_tables() -> list[str]:
    """The tables whose ids are handed out once (NEVER_REUSED), parents before children."""
    return [
        t.name for t in Base.metadata.sorted_tables if t.dialect_options["sqlite"]["autoincrement"]
    ]


def sealed_columns() -> list[tuple[str, str, str, Sealed]]:
    """(table, primary key column, column, type) of every sealed column: what a key rotation
    re-seals and what a check of the database's sealing reads."""
    found = []
    for table in Base.metadata.sorted_tables:
        (key,) = [c.name for c in table.primary_key.columns]
        for column in table.columns:
            if isinstance(column.type, Sealed):
                found.append((table.name, key, column.name, column.type))
    return found
