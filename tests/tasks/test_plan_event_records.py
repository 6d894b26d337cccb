"""Recording Child Protection Plan events on both case databases: all or nothing, once per event
however often a feed is imported (also by two imports at once), and every refusal one clear
sentence per row that changes nothing. (The flow that passes them on: tests/flow.)"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from harness.databases import DATA_KEYS, migrated_database
from sqlalchemy import func, select
from typer.testing import CliRunner

from foundations.db import session_scope
from foundations.settings import Settings, settings_in_force
from models.kernel.roles import Role
from models.kernel.steps import CaseKind
from models.plan_event.policy import PlanEventFacts, PlanEventKind
from models.tables.cases import Case, Concern
from models.tables.directory import Child
from models.tables.openings import PlanEvent
from safeshare.cli.app import app
from tasks.children import add_child
from tasks.plan_events import EventsRefused, RecordedEvent, record_plan_events
from tasks.staff import add_staff

#: Nobody at the keyboard unless a command says who (whatever the shell's SAFESHARE_USER).
runner = CliRunner(env={"SAFESHARE_USER": None})
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(params=("sqlite", "postgresql"))
def setting(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    with (
        migrated_database(request.param, tmp_path) as url,
        settings_in_force(Settings(home=tmp_path, database_url=url, data_keys=DATA_KEYS)),
    ):
        for staff_id, role in (
            ("dsl1", Role.DSL),
            ("admin1", Role.ADMIN),
            ("office1", Role.STAFF),
            ("t1", Role.STAFF),
        ):
            add_staff(staff_id, name=staff_id, role=role, notify_url=None)
        add_child("C-PLAN", date_of_birth=date(2015, 3, 1), cp_plan=True)
        add_child("C-PLAN2", date_of_birth=date(2014, 3, 1), cp_plan=True)
        add_child("C-NOPLAN", date_of_birth=date(2015, 3, 1), cp_plan=False)
        yield tmp_path


def event(ref: str = "C-PLAN", hours_ago: float = 2, **overrides: object) -> PlanEventFacts:
    base: dict[str, object] = {
        "child_ref": ref,
        "kind": PlanEventKind.UNEXPLAINED_ABSENCE,
        "occurred_at": NOW - timedelta(hours=hours_ago),
        "details": "not in school, no call from home",
        "recorded_by": "office1",
    }
    return PlanEventFacts.model_validate(base | overrides)


def counts() -> tuple[int, int]:
    """(plan events, cases); a plan event is never kept as a concern."""
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Concern)) == 0
        events = session.scalar(select(func.count()).select_from(PlanEvent)) or 0
        cases = session.scalar(select(func.count()).select_from(Case)) or 0
    return events, cases


def test_events_open_plan_event_cases_with_what_was_recorded(setting: Path) -> None:
    recorded = record_plan_events(
        [(1, event()), (2, event("C-PLAN2", kind=PlanEventKind.EXCLUSION_PERMANENT))], now=NOW
    )
    assert [(r.line, r.new) for r in recorded] == [(1, True), (2, True)]
    with session_scope() as session:
        case = session.get(Case, recorded[1].case_id)
        assert case is not None and case.kind == CaseKind.PLAN_EVENT and case.status == "open"
        assert case.concern_id is None
        recorded_event = session.get(PlanEvent, case.id)
        assert recorded_event is not None
        assert recorded_event.kind == "exclusion-permanent"
        assert recorded_event.recorded_by == "office1"
        assert recorded_event.details == "not in school, no call from home"
        assert recorded_event.occurred_at == NOW - timedelta(hours=2)
        child = session.get(Child, case.child_id)
        assert child is not None and child.child_ref == "C-PLAN2"


def test_one_bad_event_records_none_and_every_problem_is_named(setting: Path) -> None:
    before = counts()
    with pytest.raises(EventsRefused) as refused:
        record_plan_events(
            [
                (2, event()),
                (3, event("C-NOPLAN")),
                (4, event("C-NOBODY")),
                (5, event(hours_ago=-3)),
                (6, event(recorded_by="ghost")),
            ],
            now=NOW,
        )
    lines = [(p.line, p.message) for p in refused.value.problems]
    assert [line for line, _ in lines] == [3, 4, 5, 6]
    assert "C-NOPLAN is not on a Child Protection Plan" in lines[0][1]
    assert "no pupil has the reference 'C-NOBODY'" in lines[1][1]
    assert "in the future" in lines[2][1]
    assert "no active member of staff has the id 'ghost'" in lines[3][1]
    assert counts() == before


def test_an_event_is_recorded_once_however_often_it_comes(setting: Path) -> None:
    first = record_plan_events([(1, event()), (2, event())], now=NOW)
    assert [r.new for r in first] == [True, False]  # twice in one feed: one case
    assert first[0].case_id == first[1].case_id
    again = record_plan_events([(7, event(details="other words")), (8, event("C-PLAN2"))], now=NOW)
    assert again[0] == RecordedEvent(7, first[0].case_id, new=False)
    assert again[1].new
    assert counts() == (2, 2)


def test_two_imports_of_one_feed_at_once_record_each_event_once(setting: Path) -> None:
    feed = [(n, event(hours_ago=n)) for n in range(1, 21)]
    results: list[list[RecordedEvent]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            start.wait()
            results.append(record_plan_events(feed, now=NOW))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    first, second = results
    assert [r.case_id for r in first] == [r.case_id for r in second]
    assert sum(r.new for r in first + second) == 20
    assert counts() == (20, 20)


def cli(*argv: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(argv))
    return result.exit_code, result.stdout, result.stderr


def test_a_feed_with_malformed_rows_is_refused_whole_with_line_numbers(setting: Path) -> None:
    feed = setting / "export.csv"
    future = (NOW + timedelta(days=2)).date()
    feed.write_text(
        "child_ref,kind,occurred_at,details\n"
        f"C-PLAN,suspension,{(NOW - timedelta(days=1)).date()},three days\n"
        "C-PLAN,holiday,2026-11-01,\n"
        "C-NOBODY,absence,2026-11-01,\n"
        "C-PLAN2,absence\n"
        "C-NOPLAN,absence,2026-11-01,\n"
        f"C-PLAN2,absence,{future},\n"
    )
    before = counts()
    code, out, err = cli(
        "events", "import", str(feed), "--recorded-by", "office1", "--user", "office1"
    )
    assert code == 1 and out == ""
    # the whole file in one run: rows that do not read and rows that cannot be recorded alike,
    # in the order of the file
    lines = [line.strip() for line in err.strip().splitlines()]
    assert lines[0].startswith("line 3: 'holiday' is not a kind of event")
    assert lines[1] == "line 4: no pupil has the reference 'C-NOBODY'"
    assert lines[2] == "line 5: the row has 2 of 4 values"
    assert lines[3].startswith("line 6: pupil C-NOPLAN is not on a Child Protection Plan")
    assert lines[4].startswith("line 7: the event's time ") and "is in the future" in lines[4]
    assert lines[-1].startswith("error: 'export.csv' was not imported: 5 row(s) cannot be recorded")
    assert "Traceback" not in err
    assert counts() == before
    # rows that read well but name a pupil who cannot have events: also refused whole
    feed.write_text(
        "child_ref,kind,occurred_at\n"
        f"C-PLAN,suspension,{(NOW - timedelta(days=1)).date()}\n"
        "C-NOBODY,absence,2026-11-01\n"
        "C-NOPLAN,absence,2026-11-01\n"
    )
    code, out, err = cli(
        "events", "import", str(feed), "--recorded-by", "office1", "--user", "office1"
    )
    assert code == 1
    assert "line 3: no pupil has the reference 'C-NOBODY'" in err
    assert "line 4: pupil C-NOPLAN is not on a Child Protection Plan" in err
    assert "nothing from it was recorded" in err
    assert counts() == before


@pytest.mark.parametrize(
    ("name", "content", "extra", "words"),
    [
        ("gone.csv", None, [], "no file"),
        ("export.xml", "<a/>", [], "cannot tell the format of 'export.xml'"),
        ("export.csv", b"\xff\xfe\x00bad", [], "is not a text file: save the export as CSV"),
        ("export.csv", b"child_ref\x81\x8d", [], "is neither UTF-8 nor Windows-1252 text"),
        ("export.json", "[{]", [], "'export.json' was not imported: line 1: not readable"),
        ("export.txt", "child_ref,kind\n", ["--format", "csv"], "missing column(s) occurred_at"),
        ("export.csv", "[]", ["--format", "xml"], "cannot tell the format"),
    ],
)
def test_a_feed_that_cannot_be_read_changes_nothing(
    setting: Path, name: str, content: str | bytes | None, extra: list[str], words: str
) -> None:
    path = setting / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    before = counts()
    code, _, err = cli(
        "events", "import", str(path), "--recorded-by", "office1", "--user", "office1", *extra
    )
    assert code == 1 and words in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert counts() == before


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--child", "C-NOPLAN", "--kind", "absence"], "not on a Child Protection Plan"),
        (["--child", "C-NOBODY", "--kind", "absence"], "no pupil has the reference"),
        (["--child", "C-PLAN", "--kind", "holiday"], "--kind 'holiday' is not a kind of event"),
        (["--child", "C-PLAN", "--kind", "absence", "--when", "2026-11-01"], "needs a UTC offset"),
        (
            ["--child", "C-PLAN", "--kind", "absence", "--when", "2999-01-01T00:00:00+00:00"],
            "in the future",
        ),
        (["--child", "Jane Smith", "--kind", "absence"], "child_ref"),
    ],
)
def test_recording_one_event_refuses_bad_input_in_one_sentence(
    setting: Path, argv: list[str], words: str
) -> None:
    before = counts()
    code, _, err = cli("events", "record", "--recorded-by", "office1", "--user", "office1", *argv)
    assert code == 1 and words in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert counts() == before


def test_only_staff_record_events_and_only_the_dsl_or_an_administrator_marks_plans(
    setting: Path,
) -> None:
    code, _, err = cli(
        "events", "record", "--recorded-by", "admin1", "--child", "C-PLAN", "--kind", "absence",
        "--user", "admin1",
    )  # fmt: skip
    assert code == 1 and "is not allowed to record concern" in err
    for user in ("t1", "office1"):
        code, _, err = cli("--user", user, "child", "update", "C-NOPLAN", "--cp-plan")
        assert code == 1 and "is not allowed to manage plans" in err
    code, out, _ = cli(
        "--user",
        "dsl1",
        "child",
        "update",
        "C-NOPLAN",
        "--cp-plan",
        "--social-worker-notify",
        "json://127.0.0.1:9/sw",
    )
    assert code == 0 and "Updated child C-NOPLAN" in out
    with session_scope() as session:
        child = session.scalar(select(Child).where(Child.child_ref == "C-NOPLAN"))
        assert child is not None and child.cp_plan
        assert child.social_worker_notify == "json://127.0.0.1:9/sw"
    code, _, _ = cli(
        "--user",
        "admin1",
        "child",
        "update",
        "C-NOPLAN",
        "--no-cp-plan",
        "--social-worker-notify",
        "none",
    )
    assert code == 0
    with session_scope() as session:
        child = session.scalar(select(Child).where(Child.child_ref == "C-NOPLAN"))
        assert child is not None and not child.cp_plan and child.social_worker_notify is None
    for argv, words in (
        (["C-NOPLAN"], "nothing to change"),
        (["C-NOBODY", "--cp-plan"], "No child has the reference 'C-NOBODY'"),
        (["C-PLAN", "--social-worker-notify", "not a url"], "--social-worker-notify address"),
    ):
        code, _, err = cli("--user", "dsl1", "child", "update", *argv)
        assert code == 1 and words in err, err


def test_the_event_feed_format_is_read_from_the_name_or_given(setting: Path) -> None:
    path = setting / "events.ndjson"
    path.write_text(
        json.dumps({"child_ref": "C-NOBODY", "kind": "absence", "occurred_at": "2026-11-01"}) + "\n"
    )
    code, _, err = cli(
        "events", "import", str(path), "--recorded-by", "office1", "--user", "office1"
    )
    assert code == 1 and "line 1: no pupil has the reference 'C-NOBODY'" in err
