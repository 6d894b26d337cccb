"""Domain values of a sharing case: enums with stable codes and frozen answers.

These are what the rules reason about and what the case database stores for each step. They never
depend on Prefect, SQLAlchemy or the clock.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints


class Frozen(BaseModel):
    """A value object: immutable, and refusing fields it does not know."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("give a time with its UTC offset, for example 2026-11-25T09:30:00+00:00")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
StaffId = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
]
ChildRef = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
]
#: What a child's reference may be, said to whoever typed one that is not.
CHILD_REF_RULE = (
    "a child's reference is a pseudonym of 1 to 64 letters, digits, '.', '_' or '-', starting "
    "with a letter or a digit"
)
#: An agency's code: also its Apprise tag (agency:<code>) and what an assessment names.
AgencyCode = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
]
AGENCY_CODE_RULE = (
    "an agency's code is 1 to 32 lower-case letters, digits or '-', starting with a letter or "
    "a digit"
)
#: How many agencies beyond the first a decision may name (police and children's social care
#: together is the common case; a longer list is a different decision).
MAX_OTHER_AGENCIES = 8

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


#: The largest id a case (or any record whose id leaves the database) can have: the narrower of
#: the two databases' id columns (PostgreSQL's `integer`; SQLite's integers are 64-bit). A larger
#: number names no record: it is "no such case", never a database error.
MAX_RECORD_ID = 2**31 - 1


def is_record_id(value: int) -> bool:
    """Whether `value` can be the id of a record in the case database."""
    return 1 <= value <= MAX_RECORD_ID


class Role(StrEnum):
    STAFF = "staff"
    DSL = "dsl"
    DEPUTY_DSL = "deputy-dsl"
    SLT = "slt"
    ADMIN = "admin"  # manages accounts and the system; reads no case content, answers nothing


#: Who may answer each kind of step: the DSL and deputies decide, the management team co-signs.
DSL_ROLES = frozenset({Role.DSL, Role.DEPUTY_DSL})
MANAGEMENT_ROLES = frozenset({Role.SLT})


class AgencyKind(StrEnum):
    CSC = "csc"
    MASH = "mash"
    POLICE = "police"
    LADO = "lado"
    SCHOOL = "school"
    OTHER = "other"


class Category(StrEnum):
    """Category of concern: a code safe to put in a notification."""

    PHYSICAL = "physical"
    EMOTIONAL = "emotional"
    SEXUAL = "sexual"
    NEGLECT = "neglect"
    DOMESTIC_ABUSE = "domestic-abuse"
    ONLINE = "online"
    CHILD_ON_CHILD = "child-on-child"
    EXPLOITATION = "exploitation"
    RADICALISATION = "radicalisation"
    SELF_HARM = "self-harm"
    FGM = "fgm"
    MISSING = "missing"
    OTHER = "other"


class CaseKind(StrEnum):
    """What a case carries: a sharing decision, or a Child Protection Plan event to pass on."""

    SHARING = "sharing"
    PLAN_EVENT = "plan-event"
    ACCESS_REQUEST = "access-request"  # a pupil or parent asks to see child protection records
    NOTICE = "notice"  # something staff must know, told only to those who need to
    TRANSFER = "transfer"  # a leaver's child protection file goes to their next school


class PlanEventKind(StrEnum):
    """What happened to a pupil on a Child Protection Plan that the policy says children's
    social care must hear of at once. A code safe to put in a notification."""

    EXCLUSION_FIXED_TERM = "exclusion-fixed-term"  # a suspension, since 2022
    EXCLUSION_PERMANENT = "exclusion-permanent"
    UNEXPLAINED_ABSENCE = "unexplained-absence"
    CHANGE_IN_CIRCUMSTANCES = "change-in-circumstances"


class Step(StrEnum):
    """The stages of a sharing case, in policy order (MASH advice may come in twice), and the
    one a Child Protection Plan event starts with."""

    RECORD_CONCERN = "record-concern"
    RECORD_EVENT = "record-event"
    RECORD_REQUEST = "record-request"
    ACCESS_DECISION = "access-decision"  # what of the records is released, and why
    RECORD_NOTICE = "record-notice"
    NOTICE_REVIEW = "notice-review"  # the DSL decides who needs to know, and what
    STAFF_TOLD = "staff-told"
    RECORD_LEAVER = "record-leaver"
    TRANSFER_REVIEW = "transfer-review"  # the DSL considers sharing before the move
    ASSESS_CRITERIA = "assess-criteria"
    MASH_ADVICE = "mash-advice"
    MANAGEMENT_SIGNOFF = "management-signoff"
    EMERGENCY_SHARE = "emergency-share"  # shared at once; the management team ratifies after
    RATIFICATION = "ratification"
    PARENTS = "parents"
    NOTIFY_AGENCY = "notify-agency"
    CONFIRM_RECEIPT = "confirm-receipt"
    CLOSED = "closed"
    NOTE = "note"  # a note the DSL adds to the chronology: what followed, outside the steps


#: Steps a person answers, and the roles that may answer them.
HUMAN_STEPS: dict[Step, frozenset[Role]] = {
    Step.ASSESS_CRITERIA: DSL_ROLES,
    Step.MASH_ADVICE: DSL_ROLES,
    Step.MANAGEMENT_SIGNOFF: MANAGEMENT_ROLES,
    Step.RATIFICATION: MANAGEMENT_ROLES,
    Step.PARENTS: DSL_ROLES,
    Step.CONFIRM_RECEIPT: DSL_ROLES,
    # the policy: a request to see child protection records goes to the DSL or the SLT
    Step.ACCESS_DECISION: DSL_ROLES | MANAGEMENT_ROLES,
    # the policy: "SLT or Designated Person will only disclose any information about a pupil to
    # other members of staff on a need to know basis"
    Step.NOTICE_REVIEW: DSL_ROLES,
    Step.TRANSFER_REVIEW: DSL_ROLES,
}


class CaseStatus(StrEnum):
    OPEN = "open"
    SHARED = "shared"
    NOT_SHARED = "not-shared"
    DECIDED = "decided"  # an access request, answered
    TOLD = "told"  # a need-to-know notice, told to those who need to know


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


#: The Article 9 condition recorded whenever special category data is shared.
SPECIAL_CATEGORY_CONDITION = "art9-2-g + DPA 2018 Sch 1 Pt 2 para 18 (safeguarding)"


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


class MashContext(StrEnum):
    """Why MASH advice is sought: to decide at all, or because telling parents could add risk."""

    INSUFFICIENT_INFORMATION = "insufficient-information"
    PARENTS_RISK = "parents-risk"


class ParentsChoice(StrEnum):
    TOLD = "told"
    NOT_TOLD_RISK = "not-told-risk"


class SignoffDecision(StrEnum):
    APPROVE = "approve"
    DECLINE = "decline"


class Requester(StrEnum):
    """Who asks to see a child's child protection records."""

    PUPIL = "pupil"
    PARENT = "parent"  # a parent or carer with parental responsibility


class Exemption(StrEnum):
    """The exemptions the DSL or SLT must consider before anything of a child protection file is
    released to a pupil or parent (DPA 2018 Schedules 2 and 3)."""

    SERIOUS_HARM = "serious-harm"  # Sch 3: likely to cause serious harm to anyone's health
    CHILD_ABUSE_DATA = "child-abuse-data"  # Sch 3 Pt 5: to a parent, not in the child's interests
    THIRD_PARTIES = "third-parties"  # Sch 2 Pt 3 para 16: information about other people


class ExemptionAnswer(StrEnum):
    APPLIES = "applies"
    DOES_NOT_APPLY = "does-not-apply"


class AccessOutcome(StrEnum):
    RELEASE_IN_FULL = "release-in-full"
    RELEASE_REDACTED = "release-redacted"
    WITHHOLD = "withhold"


class NoticeSource(StrEnum):
    """Where a need-to-know notice came from."""

    POLICE_DOMESTIC_ABUSE = "police-domestic-abuse"  # Operation Encompass notifications
    OTHER_AGENCY = "other-agency"
    WITHIN_SCHOOL = "within-school"


class MoveKind(StrEnum):
    """When a leaver moves: during the school year, or at the start of a new term."""

    IN_YEAR = "in-year"
    NEW_TERM = "new-term"


class EarlySharing(StrEnum):
    """What the DSL decided about sharing with the new school before the child arrives."""

    SHARED_IN_ADVANCE = "shared-in-advance"
    NOT_NEEDED = "not-needed"


class ReceiptChannel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    SECURE_PORTAL = "secure-portal"
    IN_PERSON = "in-person"
    AGENCY_LINK = "agency-link"  # the agency confirmed through its own link


# ---------------------------------------------------------------------------------------------
# What people record: the concern and the answer to each human step.


class ConcernFacts(Frozen):
    """What a member of staff saw or heard, in their words, as the policy asks it to be kept."""

    child_ref: ChildRef
    raised_by: StaffId
    category: Category
    occurred_at: AwareDatetime
    place: Text | None = None
    what_happened: Text
    child_words: Text | None = None
    action_taken: Text | None = None
    who_told: Text | None = None  # who has been told so far (names and roles)
    # an allegation against a member of staff: they never see the case or are asked to act on it
    allegation_against: StaffId | None = None


class CaseNote(Frozen):
    """A note added to a case's chronology by the DSL or a deputy; a correction is a new note."""

    text: Text


class AccessRequestFacts(Frozen):
    """A pupil's or parent's request to see child protection records, as the member of staff who
    received it records it (they never decide it)."""

    child_ref: ChildRef
    requester: Requester
    received_by: StaffId
    received_at: AwareDatetime
    request: Text  # what is asked for, and by whom, in the words it came in


class AccessDecision(Frozen):
    """The DSL's or a senior leader's decision on a request to see child protection records:
    each exemption considered, what is released or redacted, and why."""

    answered_by: StaffId = Field(
        description="Your staff id (DSL, deputy DSL or senior leader; not whoever received it)."
    )
    serious_harm: ExemptionAnswer = Field(
        description="Would releasing it be likely to cause serious harm to the physical or mental "
        "health of the child or anyone else? (DPA 2018 Sch 3)"
    )
    serious_harm_reason: Text | None = Field(default=None, description="Why (if it applies).")
    child_abuse_data: ExemptionAnswer = Field(
        description="Child abuse data asked for by a parent: would releasing it be against the "
        "child's best interests? (DPA 2018 Sch 3 Pt 5; only for a parent's request)"
    )
    child_abuse_data_reason: Text | None = Field(default=None, description="Why (if it applies).")
    third_parties: ExemptionAnswer = Field(
        description="Does it identify other people who have not agreed, where it would not be "
        "reasonable to release it without their consent? (DPA 2018 Sch 2 Pt 3)"
    )
    third_parties_reason: Text | None = Field(default=None, description="Why (if it applies).")
    outcome: AccessOutcome = Field(description="Release in full, release redacted, or withhold.")
    released: Text | None = Field(
        default=None, description="What is released (documents, dates), unless withheld."
    )
    withheld: Text | None = Field(
        default=None, description="What is redacted or withheld, and under which exemption."
    )


class NoticeFacts(Frozen):
    """A notice about a child that some staff may need to know, as the DSL records it."""

    child_ref: ChildRef
    source: NoticeSource
    received_at: AwareDatetime
    details: Text  # the whole notice, as it came: for the DSL, never sent out
    recorded_by: StaffId


class NoticeReview(Frozen):
    """The DSL's decision on a notice: who needs to know, and the least they need to know."""

    answered_by: StaffId = Field(description="Your staff id (DSL or deputy DSL).")
    staff_to_tell: list[StaffId] = Field(
        default_factory=list,
        max_length=200,
        description="Staff ids of those who need to know (none, if nobody does).",
    )
    what_they_need_to_know: Text | None = Field(
        default=None,
        description="What they are shown: only what they need to act on, not the whole notice.",
    )
    reason: Text = Field(description="Why these people (or nobody) need to know.")
    disclose_source_to_parents: bool = Field(
        default=False,
        description="Tick only if staff may tell parents where this came from (by default the "
        "source is not disclosed to parents).",
    )


class LeaverFacts(Frozen):
    """A pupil leaving, with where they go (an agency of kind school; None when unknown)."""

    child_ref: ChildRef
    leaving_on: date
    destination: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    move: MoveKind
    new_term_starts: date | None = None
    recorded_by: StaffId


class TransferReview(Frozen):
    """The DSL's look at a leaver's file before it goes: whether to share anything with the new
    school ahead of the move, so support is in place when the child arrives."""

    answered_by: StaffId = Field(description="Your staff id (DSL or deputy DSL).")
    early_sharing: EarlySharing = Field(
        description="Share anything with the new school before the child arrives (to support a "
        "victim of abuse or a vulnerable child), or not needed."
    )
    note: Text | None = Field(
        default=None, description="What was shared, with whom and when; or why it is not needed."
    )


class PlanEventFacts(Frozen):
    """An event in the life of a pupil on a Child Protection Plan, as recorded or imported."""

    child_ref: ChildRef
    kind: PlanEventKind
    occurred_at: AwareDatetime
    details: Text | None = None  # what children's social care should know, beyond the kind
    recorded_by: StaffId


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


class DecisionBasis(Frozen):
    """What a decision to share rests on, in codes alone: the criteria answers, the computed
    outcome with its reason codes, consent, the agency, the lawful basis. What a second person
    is shown where no free text may go (the dashboard); the reasons themselves, why consent is
    overridden or not sought, and what is shared and why are on the case's own pages."""

    assessed_by: str
    outcome: Outcome
    reasons: tuple[str, ...]
    evidence_of_harm: Answer3
    reasonable_cause: Answer3
    prevent_harm_or_crime: Answer3
    public_interest: Answer3
    consent: Consent
    agency: str | None = None
    other_agencies: tuple[str, ...] = ()
    lawful_basis: LawfulBasis | None = None
    special_category_data: bool = False
    emergency: bool = False


class MashAdvice(Frozen):
    """Advice sought from the Multi-Agency Safeguarding Hub and what it said."""

    answered_by: StaffId = Field(description="Your staff id (DSL or deputy DSL).")
    context: MashContext = Field(description="Why advice was sought (filled in for you).")
    sought_at: AwareDatetime = Field(description="When advice was sought (with UTC offset).")
    mash_contact: ShortText = Field(description="Who at MASH gave the advice (name and role).")
    mash_reference: ShortText | None = Field(default=None, description="MASH reference, if any.")
    advice: Text = Field(description="The advice given.")
    proceed: bool = Field(description="Untick if the advice is not to share.")


class Signoff(Frozen):
    """A member of the management team approving or declining the decision to share."""

    answered_by: StaffId = Field(
        description="Your staff id (management team; not the DSL who assessed)."
    )
    decision: SignoffDecision = Field(description="Approve or decline sharing without consent.")
    reason: Text | None = Field(default=None, description="Reason (required when declining).")


class ParentsDecision(Frozen):
    """Whether parents or carers were told before sharing, or why not."""

    answered_by: StaffId = Field(description="Your staff id (DSL or deputy DSL).")
    choice: ParentsChoice = Field(
        description="'told': parents/carers were told before sharing; 'not-told-risk': telling "
        "them could increase the risk to the child (MASH advice will be sought)."
    )
    told_at: AwareDatetime | None = Field(default=None, description="When they were told.")
    told_by: StaffId | None = Field(default=None, description="Staff id of who told them.")
    response: Text | None = Field(default=None, description="Their response.")
    risk_reason: Text | None = Field(
        default=None, description="Why telling them could increase the risk."
    )


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


class StaffMember(Frozen):
    staff_id: StaffId
    role: Role
    active: bool = True


class Problem(Frozen):
    """Why an answer was not accepted: a code to record and a sentence for the person."""

    code: str
    message: str


class ChildFacts(Frozen):
    """A child in the directory: a pseudonymous reference, never a name."""

    child_ref: ChildRef
    date_of_birth: date
    cp_plan: bool = False


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
