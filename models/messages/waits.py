"""Messages about a wait: who is asked to answer it, the dashboard form's description and the
help under its code, one person's own code and link, and the reminders of an overdue wait.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from models.deadlines import WRITTEN_CONFIRMATION
from models.kernel.problems import Problem
from models.kernel.steps import Step
from models.kernel.values import Frozen
from models.messages.cases import STEP_TITLES, WHAT_IS_NEEDED, case_reference
from models.messages.sharing import decision_lines
from models.sharing.decision import DecisionBasis

#: Waits the management team alone answers: told to the `slt` tag, whose readers may not read
#: cases (`safeshare case show` would be refused them).
_MANAGEMENT_STEPS = frozenset({Step.MANAGEMENT_SIGNOFF, Step.RATIFICATION})


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
    lines.append(f"Case {ref} is waiting for you to {WHAT_IS_NEEDED[step]}.")
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


def _read_the_case(case_id: int, case_page: str | None) -> str:
    ref = case_reference(case_id)
    return f"[{ref}]({case_page})" if case_page else f"`safeshare case show {case_id}`"


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
    parts = [f"**Case {ref}: {STEP_TITLES[step]}.** Please {WHAT_IS_NEEDED[step]}."]
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
    lines = [f"Case {ref} is waiting for you to {WHAT_IS_NEEDED[step]}."]
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
    what = WHAT_IS_NEEDED.get(step, STEP_TITLES[step])
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
