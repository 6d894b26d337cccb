"""The form of the DSL's review of a leaver's file before it goes."""

from __future__ import annotations

from typing import Self

from pydantic import model_validator

from models.forms.base import AnswerForm
from models.kernel.problems import raise_problems
from models.transfer import TransferReview, transfer_review_problems


class TransferReviewForm(AnswerForm, TransferReview):
    """The DSL's look at a leaver's file: share anything ahead of the move?"""

    @model_validator(mode="after")
    def _policy(self) -> Self:
        raise_problems(transfer_review_problems(TransferReview.model_validate(self.answer())))
        return self


TransferReviewForm.domain = TransferReview
