"""A fresh case database per use, on SQLite or on the local PostgreSQL server, and the keyring
that seals them: empty (`case_database`, for tests of the migrations and of restoring), or
already at the head schema (`migrated_database`), copied from a template migrated once per
schema on this machine instead of running every migration again.

Both databases are required: a PostgreSQL that cannot be reached is an error, not a skip.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from foundations.db import engine_for
from foundations.sealing import Keyring

from .cache import cache_dir, locked

KINDS = ("sqlite", "postgresql")
#: A flow test whose subject does not hang on the case database (a door's wording, a reminder's
#: timing, a page in a browser, the serving process) runs on SQLite alone; the flow tests that
#: run on PostgreSQL too are those about how the database behaves (answers at once, a crash, a
#: refusal that changes nothing), each kind of case whole, and those that send a statement no
#: other PostgreSQL test sends (README, "Which tests run on which database").
#: `make statements` runs them on PostgreSQL too (SAFESHARE_TEST_EVERY_DATABASE=1), to list
#: what they alone would send there.
if os.environ.get("SAFESHARE_TEST_EVERY_DATABASE"):
    on_sqlite_only = pytest.mark.on_sqlite_only
else:
    on_sqlite_only = pytest.mark.parametrize("stack", ["sqlite"], indirect=True)
POSTGRES_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432"
POSTGRES_ADMIN_DB = "postgres"
TEST_DB_PREFIX = "safeshare_test_"
#: Templates are named apart from the test databases, which are dropped after each use.
TEMPLATE_DB_PREFIX = "safeshare_template_"
#: PostgreSQL's SQLSTATE for "source database ... is being accessed by other users".
OBJECT_IN_USE = "55006"
IN_USE_RETRY_S = 10.0
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
def migrated_database(
    kind: str, workdir: Path, *, server_url: str = POSTGRES_SERVER_URL, key: str | None = None
) -> Iterator[str]:
    """Yield the URL of a new database at the head schema, as `case_database` then
    `foundations.db.migrate(url)` would give, but copied from a template: every migration on
    every database took 0.2-0.5 s of CPU in each of hundreds of tests.

    A SQLite copy is owner-only (0600), as the data directory's files are (foundations/private.py).
    `key` names the template's schema: this checkout's migrations (`schema_key()`) unless given.
    """
    key = key or current_schema_key()
    if kind == "sqlite":
        workdir.mkdir(parents=True, exist_ok=True)
        path = workdir / f"cases-{uuid.uuid4().hex}.db"
        shutil.copyfile(sqlite_template(key), path)
        path.chmod(0o600)
        yield f"sqlite:///{path}"
    elif kind == "postgresql":
        with _postgres_database(server_url, template_key=key) as url:
            yield url
    else:
        raise ValueError(f"unknown database kind {kind!r}; expected one of {KINDS}")


def migrations_dir() -> Path:
    spec = importlib.util.find_spec("foundations.migrations")
    assert spec is not None and spec.submodule_search_locations is not None
    return Path(next(iter(spec.submodule_search_locations)))


def schema_key(migrations: Path | None = None) -> str:
    """What names a template: a hash of the Alembic environment and of every migration, names
    and contents. A migration added (another branch's, merged) or changed gives a new key, so a
    template never stands in for a schema it was not migrated to. (The migrations read nothing
    else that shapes the schema: models/ is only env.py's metadata, for autogenerate.)"""
    migrations = migrations or migrations_dir()
    digest = hashlib.sha256()
    for path in [migrations / "env.py", *sorted((migrations / "versions").glob("*.py"))]:
        content = path.read_bytes()
        name = path.relative_to(migrations).as_posix().encode()
        digest.update(b"%d:%s%d:" % (len(name), name, len(content)) + content)
    return digest.hexdigest()[:16]


@functools.cache
def current_schema_key() -> str:
    return schema_key()


def _migrate_for_template(url: str) -> None:
    """Every migration on `url`, under the tests' data keys and a throwaway home: the migration
    that seals personal data asks for keys, and must not make a key file in a test's home."""
    from foundations.db import migrate
    from foundations.settings import Settings, settings_in_force

    with tempfile.TemporaryDirectory(prefix="safeshare-template-home-") as home:
        with settings_in_force(Settings(home=Path(home), data_keys=DATA_KEYS)):
            migrate(url)


def sqlite_template(key: str, directory: Path | None = None) -> Path:
    """The migrated SQLite template of schema `key`, built if this machine has none yet.

    Built under a file lock (concurrent xdist workers, and sessions of other checkouts, wait for
    the one building it) and renamed into place whole, so a template that exists is complete."""
    directory = directory or cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    template = directory / f"cases-template-{key}.db"
    if template.exists():
        return template
    with locked(directory / f"{template.name}.lock"):
        if template.exists():
            return template
        build = Path(tempfile.mkdtemp(prefix="cases-build-", dir=directory))
        try:
            scratch = build / "cases.db"
            _migrate_for_template(f"sqlite:///{scratch}")
            # one self-contained file for copyfile to copy, even if WAL was turned on
            with contextlib.closing(sqlite3.connect(scratch)) as conn:
                conn.execute("PRAGMA journal_mode=DELETE")
            scratch.chmod(0o600)
            os.replace(scratch, template)  # atomic within one directory
        finally:
            shutil.rmtree(build, ignore_errors=True)
    return template


def _postgres_template(conn: Connection, server_url: str, key: str) -> str:
    """Built under an advisory lock named by the template (concurrent workers and sessions wait
    for the one building it), under another name, then renamed: a template that exists is
    complete. Nobody may connect to it, so copying it is never refused for its being in use."""
    name = f"{TEMPLATE_DB_PREFIX}{key}"
    if _database_exists(conn, name):
        return name
    lock = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    conn.execute(text("SELECT pg_advisory_lock(:lock)"), {"lock": lock})
    try:
        if _database_exists(conn, name):
            return name
        build = f"{name}_build"
        # what a builder that died left behind
        conn.execute(text(f'DROP DATABASE IF EXISTS "{build}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{build}"'))
        _migrate_for_template(f"{server_url}/{build}")  # its engine is disposed: no connection
        conn.execute(text(f'ALTER DATABASE "{build}" WITH ALLOW_CONNECTIONS false'))
        _while_in_use(conn, f'ALTER DATABASE "{build}" RENAME TO "{name}"')
    finally:
        conn.execute(text("SELECT pg_advisory_unlock(:lock)"), {"lock": lock})
    return name


def _database_exists(conn: Connection, name: str) -> bool:
    found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
    return found.first() is not None


def _while_in_use(conn: Connection, statement: str, timeout: float = IN_USE_RETRY_S) -> None:
    """Run `statement`, again for a few seconds while PostgreSQL refuses it because a session is
    still connected to the database it names (one closing a moment ago)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn.execute(text(statement))
            return
        except OperationalError as error:
            if getattr(error.orig, "sqlstate", None) != OBJECT_IN_USE:
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextlib.contextmanager
def _postgres_database(server_url: str, *, template_key: str | None = None) -> Iterator[str]:
    name = f"{TEST_DB_PREFIX}{uuid.uuid4().hex[:16]}"
    admin = _admin_engine(server_url)
    try:
        with admin.connect() as conn:
            if template_key is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            else:
                template = _postgres_template(conn, server_url, template_key)
                _while_in_use(conn, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
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


def raw_bytes(url: str) -> bytes:
    """Everything the database holds, as an attacker with the files or a dump would see it."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        engine_for(url).dispose()  # a checkpoint: the WAL's pages move into the file
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    return subprocess.run(["pg_dump", plain], check=True, capture_output=True).stdout


def directory_as_of_0019(
    staff: list[tuple[str, str]], children: list[tuple[str, date, bool]]
) -> None:
    """Staff (id, role) and children (reference, date of birth, on a plan) written with only the
    columns the directory had before 0024, as the code of a database at an older revision wrote
    them (sealed as then); the session's ORM would ask for columns such a database lacks."""
    from sqlalchemy import insert

    from foundations.db import session_scope
    from models.tables.directory import Child, Staff

    with session_scope() as session:
        for staff_id, role in staff:
            session.execute(
                insert(Staff).values(staff_id=staff_id, name=staff_id, role=role, notify_url=None)
            )
        for ref, born, plan in children:
            session.execute(insert(Child).values(child_ref=ref, date_of_birth=born, cp_plan=plan))
