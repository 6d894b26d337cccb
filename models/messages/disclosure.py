"""What an agency (or a pupil's social worker) is sent: the notice of a disclosure with its
link, a reminder of a receipt not yet confirmed, and the DSL's note while each agency's receipt
is awaited.
"""

from __future__ import annotations

from datetime import UTC, datetime

from models.kernel.steps import Step
from models.messages.cases import STEP_TITLES, case_reference


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
