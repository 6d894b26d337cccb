"""Which rule decides whether a link may answer a waiting step (pure: the clock is passed in).

A link is bound to one person, one case, one wait (its slot: every asking of it, as a refused
answer asks again under a new key) and one flow run. Whatever door it comes through, its use is
judged here; the web app only maps the outcome to an HTTP status.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from models.kernel.answerers import answerer_problems
from models.kernel.roles import StaffMember
from models.kernel.steps import Step
from models.kernel.values import Frozen


class LinkPurpose(StrEnum):
    """What a personal link (or code) is for: every kind is a row of one table, issued,
    superseded, verified and spent by one service (tasks/personal_links.py)."""

    ANSWER_LINK = "answer-link"  # a member of staff answers a wait from the web app
    ANSWER_CODE = "answer-code"  # a member of staff proves who answers, in the dashboard or CLI
    RECEIPT_LINK = "receipt-link"  # a recipient confirms receipt of a disclosure
    NOTICE_LINK = "notice-link"  # a member of staff reads a need-to-know notice


#: Steps whose eligible people each get a personal link to answer from (the sign-off web app).
LINK_STEPS = frozenset({Step.MANAGEMENT_SIGNOFF, Step.RATIFICATION})


class LinkOutcome(StrEnum):
    VALID = "valid"
    FORGED = "forged"  # not signed by us, altered, or naming no link we issued
    EXPIRED = "expired"
    USED = "used"  # this link has answered already
    SUPERSEDED = "superseded"  # a newer link went to its holder for the same thing
    ANSWERED = "answered"  # someone else answered the step this link was for
    WRONG_STEP = "wrong-step"  # the case no longer waits for what this link answers
    WRONG_PERSON = "wrong-person"  # its person may no longer answer this step
    THROTTLED = "throttled"  # too many failures from this address or for this link


#: The HTTP status each outcome is answered with.
LINK_STATUS: dict[LinkOutcome, int] = {
    LinkOutcome.VALID: 200,
    LinkOutcome.FORGED: 403,
    LinkOutcome.WRONG_PERSON: 403,
    LinkOutcome.EXPIRED: 410,
    LinkOutcome.USED: 409,
    LinkOutcome.SUPERSEDED: 409,
    LinkOutcome.ANSWERED: 409,
    LinkOutcome.WRONG_STEP: 409,
    LinkOutcome.THROTTLED: 429,
}

#: What the person reading the page is told, without naming anything about the case.
LINK_MESSAGES: dict[LinkOutcome, str] = {
    LinkOutcome.FORGED: "This link is not valid. Use the link exactly as it arrived.",
    LinkOutcome.WRONG_PERSON: "This link's holder may not answer this step.",
    LinkOutcome.EXPIRED: "This link has expired. Ask the Designated Safeguarding Lead to send "
    "you a new one (safeshare case resend CASE_ID).",
    LinkOutcome.USED: "This link has been used already; each link works once.",
    LinkOutcome.SUPERSEDED: "A newer link has been sent to you since this one (a reminder, or "
    "a new link asked for): use the link in your newest message.",
    LinkOutcome.ANSWERED: "This step has been answered already (through another link, a "
    "one-time code or the dashboard).",
    LinkOutcome.WRONG_STEP: "The case is no longer waiting for this step.",
    LinkOutcome.THROTTLED: "Too many failed attempts. Wait a few minutes and try again.",
}


class LinkFacts(Frozen):
    """What the case database holds about one issued link."""

    case_id: int
    step: Step
    slot: str
    staff_id: str
    flow_run_id: str
    expires_at: datetime
    used_at: datetime | None = None
    superseded: bool = False  # spent by a newer link to its holder, not by an answer


class WaitFacts(Frozen):
    """What the case is waiting for now, and who answered the link's wait if anyone did."""

    waiting_slot: str | None  # the slot the case waits on now (asked again or not)
    flow_run_id: str | None
    answered_by: str | None = None  # actor of the accepted answer to the link's slot
    first_signer: str | None = None
    subject: str | None = None  # the member of staff the case's allegation is about


def judge_link(
    link: LinkFacts | None,
    wait: WaitFacts | None,
    person: StaffMember | None,
    *,
    now: datetime,
) -> LinkOutcome:
    """Whether this link may answer now, or the first reason it may not."""
    if link is None or wait is None:
        return LinkOutcome.FORGED
    if link.used_at is not None:
        return LinkOutcome.SUPERSEDED if link.superseded else LinkOutcome.USED
    if now >= link.expires_at:
        return LinkOutcome.EXPIRED
    if wait.answered_by is not None:
        return LinkOutcome.ANSWERED
    if wait.waiting_slot != link.slot or wait.flow_run_id != link.flow_run_id:
        return LinkOutcome.WRONG_STEP
    if person is None or person.staff_id != link.staff_id:
        return LinkOutcome.WRONG_PERSON
    if answerer_problems(link.step, person, first_signer=wait.first_signer, subject=wait.subject):
        return LinkOutcome.WRONG_PERSON
    return LinkOutcome.VALID


def throttled(failures_for_link: int, failures_from_address: int, *, limit: int) -> bool:
    """Whether to refuse further attempts for a while: too many recent failures."""
    return failures_for_link >= limit or failures_from_address >= limit


class ReceiptLinkFacts(Frozen):
    """What the case database holds about a receipt link, and about its case."""

    expires_at: datetime
    used_at: datetime | None = None
    superseded: bool = False  # spent by a newer link to its recipient, not by a confirmation
    case_open: bool
    receipt_recorded: bool  # this link's recipient's receipt is recorded (by any door)
    case_received: bool = False  # the case's receipt is recorded: some recipient confirmed


def judge_receipt_link(link: ReceiptLinkFacts | None, *, now: datetime) -> LinkOutcome:
    """Whether a receipt link may show the disclosure and confirm now, or the first reason it
    may not. It is bound to the disclosure and its recipient, not to a wait: the agency may
    confirm before the case asks, and when a disclosure went to two recipients (a plan event's
    social care and social worker) the second keeps its link after the first has confirmed
    and closed the case."""
    if link is None:
        return LinkOutcome.FORGED
    if link.used_at is not None:
        return LinkOutcome.SUPERSEDED if link.superseded else LinkOutcome.USED
    if now >= link.expires_at:
        return LinkOutcome.EXPIRED
    if link.receipt_recorded:
        return LinkOutcome.ANSWERED
    if not link.case_open and not link.case_received:
        return LinkOutcome.WRONG_STEP
    return LinkOutcome.VALID


class NoticeLinkFacts(Frozen):
    """What the case database holds about a link to a need-to-know notice, and its holder."""

    expires_at: datetime
    superseded: bool = False  # a newer link went to its holder (this one's message did not go)
    holder_active: bool  # its holder is still on the staff list


def judge_notice_link(link: NoticeLinkFacts | None, *, now: datetime) -> LinkOutcome:
    """Whether a notice link may be opened now, or the first reason it may not. Reading does
    not spend it: its holder may open it as often as they need while it lasts."""
    if link is None:
        return LinkOutcome.FORGED
    if link.superseded:
        return LinkOutcome.SUPERSEDED
    if now >= link.expires_at:
        return LinkOutcome.EXPIRED
    if not link.holder_active:
        return LinkOutcome.WRONG_PERSON
    return LinkOutcome.VALID


#: The receipt link's recipient when it goes to the pupil's social worker.
SOCIAL_WORKER = "social-worker"


def social_worker_tag(child_ref: str) -> str:
    """The Apprise tag of a pupil's social worker (from the children's directory)."""
    return f"{SOCIAL_WORKER}:{child_ref}"
