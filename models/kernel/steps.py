"""The kinds of case, their steps in policy order, which steps a person answers and in which
roles, a case's status, and the note the DSL may add to any case.
"""

from __future__ import annotations

from enum import StrEnum

from models.kernel.roles import DSL_ROLES, MANAGEMENT_ROLES, Role
from models.kernel.values import Frozen, Text


class CaseKind(StrEnum):
    """What a case carries: a sharing decision, or a Child Protection Plan event to pass on."""

    SHARING = "sharing"
    PLAN_EVENT = "plan-event"
    ACCESS_REQUEST = "access-request"  # a pupil or parent asks to see child protection records
    NOTICE = "notice"  # something staff must know, told only to those who need to
    TRANSFER = "transfer"  # a leaver's child protection file goes to their next school


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


#: The step each kind of case begins with: its opening record, in when the pipeline starts.
FIRST_STEP: dict[CaseKind, Step] = {
    CaseKind.SHARING: Step.RECORD_CONCERN,
    CaseKind.PLAN_EVENT: Step.RECORD_EVENT,
    CaseKind.ACCESS_REQUEST: Step.RECORD_REQUEST,
    CaseKind.NOTICE: Step.RECORD_NOTICE,
    CaseKind.TRANSFER: Step.RECORD_LEAVER,
}


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


class CaseNote(Frozen):
    """A note added to a case's chronology by the DSL or a deputy; a correction is a new note."""

    text: Text
