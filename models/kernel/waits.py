"""Waits: where in a case a person's answer is awaited (`Slot`), what the flow keeps of an
answered step (`StepSummary`: codes and ids, no free text), and how the receipt waits of a
case's disclosures are named.
"""

from __future__ import annotations

from models.kernel.problems import Problem
from models.kernel.steps import Step
from models.kernel.values import Frozen


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
    """A place in the case where a person's answer is awaited, and the key to wait under."""

    case_id: int
    step: Step
    slot: str
    key: str
    answered: StepSummary | None = None
    previous_problems: tuple[Problem, ...] = ()
    who: tuple[str, ...] = ()
    first_signer: str | None = None


#: The wait for the receipt of a case's first disclosure; a decision naming several agencies
#: waits for each one's receipt in turn, `confirm-receipt-<n>` for its n-th disclosure.
RECEIPT_SLOT = "confirm-receipt-0"


def receipt_slot(index: int) -> str:
    """The receipt wait of a case's `index`-th disclosure (0 for the first)."""
    return f"confirm-receipt-{index}"


def receipt_index(slot: str) -> int:
    """Which of the case's disclosures (0 for the first) a receipt wait's slot belongs to."""
    prefix = "confirm-receipt-"
    if not slot.startswith(prefix) or not slot[len(prefix) :].isdigit():
        raise ValueError(f"{slot!r} is not a receipt wait")
    return int(slot[len(prefix) :])
