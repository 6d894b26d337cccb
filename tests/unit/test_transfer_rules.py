"""A leaver's file transfer, as pure rules: what the DSL's review must say, which moves need a
term date, and when the file's receipt is due."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from models.deadlines import DEFAULT_RULES, WorkingCalendar, due_at
from models.forms.registry import parse_answer
from models.kernel.problems import InvalidAnswer
from models.kernel.steps import Step
from models.transfer import LeaverFacts, leaver_problems


@pytest.mark.parametrize(
    ("answer", "codes"),
    [
        ({"early_sharing": "not-needed"}, []),
        ({"early_sharing": "shared-in-advance", "note": "support plan to the new DSL"}, []),
        ({"early_sharing": "shared-in-advance"}, ["early-sharing-note-missing"]),
        ({"early_sharing": "maybe"}, ["invalid:early_sharing:enum"]),
    ],
)
def test_what_the_review_before_a_transfer_must_say(
    answer: dict[str, Any], codes: list[str]
) -> None:
    raw = {"answered_by": "dsl1", **answer}
    if not codes:
        parse_answer(Step.TRANSFER_REVIEW, raw)
        return
    with pytest.raises(InvalidAnswer) as refused:
        parse_answer(Step.TRANSFER_REVIEW, raw)
    assert [p.code for p in refused.value.problems] == codes


def leaver(**overrides: Any) -> LeaverFacts:
    base: dict[str, Any] = {
        "child_ref": "C-1",
        "leaving_on": date(2026, 12, 18),
        "destination": "hillside",
        "move": "in-year",
        "recorded_by": "dsl1",
    }
    return LeaverFacts.model_validate(base | overrides)


@pytest.mark.parametrize(
    ("overrides", "codes"),
    [
        ({}, []),
        ({"destination": None}, []),
        ({"move": "new-term", "new_term_starts": date(2027, 1, 5)}, []),
        ({"move": "new-term"}, ["new-term-date-missing"]),
        ({"move": "new-term", "new_term_starts": date(2026, 12, 1)}, ["new-term-before-leaving"]),
    ],
)
def test_a_new_term_move_says_when_the_term_starts(
    overrides: dict[str, Any], codes: list[str]
) -> None:
    assert [p.code for p in leaver_problems(leaver(**overrides))] == codes


def test_a_destination_is_an_agency_code() -> None:
    with pytest.raises(ValueError):
        leaver(destination="Hillside Primary School")


def test_the_file_is_received_within_five_working_days() -> None:
    rule = DEFAULT_RULES["transfer-receipt"]
    # the first day of the spring term, a Tuesday: by the end of the Tuesday after
    start = datetime(2027, 1, 5, 0, 0, tzinfo=UTC)
    assert due_at(rule, start, WorkingCalendar()) == datetime(2027, 1, 13, 0, 0, tzinfo=UTC)
