"""What every answer form is (`AnswerForm`): its one-time code first, optional fields left out
when sent empty, drawn as the dashboard should draw it, and turned into its domain value; an
answer the policy refuses (`InvalidAnswer`, models/kernel/problems.py) and the problems a refused
answer carries.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import copy
from typing import Any, ClassVar, Self

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

from models.kernel.problems import InvalidAnswer, Problem


class AnswerForm(BaseModel):
    """One human step's form. In the dashboard its first field is the one-time code, which the
    dashboard requires (and Prefect's server refuses a resume without), described with the
    essentials of the wait (`code_help`); optional fields are plain inputs, left out when left
    empty. The form itself parses without a code, as the CLI and the links carry their proof
    beside the answer, and an optional field sent empty is not given; a field it does not have
    is refused. A plain pydantic model: the flow makes it Prefect's run input where a run
    waits on it (flows/waiting.py), so reading and checking answers needs no Prefect."""

    model_config = ConfigDict(extra="forbid")

    domain: ClassVar[type[BaseModel]]
    #: The help under the code field for one wait (see `for_wait`).
    code_help: ClassVar[str | None] = None
    #: What the dashboard shows above the form for one wait (see `for_wait`).
    wait_description: ClassVar[str | None] = None

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
        form.wait_description = description
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


def problems_from_validation(exc: ValidationError) -> list[Problem]:
    """Turn a pydantic error into problems that name fields, never echo what was typed."""
    return problems_from_errors(exc.errors(include_input=False, include_url=False))


def problems_from_errors(errors: list[ErrorDetails]) -> list[Problem]:
    """Pydantic's errors (read without their input) as problems: the policy's own as they are,
    the others naming their field and what is wrong with it."""
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
