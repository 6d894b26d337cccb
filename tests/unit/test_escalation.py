"""The escalation ladder: who is told at each rung, how far an overdue wait has climbed, how long
after its deadline the ladder goes on, and what each person's reminder may carry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.access import CaseView
from models.escalation import (
    ladder,
    ladder_span,
    level_reached,
    reminder_kit,
    shared_inbox_kit,
)
from models.kernel.roles import Role, StaffMember
from models.kernel.steps import Step

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

    from foundations.settings import Settings

    monkeypatch.setenv("SAFESHARE_ESCALATION_LADDER", '["who-must-act", "slt"]')
    assert Settings(home=tmp_path).escalation_ladder == ["who-must-act", "slt"]
    monkeypatch.setenv("SAFESHARE_ESCALATION_LADDER", '["governors"]')
    with pytest.raises(ValidationError, match="distinct rungs"):
        Settings(home=tmp_path)


STAFF = {
    sid: StaffMember(staff_id=sid, role=role, active=active)
    for sid, role, active in (
        ("dsl1", Role.DSL, True),
        ("dep1", Role.DEPUTY_DSL, True),
        ("dep2", Role.DEPUTY_DSL, True),
        ("dep9", Role.DEPUTY_DSL, False),
        ("head1", Role.SLT, True),
        ("head2", Role.SLT, True),
        ("teacher1", Role.STAFF, True),
        ("admin1", Role.ADMIN, True),
    )
}


@pytest.mark.parametrize(
    ("rungs", "subject", "people"),
    [
        case(
            ["who-must-act", "deputy-dsl", "slt"],
            None,
            [
                ("who-must-act", ("dsl1", "dep1")),
                ("deputy-dsl", ("dep1", "dep2")),
                ("slt", ("head1", "head2")),
            ],
            id="each-member-of-each-role",
        ),
        case(
            ["dsl", "slt"],
            None,
            [("dsl", ("dep1", "dep2", "dsl1")), ("slt", ("head1", "head2"))],
            id="the-dsl-rung-is-the-dsl-and-deputies",
        ),
        case(
            ["deputy-dsl", "slt"],
            "head2",
            [("deputy-dsl", ("dep1", "dep2")), ("slt", ("head1",))],
            id="never-the-subject-of-an-allegation",
        ),
    ],
)
def test_each_rung_reaches_its_people_one_by_one(
    rungs: list[str], subject: str | None, people: list[tuple[str, tuple[str, ...]]]
) -> None:
    must_act = ["dsl1", "dep1"]
    built = ladder(Step.ASSESS_CRITERIA, must_act, rungs=rungs, staff=STAFF, subject=subject)
    assert [(r.name, r.people) for r in built] == people


@pytest.mark.parametrize(
    ("step", "must_act", "rungs", "span"),
    [
        case(Step.CONFIRM_RECEIPT, ["dsl1"], None, 4 * EVERY, id="receipt-four-rungs"),
        case(Step.MANAGEMENT_SIGNOFF, ["head1"], None, 3 * EVERY, id="signoff-three-rungs"),
        case(Step.PARENTS, [], None, 3 * EVERY, id="nobody-eligible-keeps-the-levels"),
        case(Step.MANAGEMENT_SIGNOFF, ["head1"], ["slt", "agency"], 1 * EVERY, id="no-agency"),
        case(Step.CONFIRM_RECEIPT, ["dsl1"], ["agency", "slt"], 2 * EVERY, id="configured"),
    ],
)
def test_the_ladder_goes_on_until_its_top_rung_has_had_its_interval(
    step: Step, must_act: list[str], rungs: list[str] | None, span: timedelta
) -> None:
    built = ladder(step, must_act, agency="csc", **({"rungs": rungs} if rungs else {}))
    assert ladder_span(built, EVERY) == span
    # the top rung is reached one interval before the span ends
    assert level_reached(DUE, DUE + span - EVERY, EVERY, top=built[-1].level) == built[-1].level


def test_no_rungs_no_span() -> None:
    assert ladder_span([], EVERY) == timedelta(0)


OPEN = CaseView(case_id=42, waiting_step=Step.MANAGEMENT_SIGNOFF.value)
ABOUT_DEP1 = CaseView(
    case_id=42, waiting_step=Step.MANAGEMENT_SIGNOFF.value, allegation_against="dep1"
)


@pytest.mark.parametrize(
    ("who", "eligible", "view", "kit"),
    [
        case("head1", True, OPEN, (True, False, True), id="senior-leader-who-may-sign"),
        case("head1", False, OPEN, (False, False, True), id="senior-leader-who-may-not"),
        case("dep1", True, OPEN, (True, True, False), id="deputy-who-may-answer"),
        case("dep1", False, OPEN, (False, True, False), id="deputy-who-may-not-answer"),
        case("dsl1", False, OPEN, (False, True, False), id="dsl"),
        case("dep1", False, ABOUT_DEP1, (False, False, False), id="never-their-own-case"),
        case("dep9", True, OPEN, (True, False, False), id="inactive-reads-nothing"),
    ],
)
def test_a_reminder_carries_what_its_reader_can_act_on(
    who: str, eligible: bool, view: CaseView, kit: tuple[bool, bool, bool]
) -> None:
    got = reminder_kit(STAFF[who], eligible=eligible, case=view)
    assert (got.credentials, got.case_page, got.sign_in) == kit


@pytest.mark.parametrize(
    ("roles", "kit"),
    [
        case(frozenset({Role.DEPUTY_DSL}), (False, True, False), id="deputies"),
        case(frozenset({Role.DSL, Role.DEPUTY_DSL}), (False, True, False), id="dsls"),
        case(frozenset({Role.SLT}), (False, False, True), id="management-team"),
    ],
)
def test_a_shared_inbox_gets_no_credentials_and_only_what_its_role_may_open(
    roles: frozenset[Role], kit: tuple[bool, bool, bool]
) -> None:
    got = shared_inbox_kit(roles)
    assert (got.credentials, got.case_page, got.sign_in) == kit
