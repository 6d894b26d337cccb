"""Personal data is sealed in the case database itself, on SQLite and PostgreSQL: the raw file and
a dump hold none of it; a key rotation re-seals everything while readers go on reading; a wrong
or missing key is a clear error."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from harness.cases import assessment_record
from harness.databases import DATA_KEYS, case_database, raw_bytes
from pydantic import SecretStr
from sqlalchemy import select, text
from typer.testing import CliRunner

from foundations import sealing
from foundations.db import engine_for, migrate, session_scope
from foundations.sealing import Keyring, keys_path, load_keyring
from foundations.settings import Settings, settings_in_force
from models.access_request import AccessRequestFacts, Requester
from models.kernel.directory import AgencyKind
from models.kernel.roles import Role
from models.notice import NoticeFacts, NoticeSource
from models.plan_event.policy import PlanEventFacts, PlanEventKind
from models.sharing.concern import Category, ConcernFacts
from models.tables.base import sealed_columns
from models.tables.cases import CaseStep, Concern
from models.tables.directory import Staff
from models.tables.disclosures import Disclosure, Receipt
from models.tables.openings import AccessRequest, Leaver, Notice, PlanEvent
from models.transfer import LeaverFacts, MoveKind
from safeshare.cli.app import app
from tasks.access_requests import record_access_request
from tasks.accounts import new_totp_secret, set_second_factor
from tasks.agencies import add_agency
from tasks.children import add_child
from tasks.concerns import record_concern
from tasks.notices import record_notice
from tasks.plan_events import record_plan_events
from tasks.roster import import_pupils, import_staff
from tasks.staff import add_staff
from tasks.transfers import record_leaver

runner = CliRunner()


@dataclass
class Filled:
    settings: Settings
    url: str
    marker: str
    case_id: int


def assessment(marker: str) -> dict[str, object]:
    return assessment_record(marker, agency="csc2")


def fill(marker: str) -> int:
    """One of everything that is sealed, each carrying the marker."""
    add_staff("dsl1", name=f"{marker} Alice", role=Role.DSL, notify_url=f"mailto://{marker}@x")
    add_staff("admin1", name="Ada", role=Role.ADMIN, notify_url=None)
    add_agency(
        "csc2", name="Children's Social Care", kind=AgencyKind.CSC, notify_url=f"json://{marker}"
    )
    add_child(
        "C-1",
        date_of_birth=date(2016, 5, 1),
        cp_plan=True,
        social_worker_notify=f"json://127.0.0.1/{marker}",
    )
    case_id = record_concern(
        ConcernFacts(
            child_ref="C-1",
            raised_by="dsl1",
            category=Category.PHYSICAL,
            occurred_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
            place=f"{marker} playground",
            what_happened=f"{marker} what happened",
            child_words=f"{marker} the child's words",
            action_taken=f"{marker} action",
            who_told=f"{marker} told",
            allegation_against="admin1",
        )
    )
    set_second_factor("dsl1", new_totp_secret(), step=0)
    fill_other_openings(marker)
    # who a pupil and a member of staff are, as a roster import writes them
    import_pupils(
        "UPN,Legal Surname,Legal Forename,DOB,Contact 1 Name\n"
        f"A123456789012,{marker} Surname,Zo,2016-05-02,{marker} Carer\n",
        "csv",
        today=date(2026, 11, 30),
    )
    import_staff(
        "Staff id,Name,Email,Job title\n"
        f"dsl1,{marker} Alice,{marker}@school.example,{marker} job\n",
        "csv",
        today=date(2026, 11, 30),
    )
    with session_scope() as session:
        session.add(
            CaseStep(
                case_id=case_id,
                step="assess-criteria",
                slot="assess-criteria-0",
                key="assess-criteria-0-a0",
                accepted=True,
                actor="dsl1",
                channel="form",
                data=assessment(marker),
            )
        )
        disclosure = Disclosure(
            case_id=case_id,
            agency_code="csc2",
            information=f"{marker} information",
            purpose=f"{marker} purpose",
            lawful_basis="art6-1-e-public-task",
            consent="refused",
            decided_by="dsl1",
        )
        session.add(disclosure)
        session.flush()
        session.add(
            Receipt(
                disclosure_id=disclosure.id,
                confirmed_by_name=f"{marker} duty worker",
                confirmed_by_role=f"{marker} manager",
                confirmed_at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
                agency_reference=f"{marker}-REF",
                channel="phone",
            )
        )
    return case_id


def fill_other_openings(marker: str) -> None:
    """A case of every other kind, each opened by a record whose text carries the marker."""
    now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    add_agency("northfield", name="Northfield School", kind=AgencyKind.SCHOOL, notify_url=None)
    record_access_request(
        AccessRequestFacts(
            child_ref="C-1",
            requester=Requester.PARENT,
            received_by="dsl1",
            received_at=now,
            request=f"{marker} the request",
        ),
        now=now,
    )
    record_notice(
        NoticeFacts(
            child_ref="C-1",
            source=NoticeSource.POLICE_DOMESTIC_ABUSE,
            received_at=now,
            details=f"{marker} the notice",
            recorded_by="dsl1",
        ),
        now=now,
    )
    record_leaver(
        LeaverFacts(
            child_ref="C-1",
            leaving_on=date(2026, 12, 18),
            destination="northfield",
            move=MoveKind.IN_YEAR,
            recorded_by="dsl1",
        )
    )
    event = PlanEventFacts(
        child_ref="C-1",
        kind=PlanEventKind.UNEXPLAINED_ABSENCE,
        occurred_at=now,
        details=f"{marker} the event",
        recorded_by="dsl1",
    )
    record_plan_events([(1, event)], now=now)


@pytest.fixture(params=("sqlite", "postgresql"))
def filled(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Filled]:
    """A new database sealed under a key file in a new home, as `safeshare up` makes them."""
    with case_database(request.param, tmp_path) as url:
        settings = Settings(home=tmp_path / "home", database_url=url, data_keys=None)
        with settings_in_force(settings):
            migrate(url)
            marker = f"PD{uuid.uuid4().hex[:12]}"
            yield Filled(settings=settings, url=url, marker=marker, case_id=fill(marker))
        engine_for(url).dispose()


def with_keys(settings: Settings, keys: Keyring) -> Settings:
    """The same settings, the data keys given as SAFESHARE_DATA_KEYS."""
    return settings.model_copy(update={"data_keys": SecretStr(keys.to_json())})


def test_neither_the_file_nor_a_dump_holds_any_personal_data(filled: Filled) -> None:
    with session_scope() as session:  # everything reads back as written ...
        assert session.get(Staff, "dsl1").name == f"{filled.marker} Alice"  # type: ignore[union-attr]
        concern = session.scalars(select(Concern)).one()
        assert concern.child_words == f"{filled.marker} the child's words"
        assessed = session.scalars(select(CaseStep).where(CaseStep.step == "assess-criteria"))
        assert assessed.one().data == assessment(filled.marker)
        assert (
            session.scalars(select(AccessRequest)).one().request == f"{filled.marker} the request"
        )
        assert session.scalars(select(Notice)).one().details == f"{filled.marker} the notice"
        assert session.scalars(select(Leaver)).one().destination == "northfield"
        assert session.scalars(select(PlanEvent)).one().details == f"{filled.marker} the event"
    held = raw_bytes(filled.url)
    assert held.count(b"s1:") >= len(sealed_columns())  # ... and is held sealed
    assert filled.marker.encode() not in held
    assert b"2016-05-01" not in held  # the date of birth too


def test_a_rotation_reseals_everything_while_readers_keep_reading(
    filled: Filled, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sealing, "RELOAD_SECONDS", 0.2)
    old = load_keyring(filled.settings).primary
    failures: list[BaseException] = []
    stop = threading.Event()

    def read_all() -> None:
        while not stop.is_set():
            try:
                with session_scope() as session:
                    assert session.scalars(select(Concern)).one().what_happened.startswith("PD")
                    assert len(session.scalars(select(Staff)).all()) == 2
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
                failures.append(exc)
                return

    reader = threading.Thread(target=read_all)
    reader.start()
    try:
        rotated = runner.invoke(app, ["--user", "admin1", "keys", "rotate"])
    finally:
        stop.set()
        reader.join()
    assert rotated.exit_code == 0, rotated.output
    assert not failures, failures
    ring = load_keyring(filled.settings)
    assert ring.primary != old and set(ring.keys) == {old, ring.primary}

    # every value is now under the new key, and reads back the same
    with engine_for(filled.url).connect() as connection:
        for table, _, column, _ in sealed_columns():
            values = connection.execute(
                text(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL")
            ).scalars()
            assert all(v.startswith(f"s1:{ring.primary}:") for v in values), (table, column)
    with session_scope() as session:
        assert session.get(Receipt, 1).agency_reference == f"{filled.marker}-REF"  # type: ignore[union-attr]
    listed = runner.invoke(app, ["--user", "admin1", "keys", "list"])
    assert listed.exit_code == 0 and old in listed.stdout and ring.primary in listed.stdout

    # the old key goes only once nothing needs it: a value sealed under it blocks its retiring
    with session_scope() as session:
        staff = session.get(Staff, "dsl1")
        assert staff is not None
    with engine_for(filled.url).begin() as connection:
        connection.execute(
            text("UPDATE staff SET name = :v"),
            {"v": ring.seal(b"Alice", "staff.name").replace(ring.primary, old, 1)},
        )
    refused = runner.invoke(app, ["--user", "admin1", "keys", "retire", old])
    assert refused.exit_code == 1 and "still sealed" in refused.stderr
    with engine_for(filled.url).begin() as connection:
        connection.execute(
            text("UPDATE staff SET name = :v"), {"v": ring.seal(b"Alice", "staff.name")}
        )
    retired = runner.invoke(app, ["--user", "admin1", "keys", "retire", old])
    assert retired.exit_code == 0, retired.output
    assert set(load_keyring(filled.settings).keys) == {ring.primary}


def test_a_wrong_or_missing_key_is_a_clear_error_never_garbage(filled: Filled) -> None:
    with settings_in_force(with_keys(filled.settings, Keyring.new("other"))):
        shown = runner.invoke(app, ["--user", "dsl1", "case", "show", str(filled.case_id)])
    assert shown.exit_code == 1, shown.output
    assert "not in SAFESHARE_DATA_KEYS" in shown.stderr and "Traceback" not in shown.output
    assert filled.marker not in shown.output

    keys_path(filled.settings).unlink()  # and the key file is gone
    shown = runner.invoke(app, ["--user", "dsl1", "case", "show", str(filled.case_id)])
    assert shown.exit_code == 1 and "no data keys" in shown.stderr
    added = runner.invoke(
        app, ["--user", "admin1", "staff", "add", "dsl2", "--name", "Bob", "--role", "dsl"]
    )
    assert added.exit_code == 1 and "no data keys" in added.stderr
    with engine_for(filled.url).connect() as connection:  # nothing was written
        assert connection.execute(text("SELECT count(*) FROM staff")).scalar() == 2


def test_the_web_app_says_the_records_are_unavailable_and_shows_nothing(filled: Filled) -> None:
    import secrets
    from datetime import timedelta

    from fastapi.testclient import TestClient
    from sqlalchemy import update

    from models.links import LinkPurpose
    from models.tables.base import utcnow
    from models.tables.cases import Case
    from models.tables.credentials import PersonalLink
    from safeshare.web.app import create_app
    from tasks.personal_links import issue_link

    settings = filled.settings.model_copy(
        update={"secret_key": SecretStr(secrets.token_urlsafe(48))}
    )
    with settings_in_force(settings):
        add_staff("head1", name=f"{filled.marker} Head", role=Role.SLT, notify_url=None)
        key, run_id = "management-signoff-0-a0", str(uuid.uuid4())
        with session_scope() as session:
            session.execute(
                update(Case)
                .where(Case.id == filled.case_id)
                .values(
                    waiting_step="management-signoff",
                    waiting_slot="management-signoff-0",
                    waiting_key=key,
                    waiting_since=utcnow(),
                    flow_run_id=run_id,
                )
            )
            token = issue_link(
                session,
                PersonalLink(
                    purpose=LinkPurpose.ANSWER_LINK,
                    case_id=filled.case_id,
                    step="management-signoff",
                    slot="management-signoff-0",
                    key=key,
                    holder="head1",
                    flow_run_id=run_id,
                    expires_at=utcnow() + timedelta(hours=1),
                ),
                same=("key",),
                now=utcnow(),
            )
        client = TestClient(create_app())
        assert client.get(f"/answer/{token}").status_code == 200  # the right keys: the page

    with settings_in_force(with_keys(settings, Keyring.new("other"))):
        page = TestClient(create_app()).get(f"/answer/{token}")
    assert page.status_code == 503 and "Records unavailable" in page.text
    assert filled.marker not in page.text


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_an_existing_database_is_sealed_in_place_by_its_upgrade(kind: str, tmp_path: Path) -> None:
    """A setting upgrading from before sealing: its plaintext is sealed by the migration, and a
    downgrade gives it back."""
    from alembic import command

    from foundations.db import alembic_config

    marker = f"PD{uuid.uuid4().hex[:12]}"
    with (
        case_database(kind, tmp_path) as url,
        settings_in_force(Settings(home=tmp_path, database_url=url, data_keys=DATA_KEYS)),
    ):
        config = alembic_config(url)
        command.upgrade(config, "0007")
        with engine_for(url).begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO staff (staff_id, name, role, active, created_at) "
                    "VALUES ('dsl1', :name, 'dsl', true, CURRENT_TIMESTAMP)"
                ),
                {"name": f"{marker} Alice"},
            )
            connection.execute(
                text(
                    "INSERT INTO children (id, child_ref, date_of_birth, cp_plan, created_at) "
                    "VALUES (1, 'C-1', '2016-05-01', false, CURRENT_TIMESTAMP)"
                )
            )
        command.upgrade(config, "head")
        assert marker.encode() not in raw_bytes(url)
        with session_scope() as session:
            assert session.get(Staff, "dsl1").name == f"{marker} Alice"  # type: ignore[union-attr]
        command.downgrade(config, "0007")
        with engine_for(url).connect() as connection:
            assert connection.execute(text("SELECT name FROM staff")).scalar() == f"{marker} Alice"
            born = connection.execute(text("SELECT date_of_birth FROM children")).scalar()
            assert str(born) == "2016-05-01"
        engine_for(url).dispose()
