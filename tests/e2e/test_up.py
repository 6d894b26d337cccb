"""The README's first command, as a person runs it: `safeshare up` on a data directory with no
databases yet starts the Prefect server, migrates the case database, serves every deployment
and the web app, says where they are, and stops everything cleanly on Ctrl-C (SIGINT to its
process group, as a terminal sends it) and on SIGHUP to `up` alone (the terminal or SSH
session that started it closed; SIGTERM to the group, as a service manager sends it, stops
test_production_topology.py's `up`). On embedded defaults (SQLite for both databases, stopped
by Ctrl-C) and with `DATABASE_URL` and Prefect's own database setting on PostgreSQL (stopped
by SIGHUP), where a case is also recorded and waits for its first answer. After a case
answered in the dashboard: every file of the data directory is its owner's alone, and no file
of Prefect's keeps the answer Prefect deleted. The embedded `up` is one for the module (each
start of a whole stack costs a minute of a loaded machine), checked as it comes up and
again once it has stopped."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import web
from harness.cases import assessment, marker, resume_via_api, wait_until_suspended
from harness.databases import case_database
from harness.listeners import HttpListener
from harness.prefect_server import free_port
from harness.up import (
    SERVED,
    case_waiting_for,
    clean_env,
    first_concern,
    loose_paths,
    monday_morning,
    served_flows,
    up,
)
from sqlalchemy import create_engine, text


@pytest.fixture(scope="module")
def answered_in_the_dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """`safeshare up` on SQLite, on a data directory an older version left readable by all;
    a case whose assessment the DSL answers in the dashboard, with a marker in every free-text
    field; stopped with Ctrl-C once the case holds the answer and Prefect has deleted it."""
    home = tmp_path_factory.mktemp("older") / "home"
    home.mkdir(mode=0o755)
    (home / "logs").mkdir(mode=0o755)
    (home / "logs" / "old.log").write_text("left by an older version\n")
    os.chmod(home, 0o755)
    os.chmod(home / "logs" / "old.log", 0o644)
    prefect_port, web_port = free_port(), free_port()
    env = clean_env(home)
    mark = marker()
    with HttpListener() as listener:
        with up(env, prefect_port, web_port, signal.SIGINT) as output:
            api = f"http://127.0.0.1:{prefect_port}/api"
            site = f"http://127.0.0.1:{web_port}"
            # what a person finds once it says it is up, before they do anything
            started = {
                "ports": (prefect_port, web_port),
                "sign-in": web.get(f"{site}/sign-in").status_code,
                "api health": web.get(f"{api}/health").status_code,
                "vacuum": web.get(f"{api}/admin/settings").json()["server"]["services"][
                    "db_vacuum"
                ],
                "web health": web.get(f"{site}/health").json(),
                "served": served_flows(api),
                "modes": {
                    name: (home / name).stat().st_mode & 0o777 if (home / name).exists() else None
                    for name in ("cases.db", "prefect/prefect.db", "secret.key", "data.keys")
                },
                "data key": json.loads((home / "data.keys").read_text())["primary"],
            }
            case_id, _, safeshare = first_concern(env, prefect_port, mark, listener.url("/dsl1"))
            cases_url = f"sqlite:///file:{home / 'cases.db'}?mode=ro&uri=true"  # only reads
            waiting = case_waiting_for(safeshare, case_id, "assess-criteria", cases_url)["waiting"]
            run_id, key = waiting["flow_run_id"], waiting["key"]
            sent = listener.wait_for(
                lambda rs: [r for r in rs if r.path == "/dsl1" and f"({key})" in str(r.body)],
                timeout=60,
            )
            code = re.search(r"one-time code: ([A-Z0-9]{4}-[A-Z0-9]{4})", str(sent[-1].body))
            assert code, sent[-1].body
            wait_until_suspended(api, run_id)
            form = {"answered_by": "dsl1", "one_time_code": code.group(1), **assessment(mark)}
            assert resume_via_api(api, run_id, form)["status"] == "ACCEPT"
            case = case_waiting_for(safeshare, case_id, "management-signoff", cases_url)
            taken = [e for e in case["chronology"] if e.get("step") == "assess-criteria"]
            assert [(e["accepted"], e["channel"]) for e in taken] == [(True, "form")], taken
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # the answer is deleted from Prefect
                inputs = web.post(
                    f"{api}/flow_runs/{run_id}/input/filter",
                    json={"prefix": "suspended", "limit": 200},
                ).json()
                if not [i for i in inputs if i["key"].endswith("-response")]:
                    break
                time.sleep(0.5)
            else:
                raise AssertionError(f"the answer is still in Prefect: {inputs}")
            running = {p.relative_to(home).as_posix() for p in home.rglob("*")}, loose_paths(home)
        yield home, mark, output, running, started


def test_every_file_of_the_data_directory_is_its_owners_alone(
    answered_in_the_dashboard: Any,
) -> None:
    home, _, output, (names, loose_while_running), _ = answered_in_the_dashboard
    assert "was readable by others" in output and "now owner-only" in output
    made = ("cases.db-wal", "cases.db-shm", "prefect/prefect.db-wal", "prefect/prefect.db-shm")
    made += ("cases.db", "prefect/prefect.db", "secret.key", "data.keys", "logs/serve.log")
    assert set(made) <= names, sorted(names)
    assert loose_while_running == []
    assert loose_paths(home) == []  # and once stopped


def test_prefect_keeps_no_copy_of_a_deleted_answer(answered_in_the_dashboard: Any) -> None:
    home, mark, _, _, _ = answered_in_the_dashboard
    files = [p for p in (home / "prefect").rglob("*") if p.is_file()]
    assert any(p.name == "prefect.db" for p in files)
    kept = [str(p) for p in files if mark.encode() in p.read_bytes()]
    assert kept == []


def test_safeshare_up_starts_everything_and_stops_cleanly(answered_in_the_dashboard: Any) -> None:
    """The module's `safeshare up` (stopped by Ctrl-C, cleanly, its ports closed and no process
    of it left: harness.up.up)."""
    _, _, output, _, started = answered_in_the_dashboard
    prefect_port, web_port = started["ports"]
    assert f"Dashboard: http://127.0.0.1:{prefect_port}" in output
    assert f"Sign-off links: http://127.0.0.1:{web_port}" in output
    assert f"http://127.0.0.1:{web_port}/sign-in" in output
    assert started["sign-in"] == 200
    assert started["api health"] == 200
    # Prefect's own vacuum forgets ended runs after 30 days, events after its default 7
    assert set(started["vacuum"]["enabled"]) == {"events", "flow_runs"}, started["vacuum"]
    assert started["vacuum"]["retention_period"] in (2592000, 2592000.0, "P30D"), started["vacuum"]
    # every dependency of the web app, by name, up
    health = started["web health"]
    assert health["status"] == "ok" and health["down"] == [], health
    assert set(health["checks"]) == {"case database", "prefect api", "outbox"}
    modes = started["modes"]
    assert modes["cases.db"] is not None and modes["prefect/prefect.db"] is not None
    assert modes["secret.key"] == 0o600
    assert modes["data.keys"] == 0o600  # made with the new database, owner-only
    assert f"sealed with data key {started['data key']}" in output
    assert started["served"] == SERVED


def test_safeshare_up_on_postgresql_serves_and_runs_a_case(tmp_path: Path) -> None:
    """Both databases on the local PostgreSQL: nothing of either is written under the data
    directory; a new school's first Monday, as the README has it (the roster imported, the DSL
    given their role and told a test message), ends with a teacher's concern whose run starts
    and waits for the DSL's assessment."""
    prefect_port, web_port = free_port(), free_port()
    home = tmp_path / "home"
    env = clean_env(home)
    with (
        case_database("postgresql", tmp_path) as cases_url,
        case_database("postgresql", tmp_path) as prefect_url,
    ):
        env["DATABASE_URL"] = cases_url
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = prefect_url.replace(
            "postgresql+psycopg://", "postgresql+asyncpg://"
        )
        with up(env, prefect_port, web_port, signal.SIGHUP):
            api = f"http://127.0.0.1:{prefect_port}/api"
            assert served_flows(api) == SERVED
            assert not (home / "cases.db").exists()
            assert not (home / "prefect" / "prefect.db").exists()

            with HttpListener() as inbox:
                case_id, safeshare = monday_morning(env, prefect_port, inbox.url("/dsl"), tmp_path)
                tested = [r for r in inbox.records if "test" in str(r.body).lower()]
                assert len(tested) == 1, inbox.records  # `notify test dsl` reached the DSL
            case = case_waiting_for(safeshare, case_id, "assess-criteria", cases_url)
            run_id = case["waiting"]["flow_run_id"]
            # the case says it waits a moment before its run has finished suspending
            wait_until_suspended(api, run_id)
            run = web.get(f"{api}/flow_runs/{run_id}").json()
            assert run["state"]["type"] == "PAUSED"
        # Prefect kept the run in PostgreSQL, the case database kept the case
        engine = create_engine(prefect_url)
        with engine.connect() as conn:
            sql = text("SELECT count(*) FROM flow_run WHERE id = :id")
            runs = conn.execute(sql, {"id": run_id})
            assert runs.scalar_one() == 1
        engine.dispose()
        engine = create_engine(cases_url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM cases")).scalar_one() == 1
        engine.dispose()
    assert loose_paths(home) == []  # what is under the data directory is still its owner's
