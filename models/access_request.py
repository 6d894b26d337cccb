"""A request to see child protection records: who asks and how it was received, the exemptions
considered (DPA 2018 Schedules 2 and 3), what is released, redacted or withheld and why, and
the rules such a decision meets.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from models.kernel.problems import Problem
from models.kernel.steps import Step
from models.kernel.values import AwareDatetime, ChildRef, Frozen, StaffId, Text
from models.kernel.waits import StepSummary


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


#: Each exemption's answer and reason, as the decision names them.
_EXEMPTIONS = (
    (Exemption.SERIOUS_HARM, "serious_harm"),
    (Exemption.CHILD_ABUSE_DATA, "child_abuse_data"),
    (Exemption.THIRD_PARTIES, "third_parties"),
)


def exemptions_applied(answer: AccessDecision) -> list[Exemption]:
    return [e for e, field in _EXEMPTIONS if getattr(answer, field) is ExemptionAnswer.APPLIES]


def access_decision_problems(answer: AccessDecision) -> list[Problem]:
    """A decision on a request to see child protection records stands on its own: every
    exemption that applies says why; nothing is redacted or withheld unless one applies, and
    nothing is released in full when one does; it says what is released and what is not."""
    problems = [
        Problem(
            code=f"exemption-reason-missing:{exemption.value}",
            message=f"The {exemption.value} exemption applies: say why ({field}_reason).",
        )
        for exemption, field in _EXEMPTIONS
        if getattr(answer, field) is ExemptionAnswer.APPLIES
        and not getattr(answer, f"{field}_reason")
    ]
    applied = exemptions_applied(answer)
    if answer.outcome is AccessOutcome.RELEASE_IN_FULL and applied:
        problems.append(
            Problem(
                code="exemption-applies",
                message=f"An exemption applies ({', '.join(e.value for e in applied)}): release "
                "redacted or withhold, not in full.",
            )
        )
    if answer.outcome is not AccessOutcome.RELEASE_IN_FULL and not applied:
        problems.append(
            Problem(
                code="no-exemption",
                message="Nothing may be redacted or withheld unless an exemption applies.",
            )
        )
    if answer.outcome is not AccessOutcome.WITHHOLD and not answer.released:
        problems.append(Problem(code="released-missing", message="Say what is released."))
    if answer.outcome is not AccessOutcome.RELEASE_IN_FULL and not answer.withheld:
        problems.append(
            Problem(code="withheld-missing", message="Say what is redacted or withheld, and why.")
        )
    return problems


def access_request_problems(answer: AccessDecision, requester: Requester) -> list[Problem]:
    """What the request itself rules out: the child abuse data exemption is for a parent's
    request, not a pupil's own."""
    if requester is Requester.PUPIL and answer.child_abuse_data is ExemptionAnswer.APPLIES:
        return [
            Problem(
                code="child-abuse-data-not-for-pupil",
                message="The child abuse data exemption applies to a parent's request, not to "
                "the pupil's own.",
            )
        ]
    return []


def access_decision_summary(step: Step, slot: str, answer: AccessDecision) -> StepSummary:
    """What the pipeline keeps of a decision on a request: its outcome and the exemptions
    applied."""
    return StepSummary(
        step=step,
        slot=slot,
        actor=answer.answered_by,
        outcome=answer.outcome.value,
        reasons=tuple(f"exemption-{e.value}" for e in exemptions_applied(answer)),
    )
