"""The criteria assessment: the DSL's answers (the three critical criteria, the public interest,
consent, what is shared with which agencies and on what lawful basis, an emergency, a phone
referral already made) and the codes of its verdict (outcomes and reasons).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from models.kernel.values import AgencyCode, AwareDatetime, Frozen, ShortText, StaffId, Text

#: How many agencies beyond the first a decision may name (police and children's social care
#: together is the common case; a longer list is a different decision).
MAX_OTHER_AGENCIES = 8


class Answer3(StrEnum):
    YES = "yes"
    NO = "no"
    UNSURE = "unsure"


class Consent(StrEnum):
    GIVEN = "given"
    REFUSED = "refused"
    NOT_SOUGHT = "not-sought"


class LawfulBasis(StrEnum):
    """UK GDPR Article 6 bases that fit safeguarding; consent is deliberately not one of them."""

    PUBLIC_TASK = "art6-1-e-public-task"
    LEGAL_OBLIGATION = "art6-1-c-legal-obligation"


class Outcome(StrEnum):
    """What the criteria assessment decides."""

    SHARE_WITHOUT_CONSENT = "share-without-consent"
    SHARE_WITH_CONSENT = "share-with-consent"
    DO_NOT_SHARE = "do-not-share"
    INSUFFICIENT_INFORMATION = "insufficient-information"


class Reason(StrEnum):
    """Reason codes: why a rule decided what it did. Safe to log and to notify."""

    EVIDENCE_OF_HARM = "criterion-1-evidence-of-significant-harm"
    REASONABLE_CAUSE = "criterion-2-reasonable-cause-to-believe"
    PREVENT_HARM_OR_CRIME = "criterion-3-prevent-significant-harm-or-serious-crime"
    PUBLIC_INTEREST_MET = "public-interest-met"
    PUBLIC_INTEREST_NOT_MET = "public-interest-not-met"
    PUBLIC_INTEREST_UNSURE = "public-interest-unsure"
    CRITERIA_UNSURE = "criteria-unsure"
    NO_CRITERION_MET = "no-criterion-met"
    CONSENT_GIVEN = "consent-given"
    CONSENT_REFUSED_OVERRIDDEN = "consent-refused-overridden"
    CONSENT_NOT_SOUGHT = "consent-not-sought"
    SIGNOFF_DECLINED = "management-declined"
    EMERGENCY_SHARE = "emergency-share-before-signoff"
    RATIFIED = "emergency-share-ratified"
    RATIFICATION_DECLINED = "emergency-share-not-ratified"
    MASH_ADVISED_NOT_TO_SHARE = "mash-advised-not-to-share"
    PARENTS_TOLD = "parents-told"
    PARENTS_NOT_TOLD_RISK = "parents-not-told-risk"


class CriteriaAnswers(Frozen):
    """The DSL's criteria assessment: the three critical criteria, the public interest, consent."""

    answered_by: StaffId = Field(description="Your staff id (DSL or deputy DSL).")
    evidence_of_harm: Answer3 = Field(
        description="Criterion 1: is there evidence that the child is suffering, or at risk of "
        "suffering, significant harm?"
    )
    reasonable_cause: Answer3 = Field(
        description="Criterion 2: is there reasonable cause to believe the child may be suffering, "
        "or at risk of suffering, significant harm?"
    )
    prevent_harm_or_crime: Answer3 = Field(
        description="Criterion 3: would sharing prevent significant harm to children, young people "
        "or adults, including the prevention, detection and prosecution of serious crime?"
    )
    public_interest: Answer3 = Field(
        description="Public interest: is sharing needed to prevent a crime or harm, or could not "
        "sharing be worse than sharing?"
    )
    reasons: Text = Field(description="Your reasons for these answers (kept in the case record).")
    consent: Consent = Field(description="Consent of the parent/carer or the child to share.")
    consent_not_sought_reason: Text | None = Field(
        default=None, description="If consent was not sought: why not."
    )
    consent_override_reason: Text | None = Field(
        default=None, description="If consent was refused and you will share: why it is overridden."
    )
    information_to_share: Text | None = Field(
        default=None,
        description="What will be shared: only what is necessary, proportionate, relevant, "
        "adequate and accurate. Leave empty if not sharing.",
    )
    agency: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9-]{0,31}$",
        description="Agency code to share with (csc, mash, police, lado, ...).",
    )
    other_agencies: list[AgencyCode] = Field(
        default_factory=list,
        max_length=MAX_OTHER_AGENCIES,
        description="Other agencies told at the same time (a child at immediate risk is often "
        "reported to the police and children's social care at once): each gets its own "
        "disclosure, link and receipt, and the case waits for every one.",
    )
    purpose: Text | None = Field(default=None, description="Why this agency needs it.")
    lawful_basis: LawfulBasis | None = Field(
        default=None, description="UK GDPR Article 6 basis for sharing."
    )
    special_category_data: bool = Field(
        default=False,
        description="Tick if health, ethnicity, sexual life or other special category data is "
        "shared (Art 9(2)(g) with DPA 2018 Sch 1 Pt 2 para 18 is then recorded).",
    )
    emergency_reason: Text | None = Field(
        default=None,
        description="Only in an emergency: why waiting for management sign-off would leave the "
        "child at risk. Given, the information is shared at once and the management team is "
        "asked to ratify the decision within 24 hours.",
    )
    phoned_at: AwareDatetime | None = Field(
        default=None,
        description="If you have already referred this to the agency by phone: when (with UTC "
        "offset). The written confirmation, which is the agency's notification from this case, "
        "is then due within 24 hours of the call, and every step before it is chased to meet "
        "that.",
    )
    phone_reference: ShortText | None = Field(
        default=None, description="The agency's reference for the phone referral, if it gave one."
    )

    @property
    def agencies(self) -> tuple[str, ...]:
        """Every agency the decision names, the first one first (none when no agency is)."""
        return (self.agency, *self.other_agencies) if self.agency else tuple(self.other_agencies)


class Assessment(Frozen):
    """The rule's verdict on a criteria assessment."""

    outcome: Outcome
    reasons: tuple[Reason, ...]

    @property
    def shares(self) -> bool:
        return self.outcome in (Outcome.SHARE_WITH_CONSENT, Outcome.SHARE_WITHOUT_CONSENT)

    @property
    def needs_signoff(self) -> bool:
        """Sharing without consent is never decided by one person (the policy)."""
        return self.outcome is Outcome.SHARE_WITHOUT_CONSENT
