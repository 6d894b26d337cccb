"""Need to know in every door, on both case databases: the role matrix over every command that
reads or changes anything, the sign-off page, and a case about an allegation against one of the
people who would otherwise see it. A refusal says why, is entered in the audit trail and changes
nothing."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from harness.cases import assessment_record
from harness.databases import DATA_KEYS, migrated_database
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from foundations.db import engine_for, session_scope
from foundations.settings import Settings, settings_in_force
from models.access import Action
from models.kernel.roles import Role
from models.links import LinkPurpose
from models.sharing.concern import Category, ConcernFacts
from models.tables.audit import AuditLog
from models.tables.base import utcnow
from models.tables.cases import Case, CaseStep
from models.tables.credentials import PersonalLink
from models.tables.directory import Staff
from safeshare.cli.app import app
from tasks.children import add_child
from tasks.concerns import record_concern
from tasks.staff import add_staff

#: Nobody at the keyboard unless a command says who (whatever the shell's SAFESHARE_USER).
runner = CliRunner(env={"SAFESHARE_USER": None})
PEOPLE = {
    "teacher1": Role.STAFF,
    "dsl1": Role.DSL,
    "dep1": Role.DEPUTY_DSL,
    "head1": Role.SLT,
    "admin1": Role.ADMIN,
}
#: Who may, by the issue: staff record only; DSL and deputies read and act; the management team
#: sees lateness and sign-offs; the administrator manages accounts and the system, no content.
MAY: dict[Action, set[str]] = {
    Action.LIST_CASES: {"dsl1", "dep1"},
    Action.READ_CASE: {"dsl1", "dep1"},
    Action.ACT_ON_CASE: {"dsl1", "dep1"},
    Action.READ_OVERDUE: {"dsl1", "dep1", "head1"},
    Action.READ_AUDIT: {"dsl1", "dep1", "admin1"},
    Action.MANAGE_SYSTEM: {"admin1"},
    Action.MANAGE_DIRECTORY: {"admin1"},
    Action.MANAGE_PLANS: {"dsl1", "dep1", "admin1"},
    Action.TEST_NOTIFICATIONS: {"dsl1", "dep1", "admin1"},
}


@dataclass
class Setting:
    url: str
    case_id: int  # an ordinary case
    about_dep1: int  # an allegation against the deputy DSL
    about_head1: int  # an allegation against a senior leader, waiting for sign-off
    tmp: Path


def concern(about: str | None = None) -> ConcernFacts:
    return ConcernFacts(
        child_ref="C-1",
        raised_by="teacher1",
        category=Category.PHYSICAL,
        occurred_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
        what_happened="what happened",
        allegation_against=about,
    )


@pytest.fixture(params=("sqlite", "postgresql"))
def setting(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Setting]:
    with (
        migrated_database(request.param, tmp_path) as url,
        settings_in_force(
            Settings(
                home=tmp_path,
                database_url=url,
                data_keys=DATA_KEYS,
                secret_key=secrets.token_urlsafe(48),
            )
        ),
    ):
        for staff_id, role in PEOPLE.items():
            add_staff(staff_id, name=f"Person {staff_id}", role=role, notify_url=None)
        add_child("C-1", date_of_birth=date(2016, 5, 1), cp_plan=False)
        yield Setting(
            url=url,
            case_id=record_concern(concern()),
            about_dep1=record_concern(concern("dep1")),
            about_head1=record_concern(concern("head1")),
            tmp=tmp_path,
        )
        engine_for(url).dispose()


def commands(s: Setting, n: str) -> list[tuple[Action, list[str]]]:
    """One invocation of every guarded command; `n` keeps what they create apart."""
    return [
        (Action.LIST_CASES, ["case", "list", "--json"]),
        (Action.READ_CASE, ["case", "show", str(s.case_id)]),
        (Action.ACT_ON_CASE, ["case", "resend", str(s.case_id)]),
        (Action.READ_OVERDUE, ["overdue", "--json"]),
        (Action.READ_AUDIT, ["audit", "verify"]),
        (Action.READ_AUDIT, ["audit", "show", "--case", str(s.case_id)]),
        (Action.MANAGE_SYSTEM, ["keys", "list"]),
        (Action.MANAGE_SYSTEM, ["keys", "reseal"]),
        (Action.MANAGE_SYSTEM, ["backup", str(s.tmp / f"backup-{n}.ssbk")]),
        (Action.MANAGE_DIRECTORY, ["staff", "add", f"new-{n}", "--name", "N", "--role", "staff"]),
        (Action.MANAGE_DIRECTORY, ["child", "add", f"C-{n}", "--dob", "2016-05-01"]),
        (Action.MANAGE_DIRECTORY, ["agency", "add", f"a{n}", "--name", "N", "--kind", "other"]),
        (Action.MANAGE_PLANS, ["child", "update", "C-1", "--cp-plan"]),
        (Action.ACT_ON_CASE, ["case", "note", str(s.case_id), "--text", "a note"]),
        # nobody here has an address: those who may are told so, not refused
        (Action.TEST_NOTIFICATIONS, ["notify", "test", "dsl"]),
    ]


REFUSED = ("is not allowed to", "say who you are", "no member of staff has the id")


def denials() -> int:
    with session_scope() as session:
        return (
            session.scalar(
                select(func.count()).select_from(AuditLog).where(AuditLog.action.like("denied:%"))
            )
            or 0
        )


def test_the_role_matrix_holds_in_every_command(setting: Setting) -> None:
    for user in [*PEOPLE, None, "ghost"]:
        for action, argv in commands(setting, f"{user}{uuid.uuid4().hex[:4]}"):
            before_staff, before_denials = staff_count(), denials()
            result = runner.invoke(app, (["--user", user] if user else []) + argv)
            said = result.stdout + result.stderr
            refused = any(r in said for r in REFUSED)
            expected = user in MAY[action]
            assert refused is not expected, f"{user} {argv}: {said}"
            if refused:
                assert result.exit_code == 1 and "Traceback" not in said
                assert denials() == before_denials + 1  # entered, with why
                assert staff_count() == before_staff  # and nothing changed
            elif argv[0] == "backup":
                assert result.exit_code == 0, said


def staff_count() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Staff)) or 0


def test_staff_record_concerns_but_an_administrator_does_not(setting: Setting) -> None:
    argv = ["concern", "record", "--child", "C-1", "--category", "neglect", "--what", "x"]
    refused = runner.invoke(app, [*argv, "--raised-by", "admin1", "--user", "admin1"])
    assert refused.exit_code == 1 and "not allowed to record concern" in refused.stderr


def test_the_first_administrator_adds_themselves_and_only_the_first(
    setting: Setting, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope() as session:  # a new system: no administrator yet
        session.execute(update(Staff).where(Staff.role == "admin").values(active=False))
    first = runner.invoke(app, ["staff", "add", "it1", "--name", "IT", "--role", "admin"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["staff", "add", "it2", "--name", "IT", "--role", "admin"])
    assert second.exit_code == 1 and "say who you are" in second.stderr
    by_first = runner.invoke(
        app, ["--user", "it1", "staff", "add", "it2", "--name", "IT", "--role", "admin"]
    )
    assert by_first.exit_code == 0, by_first.output


def test_nobody_sees_a_case_about_an_allegation_against_themselves(setting: Setting) -> None:
    about = setting.about_dep1
    shown = runner.invoke(app, ["--user", "dep1", "case", "show", str(about)])
    assert shown.exit_code == 1 and "allegation" in shown.stderr
    assert runner.invoke(app, ["--user", "dsl1", "case", "show", str(about)]).exit_code == 0
    assert (
        runner.invoke(app, ["--user", "dep1", "case", "show", str(setting.case_id)]).exit_code == 0
    )

    import json

    listed = runner.invoke(app, ["--user", "dep1", "case", "list", "--json"])
    ids = {c["case_id"] for c in json.loads(listed.stdout)}
    assert setting.case_id in ids and about not in ids
    listed = runner.invoke(app, ["--user", "dsl1", "case", "list", "--json"])
    assert about in {c["case_id"] for c in json.loads(listed.stdout)}
    audit = runner.invoke(app, ["--user", "dep1", "audit", "show", "--case", str(about)])
    assert audit.exit_code == 1 and "allegation" in audit.stderr


def test_the_sign_off_page_is_refused_to_the_subject_of_the_allegation(setting: Setting) -> None:
    from fastapi.testclient import TestClient

    from safeshare.web.app import create_app
    from tasks.personal_links import issue_link

    tokens = {}
    with session_scope() as session:
        for case_id in (setting.about_head1, setting.case_id):
            run_id = str(uuid.uuid4())
            key = "management-signoff-0-a0"
            session.execute(
                update(Case)
                .where(Case.id == case_id)
                .values(
                    waiting_step="management-signoff",
                    waiting_slot="management-signoff-0",
                    waiting_key=key,
                    waiting_since=utcnow(),
                    flow_run_id=run_id,
                )
            )
            session.add(
                CaseStep(
                    case_id=case_id,
                    step="assess-criteria",
                    slot="assess-criteria-0",
                    key="assess-criteria-0-a0",
                    accepted=True,
                    actor="dsl1",
                    channel="form",
                    data=assessment_record("x", agency="csc"),
                )
            )
            link = PersonalLink(
                purpose=LinkPurpose.ANSWER_LINK,
                case_id=case_id,
                step="management-signoff",
                slot="management-signoff-0",
                key=key,
                holder="head1",
                flow_run_id=run_id,
                expires_at=utcnow() + timedelta(hours=1),
            )
            tokens[case_id] = issue_link(session, link, same=("key",), now=utcnow())
    client = TestClient(create_app())
    assert client.get(f"/answer/{tokens[setting.case_id]}").status_code == 200
    refused = client.get(f"/answer/{tokens[setting.about_head1]}")
    assert refused.status_code == 403 and "what happened" not in refused.text


def test_whether_a_case_exists_is_not_told_to_those_who_may_not_read_it(setting: Setting) -> None:
    for case_id in (setting.case_id, 999999):
        refused = runner.invoke(app, ["--user", "teacher1", "case", "show", str(case_id)])
        assert refused.exit_code == 1 and "not allowed" in refused.stderr
    unknown = runner.invoke(app, ["--user", "dsl1", "case", "show", "999999"])
    assert unknown.exit_code == 1 and "999999" in unknown.stderr


def test_a_whole_file_is_exported_only_by_someone_who_may_read_every_case_in_it(
    setting: Setting,
) -> None:
    """C-1's file holds a case about an allegation against the deputy: they may read other
    cases, but not this file; the DSL may; a teacher may not."""
    for user, words in (
        ("teacher1", "is not allowed to read case"),
        ("dep1", "concerns an allegation about dep1"),
    ):
        out = setting.tmp / f"file-{user}.pdf"
        result = runner.invoke(app, ["--user", user, "case", "export", "C-1", "--out", str(out)])
        assert result.exit_code == 1 and words in result.stderr, result.output
        assert not out.exists()
    out = setting.tmp / "file-dsl1.pdf"
    result = runner.invoke(app, ["--user", "dsl1", "case", "export", "C-1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF") and "(3 case(s))" in result.stdout
