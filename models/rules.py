"""The setting's information-sharing policy as pure rules.

Every function here is a plain function over domain values: no Prefect, no database, no clock.
Outcomes are enums with reason codes; "insufficient information" is an outcome of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

from pydantic import BaseModel

from models.deadlines import ENGLAND
from models.domain import (
    HUMAN_STEPS,
    AccessDecision,
    AccessOutcome,
    Answer3,
    Assessment,
    ChildFacts,
    ConcernFacts,
    Consent,
    CriteriaAnswers,
    DecisionBasis,
    EarlySharing,
    Exemption,
    ExemptionAnswer,
    LeaverFacts,
    MashAdvice,
    MashContext,
    MoveKind,
    NoticeReview,
    Outcome,
    ParentsChoice,
    ParentsDecision,
    Problem,
    Reason,
    ReceiptConfirmation,
    Requester,
    Signoff,
    SignoffDecision,
    StaffMember,
    Step,
    StepSummary,
    TransferReview,
)

_CRITERIA = (
    ("evidence_of_harm", Reason.EVIDENCE_OF_HARM),
    ("reasonable_cause", Reason.REASONABLE_CAUSE),
    ("prevent_harm_or_crime", Reason.PREVENT_HARM_OR_CRIME),
)


def assess(answers: CriteriaAnswers) -> Assessment:
    """Decide whether the criteria justify sharing, and whether consent is needed to do so."""
    met = tuple(reason for field, reason in _CRITERIA if getattr(answers, field) is Answer3.YES)
    unsure = any(getattr(answers, field) is Answer3.UNSURE for field, _ in _CRITERIA)

    if answers.consent is Consent.GIVEN and (met or answers.information_to_share):
        # With consent there is no confidentiality to override; the criteria still go on record.
        return Assessment(outcome=Outcome.SHARE_WITH_CONSENT, reasons=(*met, Reason.CONSENT_GIVEN))
    if met:
        if answers.public_interest is Answer3.YES:
            consent_reason = (
                Reason.CONSENT_REFUSED_OVERRIDDEN
                if answers.consent is Consent.REFUSED
                else Reason.CONSENT_NOT_SOUGHT
            )
            return Assessment(
                outcome=Outcome.SHARE_WITHOUT_CONSENT,
                reasons=(*met, Reason.PUBLIC_INTEREST_MET, consent_reason),
            )
        # A criterion met but the public interest doubted is a conflict to take advice on.
        pi_reason = (
            Reason.PUBLIC_INTEREST_UNSURE
            if answers.public_interest is Answer3.UNSURE
            else Reason.PUBLIC_INTEREST_NOT_MET
        )
        return Assessment(outcome=Outcome.INSUFFICIENT_INFORMATION, reasons=(*met, pi_reason))
    if unsure:
        return Assessment(
            outcome=Outcome.INSUFFICIENT_INFORMATION, reasons=(Reason.CRITERIA_UNSURE,)
        )
    return Assessment(outcome=Outcome.DO_NOT_SHARE, reasons=(Reason.NO_CRITERION_MET,))


def criteria_problems(answers: CriteriaAnswers) -> list[Problem]:
    """What is missing or contradictory in a criteria assessment, before it can count."""
    problems: list[Problem] = []
    verdict = assess(answers)
    # a reason for not seeking consent is asked only of a decision that shares: not sharing
    # (or not yet deciding) overrides nobody's confidentiality
    if (
        verdict.shares
        and answers.consent is Consent.NOT_SOUGHT
        and not answers.consent_not_sought_reason
    ):
        problems.append(
            Problem(
                code="consent-not-sought-reason-missing",
                message="Consent was not sought: say why in consent_not_sought_reason.",
            )
        )
    if (
        verdict.outcome is Outcome.SHARE_WITHOUT_CONSENT
        and answers.consent is Consent.REFUSED
        and not answers.consent_override_reason
    ):
        problems.append(
            Problem(
                code="consent-override-reason-missing",
                message="Consent was refused: give the reason for overriding it in "
                "consent_override_reason.",
            )
        )
    if answers.emergency_reason and verdict.outcome is not Outcome.SHARE_WITHOUT_CONSENT:
        problems.append(
            Problem(
                code="emergency-without-sharing-without-consent",
                message="An emergency share skips the wait for management sign-off, which only "
                "sharing without consent has: leave emergency_reason empty for this assessment.",
            )
        )
    if answers.phoned_at is not None and not verdict.shares:
        problems.append(
            Problem(
                code="phone-referral-without-sharing",
                message="A phone referral was recorded (phoned_at), but these answers do not lead "
                "to sharing: a referral already made is confirmed in writing, so check the "
                "criteria, or leave phoned_at empty if the call was only for advice.",
            )
        )
    if answers.phone_reference and answers.phoned_at is None:
        problems.append(
            Problem(
                code="phone-reference-without-call",
                message="phone_reference is given but phoned_at is not: say when the call was.",
            )
        )
    if answers.other_agencies and not verdict.shares:
        problems.append(
            Problem(
                code="other-agencies-without-sharing",
                message="other_agencies names agencies to tell, but these answers do not lead to "
                "sharing: leave other_agencies empty, or check the criteria.",
            )
        )
    named = answers.agencies
    twice = sorted({code for code in named if named.count(code) > 1})
    if twice:
        problems.append(
            Problem(
                code="agency-named-twice",
                message=f"{', '.join(twice)} is named more than once (agency and "
                "other_agencies): each agency is told once.",
            )
        )
    if verdict.shares:
        missing = [
            name
            for name in ("information_to_share", "agency", "purpose", "lawful_basis")
            if getattr(answers, name) in (None, "")
        ]
        if missing:
            problems.append(
                Problem(
                    code="sharing-details-missing",
                    message="To share, say what, with which agency, why and on what lawful basis: "
                    f"missing {', '.join(missing)}.",
                )
            )
    return problems


#: How far ahead of the server's clock a recorded time may be (clocks on phones drift).
CLOCK_SKEW = timedelta(minutes=5)


def future_times(answer: BaseModel, now: datetime) -> list[Problem]:
    """Times in an answer say when something happened: none of them can be in the future.
    The clock is passed in; the rule stays pure."""
    late = sorted(
        name
        for name, value in answer
        if isinstance(value, datetime) and value.tzinfo is not None and value > now + CLOCK_SKEW
    )
    if not late:
        return []
    return [
        Problem(
            code="time-in-future",
            message=f"{', '.join(late)} cannot be in the future: give when it happened, "
            "with its UTC offset.",
        )
    ]


def time_in_future(value: datetime, now: datetime, *, what: str = "the time") -> Problem | None:
    """A time that says when something happened (a concern, an event, a request or notice
    received) cannot be ahead of the clock, beyond the skew allowed for answers."""
    if value > now + CLOCK_SKEW:
        return Problem(
            code="time-in-future",
            message=f"{what} {value.isoformat()} is in the future: give when it happened "
            f"(at most {CLOCK_SKEW.seconds // 60} minutes ahead of the server's clock)",
        )
    return None


def concern_problems(facts: ConcernFacts, *, now: datetime) -> list[Problem]:
    """What a concern cannot be recorded with, whatever the door: a time it has not happened
    yet. (Who raised it and whom an allegation is about are checked against the directory.)"""
    future = time_in_future(facts.occurred_at, now, what="the time it happened,")
    return [future] if future is not None else []


def child_problems(facts: ChildFacts, *, today: date) -> list[Problem]:
    """A child cannot be added with a date of birth that has not come yet."""
    if facts.date_of_birth > today:
        return [
            Problem(
                code="born-in-future",
                message=f"the date of birth {facts.date_of_birth.isoformat()} is in the future",
            )
        ]
    return []


def is_emergency(answers: CriteriaAnswers) -> bool:
    """Sharing at once, before management sign-off, because waiting would leave the child at
    risk: the management team then ratifies (or not) afterwards."""
    return (
        bool(answers.emergency_reason) and assess(answers).outcome is Outcome.SHARE_WITHOUT_CONSENT
    )


def decision_basis(answers: CriteriaAnswers) -> DecisionBasis:
    """The codes a decision to share rests on: the criteria answers, the computed outcome with
    its reason codes (the emergency's too), consent, the agency and the lawful basis."""
    computed = summarise(Step.ASSESS_CRITERIA, Step.ASSESS_CRITERIA.value, answers)
    return DecisionBasis(
        assessed_by=answers.answered_by,
        outcome=Outcome(computed.outcome),
        reasons=computed.reasons,
        evidence_of_harm=answers.evidence_of_harm,
        reasonable_cause=answers.reasonable_cause,
        prevent_harm_or_crime=answers.prevent_harm_or_crime,
        public_interest=answers.public_interest,
        consent=answers.consent,
        agency=answers.agency,
        other_agencies=tuple(answers.other_agencies),
        lawful_basis=answers.lawful_basis,
        special_category_data=answers.special_category_data,
        emergency=is_emergency(answers),
    )


def signoff_problems(answer: Signoff) -> list[Problem]:
    """A decline must say why; so the record of not sharing stands on its own."""
    if answer.decision is SignoffDecision.DECLINE and not answer.reason:
        return [Problem(code="decline-reason-missing", message="Give the reason for declining.")]
    return []


def parents_problems(answer: ParentsDecision) -> list[Problem]:
    """Telling parents needs when, by whom and their response; not telling needs the risk."""
    if answer.choice is ParentsChoice.TOLD:
        missing = [n for n in ("told_at", "told_by", "response") if getattr(answer, n) is None]
        if missing:
            return [
                Problem(
                    code="parents-told-details-missing",
                    message=f"Parents were told: give {', '.join(missing)}.",
                )
            ]
        return []
    if not answer.risk_reason:
        return [
            Problem(
                code="parents-risk-reason-missing",
                message="Say why telling the parents could increase the risk (risk_reason).",
            )
        ]
    return []


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


def notice_review_problems(answer: NoticeReview) -> list[Problem]:
    """Staff are told only what they need to know: whoever is told is shown something, and
    nobody is named twice."""
    problems = []
    if answer.staff_to_tell and not answer.what_they_need_to_know:
        problems.append(
            Problem(
                code="what-they-need-to-know-missing",
                message="Say what those told need to know (what_they_need_to_know).",
            )
        )
    if len(set(answer.staff_to_tell)) != len(answer.staff_to_tell):
        problems.append(
            Problem(code="staff-named-twice", message="Name each member of staff once.")
        )
    return problems


def transfer_review_problems(answer: TransferReview) -> list[Problem]:
    """Sharing ahead of a move is recorded: what, with whom and when."""
    if answer.early_sharing is EarlySharing.SHARED_IN_ADVANCE and not answer.note:
        return [
            Problem(
                code="early-sharing-note-missing",
                message="Say what was shared with the new school, with whom and when (note).",
            )
        ]
    return []


def leaver_problems(facts: LeaverFacts) -> list[Problem]:
    """A move at the start of a new term says when that term starts; its deadline runs then."""
    if facts.move is MoveKind.NEW_TERM and facts.new_term_starts is None:
        return [Problem(code="new-term-date-missing", message="Give the new term's first day.")]
    if facts.new_term_starts is not None and facts.new_term_starts < facts.leaving_on:
        return [
            Problem(
                code="new-term-before-leaving",
                message="The new term cannot start before the pupil leaves.",
            )
        ]
    return []


def receipt_clock(leaver: LeaverFacts) -> datetime:
    """When the 5 working days for a leaver's file to be received start: the day they leave,
    or the new term's first day for a move at the start of a new term (English midnight)."""
    start = leaver.leaving_on
    if leaver.move is MoveKind.NEW_TERM and leaver.new_term_starts is not None:
        start = leaver.new_term_starts  # the first 5 days of the new term
    return datetime.combine(start, time(0), tzinfo=ENGLAND)


def parents_route(answer: ParentsDecision) -> MashContext | None:
    """When telling parents could increase the risk, advice must be sought from MASH first."""
    return MashContext.PARENTS_RISK if answer.choice is ParentsChoice.NOT_TOLD_RISK else None


def mash_problems(answer: MashAdvice, *, expected: MashContext) -> list[Problem]:
    """MASH advice is recorded against the question that was asked."""
    if answer.context is not expected:
        return [
            Problem(
                code="mash-context-mismatch",
                message=f"This advice is asked for context '{expected}', not '{answer.context}'.",
            )
        ]
    return []


def answerer_problems(
    step: Step,
    answerer: StaffMember | None,
    *,
    first_signer: str | None = None,
    subject: str | None = None,
) -> list[Problem]:
    """Whether this person may answer this step: role, active account, two different people
    (`first_signer`: the DSL who assessed, or whoever received an access request), and never the
    member of staff the case's allegation is about (`subject`)."""
    try:
        step = Step(step)  # step codes also arrive as text from the case database
    except ValueError:
        step = None  # type: ignore[assignment]
    allowed = HUMAN_STEPS.get(step) if step is not None else None
    if step is None or allowed is None:
        return [
            Problem(
                code="step-not-answerable", message=f"Step '{step}' is not answered by a person."
            )
        ]
    if answerer is None:
        return [Problem(code="unknown-staff", message="No member of staff has that id.")]
    if not answerer.active:
        return [Problem(code="staff-inactive", message=f"{answerer.staff_id} is no longer active.")]
    if subject is not None and answerer.staff_id == subject:
        return [
            Problem(
                code="subject-of-allegation",
                message=f"This case concerns an allegation about {answerer.staff_id}: they "
                "cannot see it or act on it.",
            )
        ]
    if answerer.role not in allowed:
        roles = ", ".join(sorted(allowed))
        return [
            Problem(
                code="role-not-allowed",
                message=f"{answerer.staff_id} is '{answerer.role}'; this step needs {roles}.",
            )
        ]
    if (
        step is Step.ACCESS_DECISION
        and first_signer is not None
        and (answerer.staff_id == first_signer)
    ):
        return [
            Problem(
                code="received-request",
                message="A request to see child protection records is decided by the DSL or a "
                f"senior leader, never by whoever received it: {answerer.staff_id} did.",
            )
        ]
    if (
        step in (Step.MANAGEMENT_SIGNOFF, Step.RATIFICATION)
        and first_signer is not None
        and answerer.staff_id == first_signer
    ):
        return [
            Problem(
                code="same-person",
                message="The decision to share without consent needs a second, different person: "
                f"{answerer.staff_id} made the assessment.",
            )
        ]
    return []


def eligible_answerers(
    step: Step,
    staff: Mapping[str, StaffMember],
    *,
    first_signer: str | None = None,
    subject: str | None = None,
) -> list[str]:
    """Everyone who may answer a waiting step, for notifications and for `case show`."""
    return sorted(
        sid
        for sid, member in staff.items()
        if not answerer_problems(step, member, first_signer=first_signer, subject=subject)
    )


def summarise(step: Step, slot: str, answer: object) -> StepSummary:
    """Reduce an accepted answer to the codes the pipeline branches on."""
    if isinstance(answer, CriteriaAnswers):
        verdict = assess(answer)
        reasons = tuple(r.value for r in verdict.reasons)
        if is_emergency(answer):
            reasons += (Reason.EMERGENCY_SHARE.value,)
        return StepSummary(
            step=step,
            slot=slot,
            actor=answer.answered_by,
            outcome=verdict.outcome.value,
            reasons=reasons,
            agency=answer.agency if verdict.shares else None,
        )
    if isinstance(answer, Signoff):
        declined = answer.decision is SignoffDecision.DECLINE
        if step is Step.RATIFICATION:
            reason = Reason.RATIFICATION_DECLINED if declined else Reason.RATIFIED
            return StepSummary(
                step=step,
                slot=slot,
                actor=answer.answered_by,
                outcome=answer.decision.value,
                reasons=(reason.value,),
            )
        return StepSummary(
            step=step,
            slot=slot,
            actor=answer.answered_by,
            outcome=answer.decision.value,
            reasons=(Reason.SIGNOFF_DECLINED.value,) if declined else (),
        )
    if isinstance(answer, ParentsDecision):
        reason = (
            Reason.PARENTS_TOLD
            if answer.choice is ParentsChoice.TOLD
            else Reason.PARENTS_NOT_TOLD_RISK
        )
        return StepSummary(
            step=step,
            slot=slot,
            actor=answer.answered_by,
            outcome=answer.choice.value,
            reasons=(reason.value,),
        )
    if isinstance(answer, MashAdvice):
        outcome = "proceed" if answer.proceed else Outcome.DO_NOT_SHARE.value
        reasons = () if answer.proceed else (Reason.MASH_ADVISED_NOT_TO_SHARE.value,)
        return StepSummary(
            step=step, slot=slot, actor=answer.answered_by, outcome=outcome, reasons=reasons
        )
    if isinstance(answer, ReceiptConfirmation):
        return StepSummary(step=step, slot=slot, actor=answer.answered_by, outcome="confirmed")
    if isinstance(answer, TransferReview):
        return StepSummary(
            step=step, slot=slot, actor=answer.answered_by, outcome=answer.early_sharing.value
        )
    if isinstance(answer, NoticeReview):
        return StepSummary(
            step=step,
            slot=slot,
            actor=answer.answered_by,
            outcome="told" if answer.staff_to_tell else "nobody-told",
            reasons=tuple(f"tell:{staff_id}" for staff_id in answer.staff_to_tell),
        )
    if isinstance(answer, AccessDecision):
        return StepSummary(
            step=step,
            slot=slot,
            actor=answer.answered_by,
            outcome=answer.outcome.value,
            reasons=tuple(f"exemption-{e.value}" for e in exemptions_applied(answer)),
        )
    raise TypeError(f"no summary for {type(answer).__name__}")
