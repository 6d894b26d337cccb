"""Texts that leave the case database: notifications and dashboard form descriptions.

They carry a case reference, a step, staff ids and links; never a name or what happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from models.deadlines import WRITTEN_CONFIRMATION
from models.kernel.problems import Problem
from models.kernel.steps import Step
from models.kernel.values import Frozen
from models.sharing.criteria import Consent
from models.sharing.decision import DecisionBasis

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

_WHAT_IS_NEEDED: dict[Step, str] = {
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


#: Waits the management team alone answers: told to the `slt` tag, whose readers may not read
#: cases (`safeshare case show` would be refused them).
_MANAGEMENT_STEPS = frozenset({Step.MANAGEMENT_SIGNOFF, Step.RATIFICATION})


def case_reference(case_id: int) -> str:
    """The reference people use for a case: stable, short, and personal-data free."""
    return f"SS-{case_id:06d}"


def waiting_message(
    case_id: int,
    step: Step,
    *,
    who: Sequence[str],
    link: str | None,
    due: datetime | None = None,
    note: str | None = None,
) -> tuple[str, str]:
    """Title and body telling the people who may answer that a step waits for them (after
    `note`, what they should know first)."""
    ref = case_reference(case_id)
    title = f"safeshare {ref}: {STEP_TITLES[step]} needed"
    lines = [note] if note else []
    lines.append(f"Case {ref} is waiting for you to {_WHAT_IS_NEEDED[step]}.")
    if due is not None:
        lines.append(f"Due by {due:%Y-%m-%d %H:%M} UTC.")
    if who:
        lines.append(f"Who may answer: {', '.join(who)}.")
    if link:
        lines.append(f"Open: {link}")
    if step in _MANAGEMENT_STEPS:
        # told to the management team, who may not read cases: their way in is their own
        lines.append("Each of you who may answer has a link and code of your own, sent to you.")
    else:
        lines.append(f"Or: safeshare case show {case_id}")
    return title, "\n".join(lines)


def agency_message(
    case_id: int,
    agency_code: str,
    *,
    link: str | None = None,
    expires_at: datetime | None = None,
    phoned_at: datetime | None = None,
    event: str | None = None,
    to_social_worker: bool = False,
    transfer: str | None = None,
) -> tuple[str, str]:
    """Title and body telling an agency that a setting is sharing safeguarding information
    (after a phone referral, that this is its written confirmation; for a Child Protection Plan
    event, which kind, to children's social care and to the pupil's social worker)."""
    ref = case_reference(case_id)
    whom = "the pupil's social worker" if to_social_worker else agency_code
    title = f"safeshare {ref}: safeguarding information for {whom}"
    lines = [
        f"A school is sharing safeguarding information with you under case {ref}. "
        "The information itself is not in this message."
    ]
    if event is not None:
        title = f"safeshare {ref}: Child Protection Plan event ({event}), for {whom}"
        lines = [
            f"A school tells you, as its policy requires at once, of an event ({event}) for a "
            f"pupil on a Child Protection Plan, under case {ref}. The details are not in this "
            "message."
        ]
    if phoned_at is not None:
        title = f"safeshare {ref}: written confirmation of phone referral, for {agency_code}"
        lines.append(
            "This is the written confirmation of the referral the school made to you by phone "
            f"at {phoned_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC."
        )
    if transfer == "file":
        title = f"safeshare {ref}: a child protection file for {whom}"
        lines = [
            f"A school is sending you the child protection file of a pupil joining you, under "
            f"case {ref}, separately from the main pupil file. The file is not in this message."
        ]
    elif transfer == "unknown":
        title = f"safeshare {ref}: a pupil left for an unknown destination, for {whom}"
        lines = [
            f"A pupil has left a school and where they have gone is not known (case {ref}). The "
            "school keeps their child protection file. The details are not in this message."
        ]
    if link:
        until = f", until {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
        lines.append(
            f"Read what is shared and confirm receipt here (the link works once{until}): {link}"
        )
    else:
        lines.append(
            f"Please confirm receipt to the school's Designated Safeguarding Lead, quoting {ref} "
            "and your own reference."
        )
    return title, "\n".join(lines)


def outcome_message(case_id: int, outcome: str) -> tuple[str, str]:
    """Title and body telling the DSL how a case ended."""
    ref = case_reference(case_id)
    return f"safeshare {ref}: {outcome}", f"Case {ref} closed: {outcome}. The record is complete."


def _read_the_case(case_id: int, case_page: str | None) -> str:
    ref = case_reference(case_id)
    return f"[{ref}]({case_page})" if case_page else f"`safeshare case show {case_id}`"


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


def form_description(
    case_id: int,
    step: Step,
    *,
    who: Sequence[str],
    previous_problems: Sequence[Problem] = (),
    case_page: str | None = None,
    basis: DecisionBasis | None = None,
) -> str:
    """Markdown shown above a dashboard form: what is asked, by whom, what a decision to share
    rests on (`basis`: codes only), why it was re-asked, and where to read the case (a
    reference and a link: no content)."""
    ref = case_reference(case_id)
    # Short first: a dashboard may leave this only a few lines, scrolled (the first field's
    # help, `code_help`, carries the essentials again).
    parts = [f"**Case {ref}: {STEP_TITLES[step]}.** Please {_WHAT_IS_NEEDED[step]}."]
    if basis is not None:
        parts.append(
            "**What the decision rests on** (codes; the DSL's reasons, why consent is "
            "overridden or not sought, and what is shared, with whom and why are on the case "
            "page):"
        )
        parts.append("\n".join(decision_lines(basis)))
    parts.append(
        f"**Who may answer:** {', '.join(who) if who else 'nobody is eligible yet: add staff'}."
    )
    parts.append(
        f"Read the case first: {_read_the_case(case_id, case_page)}. Free text you type here is "
        "copied into the case record and removed from the dashboard."
    )
    if previous_problems:
        parts.append("**The previous answer was not accepted:**")
        parts.extend(f"- {p.message}" for p in previous_problems)
    return "\n\n".join(parts)


def code_help(
    case_id: int,
    step: Step,
    *,
    who: Sequence[str],
    previous_problems: Sequence[Problem] = (),
    case_page: str | None = None,
) -> str:
    """The help under the form's first field, the one-time code: the essentials of the wait
    (which case, which step, who may answer, where to read the case, why it was re-asked),
    where every version of the dashboard shows them, however long the form. Plain text: one
    version renders a field's help as Markdown, the other shows it as it is."""
    ref = case_reference(case_id)
    where = case_page or f"safeshare case show {case_id}"
    text = (
        f"Case {ref}: {STEP_TITLES[step]}. Who may answer: "
        f"{', '.join(who) if who else 'nobody yet'}. Read the case first: {where} - then type "
        "the one-time code sent to you for this step: no answer counts without it."
    )
    if previous_problems:
        text += " The previous answer was not accepted: " + " ".join(
            p.message for p in previous_problems
        )
    return text


def personal_message(
    case_id: int,
    step: Step,
    wait_key: str,
    *,
    code: str,
    expires_at: datetime,
    link: str | None = None,
    dashboard: str | None = None,
) -> tuple[str, str]:
    """Title and body of one person's own way to answer a wait: for its holder only."""
    ref = case_reference(case_id)
    title = f"safeshare {ref}: your code for the {STEP_TITLES[step]} ({wait_key})"
    lines = [f"Case {ref} is waiting for you to {_WHAT_IS_NEEDED[step]}."]
    lines += _credential_lines(case_id, step, code, expires_at, link=link, dashboard=dashboard)
    return title, "\n".join(lines)


def _credential_lines(
    case_id: int,
    step: Step,
    code: str,
    expires_at: datetime,
    *,
    link: str | None,
    dashboard: str | None,
) -> list[str]:
    """How to answer with one's own link or code, and until when."""
    lines = []
    if link:
        lines.append(f"Answer with your personal link (works once): {link}")
    lines.append(
        f"Or answer in the dashboard or with `safeshare answer {case_id} {step.value} --code ...` "
        f"using your one-time code: {code}"
    )
    if dashboard:
        lines.append(f"Dashboard: {dashboard}")
    lines.append(f"Valid until {expires_at:%Y-%m-%d %H:%M} UTC, for you only: do not forward it.")
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


class Credentials(Frozen):
    """One person's fresh way to answer a wait: their code, their link for a sign-off, and
    until when they work (held only in the message that carries them)."""

    wait_key: str  # the wait they answer, named in the title as in the first message
    code: str
    expires_at: datetime
    link: str | None = None
    dashboard: str | None = None


def overdue_message(
    case_id: int,
    step: Step,
    *,
    level: int,
    rung: str,
    due: datetime,
    deadline: str | None = None,
    must_act: Sequence[str] = (),
    credentials: Credentials | None = None,
    case_page: str | None = None,
    sign_in: str | None = None,
) -> tuple[str, str]:
    """Title and body of a reminder that a wait is past its deadline, at one rung of its ladder,
    with only what its reader can act on: their own fresh `credentials` when they may answer,
    the `case_page` when they may read the case, the `sign_in` page of the web app; otherwise
    who must act. `deadline` names the rule that set it when that is not the step's own (a
    phone referral's written confirmation)."""
    ref = case_reference(case_id)
    what = _WHAT_IS_NEEDED.get(step, STEP_TITLES[step])
    if deadline == WRITTEN_CONFIRMATION:
        title = (
            f"safeshare {ref}: written confirmation of phone referral overdue "
            f"(reminder {level}: {rung})"
        )
        why = (
            f"Case {ref} was referred by phone; its written confirmation to the agency was due by "
            f"{due:%Y-%m-%d %H:%M} UTC. It goes once the case has what it waits for: someone "
            f"to {what}."
        )
    else:
        title = f"safeshare {ref}: {STEP_TITLES[step]} overdue (reminder {level}: {rung})"
        why = (
            f"Case {ref} has been waiting past its deadline ({due:%Y-%m-%d %H:%M} UTC) for "
            f"someone to {what}."
        )
    lines = [
        f"{why} Reminder {level} goes to {rung}; it goes further up each time it stays undone."
    ]
    if must_act:
        lines.append(f"Who may answer: {', '.join(must_act)}.")
    if credentials is not None:
        title += f": your new code ({credentials.wait_key})"
        what = "link and code are" if credentials.link else "code is"
        lines.append(
            f"Your new {what} below; those sent to you before for this step no longer work."
        )
        lines += _credential_lines(
            case_id,
            step,
            credentials.code,
            credentials.expires_at,
            link=credentials.link,
            dashboard=credentials.dashboard,
        )
    if case_page:
        lines.append(f"Read the case: {case_page}")
    if sign_in:
        lines.append(f"Sign in to safeshare: {sign_in}")
    return title, "\n".join(lines)


def receipt_reminder_message(
    case_id: int,
    *,
    level: int,
    rung: str,
    due: datetime,
    link: str,
    expires_at: datetime,
) -> tuple[str, str]:
    """Title and body of a reminder to an agency (or a pupil's social worker) that has not
    confirmed receipt: a new link of its own, as the one it had may have expired or gone
    astray."""
    ref = case_reference(case_id)
    what = STEP_TITLES[Step.CONFIRM_RECEIPT]
    title = f"safeshare {ref}: {what} overdue (reminder {level}: {rung})"
    body = (
        f"A school shared safeguarding information with you under case {ref} and has not had "
        f"your confirmation of receipt, which was due by {due:%Y-%m-%d %H:%M} UTC. The "
        "information itself is not in this message.\n"
        "Read what is shared and confirm receipt here (a new link: it works once, until "
        f"{expires_at:%Y-%m-%d %H:%M} UTC; links sent before no longer work): {link}"
    )
    return title, body


def receipt_note(agency: str, index: int, of: int) -> str:
    """What the DSL is told first when a decision shared with several agencies waits for one
    of their receipts (each agency's is awaited in turn; all of them are chased)."""
    return (
        f"This wait is for the receipt from {agency} ({index + 1} of {of} agencies this "
        "decision shares with); the case closes when every one has confirmed."
    )


def plan_event_note(case_id: int, event: str) -> str:
    """What the DSL is told first when a Child Protection Plan event has gone out."""
    ref = case_reference(case_id)
    return (
        f"A Child Protection Plan event ({event}) was recorded as case {ref}; children's social "
        "care and the pupil's social worker have been told, each with a link to confirm "
        "receipt, as the policy requires at once."
    )


def notice_message(case_id: int, *, link: str, expires_at: datetime) -> tuple[str, str]:
    """Title and body of one member of staff's link to a need-to-know notice (theirs only)."""
    ref = case_reference(case_id)
    title = f"safeshare {ref}: a need-to-know notice for you"
    body = (
        f"The Designated Safeguarding Lead has a notice for you to read (case {ref}). It is not "
        f"in this message. Read it here (the link is yours; opening it is recorded; until "
        f"{expires_at:%Y-%m-%d %H:%M} UTC): {link}\n"
        "Do not forward it. What it says is for you only, on a need-to-know basis."
    )
    return title, body


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
