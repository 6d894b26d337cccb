"""One member of staff's message with their link to a need-to-know notice."""

from __future__ import annotations

from datetime import datetime

from models.messages.cases import case_reference


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
