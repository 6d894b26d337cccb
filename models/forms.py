"""The forms a person answers when a case waits (Prefect RunInput), one per human step.

Each form is its domain value plus the rule checks that need nothing but the answer itself, so the
dashboard, the CLI and the flow all refuse the same answers. Checks that need the case database
(who may answer, two different people) are in `models.rules.answerer_problems`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from prefect.input import RunInput
from pydantic import BaseModel, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from models import rules
from models.domain import (
    AccessDecision,
    CriteriaAnswers,
    MashAdvice,
    NoticeReview,
    ParentsDecision,
    Problem,
    ReceiptConfirmation,
    Signoff,
    Step,
    TransferReview,
)


class InvalidAnswer(ValueError):
    """An answer the policy does not accept; carries problem codes and messages."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def _raise_problems(problems: list[Problem]) -> None:
    if problems:
        raise InvalidAnswer(problems)


class _Form(RunInput):
    domain: ClassVar[type[BaseModel]]

    one_time_code: str | None = Field(
        default=None,
        max_length=32,
        description="The one-time code sent to you for this step (dashboard and CLI answers).",
    )

    def answer(self) -> dict[str, Any]:
        """The answer itself, without the proof of who gave it."""
        return self.model_dump(exclude={"one_time_code"})

    def to_domain(self) -> Any:
        """The domain value of this answer: what the rules and the case record see."""
        return self.domain.model_validate(self.answer())


class AssessCriteriaForm(_Form, CriteriaAnswers):
    """Criteria assessment by the DSL."""

    @model_validator(mode="after")
    def _policy(self) -> Self:
        _raise_problems(rules.criteria_problems(CriteriaAnswers.model_validate(self.answer())))
        return self


class MashAdviceForm(_Form, MashAdvice):
    """Advice sought from MASH."""


class SignoffForm(_Form, Signoff):
    """Management sign-off."""

    @model_validator(mode="after")
    def _policy(self) -> Self:
        _raise_problems(rules.signoff_problems(Signoff.model_validate(self.answer())))
        return self


class RatificationForm(_Form, Signoff):
    """Ratification of an emergency share by the management team."""

    @model_validator(mode="after")
    def _policy(self) -> Self:
        _raise_problems(rules.signoff_problems(Signoff.model_validate(self.answer())))
        return self


class ParentsForm(_Form, ParentsDecision):
    """Parents or carers told, or MASH advice needed."""

    @model_validator(mode="after")
    def _policy(self) -> Self:
        _raise_problems(rules.parents_problems(ParentsDecision.model_validate(self.answer())))
        return self


class ReceiptForm(_Form, ReceiptConfirmation):
    """Confirmation of receipt by the agency."""


class AccessDecisionForm(_Form, AccessDecision):
    """Decision on a request to see child protection records."""

    @model_validator(mode="after")
    def _policy(self) -> Self:
        _raise_problems(
            rules.access_decision_problems(AccessDecision.model_validate(self.answer()))
        )
        return self


class NoticeReviewForm(_Form, NoticeReview):
    """Who needs to know of a notice, and what."""

    @model_validator(mode="after")
    def _policy(self) -> Self:
        _raise_problems(rules.notice_review_problems(NoticeReview.model_validate(self.answer())))
        return self


class TransferReviewForm(_Form, TransferReview):
    """The DSL's look at a leaver's file: share anything ahead of the move?"""

    @model_validator(mode="after")
    def _policy(self) -> Self:
        _raise_problems(
            rules.transfer_review_problems(TransferReview.model_validate(self.answer()))
        )
        return self


AssessCriteriaForm.domain = CriteriaAnswers
TransferReviewForm.domain = TransferReview
NoticeReviewForm.domain = NoticeReview
AccessDecisionForm.domain = AccessDecision
MashAdviceForm.domain = MashAdvice
SignoffForm.domain = Signoff
RatificationForm.domain = Signoff
ParentsForm.domain = ParentsDecision
ReceiptForm.domain = ReceiptConfirmation

FORMS: dict[Step, type[_Form]] = {
    Step.ASSESS_CRITERIA: AssessCriteriaForm,
    Step.MASH_ADVICE: MashAdviceForm,
    Step.MANAGEMENT_SIGNOFF: SignoffForm,
    Step.RATIFICATION: RatificationForm,
    Step.PARENTS: ParentsForm,
    Step.CONFIRM_RECEIPT: ReceiptForm,
    Step.ACCESS_DECISION: AccessDecisionForm,
    Step.NOTICE_REVIEW: NoticeReviewForm,
    Step.TRANSFER_REVIEW: TransferReviewForm,
}


def problems_from_validation(exc: ValidationError) -> list[Problem]:
    """Turn a pydantic error into problems that name fields, never echo what was typed."""
    return _problems(exc.errors(include_input=False, include_url=False))


def _problems(errors: list[ErrorDetails]) -> list[Problem]:
    problems: list[Problem] = []
    for error in errors:
        ctx_error = (error.get("ctx") or {}).get("error")
        if isinstance(ctx_error, InvalidAnswer):
            problems.extend(ctx_error.problems)
            continue
        field = ".".join(str(part) for part in error["loc"]) or "answer"
        problems.append(
            Problem(code=f"invalid:{field}:{error['type']}", message=f"{field}: {error['msg']}")
        )
    return problems


def parse_answer(step: Step, raw: dict[str, Any]) -> Any:
    """Validate a raw answer in full and return its domain value, or raise InvalidAnswer."""
    form = FORMS[step]
    try:
        return form.model_validate(raw).to_domain()
    except ValidationError as exc:
        raise InvalidAnswer(problems_from_validation(exc)) from None


#: Pydantic error types a form's JSON schema cannot express: they come from the policy's own
#: validators, which the dashboard's form checks only once the answer has been sent.
_POLICY_ERRORS = frozenset({"value_error", "assertion_error"})


def form_problems(step: Step, raw: dict[str, Any]) -> list[Problem]:
    """What makes `raw` no filled-in form of `step` at all: the problems the dashboard's form
    refuses before anything is sent (a field missing, a value not allowed, a field the form
    does not have, the wrong type). The policy's own checks are not among them."""
    try:
        FORMS[step].model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        return _problems([e for e in errors if e["type"] not in _POLICY_ERRORS])
    return []
