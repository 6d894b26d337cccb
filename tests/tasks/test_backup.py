"""Backups on both case databases: taken while cases are being written, they restore into an
empty database whose audit trail verifies; an altered, cut-short or foreign backup, or a target
that is not empty, is refused and leaves the target as it was."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from harness.databases import DATA_KEYS, case_database, migrated_database
from sqlalchemy import func, inspect, select
from typer.testing import CliRunner

from foundations.db import engine_for, session_scope
from foundations.sealing import Keyring
from foundations.settings import Settings, settings_in_force
from models.kernel.roles import Role
from models.sharing.concern import Category, ConcernFacts
from models.tables.cases import Case, Concern
from safeshare.cli.app import app
from tasks.children import add_child
from tasks.concerns import record_concern
from tasks.staff import add_staff

runner = CliRunner()


def on(url: str, home: Path, data_keys: str = DATA_KEYS) -> Settings:
    """The settings of a setting whose case database is at `url`."""
    return Settings(home=home, database_url=url, data_keys=data_keys)


def concern(marker: str) -> ConcernFacts:
    return ConcernFacts(
        child_ref="C-1",
        raised_by="dsl1",
        category=Category.NEGLECT,
        occurred_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
        what_happened=f"{marker} what happened",
        child_words=f"{marker} words",
    )


@pytest.fixture(params=("sqlite", "postgresql"))
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A case database with a few cases in it, and the marker typed into each."""
    marker = f"PD{uuid.uuid4().hex[:10]}"
    with migrated_database(request.param, tmp_path / "source") as url:
        with settings_in_force(on(url, tmp_path)):
            add_staff("dsl1", name=f"{marker} Alice", role=Role.DSL, notify_url=None)
            add_staff("admin1", name="Ada", role=Role.ADMIN, notify_url=None)
            add_child("C-1", date_of_birth=date(2016, 5, 1), cp_plan=False)
            for _ in range(3):
                record_concern(concern(marker))
            yield url, marker
        engine_for(url).dispose()


@pytest.fixture
def target(source: tuple[str, str], tmp_path: Path) -> Iterator[str]:
    """A new, empty database of the same kind."""
    kind = "sqlite" if source[0].startswith("sqlite") else "postgresql"
    with case_database(kind, tmp_path / "target") as url:
        yield url
        engine_for(url).dispose()


def counts() -> tuple[int, int]:
    with session_scope() as session:
        return (
            session.scalar(select(func.count()).select_from(Concern)) or 0,
            session.scalar(select(func.count()).select_from(Case)) or 0,
        )


def test_a_backup_taken_while_cases_are_written_restores_and_verifies(
    source: tuple[str, str], target: str, tmp_path: Path
) -> None:
    url, marker = source
    stop, failures = threading.Event(), []

    def keep_writing() -> None:
        while not stop.is_set():
            try:
                record_concern(concern(marker))
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
                failures.append(exc)
                return

    writers = [threading.Thread(target=keep_writing) for _ in range(4)]
    for writer in writers:
        writer.start()
    try:
        backup = tmp_path / "cases.ssbk"
        taken = runner.invoke(app, ["--user", "admin1", "backup", str(backup)])
    finally:
        stop.set()
        for writer in writers:
            writer.join()
    assert taken.exit_code == 0, taken.output
    assert not failures, failures
    held = backup.read_bytes()
    assert marker.encode() not in held and backup.stat().st_mode & 0o777 == 0o600
    at_source = counts()

    with settings_in_force(on(target, tmp_path)):
        restored = runner.invoke(app, ["restore", str(backup)])
        assert restored.exit_code == 0, restored.output
        verified = runner.invoke(app, ["--user", "admin1", "audit", "verify"])
        assert verified.exit_code == 0, verified.output
        concerns, cases = counts()
        assert 3 <= concerns == cases <= at_source[0]  # one moment: every concern with its case
        shown = runner.invoke(app, ["--user", "dsl1", "case", "show", "1", "--json"])
        assert shown.exit_code == 0 and json.loads(shown.stdout)["concern"]["child_words"] == (
            f"{marker} words"
        )
        added = record_concern(concern(marker))  # the restored database goes on working
        assert added > cases
        again = runner.invoke(app, ["restore", str(backup)])
        assert again.exit_code == 1 and "empty database" in again.stderr


@pytest.mark.parametrize(
    ("spoil", "says"),
    [
        (lambda b: b[:-40] + bytes(x ^ 1 for x in b[-40:-20]) + b[-20:], "does not check"),
        (lambda b: b[: len(b) - 30], "cut short"),
        (lambda b: b"not a backup at all", "not a safeshare backup"),
        (
            lambda b: re.sub(rb'"revision": "\w+"', b'"revision": "0001"', b, count=1),
            "does not check",
        ),
        (lambda b: b.replace(b'"revision"', b'"revisiom"', 1), "header is damaged"),
    ],
)
def test_a_spoilt_backup_is_refused_and_changes_nothing(
    source: tuple[str, str],
    target: str,
    tmp_path: Path,
    spoil: object,
    says: str,
) -> None:
    backup = tmp_path / "cases.ssbk"
    assert runner.invoke(app, ["--user", "admin1", "backup", str(backup)]).exit_code == 0
    spoilt = tmp_path / "spoilt.ssbk"
    spoilt.write_bytes(spoil(backup.read_bytes()))  # type: ignore[operator]
    with settings_in_force(on(target, tmp_path)):
        refused = runner.invoke(app, ["restore", str(spoilt)])
    assert refused.exit_code == 1 and says in refused.stderr, refused.output
    assert inspect(engine_for(target)).get_table_names() == []


def test_a_backup_under_keys_this_server_lacks_is_refused(
    source: tuple[str, str], target: str, tmp_path: Path
) -> None:
    backup = tmp_path / "cases.ssbk"
    assert runner.invoke(app, ["--user", "admin1", "backup", str(backup)]).exit_code == 0
    with settings_in_force(on(target, tmp_path, data_keys=Keyring.new("other").to_json())):
        refused = runner.invoke(app, ["restore", str(backup)])
    assert refused.exit_code == 1 and "data key" in refused.stderr
    assert inspect(engine_for(target)).get_table_names() == []


def test_a_sqlite_backup_restores_into_postgresql(tmp_path: Path) -> None:
    """How a setting that started on SQLite moves to PostgreSQL."""
    marker = f"PD{uuid.uuid4().hex[:10]}"
    backup = tmp_path / "cases.ssbk"
    with (
        migrated_database("sqlite", tmp_path / "source") as url,
        settings_in_force(on(url, tmp_path)),
    ):
        add_staff("dsl1", name="Alice", role=Role.DSL, notify_url=None)
        add_staff("admin1", name="Ada", role=Role.ADMIN, notify_url=None)
        add_child("C-1", date_of_birth=date(2016, 5, 1), cp_plan=False)
        case_id = record_concern(concern(marker))
        assert runner.invoke(app, ["--user", "admin1", "backup", str(backup)]).exit_code == 0
        engine_for(url).dispose()
    with (
        case_database("postgresql", tmp_path / "target") as url,
        settings_in_force(on(url, tmp_path)),
    ):
        restored = runner.invoke(app, ["restore", str(backup)])
        assert restored.exit_code == 0, restored.output
        assert runner.invoke(app, ["--user", "admin1", "audit", "verify"]).exit_code == 0
        assert record_concern(concern(marker)) == case_id + 1  # the ids go on from the backup's
        shown = runner.invoke(app, ["--user", "dsl1", "case", "show", str(case_id), "--json"])
        assert json.loads(shown.stdout)["concern"]["child_words"] == f"{marker} words"
        engine_for(url).dispose()
