"""The roster inbox on both case databases: a settled export of pupils or staff is imported and
moved to done/; one that cannot be imported is moved to refused/ with its problems beside it
(owner-only) and writes nothing; one still being written waits; other files are left alone; a
leaver with child protection records is told to the DSL once; nothing a pickup returns holds a
value from a file."""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from harness.databases import DATA_KEYS, migrated_database
from harness.listeners import HttpListener
from sqlalchemy import func, select

from foundations.db import engine_for, session_scope
from foundations.settings import Settings, settings_in_force
from models.kernel.roles import Role
from models.plan_event.policy import PlanEventFacts, PlanEventKind
from models.tables.directory import Child, Staff
from tasks.children import update_child
from tasks.plan_events import record_plan_events
from tasks.roster_inbox import pick_up
from tasks.staff import add_staff

HEADER = "UPN,Legal Surname,Legal Forename,DOB,Year\n"
PUPILS = HEADER + "A123456789011,InboxSecretSurname,Zoë,01/09/2014,7\n"
PUPILS += "A123456789012,Lee,Sam,2014-02-01,7\n"


@pytest.fixture(params=("sqlite", "postgresql"))
def inbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, HttpListener]]:
    with (
        HttpListener() as listener,
        migrated_database(request.param, tmp_path) as url,
        settings_in_force(
            Settings(
                home=tmp_path, database_url=url, data_keys=DATA_KEYS, notify_retry_delay_seconds=0
            )
        ),
    ):
        add_staff("dsl1", name="Dee", role=Role.DSL, notify_url=listener.url("/dsl1"))
        folder = tmp_path / "roster-inbox"
        folder.mkdir()
        yield folder, listener
        engine_for(url).dispose()


def drop(folder: Path, name: str, text: str, age: float = 120) -> Path:
    """A file as the school information system leaves it, `age` seconds ago."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def pupils_held() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Child)) or 0


def test_settled_exports_are_imported_and_moved_and_the_rest_left(
    inbox: tuple[Path, HttpListener],
) -> None:
    folder, _ = inbox
    now = datetime.now(UTC)  # the files' times are the clock's: so is the pickup's
    drop(folder, "pupils-2026-11-30.csv", PUPILS)
    drop(folder, "staff.json", json.dumps([{"staff_id": "JSM", "name": "Jo Smith"}]))
    drop(folder, "pupils-now.csv", PUPILS, age=5)  # still being written
    drop(folder, "notes.txt", "not an export")
    drop(folder, "pupils-bad.csv", HEADER + "A123456789013,InboxSecretBad,X,31/02/2014,7\n")
    picked = pick_up(folder, today=now.date(), now=now)
    assert [(p.name, p.what, p.outcome, p.problems) for p in picked] == [
        ("pupils-2026-11-30.csv", "pupils", "imported", 0),
        ("pupils-bad.csv", "pupils", "refused", 1),
        ("staff.json", "staff", "imported", 0),
    ]
    assert picked[0].counts == {"added": 2, "changed": 0, "left": 0, "unchanged": 0}
    assert pupils_held() == 2
    with session_scope() as session:
        assert session.get(Staff, "JSM") is not None
    assert sorted(p.name for p in folder.iterdir()) == [
        "done",
        "notes.txt",
        "pupils-now.csv",
        "refused",
    ]
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    assert sorted(p.name for p in (folder / "done").iterdir()) == [
        f"{stamp}-pupils-2026-11-30.csv",
        f"{stamp}-staff.json",
    ]
    report = folder / "refused" / f"{stamp}-pupils-bad.csv.problems.txt"
    assert report.read_text() == (
        "line 2: '31/02/2014' is not a date (give YYYY-MM-DD or DD/MM/YYYY)\n"
    )
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "refused").stat().st_mode) == 0o700
    # what a pickup returns (a task's result, in Prefect) holds names and counts only
    assert "InboxSecret" not in repr(picked)
    # the file still being written is picked up once settled, and changes nothing
    os.utime(folder / "pupils-now.csv", (time.time() - 120, time.time() - 120))
    (again,) = pick_up(folder, today=now.date(), now=now + timedelta(minutes=15))
    assert (again.name, again.outcome, again.counts["unchanged"]) == (
        "pupils-now.csv",
        "unchanged",
        2,
    )


def test_a_leaver_with_records_found_by_a_pickup_is_told_to_the_dsl_once(
    inbox: tuple[Path, HttpListener],
) -> None:
    folder, listener = inbox
    now = datetime.now(UTC)
    drop(folder, "pupils-1.csv", PUPILS)
    pick_up(folder, today=now.date(), now=now)
    with session_scope() as session:
        refs = dict(session.execute(select(Child.child_ref, Child.identity)).all())
    (leaver,) = [ref for ref, identity in refs.items() if identity["upn"] == "A123456789012"]
    update_child(leaver, cp_plan=True)
    record_plan_events(
        [
            (
                1,
                PlanEventFacts(
                    child_ref=leaver,
                    kind=PlanEventKind.UNEXPLAINED_ABSENCE,
                    occurred_at=now - timedelta(hours=1),
                    recorded_by="dsl1",
                ),
            )
        ],
        now=now,
    )
    without = HEADER + "A123456789011,InboxSecretSurname,Zoë,01/09/2014,7\n"
    drop(folder, "pupils-2.csv", without)
    drop(folder, "pupils-3.csv", without)  # the same export again: nothing more to tell
    picked = pick_up(folder, today=now.date(), now=now + timedelta(minutes=15))
    assert [(p.outcome, p.counts["left"]) for p in picked] == [("imported", 1), ("unchanged", 0)]
    told = [r for r in listener.records if r.path == "/dsl1"]
    assert len(told) == 1 and leaver in told[0].body["title"]
    assert "InboxSecret" not in json.dumps(told[0].body)
