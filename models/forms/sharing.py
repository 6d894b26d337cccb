"""A sharing case's forms: the criteria assessment, MASH advice, management sign-off,
ratification of an emergency share, parents or carers, and confirmation of receipt.
"""

from __future__ import annotations

from typing import Self

from pydantic import model_validator

from models.forms.base import AnswerForm
from models.kernel.problems import raise_problems
from models.sharing.criteria import CriteriaAnswers
from models.sharing.decision import criteria_problems
from models.sharing.disclosure import ReceiptConfirmation
from models.sharing.mash import MashAdvice
from models.sharing.parents import ParentsDecision, parents_problems
from models.sharing.signoff import Signoff, signoff_problems


class AssessCriteriaForm(AnswerForm, CriteriaAnswers):
    """Criteria assessment by the DSL."""

    @model_validator(mode="after")
    def _policy(self) -> Self:
        raise_problems(criteria_problems(CriteriaAnswers.model_validate(self.answer())))
        return self


class MashAdviceForm(AnswerForm, MashAdvice):
    """Advice sought from MASH."""


class SignoffForm(AnswerForm, Signoff):
    """Management sign-off."""

    @model_validator(mode="after")
    def _policy(self) -> Self:
        raise_problems(signoff_problems(Signoff.model_validate(self.answer())))
        return self


class RatificationForm(AnswerForm, Signoff):
    """Ratification of an emergency share by the management team."""

    @model_validator(mode="after")
    def _policy(self) -> Self:
        raise_problems(signoff_problems(Signoff.model_validate(self.answer())))
        return self


class ParentsForm(AnswerForm, ParentsDecision):
    """Parents or carers told, or MASH advice needed."""

    @model_validator(mode="after")
    def _policy(self) -> Self:
        raise_problems(parents_problems(ParentsDecision.model_validate(self.answer())))
        return self


class ReceiptForm(AnswerForm, ReceiptConfirmation):
    """Confirmation of receipt by the agency."""


AssessCriteriaForm.domain = CriteriaAnswers
MashAdviceForm.domain = MashAdvice
SignoffForm.domain = Signoff
RatificationForm.domain = Signoff
ParentsForm.domain = ParentsDecision
ReceiptForm.domain = ReceiptConfirmation
