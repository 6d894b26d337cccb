"""The form of the DSL's review of a need-to-know notice."""

from __future__ import annotations

from typing import Self

from pydantic import model_validator

from models.forms.base import AnswerForm
from models.kernel.problems import raise_problems
from models.notice import NoticeReview, notice_review_problems


class NoticeReviewForm(AnswerForm, NoticeReview):
    """Who needs to know of a notice, and what."""

    @model_validator(mode="after")
    def _policy(self) -> Self:
        raise_problems(notice_review_problems(NoticeReview.model_validate(self.answer())))
        return self


NoticeReviewForm.domain = NoticeReview
