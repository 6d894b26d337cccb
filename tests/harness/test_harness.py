"""Smoke tests proving each harness piece works against the real thing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import urllib.request
import uuid
from pathlib import Path

import apprise
import pytest
from prefect import flow, task
from sqlalchemy import create_engine, text

from .databases import (
    KINDS,
    POSTGRES_SERVER_URL,
    TEMPLATE_DB_PREFIX,
    case_database,
    migrated_database,
    migrations_dir,
    schema_key,
)
from .listeners import HttpListener, SmtpListener
from .prefect_server import (
    PrefectServer,
    _wait_until_healthy,
    free_port,
    use_prefect_api,
)

# ---------------------------------------------------------------------------------------------
# Prefect server


# `prefect_server` is the session's (tests/conftest.py), which the lane running these tests has
# most often started already: a server of this module's own cost two more starts per run (each
# ~15 CPU-seconds, 45 s on a loaded machine), as xdist hands the module's tests to two lanes.
# The flows below are named for this module alone, so the runs they count are theirs.


@task
def double(x: int) -> int:
    return 2 * x


@flow(name="harness-smoke")
def smoke_flow(x: int) -> int:
    return double(x) + 1


def _get(url: str) -> tuple[int, object]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, json.loads(response.read())


def _flow_runs_named(server: PrefectServer, flow_name: str) -> list[dict[str, object]]:
    """Read flow runs straight from the server's REST API, bypassing any Prefect settings."""
    request = urllib.request.Request(
        f"{server.api_url}/flow_runs/filter",
        data=json.dumps({"flows": {"name": {"any_": [flow_name]}}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        runs: list[dict[str, object]] = json.loads(response.read())
    return runs


@pytest.mark.flow
def test_server_answers_health(prefect_server: PrefectServer) -> None:
    assert prefect_server.api_url == f"http://127.0.0.1:{prefect_server.port}/api"
    assert _get(f"{prefect_server.api_url}/health") == (200, True)
    assert prefect_server.env["PREFECT_API_URL"] == prefect_server.api_url
    assert prefect_server.log_path.exists()


@pytest.mark.flow
def test_in_process_flow_runs_on_the_server(prefect_server: PrefectServer) -> None:
    with use_prefect_api(prefect_server.api_url):
        assert smoke_flow(20) == 41

    runs = _flow_runs_named(prefect_server, "harness-smoke")
    assert [run["state_type"] for run in runs] == ["COMPLETED"]


@pytest.mark.flow
def test_flow_in_a_thread_uses_the_same_server(prefect_server: PrefectServer) -> None:
    results: list[int] = []
    with use_prefect_api(prefect_server.api_url):
        worker = threading.Thread(target=lambda: results.append(smoke_threaded_flow(1)))
        worker.start()
        worker.join(timeout=60)

    assert results == [3]
    runs = _flow_runs_named(prefect_server, "harness-smoke-threaded")
    assert [run["state_type"] for run in runs] == ["COMPLETED"]


@flow(name="harness-smoke-threaded")
def smoke_threaded_flow(x: int) -> int:
    return double(x) + 1


@pytest.mark.flow
def test_subprocess_client_uses_server_env(prefect_server: PrefectServer) -> None:
    script = textwrap.dedent(
        """
        from prefect import flow

        @flow(name="harness-smoke-subprocess")
        def f() -> str:
            return "ok"

        print(f())
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(prefect_server.env)
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
    runs = _flow_runs_named(prefect_server, "harness-smoke-subprocess")
    assert [run["state_type"] for run in runs] == ["COMPLETED"]


def test_early_exit_reports_the_log_tail(tmp_path: Path) -> None:
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", "print('cannot bind, port in use'); raise SystemExit(3)"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    with pytest.raises(RuntimeError, match=r"(?s)exited with code 3.*cannot bind"):
        _wait_until_healthy(
            process, f"http://127.0.0.1:{free_port()}/api", tmp_path, log_path, timeout=30
        )


# ---------------------------------------------------------------------------------------------
# Listeners


def _notify(url: str, **kwargs: object) -> bool:
    notifier = apprise.Apprise()
    assert notifier.add(url), f"Apprise rejected {url}"
    return bool(notifier.notify(**kwargs))


def test_http_listener_receives_apprise_json() -> None:
    with HttpListener() as listener:
        assert _notify(listener.url("/dsl"), title="Case 42", body="Consent needed")

        [record] = listener.wait_for(lambda records: len(records) == 1, timeout=5)

    assert record.method == "POST"
    assert record.path == "/dsl"
    assert record.status == 200
    assert record.headers["Content-Type"] == "application/json"
    assert record.body == {
        "version": "1.0",
        "title": "Case 42",
        "message": "Consent needed",
        "attachments": [],
        "type": "info",
    }


def test_http_listener_fail_next_makes_delivery_fail() -> None:
    with HttpListener() as listener:
        listener.fail_next(1)
        assert not _notify(listener.url(), title="first", body="refused")
        assert _notify(listener.url(), title="second", body="accepted")

        records = listener.wait_for(lambda records: len(records) == 2, timeout=5)

    assert [(r.body["title"], r.status) for r in records] == [("first", 500), ("second", 200)]


def test_wait_for_timeout_dumps_what_arrived() -> None:
    with HttpListener() as listener:
        assert _notify(listener.url(), title="only one", body="b")
        with pytest.raises(AssertionError, match=r"(?s)1 record\(s\) received.*only one"):
            listener.wait_for(lambda records: len(records) >= 2, timeout=0.3)
        listener.clear()
        assert listener.records == []


def test_smtp_listener_receives_apprise_mailto() -> None:
    with SmtpListener() as listener:
        url = listener.url(to="dsl@example.test")
        assert _notify(
            url,
            title="Case 42: consent",
            body="Line one\nLine two",
            body_format=apprise.NotifyFormat.TEXT,
        )

        [message] = listener.wait_for(lambda records: len(records) == 1, timeout=5)

    assert message.mail_from == "safeshare@example.test"
    assert message.rcpt_tos == ("dsl@example.test",)
    assert message.subject == "Case 42: consent"
    assert message.text.rstrip("\n") == "Line one\nLine two"


def test_smtp_delivery_to_a_closed_port_fails() -> None:
    port = free_port()
    url = f"mailto://127.0.0.1:{port}?from=a@example.test&to=b@example.test&mode=insecure"
    assert not _notify(url, title="t", body="b")


# ---------------------------------------------------------------------------------------------
# Databases


def _test_databases() -> set[str]:
    engine = create_engine(f"{POSTGRES_SERVER_URL}/postgres")
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT datname FROM pg_database WHERE datname LIKE 'safeshare_test_%'")
            )
            return {row[0] for row in rows}
    finally:
        engine.dispose()


def test_postgresql_database_is_created_and_dropped(tmp_path: Path) -> None:
    before = _test_databases()
    with case_database("postgresql", tmp_path) as url:
        name = url.rsplit("/", 1)[1]
        assert url == f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        # other workers create and drop databases of their own meanwhile: only ours is asked of
        assert name not in before and name in _test_databases()
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (id integer PRIMARY KEY)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        # An open pooled connection must not stop the drop (WITH (FORCE)).
        held = engine.connect()
        assert held.execute(text("SELECT count(*) FROM t")).scalar_one() == 1
    assert name not in _test_databases()
    held.invalidate()  # the server ended it; discard without a round trip
    engine.dispose()


def test_sqlite_database_url(tmp_path: Path) -> None:
    with case_database("sqlite", tmp_path) as url:
        assert url.startswith(f"sqlite:///{tmp_path}/cases-") and url.endswith(".db")
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (id integer PRIMARY KEY)"))
        engine.dispose()


def test_unreachable_postgresql_is_an_error(tmp_path: Path) -> None:
    closed = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}"
    with pytest.raises(RuntimeError, match="PostgreSQL is not reachable"):
        with case_database("postgresql", tmp_path, server_url=closed):
            pass


def test_unknown_kind_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown database kind"):
        with case_database("mysql", tmp_path):
            pass


def _revisions(url: str) -> tuple[set[str], set[str]]:
    """The database's current Alembic revisions, and the heads of this checkout's migrations."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from foundations.db import alembic_config

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
    return current, set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


@pytest.mark.parametrize("kind", KINDS)
def test_a_migrated_database_is_at_head_and_its_own(kind: str, tmp_path: Path) -> None:
    """What the fixtures take instead of migrating: the head schema, in a database of each
    test's own (a row written in one copy is in no other), a SQLite one owner-only."""
    with (
        migrated_database(kind, tmp_path / "one") as one,
        migrated_database(kind, tmp_path / "two") as two,
    ):
        current, head = _revisions(one)
        assert head and current == head
        engine = create_engine(one)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO agencies (code, name, kind, created_at) "
                    "VALUES ('only-here', 'Only here', 'csc', CURRENT_TIMESTAMP)"
                )
            )
        engine.dispose()
        engine = create_engine(two)
        with engine.connect() as conn:
            codes = set(conn.execute(text("SELECT code FROM agencies")).scalars())
        engine.dispose()
        assert "csc" in codes and "only-here" not in codes
        if kind == "sqlite":
            path = Path(one.removeprefix("sqlite:///"))
            assert path.parent == tmp_path / "one" and path.stat().st_mode & 0o777 == 0o600
    if kind == "postgresql":  # both dropped
        assert not {url.rsplit("/", 1)[1] for url in (one, two)} & _test_databases()


def test_the_schema_key_follows_the_migrations(tmp_path: Path) -> None:
    """A template is named by its schema: a migration changed or added (another branch's 0020,
    merged) names another template; the same migrations anywhere name the same one."""
    copy = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert schema_key(copy) == schema_key()
    first = sorted((copy / "versions").glob("*.py"))[0]
    first.write_text(first.read_text() + "\n# a change\n")
    changed = schema_key(copy)
    assert changed != schema_key()
    (copy / "versions" / "0099_another_branch.py").write_text('revision = "0099"\n')
    assert schema_key(copy) not in {changed, schema_key()}


@pytest.mark.parametrize("kind", KINDS)
def test_a_new_schema_key_builds_a_new_template(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key no template has yet gets one of its own, built at head, not a copy of another's;
    a PostgreSQL one takes no connections, so copying it is never refused for being in use."""
    monkeypatch.setenv("SAFESHARE_TEST_CACHE_DIR", str(tmp_path / "cache"))
    key = f"test{uuid.uuid4().hex[:12]}"
    template = f"{TEMPLATE_DB_PREFIX}{key}"
    admin = create_engine(f"{POSTGRES_SERVER_URL}/postgres", isolation_level="AUTOCOMMIT")

    def connectable() -> bool | None:
        """None while there is no template of `key`; else whether it takes connections."""
        if kind == "sqlite":
            return True if (tmp_path / "cache" / f"cases-template-{key}.db").exists() else None
        with admin.connect() as conn:
            found = conn.execute(
                text("SELECT datallowconn FROM pg_database WHERE datname = :name"),
                {"name": template},
            )
            return found.scalar_one_or_none()

    try:
        assert connectable() is None
        with migrated_database(kind, tmp_path, key=key) as url:
            current, head = _revisions(url)
            assert head and current == head
        assert connectable() is (True if kind == "sqlite" else False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{template}"'))
        admin.dispose()
