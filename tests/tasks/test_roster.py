"""Importing the school information system's roster on both case databases: the whole file is
checked first and nothing is written on an error; an import is one audit entry with counts, and
the same file again changes nothing; a dry run writes nothing; nothing is deleted (a pupil
missing has left, and the DSL is told of a leaver with child protection records; a member of
staff missing can no longer act, until an export holds them again); roles are never taken from
an export; two imports at once make one copy; and no name is held in the clear."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from harness.databases import DATA_KEYS, migrated_database, raw_bytes
from harness.listeners import HttpListener
from sqlalchemy import func, select
from typer.testing import CliRunner

from foundations.db import engine_for, session_scope
from foundations.settings import Settings, settings_in_force
from models.kernel.roles import Role
from models.plan_event.policy import PlanEventFacts, PlanEventKind
from models.tables.audit import AuditLog
from models.tables.directory import Child, Staff
from models.tables.outbox import Notification
from safeshare.cli.app import app
from tasks.children import update_child
from tasks.plan_events import record_plan_events
from tasks.roster import RosterRefused, import_pupils, import_staff
from tasks.staff import add_staff

runner = CliRunner(env={"SAFESHARE_USER": None})
TODAY = date.today()

HEADER = (
    "UPN;Legal Surname;Legal Forename;Preferred Forename;DOB;Year;Contact 1 Name;"
    "Contact 1 Relationship;Contact 1 Parental Responsibility;Contact 1 Email\n"
)


def row(upn: str, surname: str, year: str = "7", forename: str = "Zoë") -> str:
    return (
        f"{upn};{surname};{forename};;01/09/2014;{year};Siobhán {surname};Mother;Y;m@example.org\n"
    )


PUPILS = HEADER + row("A123456789011", "RosterSecretOBrien") + row("A123456789012", "Nguyễn")
PUPILS += row("A123456789013", "Lee")


@dataclass
class Setting:
    url: str
    listener: HttpListener


@pytest.fixture(params=("sqlite", "postgresql"))
def setting(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Setting]:
    with (
        HttpListener() as listener,
        migrated_database(request.param, tmp_path) as url,
        settings_in_force(
            Settings(
                home=tmp_path, database_url=url, data_keys=DATA_KEYS, notify_retry_delay_seconds=0
            )
        ),
    ):
        add_staff("admin1", name="Admin", role=Role.ADMIN, notify_url=None)
        add_staff("dsl1", name="Dee", role=Role.DSL, notify_url=listener.url("/dsl1"))
        add_staff("t1", name="Tee", role=Role.STAFF, notify_url=None)
        yield Setting(url, listener)
        engine_for(url).dispose()


def children() -> dict[str, tuple[str, dict | None, date | None]]:
    """UPN -> (child reference, identity, left on) of every pupil the roster holds."""
    with session_scope() as session:
        rows = session.execute(
            select(Child.child_ref, Child.identity, Child.left_on).where(Child.source.is_not(None))
        ).all()
    return {r.identity["upn"]: (r.child_ref, r.identity, r.left_on) for r in rows}


def entries(action: str) -> list[dict]:
    with session_scope() as session:
        return [
            json.loads(d)
            for d in session.scalars(select(AuditLog.detail).where(AuditLog.action == action))
        ]


def test_an_import_adds_pupils_once_and_the_same_file_again_changes_nothing(
    setting: Setting,
) -> None:
    first = import_pupils(PUPILS, "csv", today=TODAY)
    assert first.counts == {"added": 3, "changed": 0, "left": 0, "unchanged": 0}
    held = children()
    assert set(held) == {"A123456789011", "A123456789012", "A123456789013"}
    ref, identity, left = held["A123456789011"]
    assert ref.startswith("P-") and left is None
    assert identity is not None and identity["legal_surname"] == "RosterSecretOBrien"
    assert identity["carers"][0]["parental_responsibility"] is True
    again = import_pupils(PUPILS, "csv", today=TODAY)
    assert again.nothing and again.counts["unchanged"] == 3
    assert children() == held  # the same references, nothing rewritten
    assert entries("import:pupils") == [
        {"added": 3, "changed": 0, "changed_fields": {}, "left": [], "unchanged": 0}
    ]
    # one entry for the whole import, none per row
    assert entries("insert:children") == []
    held_bytes = raw_bytes(setting.url)
    for name in ("RosterSecretOBrien", "Siobhán", "A123456789011", "m@example.org"):
        assert name.encode() not in held_bytes, name


def test_a_file_with_any_bad_row_writes_nothing_and_says_every_line(setting: Setting) -> None:
    bad = PUPILS + row("A123456789011", "Again") + "A123456789014;X;Y;;31/02/2014;7;;;;\n"
    with pytest.raises(RosterRefused) as refused:
        import_pupils(bad, "csv", today=TODAY)
    assert [str(p) for p in refused.value.problems] == [
        "line 5: the same UPN as line 2",
        "line 6: '31/02/2014' is not a date (give YYYY-MM-DD or DD/MM/YYYY)",
    ]
    assert children() == {} and entries("import:pupils") == []


def test_a_dry_run_counts_what_an_import_would_do_and_writes_nothing(setting: Setting) -> None:
    import_pupils(PUPILS, "csv", today=TODAY)
    changed = HEADER + row("A123456789011", "RosterSecretOBrien", year="8")
    changed += row("A123456789012", "Nguyễn") + row("A123456789019", "New")
    before = children()
    dry = import_pupils(changed, "csv", today=TODAY, dry_run=True)
    assert (dry.counts, dry.changed_fields, dry.left) == (
        {"added": 1, "changed": 1, "left": 1, "unchanged": 1},
        {"year_group": 1},
        [before["A123456789013"][0]],
    )
    assert children() == before and len(entries("import:pupils")) == 1
    done = import_pupils(changed, "csv", today=TODAY)
    assert done.counts == dry.counts
    after = children()
    assert after["A123456789011"][1]["year_group"] == "8"  # type: ignore[index]
    assert after["A123456789013"][2] == TODAY  # left: kept, marked
    assert after["A123456789013"][1]["leaving_date"] == TODAY.isoformat()  # type: ignore[index]
    assert len(after) == 4


def test_a_leaver_with_records_is_named_and_the_dsl_told_once(setting: Setting) -> None:
    import_pupils(PUPILS, "csv", today=TODAY)
    ref = children()["A123456789013"][0]
    update_child(ref, cp_plan=True)
    record_plan_events(
        [
            (
                1,
                PlanEventFacts(
                    child_ref=ref,
                    kind=PlanEventKind.UNEXPLAINED_ABSENCE,
                    occurred_at=datetime.now(UTC) - timedelta(hours=1),
                    recorded_by="dsl1",
                ),
            )
        ],
        now=datetime.now(UTC),
    )
    without = HEADER + row("A123456789011", "RosterSecretOBrien") + row("A123456789012", "Nguyễn")
    for _ in range(2):  # the same import twice, by two people: one message
        result = runner.invoke(
            app, ["--user", "admin1", "roster", "import", "pupils", _file(without), "--json"]
        )
        assert result.exit_code == 0, result.output
    told = [r for r in setting.listener.records if r.path == "/dsl1"]
    assert len(told) == 1 and ref in told[0].body["title"]
    assert "Zoë" not in json.dumps(told[0].body) and "Lee" not in json.dumps(told[0].body)
    with session_scope() as session:
        assert (
            session.scalar(select(func.count()).where(Notification.key.like("roster-leaver:%")))
            == 1
        )
    printed = json.loads(result.stdout)
    assert printed["leavers_with_records"] == [] and printed["left"] == 0  # already left
    # a pupil back in the export has not left
    back = import_pupils(PUPILS, "csv", today=TODAY)
    assert back.changed_fields == {"leaving_date": 1}
    assert children()["A123456789013"][2] is None


def _file(text: str, name: str = "pupils.csv") -> str:
    import tempfile

    folder = Path(tempfile.mkdtemp())
    path = folder / name
    path.write_text(text, encoding="utf-8-sig")
    return str(path)


def test_only_the_directory_manager_imports_and_a_bad_file_is_one_clear_error(
    setting: Setting,
) -> None:
    refused = runner.invoke(app, ["--user", "t1", "roster", "import", "pupils", _file(PUPILS)])
    assert refused.exit_code != 0 and "not allowed" in refused.output
    bad = runner.invoke(
        app, ["--user", "admin1", "roster", "import", "pupils", _file("UPN;DOB\nA1;2014-01-01\n")]
    )
    assert bad.exit_code != 0
    assert "missing column(s) legal_forename, legal_surname" in bad.output
    assert "nothing from it was written" in bad.output
    dry = runner.invoke(
        app, ["--user", "admin1", "roster", "import", "pupils", _file(PUPILS), "--dry-run"]
    )
    assert dry.exit_code == 0, dry.output
    assert "3 pupils would be added" in dry.output and children() == {}
    assert (
        runner.invoke(
            app, ["--user", "admin1", "roster", "import", "pupils", _file(PUPILS)]
        ).exit_code
        == 0
    )
    again = runner.invoke(app, ["--user", "admin1", "roster", "import", "pupils", _file(PUPILS)])
    assert "nothing to change (3 pupils as they were)" in again.output


def test_a_windows_1252_export_reads_its_accents(setting: Setting) -> None:
    path = Path(_file("", "pupils.csv"))
    path.write_bytes((HEADER + row("A123456789011", "O’Brien", forename="Zoë")).encode("cp1252"))
    done = runner.invoke(app, ["--user", "admin1", "roster", "import", "pupils", str(path)])
    assert done.exit_code == 0, done.output
    identity = children()["A123456789011"][1]
    assert identity is not None
    assert (identity["legal_surname"], identity["legal_forename"]) == ("O’Brien", "Zoë")


def test_two_imports_at_once_make_one_copy_of_each_pupil(setting: Setting) -> None:
    failures: list[BaseException] = []
    gate = threading.Barrier(3)

    def one() -> None:
        try:
            gate.wait()
            import_pupils(PUPILS, "csv", today=TODAY)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Child)) == 3
    assert len(entries("import:pupils")) == 1


STAFF = (
    "Staff Code,First Name,Last Name,Work Email,Job Title\n"
    "dsl1,Dee,Jones,dee.jones@school.example,Deputy Head\n"
    "JSM,Jo,StaffSecretSmith,jo.smith@school.example,Teacher\n"
    "KLM,Kay,Moss,kay.moss@school.example,Teaching Assistant\n"
)


def staff_rows() -> dict[str, tuple[str, str, str | None, bool, date | None]]:
    with session_scope() as session:
        rows = session.execute(
            select(Staff.staff_id, Staff.name, Staff.role, Staff.email, Staff.active, Staff.left_on)
        ).all()
    return {r.staff_id: (r.name, r.role, r.email, r.active, r.left_on) for r in rows}


def test_staff_are_imported_without_roles_and_stop_when_they_leave(setting: Setting) -> None:
    first = import_staff(STAFF, "csv", today=TODAY)
    assert first.counts == {"added": 2, "changed": 1, "left": 0, "unchanged": 0}
    held = staff_rows()
    assert held["dsl1"] == ("Dee Jones", "dsl", "dee.jones@school.example", True, None)  # role kept
    assert held["JSM"] == ("Jo StaffSecretSmith", "staff", "jo.smith@school.example", True, None)
    assert import_staff(STAFF, "csv", today=TODAY).nothing
    # Kay leaves; Tee (added by hand, never in an export) is not the roster's to stop
    gone = import_staff(STAFF.rsplit("KLM", 1)[0], "csv", today=TODAY)
    assert gone.counts["left"] == 1 and gone.left == ["KLM"]
    assert staff_rows()["KLM"][3:] == (False, TODAY)
    assert staff_rows()["t1"][3] is True
    # back in the export: active again; one stopped by hand stays stopped
    with session_scope() as session:
        jo = session.get(Staff, "JSM")
        assert jo is not None
        jo.active = False
    back = import_staff(STAFF, "csv", today=TODAY)
    assert back.counts["changed"] == 1 and back.changed_fields == {"active": 1}
    assert staff_rows()["KLM"][3:] == (True, None)
    assert staff_rows()["JSM"][3] is False
    assert [e["added"] for e in entries("import:staff")] == [2, 0, 0]
    assert b"StaffSecretSmith" not in raw_bytes(setting.url)


def test_a_staff_export_with_an_email_twice_is_refused(setting: Setting) -> None:
    twice = STAFF + "XYZ,Xi,Yu,jo.smith@school.example,Teacher\n"
    with pytest.raises(RosterRefused, match="line 5: the same email as line 3"):
        import_staff(twice, "csv", today=TODAY)
    assert set(staff_rows()) == {"admin1", "dsl1", "t1"}


def test_an_error_never_shows_the_values_of_its_statement(setting: Setting) -> None:
    """A write that fails (here, a second agency under a code in use) raises an error that
    reaches logs: it names the statement, never the values (a name, before or after sealing)."""
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from models.tables.directory import Agency

    with pytest.raises(IntegrityError) as failed, session_scope() as session:
        session.execute(insert(Agency), [{"code": "csc", "name": "ValueSecret", "kind": "csc"}])
    assert "ValueSecret" not in str(failed.value)
    assert "hidden due to hide_parameters" in str(failed.value)


def test_imported_staff_are_given_their_roles_by_the_administrator(setting: Setting) -> None:
    import_staff(STAFF, "csv", today=TODAY)

    def update(user: str, *args: str) -> Any:
        return runner.invoke(app, ["--user", user, "staff", "update", *args])

    made = update("admin1", "JSM", "--role", "deputy-dsl", "--notify", setting.listener.url("/j"))
    assert made.exit_code == 0, made.output
    assert "Updated JSM: role deputy-dsl, a new address." in made.output
    assert staff_rows()["JSM"][1] == "deputy-dsl"
    with session_scope() as session:
        changed = session.scalars(
            select(AuditLog.detail).where(AuditLog.action == "update:staff")
        ).all()
    assert any('"role"' in d and "JSM" in d for d in changed)
    assert update("t1", "JSM", "--role", "dsl").exit_code != 0  # only the administrator
    assert update("admin1", "KLM").exit_code != 0  # nothing to change is said
    gone = update("admin1", "nobody", "--role", "dsl")
    assert gone.exit_code != 0 and "No member of staff has the id 'nobody'" in gone.output
    alone = update("admin1", "admin1", "--role", "staff")
    assert alone.exit_code != 0 and "only administrator" in alone.output
    assert staff_rows()["admin1"][1] == "admin" and staff_rows()["JSM"][1] == "deputy-dsl"
    forget = update("admin1", "JSM", "--notify", "none")
    assert forget.exit_code == 0 and "no address" in forget.output


def test_the_parents_step_offers_the_parents_on_record_to_the_dsl_alone(
    setting: Setting,
) -> None:
    from sqlalchemy import update

    from models.sharing.concern import Category, ConcernFacts
    from models.tables.cases import Case
    from tasks.concerns import record_concern
    from tasks.views import show_case

    import_pupils(PUPILS, "csv", today=TODAY)
    ref = children()["A123456789011"][0]
    case_id = record_concern(
        ConcernFacts(
            child_ref=ref,
            raised_by="t1",
            category=Category.PHYSICAL,
            occurred_at=datetime.now(UTC) - timedelta(hours=1),
            what_happened="w",
        )
    )
    with session_scope() as session:
        session.execute(
            update(Case)
            .where(Case.id == case_id)
            .values(waiting_step="parents", waiting_slot="parents", waiting_key="parents-a0")
        )
    waiting = show_case(case_id)["waiting"]
    assert waiting["parents_on_record"] == [
        "Siobhán RosterSecretOBrien (Mother), parental responsibility, m@example.org"
    ]
    listed = runner.invoke(app, ["--user", "dsl1", "case", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert "Siobhán" not in listed.stdout  # a list of cases shows no one
    shown = runner.invoke(app, ["--user", "dsl1", "case", "show", str(case_id)])
    assert "on record: Siobhán RosterSecretOBrien (Mother)" in shown.stdout


def test_the_dsl_finds_a_pupil_by_name_and_reads_who_they_are(setting: Setting) -> None:
    import_pupils(PUPILS, "csv", today=TODAY)
    ref = children()["A123456789011"][0]
    found = runner.invoke(app, ["--user", "dsl1", "child", "find", "zoe rosters", "--json"])
    assert found.exit_code == 0, found.output
    assert [c["child_ref"] for c in json.loads(found.stdout)] == [ref]
    shown = runner.invoke(app, ["--user", "dsl1", "child", "show", ref])
    assert shown.exit_code == 0, shown.output
    assert "Legal name: Zoë RosterSecretOBrien" in shown.stdout
    assert "UPN: A123456789011" in shown.stdout
    assert "Siobhán RosterSecretOBrien (Mother), parental responsibility" in shown.stdout
    assert runner.invoke(app, ["--user", "t1", "child", "find", "zoe"]).exit_code != 0
    assert runner.invoke(app, ["--user", "t1", "child", "show", ref]).exit_code != 0
    with session_scope() as session:
        reads = session.scalars(
            select(AuditLog.detail).where(
                AuditLog.action.in_(["read:child-find", "read:child-show"])
            )
        ).all()
    assert len(reads) == 2 and not any("Zoë" in d or "Rosters" in d for d in reads)


def test_the_concern_form_offers_pupils_by_name_and_year_each_told_apart(setting: Setting) -> None:
    from tasks.children import add_child, pupils_to_choose

    add_child("C-HAND", date_of_birth=date(2015, 1, 1), cp_plan=False)
    known = HEADER + row("A123456789011", "Zed") + row("A123456789012", "Abbot", year="R")
    known += "A123456789013;Moss;Kay;Kiki;01/09/2014;10;;;;\n"
    known += "A123456789015;Zed;Zoë;;02/10/2014;7;;;;\n"  # two Zoë Zeds in Year 7
    import_pupils(known + row("A123456789014", "Gone"), "csv", today=TODAY)
    import_pupils(known, "csv", today=TODAY)  # the last has left: not offered
    refs = {upn: ref for upn, (ref, _, _) in children().items()}
    assert pupils_to_choose() == [
        (refs["A123456789013"], "Kay Moss, known as Kiki (Year 10)"),
        (refs["A123456789012"], "Zoë Abbot (Reception)"),
        (refs["A123456789011"], "Zoë Zed (Year 7), born 1 September 2014"),
        (refs["A123456789015"], "Zoë Zed (Year 7), born 2 October 2014"),
        ("C-HAND", "C-HAND"),
    ]
