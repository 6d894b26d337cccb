"""The escalation ladder: who is told at each rung, and how far an overdue wait has climbed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.domain import Step
from models.escalation import ladder, level_reached

DUE = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
EVERY = timedelta(hours=4)
case = pytest.param


def test_a_receipt_climbs_to_the_agency_duty_line() -> None:
    rungs = ladder(Step.CONFIRM_RECEIPT, ["dsl1", "dep1"], agency="csc")
    assert [(r.level, r.tags) for r in rungs] == [
        (1, ("staff:dsl1", "staff:dep1")),
        (2, ("deputy-dsl",)),
        (3, ("slt",)),
        (4, ("agency:csc",)),
    ]


def test_other_waits_stop_at_the_head_and_senior_leaders() -> None:
    rungs = ladder(Step.MANAGEMENT_SIGNOFF, ["head1"], agency="csc")
    assert [r.level for r in rungs] == [1, 2, 3]


def test_nobody_eligible_skips_the_first_rung_but_keeps_the_numbers() -> None:
    rungs = ladder(Step.PARENTS, [])
    assert [r.level for r in rungs] == [2, 3]


@pytest.mark.parametrize(
    ("now", "top", "level"),
    [
        case(DUE - timedelta(seconds=1), 4, 0, id="before"),
        case(DUE, 4, 1, id="at-deadline"),
        case(DUE + EVERY - timedelta(seconds=1), 4, 1, id="just-before-second"),
        case(DUE + EVERY, 4, 2, id="second"),
        case(DUE + 2 * EVERY, 4, 3, id="third"),
        case(DUE + 3 * EVERY, 4, 4, id="fourth"),
        case(DUE + 30 * EVERY, 4, 4, id="no-higher-than-the-top"),
        case(DUE + 30 * EVERY, 3, 3, id="three-rungs"),
    ],
)
def test_level_reached(now: datetime, top: int, level: int) -> None:
    assert level_reached(DUE, now, EVERY, top) == level


def test_the_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        level_reached(DUE, DUE, timedelta(0), 4)


def test_a_configured_ladder_climbs_in_its_own_order() -> None:
    rungs = ladder(Step.CONFIRM_RECEIPT, ["dsl1"], agency="csc", rungs=["slt", "agency", "dsl"])
    assert [(r.level, r.tags) for r in rungs] == [
        (1, ("slt",)),
        (2, ("agency:csc",)),
        (3, ("dsl",)),
    ]


@pytest.mark.parametrize(
    "rungs", [[], ["slt", "slt"], ["head-teacher"]], ids=["empty", "twice", "unknown"]
)
def test_a_ladder_that_is_not_one_is_refused(rungs: list[str]) -> None:
    with pytest.raises(ValueError, match="distinct rungs"):
        ladder(Step.PARENTS, ["dsl1"], rungs=rungs)


def test_the_ladder_is_checked_when_settings_load(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic import ValidationError

    from safeshare.settings import Settings

    monkeypatch.setenv("SAFESHARE_ESCALATION_LADDER", '["who-must-act", "slt"]')
    assert Settings(home=tmp_path).escalation_ladder == ["who-must-act", "slt"]
    monkeypatch.setenv("SAFESHARE_ESCALATION_LADDER", '["governors"]')
    with pytest.raises(ValidationError, match="distinct rungs"):
        Settings(home=tmp_path)
