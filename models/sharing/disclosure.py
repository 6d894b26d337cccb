"""A disclosure and its receipt: the Article 9 condition recorded whenever special category
data is shared, and how a recipient's confirmation of receipt comes (through its own link, or
as the DSL records it). Child Protection Plan events and transfers disclose the same way.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from models.kernel.steps import Step
from models.kernel.values import AwareDatetime, Frozen, ShortText, StaffId
from models.kernel.waits import StepSummary

#: The Article 9 condition recorded whenever special category data is shared.
SPECIAL_CATEGORY_CONDITION = "art9-2-g + DPA 2018 Sch 1 Pt 2 para 18 (safeguarding)"


class ReceiptChannel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    SECURE_PORTAL = "secure-portal"
    IN_PERSON = "in-person"
    AGENCY_LINK = "agency-link"  # the agency confirmed through its own link


class ReceiptConfirmation(Frozen):
    """The agency confirmed it received the disclosure."""

    answered_by: StaffId = Field(description="Your staff id (DSL or deputy DSL).")
    confirmed_by_name: ShortText = Field(description="Who at the agency confirmed receipt.")
    confirmed_by_role: ShortText | None = Field(default=None, description="Their role.")
    confirmed_at: AwareDatetime = Field(description="When receipt was confirmed.")
    agency_reference: ShortText | None = Field(default=None, description="The agency's reference.")
    channel: ReceiptChannel = Field(description="How the confirmation came.")


class AgencyReceipt(Frozen):
    """What the agency gives when it confirms receipt through its link."""

    confirmed_by_name: ShortText = Field(description="Your name.")
    confirmed_by_role: ShortText = Field(description="Your role.")
    agency_reference: ShortText = Field(description="Your agency's reference for this referral.")


def receipt_summary(step: Step, slot: str, answer: ReceiptConfirmation) -> StepSummary:
    """What the pipeline keeps of a confirmation of receipt: that it came, and who recorded it."""
    return StepSummary(step=step, slot=slot, actor=answer.answered_by, outcome="confirmed")
