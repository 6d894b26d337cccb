"""What was shared with whom (a disclosure per agency), and each recipient's receipt of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.tables.base import NEVER_REUSED, Base, Sealed, UTCDateTime, utcnow


class Disclosure(Base):
    """What was shared, with whom, why and on what lawful basis: written once per agency a
    decision names (most decisions name one), in the order the decision names them."""

    __tablename__ = "disclosures"
    __table_args__ = (
        UniqueConstraint("case_id", "agency_code", name="uq_disclosures_case_agency"),
        NEVER_REUSED,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    information: Mapped[str] = mapped_column(Sealed("disclosures.information"))
    purpose: Mapped[str] = mapped_column(Sealed("disclosures.purpose"))
    lawful_basis: Mapped[str] = mapped_column(String(64))
    special_category_condition: Mapped[str | None] = mapped_column(String(128), nullable=True)
    consent: Mapped[str] = mapped_column(String(16))
    # a staff id, or the rule that decided when the policy leaves no choice
    # (`policy:cp-plan-event`)
    decided_by: Mapped[str] = mapped_column(String(64))
    cosigned_by: Mapped[str | None] = mapped_column(ForeignKey("staff.staff_id"), nullable=True)
    # who recorded what the policy decided on (a plan event's recorder); none when a person
    # decided
    recorded_by: Mapped[str | None] = mapped_column(ForeignKey("staff.staff_id"), nullable=True)
    disclosed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


#: The recipient of a receipt from the agency itself (its duty inbox, or the DSL's record of
#: what the agency said by phone or email).
AGENCY_RECIPIENT = "agency"


class Receipt(Base):
    """Confirmation that a recipient received a disclosure: the agency, and for a Child
    Protection Plan event also the pupil's social worker, each once. The first one answers the
    case's receipt wait; a later one is recorded beside it."""

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    disclosure_id: Mapped[int] = mapped_column(ForeignKey("disclosures.id"))
    recipient: Mapped[str] = mapped_column(String(32), default=AGENCY_RECIPIENT)
    confirmed_by_name: Mapped[str] = mapped_column(Sealed("receipts.confirmed_by_name"))
    confirmed_by_role: Mapped[str | None] = mapped_column(
        Sealed("receipts.confirmed_by_role"), nullable=True
    )
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    agency_reference: Mapped[str | None] = mapped_column(
        Sealed("receipts.agency_reference"), nullable=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    # the member of staff who recorded it; none when the agency confirmed through its link
    recorded_by: Mapped[str | None] = mapped_column(ForeignKey("staff.staff_id"), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("disclosure_id", "recipient", name="uq_receipts_disclosure_recipient"),
        NEVER_REUSED,
    )
