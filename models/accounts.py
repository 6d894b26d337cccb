"""Which rules decide signing in: what a password must be, who needs a second factor, when a
session has ended, and when failed attempts slow further ones. Pure: the clock is passed in."""

from __future__ import annotations

from datetime import datetime, timedelta

from models.kernel.problems import Problem
from models.kernel.roles import DSL_ROLES, MANAGEMENT_ROLES

MIN_PASSWORD = 12
MAX_PASSWORD = 200
#: Those who see case content sign in with a second factor (TOTP) before they see any.
SECOND_FACTOR_ROLES = frozenset(r.value for r in DSL_ROLES | MANAGEMENT_ROLES)


def password_problems(password: str, staff_id: str) -> list[Problem]:
    if len(password) < MIN_PASSWORD:
        return [
            Problem(
                code="password-too-short",
                message=f"A password needs at least {MIN_PASSWORD} characters; a few words "
                "make a good one.",
            )
        ]
    if len(password) > MAX_PASSWORD:
        return [Problem(code="password-too-long", message=f"At most {MAX_PASSWORD} characters.")]
    if staff_id.lower() in password.lower() or len(set(password)) < 5:
        return [
            Problem(
                code="password-guessable",
                message="That password is too easy to guess: not the staff id, not one "
                "character over and over.",
            )
        ]
    return []


def needs_second_factor(role: str) -> bool:
    return role in SECOND_FACTOR_ROLES


def someone_elses_link(signed_in: str | None, holder: str | None) -> bool:
    """A personal link opened in a browser signed in as another member of staff than its holder
    (`holder` None: an agency's link, which is no member of staff's). Whatever was done through
    it would be recorded as the holder's while someone else did it: refused. No session, or the
    holder's own, is fine."""
    return signed_in is not None and signed_in != holder


def session_ended(
    *,
    created_at: datetime,
    seen_at: datetime,
    ended_at: datetime | None,
    now: datetime,
    idle: timedelta,
    longest: timedelta,
) -> str | None:
    """Why a session can no longer be used (signed out, idle too long, too old), or None."""
    if ended_at is not None:
        return "signed-out"
    if now - seen_at >= idle:
        return "idle"
    if now - created_at >= longest:
        return "too-old"
    return None


def sign_in_slowed(failures_for_id: int, failures_from_address: int, *, limit: int) -> bool:
    """Whether to refuse sign-in attempts for a while: too many recent failures for this staff id
    or from this address (guessing passwords or codes)."""
    return failures_for_id >= limit or failures_from_address >= limit
