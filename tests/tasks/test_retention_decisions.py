"""Retention decisions on both case databases: the review lists files past their date; a
person keeps or destroys them; destroying removes every row of the child's cases (of every kind)
and keeps the audit chain whole (and on SQLite leaves no copy of them in the database's files);
held files are never destroyed, and the attempt is recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from harness.databases import DATA_KEYS, migrated_database
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from foundations.db import engine_for, session_scope
from foundations.settings import Settings, settings_in_force
from models.access_request import AccessRequestFacts, Requester
from models.kernel.roles import Role
from models.notice import NoticeFacts, NoticeSource
from models.sharing.concern import Category, ConcernFacts
from models.tables.audit import AuditLog
from models.tables.cases import Case, CaseStep, Concern
from models.tables.directory import Child
from models.tables.openings import AccessRequest, Leaver, Notice
from models.tables.retention import RetentionDecision
from models.transfer import LeaverFacts, MoveKind
from safeshare.cli.app import app
from tasks.access_requests import record_access_request
from tasks.children import add_child
from tasks.concerns import record_concern
from tasks.notices import record_notice
from tasks.staff import add_staff
from tasks.transfers import record_leaver

#: Nobody at the keyboard unless a command says who (whatever the shell's SAFESHARE_USER).
runner = CliRunner(env={"SAFESHARE_USER": None})
TODAY = "2026-11-25"


@pytest.fixture(params=("sqlite", "postgresql"))
def setting(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with (
        migrated_database(request.param, tmp_path) as url,
        settings_in_force(Settings(home=tmp_path, database_url=url, data_keys=DATA_KEYS)),
    ):
        for staff_id, role in (("dsl1", Role.DSL), ("admin1", Role.ADMIN), ("t1", Role.STAFF)):
            add_staff(staff_id, name=staff_id, role=role, notify_url=None)
        for ref, born, category in (
            ("OLD", date(1990, 1, 1), Category.PHYSICAL),
            ("HELD", date(1990, 1, 1), Category.SEXUAL),
            ("YOUNG", date(2016, 1, 1), Category.NEGLECT),
        ):
            add_child(ref, date_of_birth=born, cp_plan=False)
            case_id = record_concern(
                ConcernFacts(
                    child_ref=ref,
                    raised_by="t1",
                    category=category,
                    occurred_at=datetime(2005, 1, 1, tzinfo=UTC),
                    what_happened="what happened",
                )
            )
            with session_scope() as session:
                session.add(
                    CaseStep(
                        case_id=case_id,
                        step="record-concern",
                        slot="record-concern",
                        key="record-concern-a0",
                        accepted=True,
                        channel="system",
                        data={"concern_id": case_id},
                    )
                )
        add_child("NONE", date_of_birth=date(1980, 1, 1), cp_plan=False)  # never a concern
        yield url
        engine_for(url).dispose()


def cli(*argv: str, user: str = "dsl1") -> object:
    return runner.invoke(app, ["--user", user, *argv])


def review(on: str = TODAY) -> dict[str, dict[str, object]]:
    result = cli("retention", "review", "--json", "--at", on)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    return {r["child_ref"]: r for r in json.loads(result.stdout)}  # type: ignore[attr-defined]


def count(model: type, **where: object) -> int:
    with session_scope() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return session.scalar(query) or 0


def test_the_review_lists_files_past_their_date_with_their_holds(setting: str) -> None:
    due = review()
    assert set(due) == {"OLD", "HELD"}
    assert due["OLD"]["review_from"] == "2015-01-01" and due["OLD"]["hold"] is None
    assert "sexual abuse" in str(due["HELD"]["hold"])


def test_a_held_file_is_never_destroyed_and_the_attempt_is_recorded(setting: str) -> None:
    refused = cli(
        "retention", "decide", "HELD", "--destroy", "--reason", "past date", "--at", TODAY
    )
    assert refused.exit_code == 1 and "never destroyed" in refused.stderr  # type: ignore[attr-defined]
    assert count(Child, child_ref="HELD") == 1
    assert count(RetentionDecision, child_ref="HELD", decision="refused") == 1
    assert count(AuditLog, action="refused:retention-destroy") == 1
    young = cli("retention", "decide", "YOUNG", "--destroy", "--reason", "x", "--at", TODAY)
    assert young.exit_code == 1 and "kept until 2041-01-01" in young.stderr  # type: ignore[attr-defined]


def test_destroying_removes_every_row_and_keeps_the_chain_whole(setting: str) -> None:
    with session_scope() as session:
        child_id = session.scalar(select(Child.id).where(Child.child_ref == "OLD"))
    done = cli("retention", "decide", "OLD", "--destroy", "--reason", "reviewed", "--at", TODAY)
    assert done.exit_code == 0, done.output  # type: ignore[attr-defined]
    assert count(Child, child_ref="OLD") == 0 and count(Concern, child_id=child_id) == 0
    assert count(CaseStep) == 2  # the other two children's
    assert set(review()) == {"HELD"}
    with session_scope() as session:
        decision = session.scalars(
            select(RetentionDecision).where(RetentionDecision.child_ref == "OLD")
        ).one()
        assert (decision.decision, decision.decided_by, decision.reason, decision.cases) == (
            "destroy",
            "dsl1",
            "reviewed",
            1,
        )
    verified = cli("audit", "verify", user="admin1")
    assert verified.exit_code == 0, verified.output  # type: ignore[attr-defined]


@pytest.mark.parametrize("setting", ["sqlite"], indirect=True)  # PostgreSQL: see the README
def test_destroyed_records_leave_no_copy_in_the_sqlite_files(setting: str) -> None:
    """The sealed values of a destroyed child's records, as stored, are in no byte of the
    database file or its write-ahead log once the decision returns."""
    with session_scope() as session:
        stored = session.execute(
            text(
                "SELECT c.what_happened, ch.date_of_birth FROM concerns c "
                "JOIN children ch ON ch.id = c.child_id WHERE ch.child_ref = 'OLD'"
            )
        ).one()
    sealed = [value.encode() for value in stored]
    assert all(value.startswith(b"s1:") for value in sealed)
    database = Path(setting.removeprefix("sqlite:///"))
    files = [database, database.with_name(database.name + "-wal")]
    assert any(v in f.read_bytes() for f in files if f.exists() for v in sealed)  # there now
    done = cli("retention", "decide", "OLD", "--destroy", "--reason", "reviewed", "--at", TODAY)
    assert done.exit_code == 0, done.output  # type: ignore[attr-defined]
    left = [str(f) for f in files if f.exists() for v in sealed if v in f.read_bytes()]
    assert left == []


def test_keeping_holds_a_file_for_a_year(setting: str) -> None:
    kept = cli("retention", "decide", "OLD", "--keep", "--reason", "proceedings", "--at", TODAY)
    assert kept.exit_code == 0 and "2027-11-25" in kept.stdout  # type: ignore[attr-defined]
    assert "OLD" not in review()
    assert "OLD" in review("2027-11-25")


@pytest.mark.parametrize(
    ("argv", "user", "says"),
    [
        (["OLD", "--reason", "x"], "dsl1", "--keep or --destroy"),
        (["OLD", "--keep", "--destroy", "--reason", "x"], "dsl1", "--keep or --destroy"),
        (["OLD", "--destroy"], "dsl1", "--reason"),
        (["GHOST", "--destroy", "--reason", "x"], "dsl1", "GHOST"),
        (["OLD", "--destroy", "--reason", "x", "--at", "soon"], "dsl1", "YYYY-MM-DD"),
        (["OLD", "--destroy", "--reason", "x"], "t1", "not allowed"),
        (["OLD", "--destroy", "--reason", "x"], "admin1", "not allowed"),
    ],
)
def test_bad_decisions_are_refused_and_change_nothing(
    setting: str, argv: list[str], user: str, says: str
) -> None:
    result = cli("retention", "decide", *argv, user=user)
    assert result.exit_code == 1 and says in result.stderr  # type: ignore[attr-defined]
    assert count(Child, child_ref="OLD") == 1
    assert count(RetentionDecision) == 0


def test_a_file_of_every_kind_of_case_is_counted_and_destroyed_whole(setting: str) -> None:
    """A request, a notice and a leaver are the child's records too: counted in the review,
    and their own rows go with the child's file."""
    received = datetime(2005, 2, 1, tzinfo=UTC)
    now = datetime(2026, 11, 25, tzinfo=UTC)
    record_access_request(
        AccessRequestFacts(
            child_ref="OLD",
            requester=Requester.PUPIL,
            received_by="t1",
            received_at=received,
            request="my file",
        ),
        now=now,
    )
    record_notice(
        NoticeFacts(
            child_ref="OLD",
            source=NoticeSource.OTHER_AGENCY,
            received_at=received,
            details="a notice",
            recorded_by="dsl1",
        ),
        now=now,
    )
    record_leaver(
        LeaverFacts(
            child_ref="OLD", leaving_on=date(2006, 7, 20), move=MoveKind.IN_YEAR, recorded_by="t1"
        )
    )
    assert review()["OLD"]["cases"] == 4 and review()["OLD"]["hold"] is None

    done = cli("retention", "decide", "OLD", "--destroy", "--reason", "reviewed", "--at", TODAY)

    assert done.exit_code == 0, done.output  # type: ignore[attr-defined]
    assert (count(AccessRequest), count(Notice), count(Leaver), count(Case)) == (0, 0, 0, 2)
    verified = cli("audit", "verify", user="admin1")
    assert verified.exit_code == 0, verified.output  # type: ignore[attr-defined]
