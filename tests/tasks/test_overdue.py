"""The overdue list on both case databases: waits past their deadline at a given time, most
overdue first; closed cases and answered waits never appear; `safeshare overdue` prints it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from harness.databases import DATA_KEYS
from sqlalchemy import update
from typer.testing import CliRunner

from foundations.db import session_scope
from foundations.settings import Settings, settings_in_force
from models.kernel.roles import Role
from models.sharing.concern import Category, ConcernFacts
from models.tables.cases import Case, CaseStep
from safeshare.cli.app import app
from tasks.children import add_child
from tasks.concerns import record_concern
from tasks.staff import add_staff
from tasks.views import overdue_cases

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def suffix(tmp_path: Path) -> str:
    """What keeps this test's rows apart from the other tests' on the module's database."""
    return tmp_path.name[-6:]


@pytest.fixture
def runner(suffix: str) -> CliRunner:
    """The CLI, run by this test's DSL."""
    return CliRunner(env={"SAFESHARE_USER": f"dsl-{suffix}"})


@pytest.fixture
def cases(database: str, tmp_path: Path, suffix: str) -> Iterator[dict[str, int]]:
    """This test's cases, on the module's database."""
    with settings_in_force(Settings(home=tmp_path, database_url=database, data_keys=DATA_KEYS)):
        yield make_cases(suffix)


def make_cases(suffix: str) -> dict[str, int]:
    """Five cases: two overdue, one due later, one answered, one closed while overdue."""
    add_staff(f"dsl-{suffix}", name="D", role=Role.DSL, notify_url=None)
    add_child(f"C-{suffix}", date_of_birth=date(2016, 5, 1), cp_plan=False)

    def case(step: str | None, due: datetime | None, status: str = "open") -> int:
        case_id = record_concern(
            ConcernFacts(
                child_ref=f"C-{suffix}",
                raised_by=f"dsl-{suffix}",
                category=Category.NEGLECT,
                occurred_at=NOW,
                what_happened="x",
            )
        )
        with session_scope() as session:
            session.execute(
                update(Case)
                .where(Case.id == case_id)
                .values(
                    status=status,
                    waiting_step=step,
                    waiting_slot=f"{step}-0" if step else None,
                    waiting_key=f"{step}-0-a0" if step else None,
                    waiting_since=due - timedelta(hours=24) if due else None,
                    waiting_due=due,
                )
            )
        return case_id

    signoff = case("management-signoff", NOW - timedelta(hours=2))
    add_staff(f"sa-{signoff}", name="A", role=Role.SLT, notify_url=None)
    add_staff(f"sb-{signoff}", name="B", role=Role.SLT, notify_url=None)
    with session_scope() as session:
        # assessed by sb, then again by sa (both since moved to the management team), and the
        # sign-off hurried by a phone referral's written confirmation
        for n, actor in enumerate((f"sb-{signoff}", f"sa-{signoff}")):
            session.add(
                CaseStep(
                    case_id=signoff,
                    step="assess-criteria",
                    slot="assess-criteria-0",
                    key=f"assess-criteria-0-a{n}",
                    accepted=True,
                    actor=actor,
                    channel="form",
                )
            )
        session.execute(
            update(Case).where(Case.id == signoff).values(waiting_deadline="written-confirmation")
        )

    made = {
        "signoff": signoff,
        "late": case("confirm-receipt", NOW - timedelta(hours=30)),
        "just-due": case("assess-criteria", NOW),
        "later": case("parents", NOW + timedelta(minutes=1)),
        "answered": case(None, None),
        "closed": case("confirm-receipt", NOW - timedelta(days=3), status="shared"),
    }
    return made


def mine(listed: list[dict], made: dict[str, int]) -> list[int]:
    return [c["case_id"] for c in listed if c["case_id"] in made.values()]


def test_overdue_waits_at_a_given_time_most_overdue_first(cases: dict[str, int]) -> None:
    listed = overdue_cases(NOW)
    assert mine(listed, cases) == [cases["late"], cases["signoff"], cases["just-due"]]
    late = next(c for c in listed if c["case_id"] == cases["late"])
    assert (late["step"], late["overdue_hours"]) == ("confirm-receipt", 30.0)
    assert late["who_must_act"]  # the DSL
    assert mine(overdue_cases(NOW + timedelta(minutes=1)), cases) == [
        cases["late"],
        cases["signoff"],
        cases["just-due"],
        cases["later"],
    ]
    assert mine(overdue_cases(NOW - timedelta(days=2)), cases) == []


def test_each_wait_says_which_deadline_it_missed_and_who_must_act(cases: dict[str, int]) -> None:
    listed = {c["case_id"]: c for c in overdue_cases(NOW)}
    late, signoff = listed[cases["late"]], listed[cases["signoff"]]
    assert late["deadline"] == "confirm-receipt"
    assert signoff["deadline"] == "written-confirmation"
    # the latest assessor is the first signer: the other senior leader must co-sign
    assert f"sa-{cases['signoff']}" not in signoff["who_must_act"]
    assert f"sb-{cases['signoff']}" in signoff["who_must_act"]


def test_the_cli_prints_the_same_list(cases: dict[str, int], runner: CliRunner) -> None:
    result = runner.invoke(app, ["overdue", "--json", "--at", NOW.isoformat()])
    assert result.exit_code == 0, result.output
    assert mine(json.loads(result.stdout), cases) == [
        cases["late"],
        cases["signoff"],
        cases["just-due"],
    ]
    table = runner.invoke(app, ["overdue", "--at", NOW.isoformat()])
    assert table.exit_code == 0 and f"SS-{cases['late']:06d}" in table.stdout


@pytest.mark.parametrize("at", ["yesterday", "2026-11-25T12:00:00"])
def test_a_bad_time_is_refused_in_one_sentence(
    cases: dict[str, int], runner: CliRunner, at: str
) -> None:
    result = runner.invoke(app, ["overdue", "--at", at])
    assert result.exit_code == 1 and "--at" in result.stderr
    assert "Traceback" not in result.output
