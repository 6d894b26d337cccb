"""Requests to see child protection records, as pure rules: who decides (the DSL or the SLT,
never whoever received it), what a decision must say, and its one-month deadline."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from models.access_request import AccessDecision, Requester, access_request_problems
from models.deadlines import DEFAULT_RULES, WorkingCalendar, due_at, parse_rule
from models.forms.registry import parse_answer
from models.kernel.answerers import answerer_problems, eligible_answerers
from models.kernel.problems import InvalidAnswer
from models.kernel.roles import Role, StaffMember
from models.kernel.steps import Step
from models.summaries import summarise

NONE = {"serious_harm": "does-not-apply", "child_abuse_data": "does-not-apply",
        "third_parties": "does-not-apply"}  # fmt: skip


def decision(**overrides: Any) -> dict[str, Any]:
    return {"answered_by": "dsl1", **NONE, "outcome": "release-in-full",
            "released": "the chronology, 2025-2026"} | overrides  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "codes"),
    [
        (decision(), []),
        (decision(third_parties="applies", third_parties_reason="names a neighbour",
                  outcome="release-redacted", withheld="the neighbour's name"), []),
        (decision(serious_harm="applies", serious_harm_reason="risk to the child",
                  outcome="withhold", released=None, withheld="all of it"), []),
        (decision(serious_harm="applies", outcome="withhold", released=None, withheld="all"),
         ["exemption-reason-missing:serious-harm"]),
        (decision(third_parties="applies", third_parties_reason="x"), ["exemption-applies"]),
        (decision(outcome="release-redacted", withheld="some"), ["no-exemption"]),
        (decision(outcome="withhold", released=None, withheld="all"), ["no-exemption"]),
        (decision(released=None), ["released-missing"]),
        (decision(child_abuse_data="applies", child_abuse_data_reason="x",
                  outcome="release-redacted"), ["withheld-missing"]),
        (decision(child_abuse_data="applies", outcome="withhold", released=None),
         ["exemption-reason-missing:child-abuse-data", "withheld-missing"]),
    ],
)  # fmt: skip
def test_what_a_decision_must_say(answer: dict[str, Any], codes: list[str]) -> None:
    if not codes:
        assert isinstance(parse_answer(Step.ACCESS_DECISION, answer), AccessDecision)
        return
    with pytest.raises(InvalidAnswer) as refused:
        parse_answer(Step.ACCESS_DECISION, answer)
    assert [p.code for p in refused.value.problems] == codes
    assert "neighbour" not in str(refused.value)


@pytest.mark.parametrize(
    ("requester", "applies", "refused"),
    [
        (Requester.PARENT, True, False),
        (Requester.PARENT, False, False),
        (Requester.PUPIL, True, True),
        (Requester.PUPIL, False, False),
    ],
)
def test_child_abuse_data_is_a_parent_s_exemption(
    requester: Requester, applies: bool, refused: bool
) -> None:
    answer = AccessDecision.model_validate(
        decision(
            child_abuse_data="applies" if applies else "does-not-apply",
            child_abuse_data_reason="not in the child's interests" if applies else None,
            outcome="withhold" if applies else "release-in-full",
            released=None if applies else "all",
            withheld="all" if applies else None,
        )
    )
    problems = access_request_problems(answer, requester)
    assert [p.code for p in problems] == (["child-abuse-data-not-for-pupil"] if refused else [])


STAFF = {
    sid: StaffMember(staff_id=sid, role=role)
    for sid, role in (
        ("dsl1", Role.DSL),
        ("dep1", Role.DEPUTY_DSL),
        ("head1", Role.SLT),
        ("head2", Role.SLT),
        ("teacher1", Role.STAFF),
        ("admin1", Role.ADMIN),
    )
}


@pytest.mark.parametrize(
    ("received_by", "eligible"),
    [
        ("teacher1", ["dep1", "dsl1", "head1", "head2"]),
        ("head1", ["dep1", "dsl1", "head2"]),
        ("dsl1", ["dep1", "head1", "head2"]),
    ],
)
def test_the_dsl_or_the_slt_decide_never_whoever_received_it(
    received_by: str, eligible: list[str]
) -> None:
    step = Step.ACCESS_DECISION
    assert eligible_answerers(step, STAFF, first_signer=received_by) == eligible
    problems = answerer_problems(step, STAFF.get(received_by), first_signer=received_by)
    expected = "role-not-allowed" if received_by == "teacher1" else "received-request"
    assert [p.code for p in problems] == [expected]


def test_a_decision_is_summarised_by_its_outcome_and_exemptions() -> None:
    answer = AccessDecision.model_validate(
        decision(serious_harm="applies", serious_harm_reason="r", third_parties="applies",
                 third_parties_reason="r", outcome="release-redacted", withheld="w")
    )  # fmt: skip
    summary = summarise(Step.ACCESS_DECISION, "access-decision-0", answer)
    assert summary.outcome == "release-redacted"
    assert summary.reasons == ("exemption-serious-harm", "exemption-third-parties")


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # by the end of the same date a month on, English time
        (datetime(2026, 11, 25, 10, tzinfo=UTC), datetime(2026, 12, 26, 0, tzinfo=UTC)),
        # no 31 February: the last day of the month
        (datetime(2027, 1, 31, 10, tzinfo=UTC), datetime(2027, 3, 1, 0, tzinfo=UTC)),
        (datetime(2028, 1, 31, 10, tzinfo=UTC), datetime(2028, 3, 1, 0, tzinfo=UTC)),
        # into summer time: midnight in England is 23:00 UTC
        (datetime(2026, 5, 31, 10, tzinfo=UTC), datetime(2026, 6, 30, 23, tzinfo=UTC)),
        # across a year
        (datetime(2026, 12, 15, 10, tzinfo=UTC), datetime(2027, 1, 16, 0, tzinfo=UTC)),
    ],
)
def test_a_request_is_answered_within_one_calendar_month(received: datetime, due: datetime) -> None:
    rule = DEFAULT_RULES["access-request"]
    assert str(rule) == "1 calendar month" and parse_rule("1 month") == rule
    assert due_at(rule, received, WorkingCalendar()) == due
