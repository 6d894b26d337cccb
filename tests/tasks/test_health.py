"""`safeshare health` and the web app's /health, on both case databases: each dependency said
by name, which is down and why in a few words, nothing of its address or password; exit status
1 (503 on the web) when one is down. Prefect's API here is a port nothing listens on; the API
up is checked on a real stack (tests/flow/test_health.py) and under `safeshare up`
(tests/e2e/test_up.py)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from harness.databases import DATA_KEYS, case_database, migrated_database
from harness.prefect_server import free_port
from typer.testing import CliRunner

from foundations.db import engine_for, session_scope
from foundations.settings import Settings, settings_in_force
from models.tables.base import utcnow
from models.tables.outbox import Notification
from safeshare.cli.app import app
from safeshare.web.app import create_app

runner = CliRunner(env={"SAFESHARE_USER": None, "PREFECT_API_URL": None})


def settings_for(url: str, home: Path) -> Settings:
    """Prefect's API on a port nothing listens on."""
    return Settings(
        home=home,
        database_url=url,
        data_keys=DATA_KEYS,
        secret_key=secrets.token_urlsafe(48),
        prefect_port=free_port(),
    )


@pytest.fixture(params=("sqlite", "postgresql"))
def migrated(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)  # the settings' own port is asked
    with migrated_database(request.param, tmp_path) as url:
        with settings_in_force(settings_for(url, tmp_path)) as settings:
            yield settings
        engine_for(url).dispose()


def health(*argv: str) -> tuple[int, str]:
    result = runner.invoke(app, ["health", *argv])
    return result.exit_code, result.stdout


def outbox(*messages: tuple[str, str, timedelta]) -> None:
    with session_scope() as session:
        for key, status, age in messages:
            session.add(
                Notification(key=key, tag="dsl", kind="test", status=status,
                             created_at=utcnow() - age)
            )  # fmt: skip


def test_each_dependency_is_said_by_name_and_a_down_one_fails(migrated: Settings) -> None:
    code, said = health()
    assert code == 1, said
    assert said.splitlines() == [
        "ok    case database: reachable, schema current",
        "DOWN  prefect api: unreachable (ConnectError)",
        "ok    outbox: every message delivered",
        "Down: prefect api.",
    ]
    code, said = health("--json")
    found = json.loads(said)
    assert code == 1 and found["status"] == "down" and found["down"] == ["prefect api"]
    assert found["checks"]["case database"] == {"ok": True, "detail": "reachable, schema current"}


def test_the_outbox_is_down_when_a_message_has_waited_too_long(migrated: Settings) -> None:
    outbox(
        ("sent-long-ago", "sent", timedelta(days=2)),
        ("on-its-way", "pending", timedelta(minutes=5)),
    )
    found = json.loads(health("--json")[1])["checks"]["outbox"]
    assert found == {"ok": True, "detail": "1 undelivered, the oldest for 5 min"}
    outbox(("refused-by-the-mail-server", "failed", timedelta(minutes=31)))
    found = json.loads(health("--json")[1])["checks"]["outbox"]
    assert found == {"ok": False, "detail": "2 undelivered, the oldest for 31 min"}


def test_the_web_app_says_the_same_and_answers_503(migrated: Settings) -> None:
    client = TestClient(create_app())
    assert client.get("/health/live").json() == {"status": "ok"}
    answer = client.get("/health")
    assert answer.status_code == 503
    assert answer.json() == json.loads(health("--json")[1])


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_database_not_migrated_is_down_and_its_outbox_not_read(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with case_database(kind, tmp_path) as url:
        if kind == "sqlite":  # an empty file, as a failed first start would leave
            engine_for(url).connect().close()
        with settings_in_force(settings_for(url, tmp_path)):
            code, said = health()
        engine_for(url).dispose()
    assert code == 1
    assert said.splitlines()[0] == (
        "DOWN  case database: schema not current: run `safeshare db migrate`"
    )
    assert "DOWN  outbox: not read: the case database is down" in said


def test_no_case_database_yet_is_said_and_none_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    url = f"sqlite:///{tmp_path}/cases.db"
    with settings_in_force(settings_for(url, tmp_path)):
        code, said = health()
    assert code == 1
    assert (
        said.splitlines()[0] == "DOWN  case database: no database yet: run `safeshare db migrate`"
    )
    assert not (tmp_path / "cases.db").exists()


def test_an_unreachable_database_is_said_without_its_address_or_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    url = f"postgresql://postgres:s3cret@127.0.0.1:{free_port()}/cases"
    with settings_in_force(settings_for(url, tmp_path)):
        code, said = health()
        web = TestClient(create_app()).get("/health").text
    assert code == 1
    assert said.splitlines()[0] == "DOWN  case database: unreachable (OperationalError)"
    for shown in (said, web):
        assert "s3cret" not in shown and "127.0.0.1" not in shown
