"""What a person types, checked by pure rules with the clock passed in: times that have not come
yet, children born in the future, references that are not pseudonyms, ids no case can have; and
what each step's answer holds, as the command line explains it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from models.forms.fields import GIVEN_ELSEWHERE, example_input, fields_help, step_fields
from models.forms.registry import FORMS, parse_answer
from models.kernel.directory import ChildFacts, child_problems
from models.kernel.problems import CLOCK_SKEW, time_in_future
from models.kernel.steps import HUMAN_STEPS, Step
from models.kernel.values import MAX_RECORD_ID, AgencyCode, is_record_id
from models.sharing.concern import Category, ConcernFacts, concern_problems

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def concern(occurred_at: datetime) -> ConcernFacts:
    return ConcernFacts(
        child_ref="C-1",
        raised_by="t1",
        category=Category.NEGLECT,
        occurred_at=occurred_at,
        what_happened="seen",
    )


@pytest.mark.parametrize(
    ("offset", "refused"),
    [
        (timedelta(days=-400), False),
        (timedelta(0), False),
        (CLOCK_SKEW, False),  # a phone's clock a little ahead
        (CLOCK_SKEW + timedelta(seconds=1), True),
        (timedelta(days=365 * 70), True),
    ],
)
def test_a_concern_cannot_have_happened_in_the_future(offset: timedelta, refused: bool) -> None:
    problems = concern_problems(concern(NOW + offset), now=NOW)
    assert bool(problems) is refused
    if refused:
        (problem,) = problems
        assert problem.code == "time-in-future" and "is in the future" in problem.message
    # the same rule, the same skew, for every time that says when something happened
    assert (time_in_future(NOW + offset, NOW) is not None) is refused


def test_a_time_in_another_zone_is_compared_as_the_same_moment() -> None:
    from zoneinfo import ZoneInfo

    later_in_new_york = (NOW + timedelta(minutes=4)).astimezone(ZoneInfo("America/New_York"))
    assert concern_problems(concern(later_in_new_york), now=NOW) == []


@pytest.mark.parametrize(
    ("born", "refused"),
    [(date(2016, 5, 1), False), (NOW.date(), False), (date(2099, 1, 1), True)],
)
def test_a_child_cannot_be_born_in_the_future(born: date, refused: bool) -> None:
    problems = child_problems(ChildFacts(child_ref="C-1", date_of_birth=born), today=NOW.date())
    assert bool(problems) is refused


@pytest.mark.parametrize(
    ("ref", "valid"),
    [
        ("C-0001", True),
        ("LV-1a2b.c_d", True),
        ("", False),
        ("   ", False),
        ("../../etc/passwd", False),
        (".hidden", False),
        ("Jane Smith", False),
        ("a" * 65, False),
    ],
)
def test_a_child_reference_is_a_pseudonym_not_a_path_or_a_name(ref: str, valid: bool) -> None:
    try:
        ChildFacts(child_ref=ref, date_of_birth=date(2016, 5, 1))
    except ValidationError:
        assert not valid
    else:
        assert valid


@pytest.mark.parametrize(
    ("code", "valid"),
    [("csc", True), ("hs-12ab", True), ("Hill Side", False), ("agency:csc", False), ("", False)],
)
def test_an_agency_code_is_a_tag(code: str, valid: bool) -> None:
    try:
        TypeAdapter(AgencyCode).validate_python(code)
    except ValidationError:
        assert not valid
    else:
        assert valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [(1, True), (MAX_RECORD_ID, True), (0, False), (-1, False), (MAX_RECORD_ID + 1, False),
     (10**23, False)],
)  # fmt: skip
def test_a_case_id_is_within_both_databases_id_columns(value: int, valid: bool) -> None:
    assert is_record_id(value) is valid


# ---------------------------------------------------------------------------------------------
# What each step's answer holds


@pytest.mark.parametrize("step", list(FORMS))
def test_each_step_lists_every_field_of_its_form(step: Step) -> None:
    fields = {f.name: f for f in step_fields(step)}
    form = FORMS[step]
    assert set(fields) == set(form.model_fields)
    for name, info in form.model_fields.items():
        assert fields[name].required is (info.is_required() or name in GIVEN_ELSEWHERE)
        assert fields[name].description == " ".join((info.description or "").split())
    assert fields["answered_by"].given_by == "--as"
    assert fields["one_time_code"].given_by == "--code"
    # the one-line help names every field typed into --input, and only those
    listed = fields_help(step)
    for name, spec in fields.items():
        assert (f"{name}*" in listed or f"{name} (" in listed) is (spec.given_by is None)


def test_fields_say_what_values_they_take() -> None:
    fields = {f.name: f for f in step_fields(Step.ASSESS_CRITERIA)}
    assert fields["evidence_of_harm"].allowed == ("yes", "no", "unsure")
    assert fields["evidence_of_harm"].required
    assert fields["consent"].allowed == ("given", "refused", "not-sought")
    assert fields["phoned_at"].kind == "date and time" and not fields["phoned_at"].required
    assert fields["special_category_data"].allowed == ("true", "false")
    assert "evidence_of_harm* (yes|no|unsure)" in fields_help(Step.ASSESS_CRITERIA)
    parents = {f.name: f for f in step_fields(Step.PARENTS)}
    assert parents["choice"].allowed == ("told", "not-told-risk")


@pytest.mark.parametrize("step", list(FORMS))
def test_each_example_is_an_answer_the_policy_accepts(step: Step) -> None:
    example = example_input(step, now=NOW)
    assert not set(example) & set(GIVEN_ELSEWHERE)  # --as, --code and the wait give those
    required = {f.name for f in step_fields(step) if f.required and f.given_by is None}
    assert required <= set(example)
    raw: dict[str, Any] = example | {"answered_by": "dsl1"}
    if step is Step.MASH_ADVICE:
        raw["context"] = "insufficient-information"
    parse_answer(step, raw)  # raises InvalidAnswer if the example would be refused
    for value in example.values():
        if isinstance(value, str) and value[:2] == "20":
            assert datetime.fromisoformat(value) < NOW  # times are before the clock given


def test_every_step_a_person_answers_has_a_form() -> None:
    assert set(FORMS) == set(HUMAN_STEPS)
