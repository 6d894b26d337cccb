"""Inputs a person gets wrong, at the command line, on both case databases: who is at the
keyboard (`--user` wherever it is typed, and never a record in someone else's name unless the
DSL makes it), times still to come, references that are not pseudonyms, ids no case can have,
an unknown subject of an allegation, an address Apprise cannot read, a backup nowhere; and the
directory's own lists. Each mistake is one sentence and changes nothing."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from harness.databases import DATA_KEYS, migrated_database
from harness.prefect_server import free_port
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from foundations.db import engine_for, session_scope
from foundations.settings import Settings, settings_env, settings_in_force
from models.kernel.roles import Role
from models.sharing.concern import Category, ConcernFacts
from models.tables.audit import AuditLog
from models.tables.base import utcnow
from models.tables.cases import Case, Concern
from models.tables.directory import Agency, Child, Staff
from safeshare.cli.app import app, main
from tasks.children import add_child
from tasks.concerns import record_concern
from tasks.staff import add_staff

#: Nobody at the keyboard unless a command says who (whatever the shell's SAFESHARE_USER).
runner = CliRunner(env={"SAFESHARE_USER": None})
HUGE = "99999999999999999999999"
PEOPLE = {
    "teacher1": Role.STAFF,
    "teacher2": Role.STAFF,
    "dsl1": Role.DSL,
    "head1": Role.SLT,
    "admin1": Role.ADMIN,
}


@dataclass
class Setting:
    settings: Settings
    url: str
    case_id: int


@pytest.fixture(params=("sqlite", "postgresql"))
def setting(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Setting]:
    with migrated_database(request.param, tmp_path) as url:
        settings = Settings(
            home=tmp_path,
            database_url=url,
            data_keys=DATA_KEYS,
            secret_key=secrets.token_urlsafe(48),
        )
        with settings_in_force(settings):
            for staff_id, role in PEOPLE.items():
                add_staff(
                    staff_id,
                    name=f"Person {staff_id}",
                    role=role,
                    notify_url=f"json://127.0.0.1:9/{staff_id}",
                )
            add_child("C-1", date_of_birth=date(2016, 5, 1), cp_plan=False)
            case_id = record_concern(
                ConcernFacts(
                    child_ref="C-1",
                    raised_by="teacher1",
                    category=Category.PHYSICAL,
                    occurred_at=datetime.now(UTC) - timedelta(hours=1),
                    what_happened="what happened",
                )
            )
            yield Setting(settings=settings, url=url, case_id=case_id)
        engine_for(url).dispose()


def run(*argv: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(argv))
    return result.exit_code, result.stdout, result.stderr


def one_sentence(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and "unexpected" not in err, err
    return lines[0]


def rows() -> tuple[int, int, int, int, int]:
    """Concerns, cases, children, agencies and staff: what a refused command must not change."""
    with session_scope() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(table)) or 0
            for table in (Concern, Case, Child, Agency, Staff)
        )


def audit_entries(action: str) -> list[AuditLog]:
    with session_scope() as session:
        return list(session.scalars(select(AuditLog).where(AuditLog.action == action)))


#: Stands for a time twenty minutes after the test starts.
IN_TWENTY_MINUTES = "in-twenty-minutes"
CONCERN = ("concern", "record", "--child", "C-1", "--category", "neglect", "--what", "seen")


# ---------------------------------------------------------------------------------------------
# --user wherever it is typed


def test_user_is_taken_after_the_command_as_before_it(
    setting: Setting, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (
        ["case", "list", "--json", "--user", "dsl1"],
        ["case", "list", "--user=dsl1", "--json"],
        ["--user", "dsl1", "case", "list", "--json"],
        ["--user", "dsl1", "case", "list", "--json", "--user", "dsl1"],
    ):
        code, out, err = run(*argv)
        assert code == 0, (argv, err)
        assert setting.case_id in {c["case_id"] for c in json.loads(out)}
    # after the command it is who acts, as the audit trail says
    reads = audit_entries("read:case-list")
    assert reads and all(r.actor == "dsl1" for r in reads)
    assert reads[-1].reason.startswith("safeshare case (os:")

    # it overrides SAFESHARE_USER, which alone still works
    as_teacher = CliRunner(env={"SAFESHARE_USER": "teacher1"})
    assert as_teacher.invoke(app, ["case", "list", "--user", "dsl1"]).exit_code == 0
    alone = as_teacher.invoke(app, ["case", "list"])
    said = one_sentence(alone.stderr)
    assert alone.exit_code == 1 and "teacher1 (staff) is not allowed to list cases" in said

    # two different ids on one line is a mistake of usage (the console script's own words)
    code = main(["--user", "dsl1", "case", "list", "--user", "teacher1"])
    said = capsys.readouterr()
    assert code == 2 and said.out == ""
    assert "--user is given twice, as dsl1 and as teacher1" in one_sentence(said.err)
    # every command takes it, and says so in its help
    code, out, _ = run("staff", "add", "--help")
    assert code == 0 and "--user" in out


# ---------------------------------------------------------------------------------------------
# Records are made in the name of the one at the keyboard


def test_a_concern_needs_to_know_who_is_at_the_keyboard(setting: Setting) -> None:
    before = rows()
    code, _, err = run(*CONCERN, "--raised-by", "teacher1")
    assert code == 1 and "say who you are" in one_sentence(err)
    code, _, err = run(*CONCERN, "--raised-by", "teacher1", "--user", "teacher2")
    said = one_sentence(err)
    assert code == 1 and "--raised-by teacher1 is not you (teacher2)" in said
    code, _, err = run(*CONCERN, "--raised-by", "admin1", "--user", "admin1")
    assert code == 1 and "admin1 (admin) is not allowed to record concern" in one_sentence(err)
    code, _, err = run(*CONCERN, "--raised-by", "ghost", "--user", "dsl1")
    assert code == 1 and "no member of staff has the id 'ghost'" in one_sentence(err)
    assert rows() == before
    # each refusal is in the audit trail, with who asked
    denied = audit_entries("denied:record-concern") + audit_entries("denied:record-for-others")
    asked = sorted(json.loads(e.detail)["asked_as"] or "-" for e in denied)
    assert asked == ["-", "admin1", "ghost", "teacher2"]


#: Each kind of record, the option naming who made it, and what a teacher at the keyboard is
#: told when they name the DSL there (events and requests are theirs to record, in their own
#: name; notices and leavers are the DSL's).
RECORDS = [
    (["events", "record", "--child", "C-1", "--kind", "absence"], "--recorded-by",
     "--recorded-by dsl1 is not you (teacher1)"),
    (["access-request", "record", "--child", "C-1", "--from", "parent", "--request", "r"],
     "--received-by", "--received-by dsl1 is not you (teacher1)"),
    (["notice", "record", "--child", "C-1", "--source", "within-school", "--details", "d"],
     "--recorded-by", "teacher1 (staff) is not allowed to record notice"),
    (["leaver", "record", "--child", "C-1", "--leaving-on", "2026-12-18", "--destination",
      "unknown", "--move", "in-year"], "--recorded-by",
     "teacher1 (staff) is not allowed to act on case"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "option", "refusal"), RECORDS)
def test_every_record_is_made_in_the_name_of_who_is_at_the_keyboard(
    setting: Setting, argv: list[str], option: str, refusal: str
) -> None:
    before = rows()
    code, _, err = run(*argv, option, "dsl1")
    assert code == 1 and "say who you are" in one_sentence(err)
    code, _, err = run(*argv, option, "dsl1", "--user", "teacher1")
    assert code == 1 and refusal in one_sentence(err), err
    assert rows() == before


# ---------------------------------------------------------------------------------------------
# Values the domain refuses, whatever the door


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--when", "2099-01-01T09:00:00+00:00"], "is in the future"),
        (["--when", IN_TWENTY_MINUTES], "is in the future"),
        (["--allegation-against", "dep11"], "No member of staff has the id 'dep11'"),
        (["--allegation-against", "../x"], "allegation_against"),
    ],
)
def test_a_concern_refuses_what_cannot_be(setting: Setting, extra: list[str], words: str) -> None:
    # a time only just ahead is taken when the test runs, not when it was collected: a suite
    # may take longer than twenty minutes to reach it
    ahead = (datetime.now(UTC) + timedelta(minutes=20)).isoformat()
    extra = [ahead if value == IN_TWENTY_MINUTES else value for value in extra]
    before = rows()
    code, _, err = run(*CONCERN, "--raised-by", "teacher1", "--user", "teacher1", *extra)
    assert code == 1 and words in one_sentence(err), err
    assert rows() == before


@pytest.mark.parametrize(
    ("ref", "dob", "words"),
    [
        ("", "2016-05-01", "a pseudonym of 1 to 64 letters"),
        ("   ", "2016-05-01", "a pseudonym of 1 to 64 letters"),
        ("../../etc/passwd", "2016-05-01", "a pseudonym of 1 to 64 letters"),
        ("Jane Smith", "2016-05-01", "a pseudonym of 1 to 64 letters"),
        ("C-2", "2099-01-01", "The date of birth 2099-01-01 is in the future"),
        ("C-2", "01/05/2016", "is not a date"),
    ],
)
def test_a_child_is_added_only_under_a_pseudonym_born_already(
    setting: Setting, ref: str, dob: str, words: str
) -> None:
    before = rows()
    code, _, err = run("--user", "admin1", "child", "add", ref, "--dob", dob)
    assert code == 1 and words in one_sentence(err), err
    assert rows() == before


def test_a_member_of_staff_has_a_name(setting: Setting) -> None:
    before = rows()
    code, _, err = run("--user", "admin1", "staff", "add", "new1", "--name", "  ", "--role", "dsl")
    assert code == 1 and "Give their name (--name)." in one_sentence(err)
    assert rows() == before


def test_an_agency_code_is_a_tag_not_a_name(setting: Setting) -> None:
    before = rows()
    for code_ in ("Hill Side", "", "agency:csc"):
        code, _, err = run("--user", "admin1", "agency", "add", code_, "--name", "N")
        assert code == 1 and "an agency's code is 1 to 32" in one_sentence(err).lower()
    assert rows() == before


def test_ids_no_case_can_have_are_no_such_case(setting: Setting) -> None:
    for argv in (
        ["case", "show", HUGE],
        ["case", "show", HUGE, "--json"],
        ["case", "note", HUGE, "--text", "t"],
        ["case", "start", HUGE],
        ["case", "resend", HUGE],
        ["case", "export", HUGE, "--out", str(setting.settings.home / "x.pdf")],
        ["audit", "show", "--case", HUGE],
        ["case", "show", str(2**31)],
        ["case", "show", "0"],
    ):
        code, out, err = run("--user", "dsl1", *argv)
        assert code == 1 and "No case has the id" in one_sentence(err), (argv, err)
    code, _, err = run("answer", HUGE, "parents", "--as", "dsl1", "--code", "X", "--input", "{}")
    assert code == 1 and f"No case has the id {HUGE}" in one_sentence(err)
    # refused to someone who may not read cases, and the refusal entered in the audit trail
    code, _, err = run("--user", "admin1", "case", "show", HUGE)
    assert code == 1 and "not allowed to read case" in one_sentence(err)
    (denied,) = audit_entries("denied:read-case")
    assert denied.case_id is None and json.loads(denied.detail)["asked_case"] == HUGE


# ---------------------------------------------------------------------------------------------
# The directory's lists


def test_the_directory_is_listed_to_the_administrator_and_the_dsl_only(setting: Setting) -> None:
    assert (
        run("--user", "admin1", "agency", "update", "csc", "--notify", "json://127.0.0.1:9/c")[0]
        == 0
    )
    for user in ("admin1", "dsl1"):
        code, out, _ = run("staff", "list", "--json", "--user", user)
        assert code == 0
        staff = {m["staff_id"]: m for m in json.loads(out)}
        assert staff["head1"]["role"] == "slt" and staff["head1"]["name"] == "Person head1"
        assert staff["head1"]["has_address"] is True
        assert "127.0.0.1" not in out  # addresses are never listed
        code, out, _ = run("child", "list", "--json", "--user", user)
        assert code == 0 and json.loads(out) == [
            {"child_ref": "C-1", "cp_plan": False, "has_social_worker": False}
        ]
        assert "2016" not in out  # the date of birth stays sealed
        code, out, _ = run("agency", "list", "--json", "--user", user)
        agencies = {a["code"]: a for a in json.loads(out)}
        assert {"csc", "mash", "police", "lado"} <= set(agencies)  # seeded
        assert agencies["csc"]["has_address"] and not agencies["mash"]["has_address"]
        assert "127.0.0.1" not in out
        code, out, _ = run("agency", "list", "--user", user)
        assert "agency update CODE --notify URL" in out  # says how the others get one
    for user in ("teacher1", "head1"):
        for what in ("staff", "child", "agency"):
            code, _, err = run(what, "list", "--user", user)
            assert code == 1 and "is not allowed to read directory" in one_sentence(err)
    reads = [e.action for e in audit_entries("read:staff-list")]
    assert len(reads) == 2


def test_an_agency_gets_an_address_and_only_from_the_administrator(setting: Setting) -> None:
    code, _, err = run("--user", "dsl1", "agency", "update", "mash", "--notify", "json://1.2/x")
    assert code == 1 and "not allowed to manage directory" in one_sentence(err)
    code, out, _ = run(
        "--user", "admin1", "agency", "update", "mash", "--notify", "json://127.0.0.1:9/mash"
    )
    assert code == 0 and "Updated agency mash" in out
    with session_scope() as session:
        mash = session.get(Agency, "mash")
        assert mash is not None and mash.notify_url == "json://127.0.0.1:9/mash"
    assert run("--user", "admin1", "agency", "update", "mash", "--notify", "none")[0] == 0
    with session_scope() as session:
        mash = session.get(Agency, "mash")
        assert mash is not None and mash.notify_url is None
    for argv, words in (
        (["mash"], "nothing to change"),
        (["nope", "--name", "N"], "No agency has the code 'nope'"),
        (["mash", "--notify", "notaurl"], "not an Apprise URL"),
    ):
        code, _, err = run("--user", "admin1", "agency", "update", *argv)
        assert code == 1 and words in one_sentence(err), err
    assert [e.action for e in audit_entries("update:agencies")] == ["update:agencies"] * 2


# ---------------------------------------------------------------------------------------------
# The console script itself: what reaches the terminal


def console(setting: Setting, *argv: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | settings_env(setting.settings)
    code = "import sys; from safeshare.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_an_address_apprise_cannot_read_is_one_sentence_and_no_log_line(setting: Setting) -> None:
    before = rows()
    for argv in (
        ["staff", "add", "x1", "--name", "X", "--role", "staff", "--notify", "notaurl"],
        ["agency", "add", "a1", "--name", "A", "--notify", "notaurl"],
        ["child", "add", "C-9", "--dob", "2016-01-01", "--social-worker-notify", "notaurl"],
    ):
        done = console(setting, "--user", "admin1", *argv)
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr.strip().splitlines() == [
            f"error: the {argv[-2]} address is not an Apprise URL Apprise understands."
        ]
    assert rows() == before


def test_commands_load_no_prefect(setting: Setting) -> None:
    """Prefect is most of what a command would import (about 1.5 s of a 2.5 s start): reading a
    case, the list of cases, the directory, a backup that cannot be written, the health check, an
    answer and a concern recorded never load it (a run is woken or started with plain HTTP
    requests of Prefect's API; here the case waits for nobody and no server listens, found after
    all they import). One fresh interpreter runs them in turn, saying after each whether Prefect
    is loaded, then imports the flows' waiting, which does load it (the probe is not blind).
    The web app is held to the same: `test_the_web_app_starts_without_prefect`."""
    commands = [
        ["--user", "dsl1", "staff", "list", "--json"],
        ["--user", "dsl1", "child", "list", "--json"],
        ["--user", "dsl1", "case", "list", "--json"],
        ["--user", "dsl1", "case", "show", str(setting.case_id), "--json"],
        ["--user", "admin1", "backup", "/proc/nope/x.ssbk"],
        ["health"],
        ["answer", str(setting.case_id), "assess-criteria", "--as", "dsl1"]
        + ["--input", '{"decision": "x"}', "--code", "123456"],
        # recorded, and its run not started: no Prefect server is there to be asked
        ["concern", "record", "--child", "C-1", "--raised-by", "teacher1", "--category"]
        + ["physical", "--what", "what happened", "--when", "2026-01-05T10:00:00+00:00"],
    ]
    code = (
        "import json, sys\n"
        "HEAVY = {'apprise', 'fpdf', 'alembic'}\n"
        "from safeshare.cli import main\n"
        "for argv in json.loads(sys.argv[1]):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "    print('prefect loaded:', 'prefect' in sys.modules, file=sys.stderr)\n"
        "    print('also loaded:', *sorted(set(sys.modules) & HEAVY), file=sys.stderr)\n"
        "import flows.waiting\n"
        "print('prefect loaded:', 'prefect' in sys.modules, file=sys.stderr)\n"
    )
    stderr = _fresh_interpreter(setting, code, json.dumps(commands))
    said = [line for line in stderr.splitlines() if line.startswith("prefect loaded:")]
    assert said == ["prefect loaded: False"] * len(commands) + ["prefect loaded: True"], stderr
    # nor do the reading commands load Apprise (only sending needs it), fpdf (only a document)
    # or Alembic (only reading or changing the schema: the backup and the health check do)
    also = [line for line in stderr.splitlines() if line.startswith("also loaded:")]
    assert also[:4] == ["also loaded:"] * 4, also


def test_a_backup_nowhere_is_one_sentence(setting: Setting) -> None:
    for place in ("/proc/nope/x.ssbk", str(setting.settings.home / "no-such-dir" / "x.ssbk")):
        done = console(setting, "--user", "admin1", "backup", place)
        assert done.returncode == 1
        assert done.stderr.strip().splitlines() == [
            f"error: cannot write a backup at {place} (No such file or directory)"
        ]
    assert not list(setting.settings.home.glob("**/.*.partial"))
    done = console(setting, "--user", "admin1", "case", "export", "C-1", "--out", "/proc/no/f.pdf")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------------------------------------
# What an answer holds, where a person looks for it


def test_a_waiting_case_shows_an_example_answer(setting: Setting) -> None:
    from models.forms.registry import parse_answer
    from models.kernel.steps import Step

    with session_scope() as session:
        session.execute(
            update(Case)
            .where(Case.id == setting.case_id)
            .values(
                waiting_step="assess-criteria",
                waiting_slot="assess-criteria-0",
                waiting_key="assess-criteria-0-a0",
                waiting_since=utcnow(),
            )
        )
    code, out, _ = run("case", "show", str(setting.case_id), "--user", "dsl1")
    assert code == 0
    (line,) = [line for line in out.splitlines() if line.startswith("Answer it with:")]
    assert f"safeshare answer {setting.case_id} assess-criteria --as YOUR_STAFF_ID" in line
    example = json.loads(line.split("--input '")[1].split("'")[0])
    parse_answer(Step.ASSESS_CRITERIA, example | {"answered_by": "dsl1"})  # a valid answer
    code, out, _ = run("case", "show", str(setting.case_id), "--json", "--user", "dsl1")
    assert json.loads(out)["waiting"]["example_input"] == example


def test_the_web_app_starts_without_prefect(setting: Setting) -> None:
    """The web app starts (the stack waits for it, and two of them in the production topology)
    and shows its sign-in page without loading Prefect, which its start once took half of its 3
    CPU-seconds to import for a dashboard link (tasks/prefect_api.py::run_dashboard_link), nor
    fpdf (a child protection file's document), Alembic (the health check's schema read) or
    Apprise (sending). A fresh interpreter says what it has loaded, then renders a document,
    which loads fpdf (the probe is not blind)."""
    code = (
        "import sys\n"
        "from fastapi.testclient import TestClient\n"
        "from safeshare.web.app import create_app\n"
        "client = TestClient(create_app())\n"
        "for path in ('/health/live', '/sign-in'):\n"
        "    assert client.get(path).status_code == 200, path\n"
        "HEAVY = {'prefect', 'apprise', 'fpdf', 'alembic'}\n"
        "print('loaded:', *sorted(set(sys.modules) & HEAVY), file=sys.stderr)\n"
        "from tasks.cp_file import child_file\n"
        "assert child_file('C-1', purpose='the probe').startswith(b'%PDF')\n"
        "print('loaded:', *sorted(set(sys.modules) & HEAVY), file=sys.stderr)\n"
    )
    stderr = _fresh_interpreter(setting, code)
    said = [line for line in stderr.splitlines() if line.startswith("loaded:")]
    assert said == ["loaded:", "loaded: fpdf"], stderr


def _fresh_interpreter(setting: Setting, code: str, *argv: str) -> str:
    """What a fresh interpreter running `code` on the setting's database says on stderr (no
    Prefect server listens where its API is said to be)."""
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code, *argv],
        env=os.environ
        | settings_env(setting.settings)
        | {"PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.stderr
