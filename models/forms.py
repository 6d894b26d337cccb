"""The forms a person answers when a case waits (Prefect RunInput), one per human step.

Each form is its domain value plus the rule checks that need nothing but the answer itself, so the
dashboard, the CLI and the flow all refuse the same answers. Checks that need the case database
(who may answer, two different people) are in `models.rules.answerer_problems`.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import copy
from datetime import datetime, timedelta
from enum import StrEnum
from types import UnionType
from typing import Annotated, Any, ClassVar, Self, Union, get_args, get_origin

from prefect.input import RunInput
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, ErrorDetails

from models.access_request import (
    AccessDecision,
    AccessOutcome,
    ExemptionAnswer,
    access_decision_problems,
)
from models.kernel.problems import Problem
from models.kernel.steps import Step
from models.notice import NoticeReview, notice_review_problems
from models.sharing.criteria import CriteriaAnswers, LawfulBasis
from models.sharing.decision import criteria_problems
from models.sharing.disclosure import ReceiptConfirmation
from models.sharing.mash import MashAdvice
from models.sharing.parents import ParentsDecision, parents_problems
from models.sharing.signoff import Signoff, signoff_problems
from models.transfer import EarlySharing, TransferReview, transfer_review_problems


class InvalidAnswer(ValueError):
    """An answer the policy does not accept; carries problem codes and messages."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def _raise_problems(problems: list[Problem]) -> None:
    if problems:
        raise InvalidAnswer(problems)


class _Form(RunInput):
    """One human step's form. In the dashboard its first field is the one-time code, which the
    dashboard requires (and Prefect's server refuses a resume without), described with the
    essentials of the wait (`code_help`); optional fields are plain inputs, left out when left
    empty. The form itself parses without a code, as the CLI and the links carry their proof
    beside the answer, and an optional field sent empty is not given."""

    domain: ClassVar[type[BaseModel]]
    #: The help under the code field for one wait (see `for_wait`).
    code_help: ClassVar[str | None] = None

    one_time_code: str | None = Field(
        default=None,
        max_length=32,
        description="The one-time code sent to you for this step (dashboard and CLI answers).",
    )

    @model_validator(mode="before")
    @classmethod
    def _empty_is_not_given(cls, data: Any) -> Any:
        """An optional field sent empty (a box cleared in the dashboard) is not given."""
        if not isinstance(data, dict):
            return data
        optional = {name for name, field in cls.model_fields.items() if field.default is None}
        return {
            name: value
            for name, value in data.items()
            if not (name in optional and isinstance(value, str) and not value.strip())
        }

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return dashboard_schema(
            handler.resolve_ref_schema(handler(core_schema)),
            resolve=handler.resolve_ref_schema,
            code_help=cls.code_help,
        )

    @classmethod
    def for_wait(cls, *, description: str, code_help: str, **prefill: Any) -> type[Self]:
        """This form for one wait: `description` above it, `code_help` under its code field,
        and `prefill` filled in for the person (each field keeping its help text)."""
        fields: dict[str, Any] = {}
        for name, value in prefill.items():
            field = copy(cls.model_fields[name])
            field.default = value
            fields[name] = (field.annotation, field)
        form = create_model(cls.__name__, __base__=cls, **fields)
        form._description = description  # what Prefect stores as the form's description
        form.code_help = code_help
        return form

    def answer(self) -> dict[str, Any]:
        """The answer itself, without the proof of who gave it."""
        return self.model_dump(exclude={"one_time_code"})

    def to_domain(self) -> Any:
        """The domain value of this answer: what the rules and the case record see."""
        return self.domain.model_validate(self.answer())


def dashboard_schema(
    schema: JsonSchemaValue,
    *,
    resolve: Callable[[JsonSchemaValue], JsonSchemaValue],
    code_help: str | None = None,
) -> JsonSchemaValue:
    """A form's JSON schema as the dashboard should draw it (Prefect's two UIs render
    `X | None` as a choice of types, "Property is type None", and name a field holding an enum
    after the enum): each optional field is its plain type with no default (an empty text may be
    sent, and is not given), each enum is written out under its field's name, and the one-time
    code comes first, required, with the wait's essentials as its help."""
    properties: dict[str, Any] = schema["properties"]
    for name, field in properties.items():
        choices = field.get("anyOf")
        if choices and len(choices) == 2 and {"type": "null"} in choices:
            (kept,) = [choice for choice in choices if choice != {"type": "null"}]
            del field["anyOf"]
            field.pop("default", None)
            field.update(kept)
            if field.get("type") == "string":
                field.pop("minLength", None)
        if "$ref" in field:
            target = resolve({"$ref": field["$ref"]})
            if "enum" in target:
                del field["$ref"]
                field |= {"type": target.get("type", "string"), "enum": list(target["enum"])}
        field.setdefault("title", name.replace("_", " ").title())
    code = properties.pop("one_time_code")
    code.pop("default", None)
    code["minLength"] = 1
    code["title"] = "One-time code"
    if code_help:
        code["description"] = code_help
    schema["properties"] = {"one_time_code": code, **properties}
    schema["required"] = [
        "one_time_code",
        *(name for name in schema.get("required", ()) if name != "one_time_code"),
    ]
    return schema


class AssessCriteriaForm(_Form, CriteriaAnswers):
    """Criteria assessment by the DSL."""

    @model_validator(mode="after")
    def _policy(self) -> Self:
        _raise_problems(criteria_problems(CriteriaAnswers.model_validate(self.answer())))
        return self


class MashAdviceForm(_Form, MashAdvice):
    """Advice sought from MASH."""


class SignoffForm(_Form, Signoff):
    """Management sign-off."""

    @model_validator(mode="after")
    def _policy(self) -> Self:
        _raise_problems(signoff_problems(Signoff.model_validate(self.answer())))
        return self


class RatificationForm(_Form, Signoff):
    """Ratification of an emergency share by the management team."""

    @model_validator(mode="after")
    def _policy(self) -> Self:
        _raise_problems(signoff_problems(Signoff.model_validate(self.answer())))
        return self


class ParentsForm(_Form, ParentsDecision):
    """Parents or carers told, or MASH advice needed."""

    @model_validator(mode="after")
    def _policy(self) -> Self:
        _raise_problems(parents_problems(ParentsDecision.model_validate(self.answer())))
        return self


class ReceiptForm(_Form, ReceiptConfirmation):
    """Confirmation of receipt by the agency."""


class AccessDecisionForm(_Form, AccessDecision):
    """Decision on a request to see child protection records."""

    @model_validator(mode="after")
    def _policy(self) -> Self:
        _raise_problems(
            access_decision_problems(AccessDecision.model_validate(self.answer()))
        )
        return self


class NoticeReviewForm(_Form, NoticeReview):
    """Who needs to know of a notice, and what."""

    @model_validator(mode="after")
    def _policy(self) -> Self:
        _raise_problems(notice_review_problems(NoticeReview.model_validate(self.answer())))
        return self


class TransferReviewForm(_Form, TransferReview):
    """The DSL's look at a leaver's file: share anything ahead of the move?"""

    @model_validator(mode="after")
    def _policy(self) -> Self:
        _raise_problems(
            transfer_review_problems(TransferReview.model_validate(self.answer()))
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


# ---------------------------------------------------------------------------------------------
# What each form asks, for people answering from the command line.

#: Fields a person does not type into `--input`: who answers (`--as`), the proof (`--code`), and
#: why MASH advice was sought (filled in from the wait).
GIVEN_ELSEWHERE: dict[str, str] = {
    "answered_by": "--as",
    "one_time_code": "--code",
    "context": "filled in from the wait",
}


class FieldSpec(BaseModel):
    """One field of a step's answer: its name, what it takes, whether it must be given, and
    what it means (the form's own help text)."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: str  # "text", "one of", "true or false", "date and time", "staff ids", "staff id"
    allowed: tuple[str, ...] = ()
    required: bool
    description: str
    given_by: str | None = None  # an option or the wait, when the person does not type it

    def summary(self) -> str:
        """`name* (a|b|c)`: the star marks a field that must be given."""
        what = "|".join(self.allowed) if self.allowed else self.kind
        return f"{self.name}{'*' if self.required else ''} ({what})"


def _plain(annotation: Any) -> Any:
    """The type under Optional[...] and Annotated[...]."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType):
            options = [a for a in get_args(annotation) if a is not type(None)]
            annotation = options[0] if len(options) == 1 else str
        else:
            return annotation


def _kind(name: str, annotation: Any) -> tuple[str, tuple[str, ...]]:
    plain = _plain(annotation)
    if isinstance(plain, type) and issubclass(plain, StrEnum):
        return "one of", tuple(member.value for member in plain)
    if plain is bool:
        return "true or false", ("true", "false")
    if plain is datetime:
        return "date and time", ()
    if get_origin(plain) is list:
        return ("agency codes" if name.endswith("agencies") else "staff ids"), ()
    if name.endswith("_by"):
        return "staff id", ()
    if name == "agency":
        return "agency code", ()
    return "text", ()


def step_fields(step: Step) -> tuple[FieldSpec, ...]:
    """Every field of the answer to `step`, in the form's order."""
    specs = []
    for name, info in FORMS[step].model_fields.items():
        kind, allowed = _kind(name, info.annotation)
        specs.append(
            FieldSpec(
                name=name,
                kind=kind,
                allowed=allowed,
                required=info.is_required() or name in GIVEN_ELSEWHERE,
                description=" ".join((info.description or "").split()),
                given_by=GIVEN_ELSEWHERE.get(name),
            )
        )
    return tuple(specs)


#: What an example answer chooses where the first allowed value would leave it incomplete
#: (a field the policy then asks for is added too): a common, complete answer to edit.
_EXAMPLE_CHOICES: dict[Step, dict[str, Any]] = {
    Step.ASSESS_CRITERIA: {
        "information_to_share": "...",
        "agency": "csc",
        "purpose": "...",
        "lawful_basis": LawfulBasis.PUBLIC_TASK.value,
    },
    Step.MASH_ADVICE: {"proceed": True},
    Step.PARENTS: {"told_at": None, "told_by": "STAFF_ID", "response": "..."},
    Step.ACCESS_DECISION: {
        "serious_harm": ExemptionAnswer.DOES_NOT_APPLY.value,
        "child_abuse_data": ExemptionAnswer.DOES_NOT_APPLY.value,
        "third_parties": ExemptionAnswer.DOES_NOT_APPLY.value,
        "outcome": AccessOutcome.RELEASE_IN_FULL.value,
        "released": "...",
    },
    Step.TRANSFER_REVIEW: {"early_sharing": EarlySharing.NOT_NEEDED.value},
}


def example_input(step: Step, *, now: datetime) -> dict[str, Any]:
    """An answer to `step` as `--input` takes it: every field that must be typed, with an
    allowed value (times an hour before `now`), ready to edit."""
    when = (now - timedelta(hours=1)).replace(microsecond=0).isoformat()
    choices = _EXAMPLE_CHOICES.get(step, {})
    example: dict[str, Any] = {}
    for spec in step_fields(step):
        if spec.given_by is not None or not (spec.required or spec.name in choices):
            continue
        chosen = choices.get(spec.name)
        if chosen is not None:
            example[spec.name] = chosen
        elif spec.kind == "date and time":
            example[spec.name] = when
        elif spec.kind == "true or false":
            example[spec.name] = False
        elif spec.allowed:
            example[spec.name] = spec.allowed[0]
        elif spec.kind in ("staff ids", "agency codes"):
            example[spec.name] = []
        else:
            example[spec.name] = "..."
    return example


def fields_help(step: Step) -> str:
    """One line naming the fields of `step`'s answer: `name*` must be given, with the values
    allowed in brackets."""
    return ", ".join(s.summary() for s in step_fields(step) if s.given_by is None)
