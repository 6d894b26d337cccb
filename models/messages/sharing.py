"""A sharing case's own texts: what a decision to share rests on (codes only, for whoever
co-signs it), and an emergency share the management team did not ratify.
"""

from __future__ import annotations

from models.messages.cases import case_reference
from models.sharing.criteria import Consent
from models.sharing.decision import DecisionBasis

#: The criteria as the policy words them, in the order a co-signer reads them.
_CRITERIA_WORDS = (
    ("evidence_of_harm", "evidence of significant harm"),
    ("reasonable_cause", "reasonable cause to believe"),
    ("prevent_harm_or_crime", "to prevent significant harm or serious crime"),
    ("public_interest", "not sharing could be worse than sharing (public interest)"),
)


def decision_lines(basis: DecisionBasis) -> list[str]:
    """What a decision to share rests on, in codes: the outcome the rule computed and its
    reason codes, the criteria answers, consent, the agency and the lawful basis."""
    criteria = "; ".join(
        f"{words} **{getattr(basis, field).value}**" for field, words in _CRITERIA_WORDS
    )
    consent = {
        Consent.REFUSED: "refused, and overridden (why: on the case page)",
        Consent.NOT_SOUGHT: "not sought (why not: on the case page)",
        Consent.GIVEN: "given",
    }[basis.consent]
    lines = [
        f"- Computed outcome: `{basis.outcome.value}`; reason codes: "
        + ", ".join(f"`{reason}`" for reason in basis.reasons),
        f"- Criteria: {criteria}",
        f"- Consent: {consent}",
        "- Share with: "
        + (", ".join(f"`{a}`" for a in (basis.agency, *basis.other_agencies) if a) or "`none`")
        + "; lawful basis: "
        f"`{basis.lawful_basis.value if basis.lawful_basis else 'none'}`; special category "
        f"data: {'yes' if basis.special_category_data else 'no'}",
        f"- Assessed by: {basis.assessed_by}"
        + ("; shared at once, as an emergency" if basis.emergency else ""),
    ]
    return lines


def not_ratified_message(case_id: int, *, for_dsl: bool = True) -> tuple[str, str]:
    """Title and body telling the DSL (`for_dsl`) or the management team that an emergency
    share was not ratified, and what follows; the commands only for the DSL, who may use
    them."""
    ref = case_reference(case_id)
    title = f"safeshare {ref}: emergency share not ratified"
    body = (
        f"The management team declined to ratify the emergency share on case {ref}. The "
        "information has already been shared, and the case goes on to its confirmation of "
        "receipt. The DSL and the head teacher should review the decision now, tell the agency "
        "if it should not act on what it received, and record what follows on the case"
    )
    if for_dsl:
        body += (
            f" (safeshare case note {case_id} --text ...). Reasons are in the case record: "
            f"safeshare case show {case_id}"
        )
    else:
        body += ": the DSL records it, and the reasons are in the case record."
    return title, body
