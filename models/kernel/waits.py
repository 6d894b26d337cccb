"""Waits: where in a case a person's answer is awaited (`Wait`, and the one spelling of its slot
and of the keys its answers are recorded under), a wait as opened for a case (`Slot`), and what
the flow keeps of an answered step (`StepSummary`: codes and ids, no free text).
"""

from __future__ import annotations

import re

from pydantic import Field, ValidationError, model_validator

from models.kernel.problems import Problem
from models.kernel.steps import HUMAN_STEPS, Step
from models.kernel.values import Frozen

#: A MASH advice wait's context, as its slot spells it: lower-case words joined by hyphens.
_CONTEXT = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class Wait(Frozen):
    """Where in a case a person's answer is awaited: its step; which asking of the step it is
    (`round`: the criteria are assessed again after each round of MASH advice); why MASH advice
    is sought (`context`); and, for a receipt, which of the case's disclosures (0 for the first)
    it is the receipt of (`disclosure`: a decision naming several agencies waits for each one's
    receipt in turn).

    Its `slot` is what the case database and Prefect know it by: `<step>-<round>`,
    `mash-advice-<context>-<round>`, `confirm-receipt-<disclosure>`; each answer to it is
    recorded, and the run paused, under `key(attempt)`: `<slot>-a<attempt>`. Stored slots and
    keys are read back with `parse` and `parse_key`; nothing outside this module spells or
    reads them.
    """

    step: Step
    round: int = Field(default=0, ge=0)
    context: str | None = None
    disclosure: int | None = Field(default=None, ge=0)

    def __init__(
        self,
        step: Step,
        round: int = 0,
        context: str | None = None,
        *,
        disclosure: int | None = None,
    ) -> None:
        fields: dict[str, object] = {
            "step": step,
            "round": round,
            "context": context,
            "disclosure": disclosure,
        }
        super().__init__(**fields)  # so that a flow names it plainly: Wait(Step.PARENTS)

    @classmethod
    def receipt(cls, disclosure: int) -> Wait:
        """The receipt wait of a case's `disclosure`-th disclosure (0 for the first)."""
        return cls(Step.CONFIRM_RECEIPT, disclosure=disclosure)

    @model_validator(mode="after")
    def _one_spelling(self) -> Wait:
        if self.step not in HUMAN_STEPS:
            raise ValueError(f"no one answers {self.step.value}: it is not a wait")
        mash = self.step is Step.MASH_ADVICE
        if mash != (self.context is not None):
            raise ValueError("a MASH advice wait, and it alone, has a context")
        if self.context is not None and not _CONTEXT.match(self.context):
            raise ValueError(f"{self.context!r} is not a context a slot can spell")
        receipt = self.step is Step.CONFIRM_RECEIPT
        if receipt != (self.disclosure is not None):
            raise ValueError("a receipt wait, and it alone, belongs to a disclosure")
        if receipt and self.round:
            raise ValueError("a receipt wait is asked in one round")
        return self

    @property
    def slot(self) -> str:
        """The string the case database (`case_steps.slot`, `cases.waiting_slot`) knows it by."""
        if self.disclosure is not None:
            return f"{self.step.value}-{self.disclosure}"
        if self.context is not None:
            return f"{self.step.value}-{self.context}-{self.round}"
        return f"{self.step.value}-{self.round}"

    @classmethod
    def parse(cls, slot: str) -> Wait:
        """The wait a stored slot names; ValueError for a string that names none."""
        step = next((s for s in _BY_LENGTH if slot.startswith(f"{s.value}-")), None)
        if step is None:
            raise ValueError(f"{slot!r} names no wait")
        context, _, number = slot[len(step.value) + 1 :].rpartition("-")
        if not (number.isascii() and number.isdecimal()):
            raise ValueError(f"{slot!r} does not end in a number")
        try:
            if step is Step.CONFIRM_RECEIPT and not context:
                wait = cls.receipt(int(number))
            else:
                wait = cls(step, int(number), context or None)
        except ValidationError as exc:
            reasons = "; ".join(str(error["msg"]) for error in exc.errors())
            raise ValueError(f"{slot!r} names no wait: {reasons}") from None
        if wait.slot != slot:  # a leading zero, or a context where the step has none
            raise ValueError(f"{slot!r} is not how that wait is spelled: {wait.slot!r}")
        return wait

    def key(self, attempt: int) -> str:
        """The key the `attempt`-th answer to the wait (0 for the first) is recorded under, and
        the run paused under while it is awaited."""
        if attempt < 0:
            raise ValueError("attempts are counted from 0")
        return f"{self.slot}-a{attempt}"

    @classmethod
    def parse_key(cls, key: str) -> tuple[Wait, int]:
        """The wait a stored key belongs to, and which attempt at it; ValueError for a string
        that is no wait's key."""
        slot, _, attempt = key.rpartition("-a")
        if not (slot and attempt.isascii() and attempt.isdecimal()):
            raise ValueError(f"{key!r} is no wait's key")
        wait = cls.parse(slot)
        if wait.key(int(attempt)) != key:
            raise ValueError(f"{key!r} is not how that key is spelled: {wait.key(int(attempt))!r}")
        return wait, int(attempt)

    def ahead_key(self, recipient: str) -> str:
        """The key of a recipient's receipt recorded before the case waits for it (the wait
        then finds its slot answered)."""
        return f"{self.slot}-{recipient}"

    def beside(self, recipient: str) -> str:
        """The slot (and key) of a recipient's receipt recorded beside the wait's own answer,
        when another recipient's, or the DSL's record of it, answered the wait first."""
        return f"{self.slot}:{recipient}"


#: The waiting steps, longest first: a slot's step is the longest one it begins with.
_BY_LENGTH = sorted(HUMAN_STEPS, key=lambda step: len(step.value), reverse=True)


def unwaited(step: Step) -> tuple[str, str]:
    """The slot and key of a step no one waits for (one the pipeline takes itself, or recorded
    with the case), written once: its slot is the step's name, its key a first answer's."""
    return step.value, f"{step.value}-a0"


class StepSummary(Frozen):
    """What the flow needs to know of an answered step: codes and ids, no free text.

    This is what tasks return and Prefect persists; the answer itself stays in the case database.
    """

    step: Step
    slot: str
    actor: str | None
    outcome: str
    reasons: tuple[str, ...] = ()
    agency: str | None = None


class Slot(Frozen):
    """A wait as opened for a case: the key it waits under, its answer if it has one, what was
    wrong with the last one refused, and who may answer."""

    case_id: int
    wait: Wait
    key: str
    answered: StepSummary | None = None
    previous_problems: tuple[Problem, ...] = ()
    who: tuple[str, ...] = ()
    first_signer: str | None = None
