"""Every human step's form, and an answer read through it: parsed in full into its domain
value, or refused with its problems.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from models.forms.access_request import AccessDecisionForm
from models.forms.base import AnswerForm, problems_from_errors, problems_from_validation
from models.forms.notice import NoticeReviewForm
from models.forms.sharing import (
    AssessCriteriaForm,
    MashAdviceForm,
    ParentsForm,
    RatificationForm,
    ReceiptForm,
    SignoffForm,
)
from models.forms.transfer import TransferReviewForm
from models.kernel.problems import InvalidAnswer, Problem
from models.kernel.steps import Step

FORMS: dict[Step, type[AnswerForm]] = {
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
        return problems_from_errors([e for e in errors if e["type"] not in _POLICY_ERRORS])
    return []
