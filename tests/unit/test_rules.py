"""Table-driven tests of the pure policy rules (models/kernel/, models/sharing/ and each kind of
case's module) and answer forms (models/forms/).

Everything here is a plain function over domain values: no Prefect server, database or clock.
"""

from __future__ import annotations

import importlib
import itertools
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, get_args

import pytest
from pydantic import BaseModel, ValidationError

from models.access_request import AccessRequestFacts
from models.forms.registry import parse_answer
from models.kernel.answerers import answerer_problems, eligible_answerers
from models.kernel.problems import InvalidAnswer, Problem, future_times
from models.kernel.roles import Role, StaffMember
from models.kernel.steps import HUMAN_STEPS, Step
from models.kernel.values import Frozen
from models.notice import NoticeFacts
from models.plan_event.policy import PlanEventFacts
from models.sharing.concern import ConcernFacts
from models.sharing.criteria import MAX_OTHER_AGENCIES, Assessment, CriteriaAnswers, Outcome, Reason
from models.sharing.decision import assess, criteria_problems, decision_basis, is_emergency
from models.sharing.disclosure import ReceiptConfirmation
from models.sharing.mash import MashAdvice, MashContext, mash_problems
from models.sharing.parents import ParentsDecision, parents_problems, parents_route
from models.sharing.signoff import Signoff, signoff_problems
from models.summaries import summarise

Y, N, U = "yes", "no", "unsure"
C1, C2, C3 = Reason.EVIDENCE_OF_HARM, Reason.REASONABLE_CAUSE, Reason.PREVENT_HARM_OR_CRIME
AWARE = "2026-11-25T09:30:00+00:00"
NAIVE = "2026-11-25T09:30:00"
ASSESS, MASH, SIGNOFF = Step.ASSESS_CRITERIA, Step.MASH_ADVICE, Step.MANAGEMENT_SIGNOFF
PARENTS, RECEIPT = Step.PARENTS, Step.CONFIRM_RECEIPT
RATIFY = Step.RATIFICATION
case = pytest.param  # one row of a table
#: A unique string typed into free-text fields; it must never come back in an error.
MARKER = "ZQX7731-private-words"


# ---------------------------------------------------------------------------------------------
# Builders: a valid raw answer per step, with overrides. `None` as an override removes the key.


def _build(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **overrides}
    return {k: v for k, v in merged.items() if v is not None}


def criteria_raw(**overrides: Any) -> dict[str, Any]:
    """A criteria answer: by default nothing met and consent refused (a plain do-not-share)."""
    base = {
        "answered_by": "dsl1",
        "evidence_of_harm": N,
        "reasonable_cause": N,
        "prevent_harm_or_crime": N,
        "public_interest": N,
        "reasons": "Bruise seen on arm by form tutor; explanation consistent.",
        "consent": "refused",
    }
    return _build(base, overrides)


#: The four sharing details a sharing outcome needs.
SHARING = {
    "information_to_share": "Dates and description of the injuries seen.",
    "agency": "csc",
    "purpose": "Section 47 enquiry.",
    "lawful_basis": "art6-1-e-public-task",
}

#: Consent as the DSL may record it.
CONSENT = {
    "given+info": {"consent": "given", "information_to_share": "Attendance record."},
    "given-no-info": {"consent": "given"},
    "refused": {"consent": "refused", "consent_override_reason": "Risk of significant harm."},
    "not-sought": {"consent": "not-sought", "consent_not_sought_reason": "Could alert abuser."},
}


def answers(**overrides: Any) -> CriteriaAnswers:
    return CriteriaAnswers.model_validate(criteria_raw(**overrides))


def combo(c1: str, c2: str, c3: str, pi: str, consent: str, **extra: Any) -> CriteriaAnswers:
    return answers(
        evidence_of_harm=c1,
        reasonable_cause=c2,
        prevent_harm_or_crime=c3,
        public_interest=pi,
        **CONSENT[consent],
        **extra,
    )


def mash_raw(**overrides: Any) -> dict[str, Any]:
    base = {
        "answered_by": "dsl1",
        "context": "insufficient-information",
        "sought_at": AWARE,
        "mash_contact": "Duty social worker",
        "mash_reference": "M-123",
        "advice": "Share with CSC today.",
        "proceed": True,
    }
    return _build(base, overrides)


def signoff_raw(**overrides: Any) -> dict[str, Any]:
    return _build({"answered_by": "head1", "decision": "approve"}, overrides)


def parents_raw(**overrides: Any) -> dict[str, Any]:
    """Parents told, with every detail the rule needs."""
    base = {
        "answered_by": "dsl1",
        "choice": "told",
        "told_at": AWARE,
        "told_by": "dsl1",
        "response": "Mother agreed and asked to be kept informed.",
    }
    return _build(base, overrides)


def not_told_raw(**overrides: Any) -> dict[str, Any]:
    base = {"answered_by": "dsl1", "choice": "not-told-risk", "risk_reason": "Father is alleged."}
    return _build(base, overrides)


def receipt_raw(**overrides: Any) -> dict[str, Any]:
    base = {
        "answered_by": "dsl1",
        "confirmed_by_name": "J. Smith",
        "confirmed_at": AWARE,
        "channel": "email",
    }
    return _build(base, overrides)


def concern_raw(**overrides: Any) -> dict[str, Any]:
    base = {
        "child_ref": "C-0042",
        "raised_by": "teacher1",
        "category": "physical",
        "occurred_at": AWARE,
        "what_happened": "Child said a parent hit them.",
    }
    return _build(base, overrides)


def plan_event_raw(**overrides: Any) -> dict[str, Any]:
    base = {
        "child_ref": "C-0042",
        "kind": "unexplained-absence",
        "occurred_at": AWARE,
        "recorded_by": "office1",
    }
    return _build(base, overrides)


def access_request_raw(**overrides: Any) -> dict[str, Any]:
    base = {
        "child_ref": "C-0042",
        "requester": "parent",
        "received_by": "office1",
        "received_at": AWARE,
        "request": "A parent asks to see the school's child protection file.",
    }
    return _build(base, overrides)


def notice_raw(**overrides: Any) -> dict[str, Any]:
    base = {
        "child_ref": "C-0042",
        "source": "police-domestic-abuse",
        "received_at": AWARE,
        "details": "An incident at home last night; police attended.",
        "recorded_by": "dsl1",
    }
    return _build(base, overrides)


def member(staff_id: str = "dsl1", role: Role = Role.DSL, active: bool = True) -> StaffMember:
    return StaffMember(staff_id=staff_id, role=role, active=active)


def codes(problems: list[Problem]) -> list[str]:
    return [p.code for p in problems]


def parse_codes(step: Step, raw: dict[str, Any]) -> list[str]:
    """The problem codes parse_answer raises, or [] when it accepts the answer."""
    try:
        parse_answer(step, raw)
    except InvalidAnswer as exc:
        return codes(exc.problems)
    return []


# ---------------------------------------------------------------------------------------------
# 1. assess(): the criteria, the public interest and consent.

SWC, SWITH = Outcome.SHARE_WITHOUT_CONSENT, Outcome.SHARE_WITH_CONSENT
DNS, INSUF = Outcome.DO_NOT_SHARE, Outcome.INSUFFICIENT_INFORMATION
PI_MET, PI_NOT, PI_UNSURE = (
    Reason.PUBLIC_INTEREST_MET,
    Reason.PUBLIC_INTEREST_NOT_MET,
    Reason.PUBLIC_INTEREST_UNSURE,
)
OVERRIDDEN, NOT_SOUGHT = Reason.CONSENT_REFUSED_OVERRIDDEN, Reason.CONSENT_NOT_SOUGHT
GIVEN, UNSURE, NONE_MET = Reason.CONSENT_GIVEN, Reason.CRITERIA_UNSURE, Reason.NO_CRITERION_MET


def row(
    criteria: str, pi: str, consent: str, outcome: Outcome, reasons: tuple[Reason, ...], id: str
) -> Any:
    """One assess() case; criteria as three letters, e.g. "YNU" for criteria 1, 2, 3."""
    c1, c2, c3 = (dict(Y=Y, N=N, U=U)[letter] for letter in criteria)
    return case(c1, c2, c3, pi, consent, outcome, reasons, id=id)


@pytest.mark.parametrize(
    ("c1", "c2", "c3", "pi", "consent", "outcome", "reasons"),
    [
        # Share without consent: a criterion met and the public interest met.
        row("YNN", Y, "refused", SWC, (C1, PI_MET, OVERRIDDEN), "c1-pi-refused"),
        row("NYN", Y, "refused", SWC, (C2, PI_MET, OVERRIDDEN), "c2-pi-refused"),
        row("NNY", Y, "refused", SWC, (C3, PI_MET, OVERRIDDEN), "c3-pi-refused"),
        row("YNN", Y, "not-sought", SWC, (C1, PI_MET, NOT_SOUGHT), "c1-pi-not-sought"),
        row("YYY", Y, "refused", SWC, (C1, C2, C3, PI_MET, OVERRIDDEN), "all-yes-pi-refused"),
        row("YNY", Y, "not-sought", SWC, (C1, C3, PI_MET, NOT_SOUGHT), "c1-c3-pi-not-sought"),
        # An unsure criterion does not matter once another is met.
        row("UYU", Y, "refused", SWC, (C2, PI_MET, OVERRIDDEN), "c2-others-unsure-pi-refused"),
        # A criterion met but the public interest doubted: take advice, do not guess.
        row("YNN", N, "refused", INSUF, (C1, PI_NOT), "c1-pi-no"),
        row("YNN", U, "refused", INSUF, (C1, PI_UNSURE), "c1-pi-unsure"),
        row("NYY", N, "not-sought", INSUF, (C2, C3, PI_NOT), "c2-c3-pi-no-not-sought"),
        row("YYY", U, "given-no-info", SWITH, (C1, C2, C3, GIVEN), "all-yes-pi-unsure-given"),
        # No criterion met, some unsure: insufficient information, whatever the public interest.
        row("UNN", Y, "refused", INSUF, (UNSURE,), "c1-unsure-pi-yes"),
        row("NUN", N, "not-sought", INSUF, (UNSURE,), "c2-unsure-pi-no"),
        row("UUU", U, "refused", INSUF, (UNSURE,), "all-unsure"),
        row("NNU", Y, "given-no-info", INSUF, (UNSURE,), "c3-unsure-given-no-info"),
        # Nothing met, nothing unsure: do not share (and record it).
        row("NNN", N, "refused", DNS, (NONE_MET,), "all-no"),
        row("NNN", Y, "refused", DNS, (NONE_MET,), "all-no-pi-yes"),
        row("NNN", U, "not-sought", DNS, (NONE_MET,), "all-no-pi-unsure"),
        row("NNN", Y, "given-no-info", DNS, (NONE_MET,), "all-no-given-no-info"),
        # Consent given with something to share: share with consent; criteria met still recorded.
        row("YNN", Y, "given+info", SWITH, (C1, GIVEN), "c1-pi-given"),
        row("YYY", N, "given+info", SWITH, (C1, C2, C3, GIVEN), "all-yes-pi-no-given"),
        row("NNN", N, "given+info", SWITH, (GIVEN,), "all-no-given"),
        row("UUU", U, "given+info", SWITH, (GIVEN,), "all-unsure-given"),
    ],
)
def test_assess(
    c1: str, c2: str, c3: str, pi: str, consent: str, outcome: Outcome, reasons: tuple[Reason, ...]
) -> None:
    verdict = assess(combo(c1, c2, c3, pi, consent))
    assert (verdict.outcome, verdict.reasons) == (outcome, reasons)


def _expected_outcome(c: tuple[str, str, str], pi: str, consent: str) -> Outcome:
    """The policy, stated independently of the code, for the exhaustive sweep below."""
    # Consent given: no confidentiality to override, so share with consent whenever there is
    # something to share or a criterion says sharing is needed (the form then asks for details).
    if consent == "given+info" or (consent == "given-no-info" and Y in c):
        return SWITH
    if Y in c:
        return SWC if pi == Y else INSUF
    return INSUF if U in c else DNS


_SWEEP = [
    case(c, pi, consent, id=f"c={'-'.join(c)}/pi={pi}/{consent}")
    for c in itertools.product((Y, N, U), repeat=3)
    for pi in (Y, N, U)
    for consent in CONSENT
]


@pytest.mark.parametrize(("criteria", "pi", "consent"), _SWEEP)
def test_assess_every_combination(criteria: tuple[str, str, str], pi: str, consent: str) -> None:
    """All 3^3 x 3 x 4 answers: outcome, criteria recorded in order, sign-off and sharing flags."""
    verdict = assess(combo(*criteria, pi, consent))
    outcome = _expected_outcome(criteria, pi, consent)
    met = tuple(r for r, a in zip((C1, C2, C3), criteria, strict=True) if a == Y)

    assert verdict.outcome is outcome
    assert verdict.reasons[: len(met)] == met
    assert set(verdict.reasons[len(met) :]).isdisjoint({C1, C2, C3})
    assert verdict.needs_signoff is (outcome is SWC)
    assert verdict.shares is (outcome in (SWC, SWITH))


@pytest.mark.parametrize(
    ("outcome", "shares", "needs_signoff"),
    [
        case(SWC, True, True, id="share-without-consent"),
        case(SWITH, True, False, id="share-with-consent"),
        case(DNS, False, False, id="do-not-share"),
        case(INSUF, False, False, id="insufficient-information"),
    ],
)
def test_assessment_flags(outcome: Outcome, shares: bool, needs_signoff: bool) -> None:
    verdict = Assessment(outcome=outcome, reasons=())
    assert (verdict.shares, verdict.needs_signoff) == (shares, needs_signoff)


@pytest.mark.parametrize("criteria", [case((Y, N, N), id="c1"), case((Y, Y, Y), id="all-yes")])
def test_assess_never_claims_consent_not_sought_when_it_was_given(
    criteria: tuple[str, str, str],
) -> None:
    verdict = assess(combo(*criteria, Y, "given-no-info"))
    assert Reason.CONSENT_NOT_SOUGHT not in verdict.reasons


# ---------------------------------------------------------------------------------------------
# 2. criteria_problems, and parse_answer(ASSESS, ...) which applies the same rule.

OVERRIDE_MISSING = "consent-override-reason-missing"
NOT_SOUGHT_MISSING = "consent-not-sought-reason-missing"
DETAILS_MISSING = "sharing-details-missing"
SHARE_NO_CONSENT = {"evidence_of_harm": Y, "public_interest": Y}
_SHARE_WITHOUT_CONSENT_EMERGENCY = {
    **SHARE_NO_CONSENT,
    **SHARING,
    "consent_override_reason": "Risk.",
    "emergency_reason": "Child at risk tonight.",
}
EMERGENCY_MISPLACED = "emergency-without-sharing-without-consent"
PHONED = "2026-11-25T08:05:00+00:00"
_SHARED_BY_PHONE = {**SHARE_NO_CONSENT, **SHARING, "consent_override_reason": "Risk."}

CRITERIA_PROBLEM_CASES = [
    case(criteria_raw(), [], id="do-not-share-refused-nothing-needed"),
    # a decision not to share (or not yet to decide) overrides nobody: no consent reason asked
    case(criteria_raw(consent="not-sought"), [], id="not-sharing-not-sought-no-reason-needed"),
    case(
        criteria_raw(evidence_of_harm=U, public_interest=U, consent="not-sought"),
        [],
        id="insufficient-not-sought-no-reason-needed",
    ),
    case(
        criteria_raw(**SHARE_NO_CONSENT, **SHARING, consent="not-sought"),
        [NOT_SOUGHT_MISSING],
        id="sharing-not-sought-reason-missing",
    ),
    case(
        criteria_raw(consent="not-sought", consent_not_sought_reason="Could alert abuser."),
        [],
        id="not-sought-reason-given",
    ),
    case(
        criteria_raw(**SHARE_NO_CONSENT, **SHARING),
        [OVERRIDE_MISSING],
        id="refused-sharing-no-override",
    ),
    case(
        criteria_raw(**SHARE_NO_CONSENT, **SHARING, consent_override_reason="Risk of harm."),
        [],
        id="refused-sharing-override-given",
    ),
    case(
        criteria_raw(evidence_of_harm=Y, public_interest=U),
        [],
        id="refused-insufficient-no-override-needed",
    ),
    case(
        criteria_raw(
            **SHARE_NO_CONSENT, consent="not-sought", consent_not_sought_reason="Risk.", **SHARING
        ),
        [],
        id="not-sought-sharing-complete",
    ),
    case(
        criteria_raw(**SHARE_NO_CONSENT, consent_override_reason="Risk."),
        [DETAILS_MISSING],
        id="sharing-no-details",
    ),
    case(
        criteria_raw(
            **SHARE_NO_CONSENT, **{**SHARING, "agency": None}, consent_override_reason="Risk."
        ),
        [DETAILS_MISSING],
        id="sharing-no-agency",
    ),
    case(
        criteria_raw(
            **SHARE_NO_CONSENT, **{**SHARING, "lawful_basis": None}, consent_override_reason="R."
        ),
        [DETAILS_MISSING],
        id="sharing-no-lawful-basis",
    ),
    case(
        criteria_raw(**{**SHARING, "purpose": None}, consent="given"),
        [DETAILS_MISSING],
        id="with-consent-no-purpose",
    ),
    case(criteria_raw(**SHARING, consent="given"), [], id="with-consent-complete"),
    case(
        criteria_raw(**SHARE_NO_CONSENT),
        [OVERRIDE_MISSING, DETAILS_MISSING],
        id="refused-sharing-nothing-given",
    ),
    case(
        criteria_raw(**SHARE_NO_CONSENT, consent="not-sought"),
        [NOT_SOUGHT_MISSING, DETAILS_MISSING],
        id="not-sought-sharing-nothing-given",
    ),
    case(
        criteria_raw(evidence_of_harm=U, reasonable_cause=U, public_interest=Y),
        [],
        id="insufficient-no-details-needed",
    ),
    # An emergency share skips the sign-off wait, which only sharing without consent has.
    case(
        criteria_raw(**_SHARE_WITHOUT_CONSENT_EMERGENCY),
        [],
        id="emergency-share-without-consent",
    ),
    case(
        criteria_raw(**SHARING, consent="given", emergency_reason="Child at risk tonight."),
        [EMERGENCY_MISPLACED],
        id="emergency-with-consent",
    ),
    case(
        criteria_raw(emergency_reason="Child at risk tonight."),
        [EMERGENCY_MISPLACED],
        id="emergency-not-sharing",
    ),
    # Several agencies at once: each is told once, and only a decision that shares names any.
    case(
        criteria_raw(**_SHARED_BY_PHONE, other_agencies=["police", "lado"]),
        [],
        id="several-agencies",
    ),
    case(
        criteria_raw(other_agencies=["police"]),
        ["other-agencies-without-sharing"],
        id="other-agencies-not-sharing",
    ),
    case(
        criteria_raw(**_SHARED_BY_PHONE, other_agencies=["police", "csc"]),
        ["agency-named-twice"],
        id="agency-named-twice",
    ),
    case(
        criteria_raw(**{**_SHARED_BY_PHONE, "agency": None}, other_agencies=["police"]),
        [DETAILS_MISSING],
        id="other-agencies-without-the-first",
    ),
    # A referral already made by phone is confirmed in writing: the answers must share.
    case(
        criteria_raw(**_SHARED_BY_PHONE, phoned_at=PHONED, phone_reference="MASH-77"),
        [],
        id="phoned-and-sharing",
    ),
    case(criteria_raw(**SHARING, consent="given", phoned_at=PHONED), [], id="phoned-with-consent"),
    case(
        criteria_raw(phoned_at=PHONED),
        ["phone-referral-without-sharing"],
        id="phoned-but-not-sharing",
    ),
    case(
        criteria_raw(evidence_of_harm=U, reasonable_cause=U, public_interest=Y, phoned_at=PHONED),
        ["phone-referral-without-sharing"],
        id="phoned-but-insufficient",
    ),
    case(
        criteria_raw(**_SHARED_BY_PHONE, phone_reference="MASH-77"),
        ["phone-reference-without-call"],
        id="phone-reference-without-time",
    ),
]


@pytest.mark.parametrize(("raw", "expected"), CRITERIA_PROBLEM_CASES)
def test_criteria_problems(raw: dict[str, Any], expected: list[str]) -> None:
    assert codes(criteria_problems(CriteriaAnswers.model_validate(raw))) == expected


@pytest.mark.parametrize(("raw", "expected"), CRITERIA_PROBLEM_CASES)
def test_parse_criteria_applies_the_rule(raw: dict[str, Any], expected: list[str]) -> None:
    assert parse_codes(ASSESS, raw) == expected


def test_sharing_details_message_names_every_missing_field() -> None:
    (problem,) = criteria_problems(answers(**SHARE_NO_CONSENT, consent_override_reason="Risk."))
    for name in ("information_to_share", "agency", "purpose", "lawful_basis"):
        assert name in problem.message


def test_a_decision_names_its_agencies_in_order_and_a_second_person_sees_them_all() -> None:
    several = answers(**_SHARED_BY_PHONE, other_agencies=["police", "lado"])
    assert several.agencies == ("csc", "police", "lado")
    assert decision_basis(several).other_agencies == ("police", "lado")
    assert answers().agencies == ()


def test_a_decision_names_at_most_nine_agencies() -> None:
    many = [f"agency-{n}" for n in range(MAX_OTHER_AGENCIES + 1)]
    assert parse_codes(ASSESS, criteria_raw(**_SHARED_BY_PHONE, other_agencies=many)) == [
        "invalid:other_agencies:too_long"
    ]


def bad(raw: dict[str, Any], *errors: str, id: str) -> Any:
    """A malformed answer and the "field:error-type" validation problems it must get."""
    return case(raw, [f"invalid:{e}" for e in errors], id=id)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        bad(criteria_raw(evidence_of_harm="maybe"), "evidence_of_harm:enum", id="bad-answer3"),
        bad(criteria_raw(public_interest="YES"), "public_interest:enum", id="case-sensitive"),
        bad(criteria_raw(consent="implied"), "consent:enum", id="bad-consent"),
        bad(criteria_raw(lawful_basis="consent"), "lawful_basis:enum", id="consent-not-a-basis"),
        bad(criteria_raw(notes="x"), "notes:extra_forbidden", id="extra-field"),
        bad(criteria_raw(reasons=None), "reasons:missing", id="reasons-missing"),
        bad(criteria_raw(reasons="   "), "reasons:string_too_short", id="reasons-blank"),
        bad(criteria_raw(reasons="x" * 20_001), "reasons:string_too_long", id="reasons-too-long"),
        bad(criteria_raw(agency="CSC"), "agency:string_pattern_mismatch", id="agency-not-a-code"),
        bad(criteria_raw(answered_by="dsl 1"), "answered_by:string_pattern_mismatch", id="bad-id"),
        bad(
            criteria_raw(special_category_data="?"),
            "special_category_data:bool_parsing",
            id="not-a-bool",
        ),
        # an optional text left blank is not given (the dashboard sends it empty): with consent
        # and nothing met, nothing to share, so a plain do-not-share
        case(criteria_raw(information_to_share="  ", consent="given"), [], id="blank-information"),
        bad(
            criteria_raw(evidence_of_harm="maybe", consent="implied"),
            "evidence_of_harm:enum",
            "consent:enum",
            id="two-bad-fields",
        ),
    ],
)
def test_parse_criteria_refuses_malformed_answers(raw: dict[str, Any], expected: list[str]) -> None:
    assert parse_codes(ASSESS, raw) == expected


@pytest.mark.parametrize(
    ("step", "raw", "domain_type"),
    [
        case(ASSESS, criteria_raw(), CriteriaAnswers, id="criteria"),
        case(MASH, mash_raw(), MashAdvice, id="mash"),
        case(SIGNOFF, signoff_raw(), Signoff, id="signoff"),
        case(PARENTS, parents_raw(), ParentsDecision, id="parents"),
        case(RECEIPT, receipt_raw(), ReceiptConfirmation, id="receipt"),
    ],
)
def test_parse_answer_returns_the_domain_value(
    step: Step, raw: dict[str, Any], domain_type: type[BaseModel]
) -> None:
    value = parse_answer(step, raw)
    assert type(value) is domain_type
    assert value == domain_type.model_validate(raw)


@pytest.mark.parametrize(
    ("step", "raw"),
    [
        case(ASSESS, criteria_raw(reasons=MARKER, **SHARE_NO_CONSENT), id="policy-problem"),
        case(ASSESS, criteria_raw(reasons=MARKER, consent="implied"), id="bad-enum-beside"),
        case(ASSESS, criteria_raw(evidence_of_harm=MARKER), id="typed-into-enum"),
        case(ASSESS, criteria_raw(agency=MARKER), id="typed-into-agency"),
        case(ASSESS, criteria_raw(answered_by=f"{MARKER} !"), id="typed-into-staff-id"),
        case(ASSESS, criteria_raw(reasons=MARKER * 2_000), id="text-too-long"),
        case(ASSESS, criteria_raw(special_category_data=MARKER), id="typed-into-bool"),
        case(MASH, mash_raw(sought_at=MARKER, advice=MARKER), id="typed-into-datetime"),
        case(MASH, mash_raw(sought_at=NAIVE, advice=MARKER), id="mash-naive-time"),
        case(SIGNOFF, signoff_raw(decision="decline", answered_by=MARKER), id="decline-no-reason"),
        case(PARENTS, parents_raw(response=None, risk_reason=MARKER), id="parents-told-incomplete"),
        case(PARENTS, parents_raw(told_at=NAIVE, response=MARKER), id="parents-naive-time"),
        case(RECEIPT, receipt_raw(channel="fax", confirmed_by_name=MARKER), id="bad-channel"),
    ],
)
def test_invalid_answer_never_echoes_what_was_typed(step: Step, raw: dict[str, Any]) -> None:
    with pytest.raises(InvalidAnswer) as caught:
        parse_answer(step, raw)
    exc = caught.value
    assert exc.problems
    assert MARKER not in str(exc)
    assert MARKER not in repr(exc)
    for problem in exc.problems:
        assert MARKER not in problem.message
        assert MARKER not in problem.code
    # The pydantic error (which does carry the input) is not shown in a traceback.
    assert exc.__cause__ is None and exc.__suppress_context__


# ---------------------------------------------------------------------------------------------
# 3. Who may answer, and two different people.

#: Written out from the policy rather than read from HUMAN_STEPS, so the table checks it.
MAY_ANSWER: dict[Step, set[Role]] = {
    ASSESS: {Role.DSL, Role.DEPUTY_DSL},
    MASH: {Role.DSL, Role.DEPUTY_DSL},
    SIGNOFF: {Role.SLT},
    RATIFY: {Role.SLT},
    PARENTS: {Role.DSL, Role.DEPUTY_DSL},
    RECEIPT: {Role.DSL, Role.DEPUTY_DSL},
    # a request to see child protection records: "refer the request to the Designated Person
    # or SLT"
    Step.ACCESS_DECISION: {Role.DSL, Role.DEPUTY_DSL, Role.SLT},
    # "SLT or Designated Person will only disclose any information about a pupil to other
    # members of staff on a need to know basis": the DSL decides who needs to know
    Step.NOTICE_REVIEW: {Role.DSL, Role.DEPUTY_DSL},
    # "The DSL will consider sharing relevant information with the new school in advance"
    Step.TRANSFER_REVIEW: {Role.DSL, Role.DEPUTY_DSL},
}
NOT_ANSWERED = [s for s in Step if s not in MAY_ANSWER]


def test_human_steps_match_the_policy() -> None:
    assert {step: set(roles) for step, roles in HUMAN_STEPS.items()} == MAY_ANSWER


def _answerer_cases() -> list[Any]:
    cases = []
    for step, allowed in MAY_ANSWER.items():
        for role in Role:
            for active in (True, False):
                if not active:
                    expected = ["staff-inactive"]
                elif role in allowed:
                    expected = []
                else:
                    expected = ["role-not-allowed"]
                state = "active" if active else "inactive"
                cases.append(
                    case(step, member("u1", role, active), expected, id=f"{step}/{role}/{state}")
                )
        cases.append(case(step, None, ["unknown-staff"], id=f"{step}/no-such-staff"))
    for step in NOT_ANSWERED:
        cases.append(case(step, member(), ["step-not-answerable"], id=f"{step}/dsl"))
        cases.append(case(step, None, ["step-not-answerable"], id=f"{step}/no-such-staff"))
    return cases


@pytest.mark.parametrize(("step", "answerer", "expected"), _answerer_cases())
def test_answerer_problems(step: Step, answerer: StaffMember | None, expected: list[str]) -> None:
    assert codes(answerer_problems(step, answerer)) == expected


@pytest.mark.parametrize(
    ("step", "answerer", "first_signer", "expected"),
    [
        case(SIGNOFF, member("head1", Role.SLT), "head1", ["same-person"], id="by-assessor"),
        case(SIGNOFF, member(" head1 ", Role.SLT), "head1", ["same-person"], id="padded-id"),
        case(SIGNOFF, member("head2", Role.SLT), "head1", [], id="by-other-slt"),
        case(SIGNOFF, member("head1", Role.SLT), None, [], id="no-first-signer"),
        case(SIGNOFF, member("head1", Role.SLT, False), "head1", ["staff-inactive"], id="inactive"),
        case(SIGNOFF, member("dsl1"), "dsl1", ["role-not-allowed"], id="by-assessor-dsl"),
        case(SIGNOFF, member("dep1", Role.DEPUTY_DSL), "dsl1", ["role-not-allowed"], id="deputy"),
        # Ratifying an emergency share is the second person's decision too.
        case(RATIFY, member("head1", Role.SLT), "head1", ["same-person"], id="ratify-by-assessor"),
        case(RATIFY, member("head2", Role.SLT), "head1", [], id="ratify-by-other-slt"),
        case(RATIFY, member("dsl1"), "dsl1", ["role-not-allowed"], id="ratify-by-dsl"),
        # Only the sign-off needs a second person; the DSL carries the case through the rest.
        case(PARENTS, member("dsl1"), "dsl1", [], id="parents-by-assessor"),
        case(MASH, member("dsl1"), "dsl1", [], id="mash-by-assessor"),
        case(RECEIPT, member("dsl1"), "dsl1", [], id="receipt-by-assessor"),
    ],
)
def test_two_different_people(
    step: Step, answerer: StaffMember, first_signer: str | None, expected: list[str]
) -> None:
    assert codes(answerer_problems(step, answerer, first_signer=first_signer)) == expected


def test_two_person_rule_holds_for_a_step_code_given_as_text() -> None:
    problems = answerer_problems(
        "management-signoff",  # type: ignore[arg-type]  # as read back from a database column
        member("head1", Role.SLT),
        first_signer="head1",
    )
    assert codes(problems) == ["same-person"]


STAFF = {
    m.staff_id: m
    for m in (
        member("dsl1", Role.DSL),
        member("deputy1", Role.DEPUTY_DSL),
        member("deputy2", Role.DEPUTY_DSL, active=False),
        member("head1", Role.SLT),
        member("head2", Role.SLT),
        member("head3", Role.SLT, active=False),
        member("teacher1", Role.STAFF),
    )
}


@pytest.mark.parametrize(
    ("step", "first_signer", "expected"),
    [
        case(ASSESS, None, ["deputy1", "dsl1"], id="assess"),
        case(PARENTS, "dsl1", ["deputy1", "dsl1"], id="parents-assessor-still-eligible"),
        case(SIGNOFF, None, ["head1", "head2"], id="signoff"),
        case(SIGNOFF, "dsl1", ["head1", "head2"], id="signoff-dsl-assessed"),
        case(SIGNOFF, "head1", ["head2"], id="signoff-excludes-assessor"),
        case(Step.NOTIFY_AGENCY, None, [], id="not-a-human-step"),
    ],
)
def test_eligible_answerers(step: Step, first_signer: str | None, expected: list[str]) -> None:
    assert eligible_answerers(step, STAFF, first_signer=first_signer) == expected


# ---------------------------------------------------------------------------------------------
# 4. Parents or carers.

TOLD_MISSING = "parents-told-details-missing"
RISK_MISSING = "parents-risk-reason-missing"


@pytest.mark.parametrize(
    ("raw", "expected", "named"),
    [
        case(parents_raw(), [], (), id="told-complete"),
        case(parents_raw(told_at=None), [TOLD_MISSING], ("told_at",), id="told-no-time"),
        case(parents_raw(told_by=None), [TOLD_MISSING], ("told_by",), id="told-no-teller"),
        case(parents_raw(response=None), [TOLD_MISSING], ("response",), id="told-no-response"),
        case(
            parents_raw(told_at=None, told_by=None, response=None),
            [TOLD_MISSING],
            ("told_at", "told_by", "response"),
            id="told-nothing",
        ),
        case(not_told_raw(), [], (), id="not-told-with-risk"),
        case(not_told_raw(risk_reason=None), [RISK_MISSING], (), id="not-told-no-risk"),
    ],
)
def test_parents_problems(raw: dict[str, Any], expected: list[str], named: tuple[str, ...]) -> None:
    problems = parents_problems(ParentsDecision.model_validate(raw))
    assert codes(problems) == expected
    for name in named:
        assert name in problems[0].message
    assert parse_codes(PARENTS, raw) == expected


@pytest.mark.parametrize(
    ("raw", "route"),
    [
        case(parents_raw(), None, id="told"),
        case(not_told_raw(), MashContext.PARENTS_RISK, id="not-told-risk"),
    ],
)
def test_parents_route(raw: dict[str, Any], route: MashContext | None) -> None:
    assert parents_route(ParentsDecision.model_validate(raw)) is route


# ---------------------------------------------------------------------------------------------
# 5. Management sign-off.


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        case(signoff_raw(), [], id="approve-no-reason"),
        case(signoff_raw(reason="Agreed: risk is clear."), [], id="approve-with-reason"),
        case(signoff_raw(decision="decline", reason="Not needed."), [], id="decline-with-reason"),
        case(signoff_raw(decision="decline"), ["decline-reason-missing"], id="decline-no-reason"),
    ],
)
def test_signoff_problems(raw: dict[str, Any], expected: list[str]) -> None:
    assert codes(signoff_problems(Signoff.model_validate(raw))) == expected
    assert parse_codes(SIGNOFF, raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # a blank reason is no reason: the policy's own refusal says what is missing
        case(signoff_raw(decision="decline", reason=" "), ["decline-reason-missing"], id="blank"),
        bad(signoff_raw(decision="maybe"), "decision:enum", id="bad-decision"),
        bad(signoff_raw(co_signer="x"), "co_signer:extra_forbidden", id="extra-field"),
    ],
)
def test_parse_signoff_refuses_malformed_answers(raw: dict[str, Any], expected: list[str]) -> None:
    assert parse_codes(SIGNOFF, raw) == expected


# ---------------------------------------------------------------------------------------------
# 6. MASH advice context, and the summary a case branches and closes on.

INSUF_CTX, PARENTS_CTX = MashContext.INSUFFICIENT_INFORMATION, MashContext.PARENTS_RISK


@pytest.mark.parametrize(
    ("context", "expected_context", "expected"),
    [
        case(INSUF_CTX, INSUF_CTX, [], id="insufficient-as-asked"),
        case(PARENTS_CTX, PARENTS_CTX, [], id="parents-risk-as-asked"),
        case(INSUF_CTX, PARENTS_CTX, ["mash-context-mismatch"], id="insufficient-for-parents"),
        case(PARENTS_CTX, INSUF_CTX, ["mash-context-mismatch"], id="parents-for-insufficient"),
    ],
)
def test_mash_problems(
    context: MashContext, expected_context: MashContext, expected: list[str]
) -> None:
    advice = MashAdvice.model_validate(mash_raw(context=context))
    assert codes(mash_problems(advice, expected=expected_context)) == expected


_SHARE_WITHOUT_CONSENT = {**SHARE_NO_CONSENT, **SHARING, "consent_override_reason": "Risk."}


@pytest.mark.parametrize(
    ("step", "answer", "outcome", "reasons", "agency"),
    [
        case(ASSESS, answers(), "do-not-share", ("no-criterion-met",), None, id="do-not-share"),
        case(
            ASSESS,
            answers(agency="csc"),
            "do-not-share",
            ("no-criterion-met",),
            None,
            id="not-sharing-names-no-agency",
        ),
        case(
            ASSESS,
            answers(evidence_of_harm=U, agency="csc"),
            "insufficient-information",
            ("criteria-unsure",),
            None,
            id="criteria-insufficient",
        ),
        case(
            ASSESS,
            answers(**_SHARE_WITHOUT_CONSENT),
            "share-without-consent",
            (C1.value, "public-interest-met", "consent-refused-overridden"),
            "csc",
            id="criteria-share-without-consent",
        ),
        case(
            ASSESS,
            answers(**SHARING, consent="given"),
            "share-with-consent",
            ("consent-given",),
            "csc",
            id="criteria-share-with-consent",
        ),
        case(
            SIGNOFF,
            Signoff.model_validate(signoff_raw(decision="decline", reason="Not proportionate.")),
            "decline",
            ("management-declined",),
            None,
            id="signoff-decline",
        ),
        case(SIGNOFF, Signoff.model_validate(signoff_raw()), "approve", (), None, id="approve"),
        case(
            ASSESS,
            answers(**_SHARE_WITHOUT_CONSENT_EMERGENCY),
            "share-without-consent",
            (
                C1.value,
                "public-interest-met",
                "consent-refused-overridden",
                "emergency-share-before-signoff",
            ),
            "csc",
            id="criteria-emergency-share",
        ),
        case(
            RATIFY,
            Signoff.model_validate(signoff_raw()),
            "approve",
            ("emergency-share-ratified",),
            None,
            id="ratified",
        ),
        case(
            RATIFY,
            Signoff.model_validate(signoff_raw(decision="decline", reason="Not an emergency.")),
            "decline",
            ("emergency-share-not-ratified",),
            None,
            id="not-ratified",
        ),
        case(
            PARENTS,
            ParentsDecision.model_validate(parents_raw()),
            "told",
            ("parents-told",),
            None,
            id="parents-told",
        ),
        case(
            PARENTS,
            ParentsDecision.model_validate(not_told_raw()),
            "not-told-risk",
            ("parents-not-told-risk",),
            None,
            id="parents-not-told",
        ),
        case(MASH, MashAdvice.model_validate(mash_raw()), "proceed", (), None, id="mash-proceed"),
        case(
            MASH,
            MashAdvice.model_validate(mash_raw(proceed=False)),
            "do-not-share",
            ("mash-advised-not-to-share",),
            None,
            id="mash-advises-not-to-share",
        ),
        case(
            RECEIPT,
            ReceiptConfirmation.model_validate(receipt_raw()),
            "confirmed",
            (),
            None,
            id="receipt",
        ),
    ],
)
def test_summarise(
    step: Step, answer: Any, outcome: str, reasons: tuple[str, ...], agency: str | None
) -> None:
    """The codes the pipeline branches on, and closes a case with when it does not share."""
    summary = summarise(step, "slot-1", answer)
    assert (summary.step, summary.slot, summary.actor) == (step, "slot-1", answer.answered_by)
    assert (summary.outcome, summary.reasons, summary.agency) == (outcome, reasons, agency)


@pytest.mark.parametrize(
    ("step", "answer"),
    [
        case(
            ASSESS,
            answers(
                **{
                    **_SHARE_WITHOUT_CONSENT,
                    "information_to_share": MARKER,
                    "purpose": MARKER,
                    "consent_override_reason": MARKER,
                },
                reasons=MARKER,
            ),
            id="criteria",
        ),
        case(
            SIGNOFF,
            Signoff.model_validate(signoff_raw(decision="decline", reason=MARKER)),
            id="signoff",
        ),
        case(
            PARENTS,
            ParentsDecision.model_validate(parents_raw(response=MARKER, risk_reason=MARKER)),
            id="parents",
        ),
        case(
            MASH,
            MashAdvice.model_validate(mash_raw(advice=MARKER, mash_contact=MARKER, proceed=False)),
            id="mash",
        ),
        case(
            RECEIPT,
            ReceiptConfirmation.model_validate(receipt_raw(confirmed_by_name=MARKER)),
            id="receipt",
        ),
    ],
)
def test_summary_carries_no_free_text(step: Step, answer: Any) -> None:
    assert MARKER not in summarise(step, "slot-1", answer).model_dump_json()


def test_summarise_refuses_an_unknown_answer() -> None:
    with pytest.raises(TypeError):
        summarise(Step.NOTIFY_AGENCY, "slot-1", member())


# ---------------------------------------------------------------------------------------------
# 7. Times must carry their UTC offset, wherever they appear.


class _NoOffset(tzinfo):
    """A time zone that does not know its offset: as good as none."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None


NAIVE_TIMES = [
    case(NAIVE, id="naive-text"),
    case("2026-11-25", id="date-only-text"),
    case(datetime(2026, 11, 25, 9, 30), id="naive-datetime"),
    case(datetime(2026, 11, 25, 9, 30, tzinfo=_NoOffset()), id="tzinfo-without-offset"),
]

#: Every time field in a domain value, with a builder for an otherwise valid answer.
TIME_FIELDS: list[tuple[type[BaseModel], str, Any]] = [
    (ConcernFacts, "occurred_at", lambda t: concern_raw(occurred_at=t)),
    (PlanEventFacts, "occurred_at", lambda t: plan_event_raw(occurred_at=t)),
    (AccessRequestFacts, "received_at", lambda t: access_request_raw(received_at=t)),
    (NoticeFacts, "received_at", lambda t: notice_raw(received_at=t)),
    (
        CriteriaAnswers,
        "phoned_at",
        lambda t: criteria_raw(**_SHARED_BY_PHONE, phoned_at=t),
    ),
    (MashAdvice, "sought_at", lambda t: mash_raw(sought_at=t)),
    (ParentsDecision, "told_at", lambda t: parents_raw(told_at=t)),
    (ReceiptConfirmation, "confirmed_at", lambda t: receipt_raw(confirmed_at=t)),
]
_TIME_FIELD_PARAMS = [case(m, f, b, id=f"{m.__name__}.{f}") for m, f, b in TIME_FIELDS]
_STEP_OF = {
    CriteriaAnswers: ASSESS,
    MashAdvice: MASH,
    ParentsDecision: PARENTS,
    ReceiptConfirmation: RECEIPT,
}


def _mentions_datetime(annotation: Any) -> bool:
    return annotation is datetime or any(_mentions_datetime(a) for a in get_args(annotation))


#: Where the domain values are declared: the kernel and each kind of case.
DOMAIN_MODULES = (
    "models.kernel.values",
    "models.kernel.problems",
    "models.kernel.roles",
    "models.kernel.steps",
    "models.kernel.waits",
    "models.kernel.directory",
    "models.sharing.concern",
    "models.sharing.criteria",
    "models.sharing.decision",
    "models.sharing.signoff",
    "models.sharing.mash",
    "models.sharing.parents",
    "models.sharing.disclosure",
    "models.access_request",
    "models.notice",
    "models.transfer",
    "models.plan_event.policy",
)


def test_time_fields_table_covers_every_domain_time() -> None:
    found = {
        (model, name)
        for module in DOMAIN_MODULES
        for model in vars(importlib.import_module(module)).values()
        if isinstance(model, type) and issubclass(model, Frozen)
        for name, field in model.model_fields.items()
        if _mentions_datetime(field.annotation)
    }
    assert found == {(m, f) for m, f, _ in TIME_FIELDS}


@pytest.mark.parametrize("when", NAIVE_TIMES)
@pytest.mark.parametrize(("model", "field", "build"), _TIME_FIELD_PARAMS)
def test_domain_refuses_times_without_offset(
    model: type[BaseModel], field: str, build: Any, when: Any
) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(build(when))
    assert [(e["loc"], e["type"]) for e in caught.value.errors()] == [((field,), "value_error")]


@pytest.mark.parametrize("when", NAIVE_TIMES)
@pytest.mark.parametrize(
    ("step", "raw_for"),
    [
        case(ASSESS, lambda t: criteria_raw(**_SHARED_BY_PHONE, phoned_at=t), id="phoned_at"),
        case(MASH, lambda t: mash_raw(sought_at=t), id="mash-sought_at"),
        case(PARENTS, lambda t: parents_raw(told_at=t), id="parents-told-told_at"),
        case(PARENTS, lambda t: not_told_raw(told_at=t), id="parents-not-told-told_at"),
        case(RECEIPT, lambda t: receipt_raw(confirmed_at=t), id="receipt-confirmed_at"),
    ],
)
def test_forms_refuse_times_without_offset(step: Step, raw_for: Any, when: Any) -> None:
    field = next(k for k, v in raw_for(when).items() if v is when)
    with pytest.raises(InvalidAnswer) as caught:
        parse_answer(step, raw_for(when))
    assert codes(caught.value.problems) == [f"invalid:{field}:value_error"]
    assert "UTC offset" in str(caught.value)


@pytest.mark.parametrize(
    ("when", "offset"),
    [
        case("2026-11-25T09:30:00+00:00", timedelta(0), id="utc-text"),
        case("2026-11-25T09:30:00Z", timedelta(0), id="zulu-text"),
        case("2026-11-25T09:30:00+01:00", timedelta(hours=1), id="plus-one-text"),
        case(datetime(2026, 11, 25, 9, 30, tzinfo=UTC), timedelta(0), id="utc-datetime"),
        case(
            datetime(2026, 6, 1, 9, 30, tzinfo=timezone(timedelta(hours=1))),
            timedelta(hours=1),
            id="bst-datetime",
        ),
    ],
)
@pytest.mark.parametrize(("model", "field", "build"), _TIME_FIELD_PARAMS)
def test_times_with_offset_are_kept(
    model: type[BaseModel], field: str, build: Any, when: Any, offset: timedelta
) -> None:
    raw = build(when)
    value = model.model_validate(raw)
    assert getattr(value, field).utcoffset() == offset
    if model in _STEP_OF:
        assert getattr(parse_answer(_STEP_OF[model], raw), field) == getattr(value, field)


def test_an_emergency_needs_a_reason_and_sharing_without_consent() -> None:
    assert is_emergency(answers(**_SHARE_WITHOUT_CONSENT_EMERGENCY))
    assert not is_emergency(
        answers(**{**_SHARE_WITHOUT_CONSENT_EMERGENCY, "emergency_reason": None})
    )
    assert not is_emergency(answers(emergency_reason="Child at risk tonight."))


# ---------------------------------------------------------------------------------------------
# 9. Times in answers say when something happened: never in the future (the clock passed in).

CLOCK = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        case(answers(**_SHARED_BY_PHONE, phoned_at=CLOCK - timedelta(hours=3)), [], id="past"),
        case(answers(**_SHARED_BY_PHONE, phoned_at=CLOCK + timedelta(minutes=4)), [], id="skew"),
        case(
            answers(**_SHARED_BY_PHONE, phoned_at=CLOCK + timedelta(minutes=6)),
            ["phoned_at"],
            id="phoned-tomorrow",
        ),
        case(
            ParentsDecision.model_validate(parents_raw(told_at=CLOCK + timedelta(days=1))),
            ["told_at"],
            id="told-tomorrow",
        ),
        case(
            MashAdvice.model_validate(
                mash_raw(
                    sought_at=(CLOCK + timedelta(hours=2)).astimezone(timezone(timedelta(hours=5)))
                )
            ),
            ["sought_at"],
            id="other-offset-still-future",
        ),
        case(answers(), [], id="no-times"),
    ],
)
def test_future_times_are_refused(value: BaseModel, expected: list[str]) -> None:
    problems = future_times(value, CLOCK)
    assert codes(problems) == (["time-in-future"] if expected else [])
    for name in expected:
        assert name in problems[0].message
