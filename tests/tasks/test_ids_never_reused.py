"""Ids that leave the case database are never handed out twice, on both databases: after the
newest case is destroyed through the real retention path, the next concern gets a new case id
and reference (and so do its other rows), also after a backup is restored, and also on a
database whose newest case was destroyed before it was upgraded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from harness.databases import DATA_KEYS, case_database, migrated_database
from sqlalchemy import Integer, func, select
from typer.testing import CliRunner

from foundations.db import alembic_config, engine_for, session_scope
from foundations.settings import Settings, settings_in_force
from models.kernel.roles import Role
from models.links import LinkPurpose
from models.messages.cases import case_reference
from models.sharing.concern import Category, ConcernFacts
from models.tables.base import Base, never_reused_tables
from models.tables.cases import Case, CaseStep
from models.tables.credentials import LinkAttempt, PersonalLink
from models.tables.disclosures import Disclosure
from models.tables.outbox import Notification
from safeshare.cli.app import app
from tasks.children import add_child
from tasks.concerns import record_concern
from tasks.staff import add_staff

#: Nobody at the keyboard unless a command says who (whatever the shell's SAFESHARE_USER).
runner = CliRunner(env={"SAFESHARE_USER": None})
TODAY = "2026-11-25"


def test_every_table_with_a_surrogate_id_never_reuses_it() -> None:
    surrogate = {
        table.name
        for table in Base.metadata.sorted_tables
        if [c.name for c in table.primary_key.columns] == ["id"]
        and isinstance(table.c.id.type, Integer)
        and table.name != "audit_head"  # one row, always id 1
    }
    assert set(never_reused_tables()) == surrogate
    assert {"cases", "concerns", "disclosures", "personal_links", "link_attempts"} <= surrogate


@pytest.fixture(params=("sqlite", "postgresql"))
def setting(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with (
        migrated_database(request.param, tmp_path / "db") as url,
        settings_in_force(Settings(home=tmp_path, database_url=url, data_keys=DATA_KEYS)),
    ):
        for staff_id, role in (("dsl1", Role.DSL), ("admin1", Role.ADMIN), ("t1", Role.STAFF)):
            add_staff(staff_id, name=staff_id, role=role, notify_url=None)
        add_child("OLD", date_of_birth=date(1990, 1, 1), cp_plan=False)
        add_child("NEW", date_of_birth=date(2016, 1, 1), cp_plan=False)
        yield url
        engine_for(url).dispose()


def cli(*argv: str, user: str = "dsl1") -> Any:
    return runner.invoke(app, ["--user", user, *argv])


def concern(child: str) -> int:
    return record_concern(
        ConcernFacts(
            child_ref=child,
            raised_by="t1",
            category=Category.NEGLECT,
            occurred_at=datetime(2005, 1, 1, tzinfo=UTC),
            what_happened="what happened",
        )
    )


def with_rows(case_id: int) -> dict[str, int]:
    """Give the case a row of every kind whose id leaves the database; their ids by table."""
    later = datetime.now(UTC) + timedelta(days=1)
    with session_scope() as session:
        concern_id = session.scalar(select(Case.concern_id).where(Case.id == case_id))
        step = CaseStep(
            case_id=case_id,
            step="record-concern",
            slot="record-concern",
            key="record-concern-a0",
            accepted=True,
            channel="system",
            data={"concern_id": concern_id},
        )
        note = Notification(key=f"case:{case_id}:x:dsl", case_id=case_id, tag="dsl", kind="x")
        disclosure = Disclosure(
            case_id=case_id,
            agency_code="csc",
            information="what",
            purpose="why",
            lawful_basis="art6-1-e-public-task",
            consent="refused",
            decided_by="dsl1",
        )
        session.add_all([step, note, disclosure])
        session.flush()
        wait = {"case_id": case_id, "step": "parents", "slot": "parents-0", "key": "parents-0-a0"}
        links = {
            LinkPurpose.ANSWER_CODE: PersonalLink(**wait, secret_hash="h"),
            LinkPurpose.ANSWER_LINK: PersonalLink(**wait),
            LinkPurpose.RECEIPT_LINK: PersonalLink(
                case_id=case_id, disclosure_id=disclosure.id, agency_code="csc"
            ),
            LinkPurpose.NOTICE_LINK: PersonalLink(case_id=case_id),
        }
        for purpose, link in links.items():
            link.purpose, link.holder, link.expires_at = purpose, "dsl1", later
        session.add_all([step, note, disclosure, *links.values()])
        session.flush()
        attempt = LinkAttempt(
            link_id=links[LinkPurpose.ANSWER_LINK].id,
            token_fingerprint="f",
            address="127.0.0.1",
            method="GET",
            outcome="shown",
            status=200,
        )
        session.add(attempt)
        session.flush()
        rows = [step, note, disclosure, attempt]
        return (
            {"cases": case_id, "concerns": concern_id or 0}
            | {type(row).__tablename__: row.id for row in rows}
            | {purpose.value: link.id for purpose, link in links.items()}
        )


def destroy_old() -> None:
    done = cli("retention", "decide", "OLD", "--destroy", "--reason", "reviewed", "--at", TODAY)
    assert done.exit_code == 0, done.output


def test_the_destroyed_newest_case_never_gives_its_ids_again(setting: str) -> None:
    concern("NEW")
    doomed = with_rows(concern("OLD"))  # the newest case, with a row of every kind
    destroy_old()
    with session_scope() as session:
        assert (
            session.scalar(select(func.count()).select_from(Case).where(Case.id == doomed["cases"]))
            == 0
        )

    fresh = with_rows(concern("NEW"))

    for table, old_id in doomed.items():
        assert fresh[table] > old_id, table
    assert case_reference(fresh["cases"]) != case_reference(doomed["cases"])
    shown = cli("audit", "show", "--case", str(fresh["cases"]), "--json")
    assert shown.exit_code == 0, shown.output
    entries = json.loads(shown.stdout)
    assert entries and {e["case_id"] for e in entries} == {fresh["cases"]}
    destroyed = cli("audit", "show", "--actor", "dsl1", "--json")
    (destruction,) = [
        e for e in json.loads(destroyed.stdout) if e["action"] == "destroy:child-records"
    ]
    assert all(e["seq"] > destruction["seq"] for e in entries)  # nothing of the destroyed case


def test_a_restored_backup_never_gives_a_destroyed_case_id_again(
    setting: str, tmp_path: Path
) -> None:
    concern("NEW")
    doomed = with_rows(concern("OLD"))
    destroy_old()
    backup = tmp_path / "cases.ssbk"
    taken = cli("backup", str(backup), user="admin1")
    assert taken.exit_code == 0, taken.output
    kind = "sqlite" if setting.startswith("sqlite") else "postgresql"
    with (
        case_database(kind, tmp_path / "restored") as url,
        settings_in_force(Settings(home=tmp_path, database_url=url, data_keys=DATA_KEYS)),
    ):
        restored = runner.invoke(app, ["restore", str(backup)])
        assert restored.exit_code == 0, restored.output

        fresh = with_rows(concern("NEW"))

        for table, old_id in doomed.items():
            assert fresh[table] > old_id, table
        engine_for(url).dispose()


def test_a_case_destroyed_before_the_upgrade_keeps_its_id(setting: str) -> None:
    """An installation that destroyed its newest case before ids were kept from reuse: the
    audit trail still names that case, and its id is not given again after the upgrade."""
    concern("NEW")
    doomed = concern("OLD")
    destroy_old()
    config = alembic_config(setting)
    command.downgrade(config, "0016")  # the schema as it was before

    command.upgrade(config, "head")

    assert concern("NEW") > doomed
