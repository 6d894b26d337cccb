"""A fresh, empty case database per use, on SQLite or on the local PostgreSQL server, and the
keyring that seals them.

Both databases are required: a PostgreSQL that cannot be reached is an error, not a skip.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from foundations.sealing import Keyring

KINDS = ("sqlite", "postgresql")
POSTGRES_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432"
POSTGRES_ADMIN_DB = "postgres"
TEST_DB_PREFIX = "safeshare_test_"
#: One keyring seals personal data in every test database of this process, and of every process
#: a test starts with the same settings (`data_keys=DATA_KEYS`); tests of the key file itself
#: give none, as `safeshare up` does.
DATA_KEYS = Keyring.new("tests").to_json()


@contextlib.contextmanager
def case_database(
    kind: str, workdir: Path, *, server_url: str = POSTGRES_SERVER_URL
) -> Iterator[str]:
    """Yield the SQLAlchemy URL of a new empty database; a PostgreSQL one is dropped afterwards.

    The SQLite file is left in `workdir` for post-mortems (pytest prunes old tmp_path dirs).
    """
    if kind == "sqlite":
        workdir.mkdir(parents=True, exist_ok=True)
        yield f"sqlite:///{workdir}/cases-{uuid.uuid4().hex}.db"
    elif kind == "postgresql":
        with _postgres_database(server_url) as url:
            yield url
    else:
        raise ValueError(f"unknown database kind {kind!r}; expected one of {KINDS}")


@contextlib.contextmanager
def _postgres_database(server_url: str) -> Iterator[str]:
    name = f"{TEST_DB_PREFIX}{uuid.uuid4().hex[:16]}"
    admin = _admin_engine(server_url)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield f"{server_url}/{name}"
        finally:
            with admin.connect() as conn:
                # FORCE ends sessions a test left open (pools, a leaked engine) instead of failing.
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _admin_engine(server_url: str) -> Engine:
    url = f"{server_url}/{POSTGRES_ADMIN_DB}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as error:
        engine.dispose()
        raise RuntimeError(
            f"PostgreSQL is not reachable at {url}; the tests need it as well as SQLite. "
            f"Start it (e.g. `service postgresql start`) and allow trusted local connections "
            f"for the 'postgres' role. Driver said: {error.orig}"
        ) from error
    return engine
