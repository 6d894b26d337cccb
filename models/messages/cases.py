"""How a case and its steps are named in every message (a reference, never content), and the
messages about a case as a whole: how it ended, or that nothing moves it on.
"""

from __future__ import annotations

from models.kernel.steps import Step

STEP_TITLES: dict[Step, str] = {
    Step.RECORD_CONCERN: "concern recorded",
    Step.RECORD_EVENT: "Child Protection Plan event recorded",
    Step.ASSESS_CRITERIA: "criteria assessment",
    Step.MASH_ADVICE: "MASH advice",
    Step.MANAGEMENT_SIGNOFF: "management sign-off",
    Step.EMERGENCY_SHARE: "emergency share",
    Step.RATIFICATION: "ratification of an emergency share",
    Step.PARENTS: "parents or carers",
    Step.NOTIFY_AGENCY: "agency notified",
    Step.CONFIRM_RECEIPT: "confirmation of receipt",
    Step.CLOSED: "case closed",
    Step.NOTE: "note",
    Step.RECORD_REQUEST: "request to see records received",
    Step.ACCESS_DECISION: "decision on a request to see records",
    Step.RECORD_NOTICE: "notice recorded",
    Step.NOTICE_REVIEW: "review of a notice",
    Step.STAFF_TOLD: "staff told",
    Step.RECORD_LEAVER: "leaver recorded",
    Step.TRANSFER_REVIEW: "review before a child protection file is transferred",
}

#: What each step a person answers asks of them, as "... waiting for you to <this>".
WHAT_IS_NEEDED: dict[Step, str] = {
    Step.ASSESS_CRITERIA: "assess the concern against the three critical criteria and decide "
    "whether to share",
    Step.MASH_ADVICE: "seek advice from MASH and record it",
    Step.MANAGEMENT_SIGNOFF: "approve or decline the decision to share without consent "
    "(a second person: not the DSL who assessed)",
    Step.RATIFICATION: "ratify, or decline with a reason, the DSL's emergency decision to share "
    "without consent before sign-off (a second person: not the DSL who assessed)",
    Step.PARENTS: "record that parents or carers were told, or why telling them could increase "
    "the risk",
    Step.CONFIRM_RECEIPT: "record the agency's confirmation of receipt",
    Step.ACCESS_DECISION: "decide a request to see child protection records: consider each "
    "exemption (serious harm, child abuse data, third parties), then say what is released or "
    "redacted, and why (the DSL or a senior leader: not whoever received the request)",
    Step.TRANSFER_REVIEW: "look at a leaver's child protection file before it goes to their next "
    "school, and consider sharing anything with that school before the move",
    Step.NOTICE_REVIEW: "review a notice and decide which staff need to know, and the least "
    "they need to know",
}


def case_reference(case_id: int) -> str:
    """The reference people use for a case: stable, short, and personal-data free."""
    return f"SS-{case_id:06d}"


def outcome_message(case_id: int, outcome: str) -> tuple[str, str]:
    """Title and body telling the DSL how a case ended."""
    ref = case_reference(case_id)
    return f"safeshare {ref}: {outcome}", f"Case {ref} closed: {outcome}. The record is complete."


def stranded_message(case_id: int, why: str) -> tuple[str, str]:
    """Title and body of the DSL's message about an open case that nothing moves on (`why`: what
    is wrong with its workflow run, in a few words)."""
    ref = case_reference(case_id)
    return (
        f"safeshare {ref}: open, but nothing moves it on",
        f"Case {ref} is open, but it waits for nobody and no workflow run will move it on "
        f"({why}): nobody is asked or reminded about it until it is started again. See: "
        f"safeshare case show {case_id}, then safeshare case start {case_id}",
    )
