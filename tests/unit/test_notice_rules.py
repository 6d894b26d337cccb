"""Need-to-know notices, as pure rules: what the DSL's review must say, and when a police
domestic abuse notification must be reviewed (before the next school day starts)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from models.deadlines import (
    DEFAULT_RULES,
    DateRange,
    WorkingCalendar,
    due_at,
    parse_rule,
)
from models.forms.registry import parse_answer
from models.kernel.problems import InvalidAnswer
from models.kernel.steps import Step
from models.notice import NoticeReview
from models.summaries import summarise


def review(**overrides: Any) -> dict[str, Any]:
    return {
        "answered_by": "dsl1",
        "staff_to_tell": ["teacher1"],
        "what_they_need_to_know": "Be alert to tiredness; tell the DSL of anything said.",
        "reason": "Her class teacher sees her every day.",
    } | overrides


@pytest.mark.parametrize(
    ("answer", "codes"),
    [
        (review(), []),
        (review(staff_to_tell=[], what_they_need_to_know=None), []),  # nobody needs to know
        (review(what_they_need_to_know=None), ["what-they-need-to-know-missing"]),
        (review(staff_to_tell=["teacher1", "teacher1"]), ["staff-named-twice"]),
        (review(reason=" "), ["invalid:reason:string_too_short"]),
        (review(staff_to_tell=["Jane Smith"]), ["invalid:staff_to_tell.0:string_pattern_mismatch"]),
    ],
)
def test_what_a_review_must_say(answer: dict[str, Any], codes: list[str]) -> None:
    if not codes:
        parsed = parse_answer(Step.NOTICE_REVIEW, answer)
        assert isinstance(parsed, NoticeReview) and parsed.disclose_source_to_parents is False
        return
    with pytest.raises(InvalidAnswer) as refused:
        parse_answer(Step.NOTICE_REVIEW, answer)
    assert [p.code for p in refused.value.problems] == codes


def test_a_review_is_summarised_by_who_is_told() -> None:
    told = summarise(Step.NOTICE_REVIEW, "s", NoticeReview.model_validate(review()))
    assert (told.outcome, told.reasons) == ("told", ("tell:teacher1",))
    nobody = NoticeReview.model_validate(review(staff_to_tell=[], what_they_need_to_know=None))
    assert summarise(Step.NOTICE_REVIEW, "s", nobody).outcome == "nobody-told"


TERM = WorkingCalendar(
    terms=(DateRange(first=date(2026, 11, 2), last=date(2026, 12, 18)),),
    closures=(DateRange(first=date(2026, 11, 30), last=date(2026, 11, 30)),),
)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # Tuesday evening: before Wednesday's school day starts (08:30, English time)
        (datetime(2026, 11, 24, 21, 0, tzinfo=UTC), datetime(2026, 11, 25, 8, 30, tzinfo=UTC)),
        # Wednesday 02:00: before that same morning's start
        (datetime(2026, 11, 25, 2, 0, tzinfo=UTC), datetime(2026, 11, 25, 8, 30, tzinfo=UTC)),
        # Wednesday 10:00, the day has started: before Thursday's
        (datetime(2026, 11, 25, 10, 0, tzinfo=UTC), datetime(2026, 11, 26, 8, 30, tzinfo=UTC)),
        # Friday night: Monday is a closure day (training), so Tuesday
        (datetime(2026, 11, 27, 22, 0, tzinfo=UTC), datetime(2026, 12, 1, 8, 30, tzinfo=UTC)),
        # the last day of term: the first day of the next term the calendar knows is far off;
        # with no later term given, term dates stop counting
        (datetime(2026, 12, 18, 20, 0, tzinfo=UTC), None),
    ],
)
def test_a_police_notification_is_reviewed_before_the_next_school_day(
    received: datetime, due: datetime | None
) -> None:
    rule = DEFAULT_RULES["notice-review-police"]
    assert str(rule) == "before the next school day"
    assert parse_rule("before the next school day") == rule == parse_rule("next school day")
    if due is None:
        with pytest.raises(ValueError, match="no school day"):
            due_at(rule, received, TERM)
        return
    assert due_at(rule, received, TERM) == due


def test_the_school_day_starts_when_the_setting_says() -> None:
    rule = DEFAULT_RULES["notice-review-police"]
    received = datetime(2026, 6, 9, 18, 0, tzinfo=UTC)  # a Tuesday in summer time
    due = due_at(rule, received, WorkingCalendar(), day_starts=time(8, 0))
    assert due == datetime(2026, 6, 10, 7, 0, tzinfo=UTC)  # 08:00 in England
