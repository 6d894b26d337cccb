"""Child Protection Plan events, as pure rules: which events are passed on, what a feed row
means, and how a malformed feed is reported (by line) before anything is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.deadlines import DEFAULT_RULES, WorkingCalendar, due_at, parse_rule
from models.plan_event.feed import FeedError, RowProblem, read_feed, row_facts
from models.plan_event.policy import (
    PLAN_EVENT_RECEIPT,
    PlanEventFacts,
    PlanEventKind,
    disclosure_text,
    event_key,
    event_problems,
    parse_kind,
    parse_occurred,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def facts(**overrides: object) -> PlanEventFacts:
    base: dict[str, object] = {
        "child_ref": "C-1",
        "kind": PlanEventKind.UNEXPLAINED_ABSENCE,
        "occurred_at": NOW - timedelta(hours=2),
        "details": "not in school",
        "recorded_by": "t1",
    }
    return PlanEventFacts.model_validate(base | overrides)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("exclusion-fixed-term", PlanEventKind.EXCLUSION_FIXED_TERM),
        ("Fixed term exclusion", PlanEventKind.EXCLUSION_FIXED_TERM),
        ("SUSPENSION", PlanEventKind.EXCLUSION_FIXED_TERM),
        ("permanent_exclusion", PlanEventKind.EXCLUSION_PERMANENT),
        ("Unexplained absence", PlanEventKind.UNEXPLAINED_ABSENCE),
        ("unauthorised absence", PlanEventKind.UNEXPLAINED_ABSENCE),
        (" change in circumstances ", PlanEventKind.CHANGE_IN_CIRCUMSTANCES),
        ("change-of-circumstances", PlanEventKind.CHANGE_IN_CIRCUMSTANCES),
    ],
)
def test_kinds_by_the_names_exports_give_them(text: str, kind: PlanEventKind) -> None:
    assert parse_kind(text) is kind


@pytest.mark.parametrize("text", ["", "late", "exclusion", "absent-ish"])
def test_an_unknown_kind_names_the_known_ones(text: str) -> None:
    with pytest.raises(ValueError, match="unexplained-absence"):
        parse_kind(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24T09:30:00+00:00", datetime(2026, 11, 24, 9, 30, tzinfo=UTC)),
        # no offset: English local time (summer time is an hour ahead of UTC)
        ("2026-06-24T09:30:00", datetime(2026, 6, 24, 8, 30, tzinfo=UTC)),
        ("2026-11-24 09:30", datetime(2026, 11, 24, 9, 30, tzinfo=UTC)),
        # a date alone: the start of that day in England
        ("2026-06-24", datetime(2026, 6, 23, 23, 0, tzinfo=UTC)),
    ],
)
def test_when_an_event_happened(text: str, expected: datetime) -> None:
    assert parse_occurred(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "24/11/2026", "2026-13-01", "2026-11-24T25:00"])
def test_a_time_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a date"):
        parse_occurred(text)


@pytest.mark.parametrize(
    ("on_plan", "active", "occurred", "expected"),
    [
        (True, True, NOW - timedelta(hours=2), []),
        (True, True, NOW + timedelta(minutes=4), []),  # clocks differ a little
        (None, True, NOW, ["no pupil has the reference"]),
        (False, True, NOW, ["is not on a Child Protection Plan"]),
        (True, False, NOW, ["no active member of staff"]),
        (True, True, NOW + timedelta(hours=1), ["in the future"]),
        (False, False, NOW + timedelta(days=1), ["not on a", "no active", "in the future"]),
    ],
)
def test_which_events_are_recorded(
    on_plan: bool | None, active: bool, occurred: datetime, expected: list[str]
) -> None:
    problems = event_problems(
        facts(occurred_at=occurred), on_plan=on_plan, recorder_active=active, now=NOW
    )
    assert len(problems) == len(expected)
    for problem, words in zip(problems, expected, strict=True):
        assert words in problem


def test_one_event_has_one_key_however_it_is_written() -> None:
    first = facts(occurred_at=datetime(2026, 11, 24, 9, 30, 5, tzinfo=UTC))
    same = facts(occurred_at=parse_occurred("2026-11-24T09:30:40+00:00"), details="other")
    assert event_key(first) == event_key(same)
    assert event_key(first) != event_key(facts(occurred_at=first.occurred_at, child_ref="C-2"))
    assert event_key(first) != event_key(
        facts(occurred_at=first.occurred_at, kind=PlanEventKind.CHANGE_IN_CIRCUMSTANCES)
    )
    assert event_key(first) != event_key(facts(occurred_at=first.occurred_at + timedelta(hours=1)))


def test_what_children_s_social_care_is_told() -> None:
    text = disclosure_text(facts(occurred_at=datetime(2026, 6, 24, 8, 30, tzinfo=UTC)))
    assert text.startswith("Child Protection Plan event: unexplained-absence, 2026-06-24 09:30")
    assert text.endswith("not in school")
    assert "\n" not in disclosure_text(facts(details=None))


def test_receipt_is_due_the_same_day_on_english_clocks() -> None:
    rule = DEFAULT_RULES[PLAN_EVENT_RECEIPT]
    assert str(rule) == "same day" and parse_rule("Same day") == rule
    summer = datetime(2026, 6, 24, 15, 0, tzinfo=UTC)
    assert due_at(rule, summer, WorkingCalendar()) == datetime(2026, 6, 24, 23, 0, tzinfo=UTC)
    winter_late = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
    assert due_at(rule, winter_late, WorkingCalendar()) == datetime(2026, 11, 25, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# Feeds


CSV_GOOD = (
    "Pupil,Event,Date,Notes\n"
    "C-1,Suspension,2026-11-24,three days\n"
    "\n"
    'C-2,unexplained absence,2026-11-24T09:30:00+00:00,"not in, no call"\n'
)


def test_a_csv_feed_is_read_with_line_numbers_and_other_column_names() -> None:
    rows = read_feed(CSV_GOOD, "csv")
    assert [r.line for r in rows] == [2, 4]
    events = [row_facts(r, "t1") for r in rows]
    assert all(isinstance(e, PlanEventFacts) for e in events)
    first, second = events
    assert isinstance(first, PlanEventFacts) and isinstance(second, PlanEventFacts)
    assert first.kind is PlanEventKind.EXCLUSION_FIXED_TERM and first.details == "three days"
    assert second.details == "not in, no call" and second.recorded_by == "t1"


def test_a_multi_line_csv_value_keeps_the_line_its_row_starts_on() -> None:
    text = 'child_ref,kind,occurred_at,details\nC-1,change,2026-11-24,"moved\nhouse"\nC-2,x,y,\n'
    rows = read_feed(text, "csv")
    assert [r.line for r in rows] == [2, 4]
    assert isinstance(row_facts(rows[0], "t1"), PlanEventFacts)
    problem = row_facts(rows[1], "t1")
    assert isinstance(problem, RowProblem) and problem.line == 4


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("C-1,suspension\n", "the row has 2 of 4 values"),
        (",suspension,2026-11-24,\n", "no child_ref"),
        ("C-1,,2026-11-24,\n", "no kind"),
        ("C-1,suspension,,\n", "no occurred_at"),
        ("C-1,holiday,2026-11-24,\n", "'holiday' is not a kind of event"),
        ("C-1,suspension,24/11/2026,\n", "'24/11/2026' is not a date"),
        ("Jane Smith,suspension,2026-11-24,\n", "child_ref is not valid"),
    ],
)
def test_each_malformed_csv_row_is_named_by_its_line(row: str, words: str) -> None:
    text = "child_ref,kind,occurred_at,details\nC-9,absence,2026-11-24,\n" + row
    rows = read_feed(text, "csv")
    assert isinstance(row_facts(rows[0], "t1"), PlanEventFacts)
    problem = row_facts(rows[1], "t1")
    assert isinstance(problem, RowProblem), problem
    assert problem.line == 3 and words in problem.message
    assert "Jane" not in problem.message  # a row's content is not repeated back


@pytest.mark.parametrize(
    ("text", "fmt", "words"),
    [
        ("", "csv", "holds no events"),
        ("child_ref,kind,occurred_at\n", "csv", "holds no events"),
        ("child_ref,kind\nC-1,absence\n", "csv", "line 1: missing column(s) occurred_at"),
        ("child_ref,kind,occurred_at,colour\n", "csv", "line 1: unknown column(s) colour"),
        ("child,pupil,kind,occurred_at\n", "csv", "more than one column means child_ref"),
        ('child_ref,kind,occurred_at\n"C-1,absence\n', "csv", "not readable as CSV"),
        ("[", "json", "not closed"),
        ('[{"child_ref": "C-1"},\n {"kind": }]', "json", "line 2: not readable as JSON"),
        ('[{"child_ref": "C-1"} {"kind": "x"}]', "json", "expected ',' or ']'"),
        ("[]", "json", "holds no events"),
        ('[{"a": 1}] x', "json", "text after the JSON array"),
        ('{"child_ref": "C-1"}\n{"kind": \n', "json", "line 2: not readable as JSON"),
        ('{"child_ref": "C-1"} {"kind": "x"}\n', "json", "line 1: more than one JSON value"),
        ("a,b", "xml", "is not an export format"),
    ],
)
def test_a_feed_that_cannot_be_read_is_refused_whole(text: str, fmt: str, words: str) -> None:
    with pytest.raises(FeedError) as refused:
        read_feed(text, fmt)
    assert words in str(refused.value)


def test_a_json_array_feed_gives_each_object_its_line() -> None:
    text = (
        "[\n"
        '  {"child_ref": "C-1", "kind": "suspension", "occurred_at": "2026-11-24"},\n'
        '  {"child": "C-2", "event": "absence",\n'
        '   "when": "2026-11-24T08:00:00+00:00", "notes": null},\n'
        '  ["C-3"],\n'
        '  {"child_ref": "C-4", "kind": "change", "occurred_at": "2026-11-24", "colour": 1}\n'
        "]\n"
    )
    rows = read_feed(text, "json")
    assert [r.line for r in rows] == [2, 3, 5, 6]
    results = [row_facts(r, "t1") for r in rows]
    assert isinstance(results[0], PlanEventFacts) and isinstance(results[1], PlanEventFacts)
    assert results[1].details is None
    assert isinstance(results[2], RowProblem) and "an event is an object" in results[2].message
    assert isinstance(results[3], RowProblem) and "unknown field 'colour'" in results[3].message


def test_a_json_lines_feed_is_read_line_by_line() -> None:
    text = (
        '{"child_ref": "C-1", "kind": "absence", "occurred_at": "2026-11-24"}\n'
        "\n"
        '{"child_ref": "C-2", "kind": "permanent", "occurred_at": "2026-11-24", "details": 7}\n'
    )
    rows = read_feed(text, "json")
    assert [r.line for r in rows] == [1, 3]
    second = row_facts(rows[1], "t1")
    assert isinstance(second, PlanEventFacts)
    assert second.kind is PlanEventKind.EXCLUSION_PERMANENT and second.details == "7"
