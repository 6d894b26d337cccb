"""What each form asks, for people answering from the command line: its fields, an example
answer to edit, and a line of help.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict

from models.access_request import AccessOutcome, ExemptionAnswer
from models.forms.registry import FORMS
from models.kernel.steps import Step
from models.sharing.criteria import LawfulBasis
from models.transfer import EarlySharing

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
