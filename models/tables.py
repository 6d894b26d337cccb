"""The case database: safeshare's record of every fact about every case (SQLAlchemy 2).

Facts are append-only: a correction is a new row. Only `cases` carries a small projection
(status, what the case waits for) that is rewritten as the case moves, for listing and deadlines.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware timestamps on both SQLite (which drops the offset) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store times with their offset")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class Sealing(Protocol):
    """What seals and opens a column's text under its label (foundations/sealing.py)."""

    def seal_text(self, value: str, label: str) -> str: ...

    def open_text(self, value: str, label: str) -> str: ...


class NoSealing(RuntimeError):
    """An engine not made by foundations/db.py: it cannot seal or open a sealed column."""


def sealing_of(dialect: Any) -> Sealing:
    """The sealing the engine set-up (foundations/db.py) gave this engine's dialect."""
    sealing: Sealing | None = getattr(dialect, SEALING, None)
    if sealing is None:
        raise NoSealing(
            "this engine has no sealing: make it with foundations.db.new_engine, which gives "
            "sealed columns their keys"
        )
    return sealing


#: The attribute of an engine's dialect that holds its sealing.
SEALING = "safeshare_sealing"


class Sealed(TypeDecorator[str]):
    """Text sealed at rest under the name of its column: the database, its files and its dumps
    hold only ciphertext. The keys come from the engine (foundations/db.py gives every engine it
    makes the process's sealing), so this declaration imports nothing above models/. Never
    compare a sealed column in SQL."""

    impl = Text
    cache_ok = True

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return sealing_of(dialect).seal_text(self.encode(value), self.label)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        return self.decode(sealing_of(dialect).open_text(value, self.label))

    def encode(self, value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"{self.label} holds text, not {type(value).__name__}")
        return value

    def decode(self, text: str) -> Any:
        return text


class SealedJSON(Sealed):
    """A JSON value sealed at rest."""

    cache_ok = True  # (SQLAlchemy asks each type class itself)

    def encode(self, value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)

    def decode(self, text: str) -> Any:
        return json.loads(text)


class SealedDate(Sealed):
    """A date sealed at rest (a date of birth)."""

    cache_ok = True

    def encode(self, value: Any) -> str:
        if not isinstance(value, date) or isinstance(value, datetime):
            raise TypeError(f"{self.label} holds a date, not {type(value).__name__}")
        return value.isoformat()

    def decode(self, text: str) -> Any:
        return date.fromisoformat(text)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_run_key() -> str:
    """A token that names one start of a case's run: 128 random bits, never recurring."""
    return secrets.token_hex(16)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: Table options of every table whose ids leave the database (in references, links, messages,
#: audit entries, Prefect parameters): an id once used is never handed out again, even after
#: the newest rows are destroyed. PostgreSQL's sequences never go back; SQLite reuses the
#: highest rowid unless the table is AUTOINCREMENT.
NEVER_REUSED: dict[str, Any] = {"sqlite_autoincrement": True}


class Child(Base):
    __tablename__ = "children"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_ref: Mapped[str] = mapped_column(String(64), unique=True)
    date_of_birth: Mapped[date] = mapped_column(SealedDate("children.date_of_birth"))
    cp_plan: Mapped[bool] = mapped_column(Boolean, default=False)
    # the pupil's social worker (on a Child Protection Plan): an Apprise address, told of plan
    # events beside children's social care's duty inbox
    social_worker_notify: Mapped[str | None] = mapped_column(
        Sealed("children.social_worker_notify"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Staff(Base):
    __tablename__ = "staff"

    staff_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Sealed("staff.name"))
    role: Mapped[str] = mapped_column(String(16))
    notify_url: Mapped[str | None] = mapped_column(Sealed("staff.notify_url"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # signing in to the web front door: an argon2id hash, and the TOTP secret (sealed) once the
    # second factor is set up
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    totp_secret: Mapped[str | None] = mapped_column(Sealed("staff.totp_secret"), nullable=True)
    # the last TOTP time step used: a code is good once (no replay within its window)
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Agency(Base):
    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    # an Apprise address may carry a password
    notify_url: Mapped[str | None] = mapped_column(Sealed("agencies.notify_url"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Concern(Base):
    """What was recorded about a child that opened a case: a concern (a sharing case), or an
    event in the life of a pupil on a Child Protection Plan (its category is the event's kind,
    its details are in `what_happened`, and who recorded it in `raised_by`)."""

    __tablename__ = "concerns"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id"))
    raised_by: Mapped[str] = mapped_column(ForeignKey("staff.staff_id"))
    category: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str | None] = mapped_column(Sealed("concerns.place"), nullable=True)
    what_happened: Mapped[str] = mapped_column(Sealed("concerns.what_happened"))
    child_words: Mapped[str | None] = mapped_column(Sealed("concerns.child_words"), nullable=True)
    action_taken: Mapped[str | None] = mapped_column(Sealed("concerns.action_taken"), nullable=True)
    who_told: Mapped[str | None] = mapped_column(Sealed("concerns.who_told"), nullable=True)
    # the web form's one-time value: a form sent twice records one concern
    submission_key: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    # the member of staff an allegation is about: kept from them (need to know)
    allegation_against: Mapped[str | None] = mapped_column(
        Sealed("concerns.allegation_against"), nullable=True
    )
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Case(Base):
    """A case: a sharing decision, or a Child Protection Plan event passed on (`kind`). Its facts
    live in `case_steps`; the other columns are a listing projection."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="sharing", server_default="sharing")
    concern_id: Mapped[int] = mapped_column(ForeignKey("concerns.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    flow_run_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # names the case's run in Prefect (its start key), random so that no other case, in this
    # database or one that replaces it, can ever find this case's run; a new one starts the
    # case's workflow afresh. None on cases opened before it existed (keyed by their id).
    run_key: Mapped[str | None] = mapped_column(String(32), nullable=True, default=new_run_key)
    waiting_step: Mapped[str | None] = mapped_column(String(32), nullable=True)
    waiting_slot: Mapped[str | None] = mapped_column(String(64), nullable=True)
    waiting_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    waiting_due: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # which deadline rule set waiting_due: the step's own, or "written-confirmation"
    waiting_deadline: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # a phone referral was made: its written confirmation (the agency notification) is due then
    written_due: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    def stop_waiting(self) -> None:
        """Nothing is awaited from anyone on this case now."""
        self.waiting_step = self.waiting_slot = self.waiting_key = None
        self.waiting_since = self.waiting_due = None
        self.waiting_deadline = None

    __table_args__ = (
        Index("ix_cases_status_waiting", "status", "waiting_since"),
        # the overdue check: open cases, by deadline (an equality, then a range and its order)
        Index("ix_cases_status_due", "status", "waiting_due"),
        NEVER_REUSED,
    )


class CaseStep(Base):
    """One row per answer or action on a case step; rejected answers are kept too."""

    __tablename__ = "case_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    step: Mapped[str] = mapped_column(String(32))
    slot: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(80))
    accepted: Mapped[bool] = mapped_column(Boolean)
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any] | None] = mapped_column(
        SealedJSON("case_steps.data"), nullable=True
    )
    problems: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("case_id", "key", name="uq_case_steps_case_key"),
        Index("ix_case_steps_case_slot", "case_id", "slot"),
        NEVER_REUSED,
    )


class Disclosure(Base):
    """What was shared, with whom, why and on what lawful basis: written once per agency a
    decision names (most decisions name one), in the order the decision names them."""

    __tablename__ = "disclosures"
    __table_args__ = (
        UniqueConstraint("case_id", "agency_code", name="uq_disclosures_case_agency"),
        NEVER_REUSED,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    information: Mapped[str] = mapped_column(Sealed("disclosures.information"))
    purpose: Mapped[str] = mapped_column(Sealed("disclosures.purpose"))
    lawful_basis: Mapped[str] = mapped_column(String(64))
    special_category_condition: Mapped[str | None] = mapped_column(String(128), nullable=True)
    consent: Mapped[str] = mapped_column(String(16))
    # a staff id, or the rule that decided when the policy leaves no choice
    # (`policy:cp-plan-event`)
    decided_by: Mapped[str] = mapped_column(String(64))
    cosigned_by: Mapped[str | None] = mapped_column(ForeignKey("staff.staff_id"), nullable=True)
    # who recorded what the policy decided on (a plan event's recorder); none when a person
    # decided
    recorded_by: Mapped[str | None] = mapped_column(ForeignKey("staff.staff_id"), nullable=True)
    disclosed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


#: The recipient of a receipt from the agency itself (its duty inbox, or the DSL's record of
#: what the agency said by phone or email).
AGENCY_RECIPIENT = "agency"


class Receipt(Base):
    """Confirmation that a recipient received a disclosure: the agency, and for a Child
    Protection Plan event also the pupil's social worker, each once. The first one answers the
    case's receipt wait; a later one is recorded beside it."""

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    disclosure_id: Mapped[int] = mapped_column(ForeignKey("disclosures.id"))
    recipient: Mapped[str] = mapped_column(String(32), default=AGENCY_RECIPIENT)
    confirmed_by_name: Mapped[str] = mapped_column(Sealed("receipts.confirmed_by_name"))
    confirmed_by_role: Mapped[str | None] = mapped_column(
        Sealed("receipts.confirmed_by_role"), nullable=True
    )
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    agency_reference: Mapped[str | None] = mapped_column(
        Sealed("receipts.agency_reference"), nullable=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    # the member of staff who recorded it; none when the agency confirmed through its link
    recorded_by: Mapped[str | None] = mapped_column(ForeignKey("staff.staff_id"), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("disclosure_id", "recipient", name="uq_receipts_disclosure_recipient"),
        NEVER_REUSED,
    )


class Notification(Base):
    """The outbox: one row per message that must go out, keyed so it goes out once."""

    __tablename__ = "notifications"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    tag: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # set while one process delivers a message that must not go twice even from two at once
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AnswerLink(Base):
    """A signed, expiring, single-use link that lets one person answer one wait of one case.

    Only a hash of the token is kept: a copy of the database cannot answer for anyone.
    """

    __tablename__ = "answer_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    step: Mapped[str] = mapped_column(String(32))
    slot: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(80))  # the wait this link answers
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.staff_id"))
    flow_run_id: Mapped[str] = mapped_column(String(36))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(24), nullable=True)

    __table_args__ = (Index("ix_answer_links_case_key", "case_id", "key"), NEVER_REUSED)


class LinkAttempt(Base):
    """Every use of a link, failed ones too: when, from where, with what outcome."""

    __tablename__ = "link_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    link_id: Mapped[int | None] = mapped_column(ForeignKey("answer_links.id"), nullable=True)
    token_fingerprint: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))
    outcome: Mapped[str] = mapped_column(String(24))
    status: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_link_attempts_fingerprint_at", "token_fingerprint", "at"),
        Index("ix_link_attempts_address_at", "address", "at"),
        NEVER_REUSED,
    )


class AnswerCode(Base):
    """A one-time code that proves one person answers one wait of one case, in the dashboard or
    the CLI. Only a keyed hash of the code is kept."""

    __tablename__ = "answer_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    step: Mapped[str] = mapped_column(String(32))
    slot: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(80))  # the wait this code answers
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.staff_id"))
    flow_run_id: Mapped[str] = mapped_column(String(36))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(24), nullable=True)

    __table_args__ = (
        Index("ix_answer_codes_case_key_staff", "case_id", "key", "staff_id"),
        NEVER_REUSED,
    )


class ReceiptLink(Base):
    """A signed, expiring, single-use link for an agency to confirm that it received one
    disclosure. Only a hash of the token is kept."""

    __tablename__ = "receipt_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    disclosure_id: Mapped[int] = mapped_column(ForeignKey("disclosures.id"))
    agency_code: Mapped[str] = mapped_column(String(32))
    # who in the agency it was sent to: its duty inbox (None) or the pupil's social worker
    recipient: Mapped[str | None] = mapped_column(String(32), nullable=True)
    slot: Mapped[str] = mapped_column(String(64))  # the receipt wait it answers
    flow_run_id: Mapped[str] = mapped_column(String(36))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(24), nullable=True)

    __table_args__ = (Index("ix_receipt_links_case", "case_id"), NEVER_REUSED)


class NoticeLink(Base):
    """One member of staff's link to a need-to-know notice: who was told, when, and when they
    first opened it. Only a hash of the token is kept."""

    __tablename__ = "notice_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.staff_id"))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # a link replaced by a newer one for the same person (its message did not go)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (Index("ix_notice_links_case_staff", "case_id", "staff_id"), NEVER_REUSED)


class WebSession(Base):
    """A signed-in person's session: only the hash of its cookie is kept."""

    __tablename__ = "web_sessions"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.staff_id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    second_factor_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SignInAttempt(Base):
    """Every sign-in attempt, failed ones too: who was tried, from where, and how it went."""

    __tablename__ = "sign_in_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[str] = mapped_column(String(64))  # as typed: it may name nobody
    address: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(16))  # password or code
    outcome: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_sign_in_attempts_staff_at", "staff_id", "at"),
        Index("ix_sign_in_attempts_address_at", "address", "at"),
        NEVER_REUSED,
    )


class RetentionDecision(Base):
    """A person's decision on records past their retention date (or a refused attempt to
    destroy held ones): kept after the records themselves are gone."""

    __tablename__ = "retention_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_ref: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))  # keep, destroy or refused
    decided_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Sealed("retention_decisions.reason"))
    kept_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    cases: Mapped[int] = mapped_column(Integer)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_retention_decisions_child", "child_ref", "id"), NEVER_REUSED)


class AuditLog(Base):
    """The audit trail: every write and every read of case content, append-only (the database
    refuses UPDATE and DELETE), each entry chained to the one before by its hash."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(48))
    case_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (
        Index("ix_audit_log_case", "case_id", "seq"),
        Index("ix_audit_log_actor", "actor", "seq"),
    )


class AuditHead(Base):
    """One row: the last entry's number and hash. Appending locks it, so writers queue and the
    chain stays one; verifying compares it with the last entry, so a cut-off end is found."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


def never_reused_tables() -> list[str]:
    """The tables whose ids are handed out once (NEVER_REUSED), parents before children."""
    return [
        t.name for t in Base.metadata.sorted_tables if t.dialect_options["sqlite"]["autoincrement"]
    ]


def sealed_columns() -> list[tuple[str, str, str, Sealed]]:
    """(table, primary key column, column, type) of every sealed column: what a key rotation
    re-seals and what a check of the database's sealing reads."""
    found = []
    for table in Base.metadata.sorted_tables:
        (key,) = [c.name for c in table.primary_key.columns]
        for column in table.columns:
            if isinstance(column.type, Sealed):
                found.append((table.name, key, column.name, column.type))
    return found
