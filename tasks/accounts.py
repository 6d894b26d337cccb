"""Where sign-in is written: passwords (argon2id), the second factor (TOTP), sessions (only the
hash of the cookie is kept) and every attempt, failed ones too.

The password check is the one place a person proves who they are to the web front door; a
setting's own single sign-on would replace `check_password` and nothing else (a session, and
the second factor for those who see case content, follow the same way)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from foundations.db import session_scope
from foundations.settings import get_settings
from foundations.tokens import token_hash
from models.accounts import password_problems, session_ended, sign_in_slowed
from models.kernel.problems import Problem
from models.tables.accounts import SignInAttempt, WebSession
from models.tables.base import utcnow
from models.tables.directory import Staff
from tasks.directory import DirectoryError

_HASHER = PasswordHasher()  # argon2id, the library's current parameters
#: Verified against when the staff id names nobody, so both take the same time.
_DUMMY = _HASHER.hash(secrets.token_urlsafe(16))


#: The stage of a sign-in attempt with a school account (OpenID Connect).
SCHOOL_STAGE = "school"


class PasswordRefused(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def set_password(staff_id: str, password: str) -> None:
    """Set or reset a member of staff's password; their open sessions end."""
    problems = password_problems(password, staff_id)
    if problems:
        raise PasswordRefused(problems)
    with session_scope() as session:
        staff = session.get(Staff, staff_id)
        if staff is None:
            raise DirectoryError(f"No member of staff has the id '{staff_id}'.")
        staff.password_hash = _HASHER.hash(password)
        _end_sessions(session, staff_id)


def reset_second_factor(staff_id: str) -> None:
    """Forget someone's authenticator (a lost phone); their open sessions end and they set up a
    new one at their next sign-in."""
    with session_scope() as session:
        staff = session.get(Staff, staff_id)
        if staff is None:
            raise DirectoryError(f"No member of staff has the id '{staff_id}'.")
        staff.totp_secret, staff.totp_last_step = None, None
        _end_sessions(session, staff_id)


def _end_sessions(session: Session, staff_id: str) -> None:
    session.execute(
        update(WebSession)
        .where(WebSession.staff_id == staff_id, WebSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


@dataclass(frozen=True)
class Person:
    staff_id: str
    role: str
    has_second_factor: bool


def check_password(staff_id: str, password: str) -> Person | None:
    """The active member of staff, if the password is theirs; None otherwise (same time)."""
    with session_scope() as session:
        row = session.execute(
            select(Staff.staff_id, Staff.role, Staff.active, Staff.password_hash).where(
                Staff.staff_id == staff_id
            )
        ).one_or_none()
        stored = row.password_hash if row is not None and row.password_hash else _DUMMY
        try:
            _HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or not row.active or stored is _DUMMY:
            return None
        if _HASHER.check_needs_rehash(stored):
            session.execute(
                update(Staff)
                .where(Staff.staff_id == staff_id)
                .values(password_hash=_HASHER.hash(password))
            )
        secret = session.scalar(select(Staff.totp_secret).where(Staff.staff_id == staff_id))
        return Person(staff_id=row.staff_id, role=row.role, has_second_factor=secret is not None)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(staff_id: str, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=staff_id, issuer_name="safeshare")


def code_step(secret: str, code: str, now: datetime | None = None) -> int | None:
    """The time step of a TOTP code for now (or 30 s either side: clocks drift); None if the
    code is not one of them."""
    typed = "".join(ch for ch in code if ch.isdigit())
    if len(typed) != 6:
        return None
    totp, at = pyotp.TOTP(secret), now or utcnow()
    for offset in (-1, 0, 1):
        moment = at + timedelta(seconds=offset * totp.interval)
        if secrets.compare_digest(totp.at(moment), typed):
            return int(totp.timecode(moment))
    return None


def check_code(staff_id: str, code: str) -> bool:
    """Whether the code is the person's, and not one already used (each works once)."""
    with session_scope() as session:
        secret = session.scalar(select(Staff.totp_secret).where(Staff.staff_id == staff_id))
        step = code_step(secret, code) if secret is not None else None
        if step is None:
            return False
        used = session.execute(
            update(Staff)
            .where(
                Staff.staff_id == staff_id,
                (Staff.totp_last_step.is_(None)) | (Staff.totp_last_step < step),
            )
            .values(totp_last_step=step)
        )
        return bool(used.rowcount)  # type: ignore[attr-defined]


def set_second_factor(staff_id: str, secret: str, step: int) -> None:
    with session_scope() as session:
        staff = session.get(Staff, staff_id)
        assert staff is not None
        staff.totp_secret, staff.totp_last_step = secret, step


# ---------------------------------------------------------------------------------------------
# Sessions.


@dataclass(frozen=True)
class SignedIn:
    session_id: int
    staff_id: str
    role: str
    second_factor_done: bool
    has_second_factor: bool


def start_session(staff_id: str, *, second_factor_given: bool = False) -> str:
    """A new session for `staff_id`; returns the cookie's value (only its hash is kept).
    `second_factor_given`: the school's sign-in provider says a second factor was used."""
    token = secrets.token_urlsafe(32)
    with session_scope() as session:
        session.add(
            WebSession(
                token_hash=token_hash(token),
                staff_id=staff_id,
                second_factor_at=utcnow() if second_factor_given else None,
            )
        )
    return token


def session_for(token: str | None, now: datetime | None = None) -> SignedIn | None:
    """The live session this cookie names, touched; None if there is none or it has ended."""
    if not token:
        return None
    settings, now = get_settings(), now or utcnow()
    with session_scope() as session:
        row = session.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
        if row is None:
            return None
        why = session_ended(
            created_at=row.created_at,
            seen_at=row.seen_at,
            ended_at=row.ended_at,
            now=now,
            idle=timedelta(minutes=settings.session_idle_minutes),
            longest=timedelta(hours=settings.session_hours),
        )
        if why is not None:
            if row.ended_at is None:
                row.ended_at = now
            return None
        staff = session.execute(
            select(Staff.role, Staff.active, Staff.totp_secret).where(
                Staff.staff_id == row.staff_id
            )
        ).one()
        if not staff.active:
            row.ended_at = now
            return None
        row.seen_at = now
        return SignedIn(
            session_id=row.id,
            staff_id=row.staff_id,
            role=staff.role,
            second_factor_done=row.second_factor_at is not None,
            has_second_factor=staff.totp_secret is not None,
        )


def second_factor_done(session_id: int) -> None:
    with session_scope() as session:
        session.execute(
            update(WebSession).where(WebSession.id == session_id).values(second_factor_at=utcnow())
        )


def end_session(token: str) -> None:
    with session_scope() as session:
        session.execute(
            update(WebSession)
            .where(WebSession.token_hash == token_hash(token), WebSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )


# ---------------------------------------------------------------------------------------------
# Attempts.


def record_sign_in(staff_id: str, address: str, stage: str, outcome: str) -> None:
    with session_scope() as session:
        session.add(
            SignInAttempt(
                staff_id=staff_id[:64], address=address[:64], stage=stage, outcome=outcome
            )
        )


def slowed(staff_id: str, address: str, now: datetime | None = None) -> bool:
    """Whether sign-in attempts for this id or from this address are refused for a while:
    passwords and codes guessed. A school account refused (not in the roster, say) guessed
    nothing, and a school's staff often share one address."""
    settings, now = get_settings(), now or utcnow()
    since = now - timedelta(minutes=settings.sign_in_failure_window_minutes)
    failed = (SignInAttempt.outcome != "ok") & (SignInAttempt.stage != SCHOOL_STAGE)
    with session_scope() as session:
        for_id = session.scalar(
            select(func.count()).where(
                SignInAttempt.staff_id == staff_id[:64], SignInAttempt.at >= since, failed
            )
        )
        from_address = session.scalar(
            select(func.count()).where(
                SignInAttempt.address == address[:64], SignInAttempt.at >= since, failed
            )
        )
    return sign_in_slowed(for_id or 0, from_address or 0, limit=settings.sign_in_failure_limit)
