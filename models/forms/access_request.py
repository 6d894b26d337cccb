"""The form of a decision on a request to see child protection records."""

from __future__ import annotations

from typing import Self

from pydantic import model_validator

from models.access_request import AccessDecision, access_decision_problems
from models.forms.base import AnswerForm
from models.kernel.problems import raise_problems


class AccessDecisionForm(AnswerForm, AccessDecision):
    """Decision on a request to see child protection records."""

    @model_validator(mode="after")
    def _policy(self) -> Self:
        raise_problems(access_decision_problems(AccessDecision.model_validate(self.answer())))
        return self


AccessDecisionForm.domain = AccessDecision
