"""What a person answering through a link is shown, and no more: the decision a senior leader
signs off (or ratifies), and exactly what one agency's disclosure shares."""

from __future__ import annotations

from typing import Any

from models.identity import reader_of_receipt
from models.kernel.steps import Step
from models.messages.cases import case_reference
from models.sharing.criteria import CriteriaAnswers
from models.sharing.decision import decision_basis
from models.sharing.disclosure import SPECIAL_CATEGORY_CONDITION
from models.tables.cases import Case
from models.tables.directory import Agency
from models.tables.disclosures import Disclosure
from tasks.case_facts import CaseNotFound, first_signer, latest_answer, phone_referral
from tasks.closing import disclosures_of
from tasks.identity import child_identity
from tasks.openings import openings
from tasks.views import disclosure_fields, iso


def signoff_summary(session: Any, case_id: int) -> dict[str, Any]:
    """What a senior leader needs to sign off (or ratify) a decision to share, and no more:
    everything the decision rests on. The reference, the kind of concern, the criteria answers
    and the DSL's reasons, consent and why it is overridden or not sought, the outcome the rule
    computed with its reason codes, what is shared with whom, why and on what lawful basis;
    once shared (an emergency share awaiting ratification), what was shared, as the disclosure
    records it."""

    case = session.get(Case, case_id)
    if case is None:
        raise CaseNotFound(f"No case has the id {case_id}.")
    assessment = latest_answer(session, case_id, Step.ASSESS_CRITERIA)
    summary: dict[str, Any] = {
        "reference": case_reference(case_id),
        "category": openings(session, [case])[case_id].label,
        "assessed_by": first_signer(session, case_id),
        "shared": None,
    }
    if isinstance(assessment, CriteriaAnswers):
        basis = decision_basis(assessment)
        summary |= {
            "outcome": basis.outcome.value,
            "reasons": list(basis.reasons),
            "criteria": {
                "evidence of significant harm": assessment.evidence_of_harm.value,
                "reasonable cause to believe": assessment.reasonable_cause.value,
                "to prevent significant harm or serious crime": (
                    assessment.prevent_harm_or_crime.value
                ),
                "not sharing could be worse than sharing": assessment.public_interest.value,
            },
            "assessment_reasons": assessment.reasons,
            "consent": assessment.consent.value,
            "consent_override_reason": assessment.consent_override_reason,
            "consent_not_sought_reason": assessment.consent_not_sought_reason,
            "information_to_share": assessment.information_to_share,
            "agency": ", ".join(_agency_name(session, code) for code in assessment.agencies)
            or None,
            "agency_code": ", ".join(assessment.agencies) or None,
            "purpose": assessment.purpose,
            "lawful_basis": assessment.lawful_basis.value if assessment.lawful_basis else None,
            "special_category_condition": SPECIAL_CATEGORY_CONDITION
            if assessment.special_category_data
            else None,
            "emergency_reason": assessment.emergency_reason,
            **_phone_referral(session, case_id),
        }
    disclosures = disclosures_of(session, case_id)
    if disclosures:
        summary["shared"] = {
            "agency": ", ".join(_agency_name(session, d.agency_code) for d in disclosures),
            "agency_code": ", ".join(d.agency_code for d in disclosures),
            **disclosure_fields(disclosures[0]),
        }
    return summary


def _agency_name(session: Any, code: str) -> str:

    agency = session.get(Agency, code)
    return agency.name if agency is not None else code


def disclosure_summary(session: Any, disclosure_id: int, holder: str = "agency") -> dict[str, Any]:
    """Exactly what is shared with one agency, as its disclosure records it: what, why, on what
    basis, who decided and who co-signed, and who the child is as that reader (`holder` of the
    receipt link: the agency, or the pupil's social worker) needs to know it. Nothing else about
    the case (nor which other agencies were told)."""
    disclosure = session.get(Disclosure, disclosure_id)
    if disclosure is None:
        raise CaseNotFound(f"No disclosure has the id {disclosure_id}.")
    case_id = disclosure.case_id
    agency = session.get(Agency, disclosure.agency_code)
    reader = reader_of_receipt(holder, agency.kind if agency is not None else None)
    return {
        "reference": case_reference(case_id),
        "child": child_identity(session, case_id, reader),
        "agency": _agency_name(session, disclosure.agency_code),
        **disclosure_fields(disclosure),
        **_phone_referral(session, case_id),
    }


def _phone_referral(session: Any, case_id: int) -> dict[str, Any]:
    """When the referral this disclosure confirms in writing was made by phone, and its
    reference; empty when there was no call."""
    called = phone_referral(session, case_id)
    if called is None:
        return {}
    return {"phoned_at": iso(called.phoned_at), "phone_reference": called.phone_reference}
