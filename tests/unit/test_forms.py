"""The forms as the dashboard draws them (their JSON schema, which Prefect stores and its UIs
render) and as the domain reads them: the one-time code first and required, every optional field
a plain input that may be left empty, and an empty optional field not given."""

from __future__ import annotations

from typing import Any

import pytest
from prefect._internal.pydantic.v2_schema import create_v2_schema

from models.forms.registry import FORMS, parse_answer
from models.kernel.problems import InvalidAnswer
from models.kernel.steps import Step
from models.sharing.criteria import CriteriaAnswers


def stored_schema(form: Any) -> dict[str, Any]:
    """The schema Prefect stores for a form when a run waits on it."""
    return create_v2_schema(form.__name__, model_base=form)


@pytest.mark.parametrize("step", list(FORMS))
def test_every_form_asks_for_the_code_first_and_draws_plain_fields(step: Step) -> None:
    form = FORMS[step].for_wait(description="d", code_help=f"help for {step.value}")
    schema = stored_schema(form)
    properties = schema["properties"]
    assert list(properties)[0] == "one_time_code"
    code = properties["one_time_code"]
    assert "one_time_code" in schema["required"] and code["minLength"] == 1
    assert code["description"] == f"help for {step.value}" and "default" not in code
    for name, field in properties.items():
        assert "anyOf" not in field and "$ref" not in field, (name, field)
        assert field.get("default", "") is not None, (name, field)  # no null to show
        assert field.get("title"), name
        if name not in schema["required"] and field.get("type") == "string":
            assert "minLength" not in field, (name, field)  # left empty is allowed


def test_an_optional_field_left_empty_is_not_given() -> None:
    raw = {
        "answered_by": "dsl1",
        "evidence_of_harm": "no",
        "reasonable_cause": "no",
        "prevent_harm_or_crime": "no",
        "public_interest": "no",
        "reasons": "nothing to share",
        "consent": "given",
        "consent_override_reason": "",
        "purpose": "   ",
        "agency": "",
        "phoned_at": "",
    }
    answer = parse_answer(Step.ASSESS_CRITERIA, raw)
    assert isinstance(answer, CriteriaAnswers)
    assert (answer.consent_override_reason, answer.purpose, answer.agency) == (None, None, None)
    assert answer.phoned_at is None
    with pytest.raises(InvalidAnswer, match="reasons"):  # a required text stays required
        parse_answer(Step.ASSESS_CRITERIA, raw | {"reasons": ""})


def test_a_form_for_one_wait_keeps_the_help_of_what_it_fills_in() -> None:
    form = FORMS[Step.MASH_ADVICE].for_wait(description="d", code_help="h", context="parents-risk")
    context = stored_schema(form)["properties"]["context"]
    assert context["default"] == "parents-risk"
    assert context["description"] == "Why advice was sought (filled in for you)."
    assert context["enum"] == ["insufficient-information", "parents-risk"]
