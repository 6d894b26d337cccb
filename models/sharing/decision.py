"""The decision to share: what the criteria decide (`assess`), what an assessment cannot be
accepted with, the emergency share (shared at once, ratified after), and what a decision rests
on, in codes alone, for the second person who co-signs it.
"""

from __future__ import annotations

from models.kernel.problems import Problem
from models.kernel.steps import Step
from models.kernel.values import Frozen
from models.kernel.waits import StepSummary
from models.sharing.criteria import (
    Answer3,
    Assessment,
    Consent,
    CriteriaAnswers,
    LawfulBasis,
    Outcome,
    Reason,
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


def is_emergency(answers: CriteriaAnswers) -> bool:
    """Sharing at once, before management sign-off, because waiting would leave the child at
    risk: the management team then ratifies (or not) afterwards."""
    return (
        bool(answers.emergency_reason) and assess(answers).outcome is Outcome.SHARE_WITHOUT_CONSENT
    )


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


def decision_basis(answers: CriteriaAnswers) -> DecisionBasis:
    """The codes a decision to share rests on: the criteria answers, the computed outcome with
    its reason codes (the emergency's too), consent, the agency and the lawful basis."""
    computed = criteria_summary(Step.ASSESS_CRITERIA, Step.ASSESS_CRITERIA.value, answers)
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


def criteria_summary(step: Step, slot: str, answer: CriteriaAnswers) -> StepSummary:
    """What the pipeline keeps of an accepted assessment: its outcome and reason codes (the
    emergency's too), and the agency when it shares."""
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
