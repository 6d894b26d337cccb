"""Where the audit trail is written, and by whom it says things were done.

Every write of case content (concerns and the other records that open a case, cases opened,
steps, disclosures, receipts, and the directory of staff, children and agencies) is entered by a
session hook, in the same transaction as the write: one is never committed without the other.
Reads of case content are entered by the door that shows them (the CLI's `case show`, the
sign-off and receipt pages). Entries carry ids, codes and reasons, never content.

Who and why come from the context: each door says who is acting (`acting`), and the default is
the system. Appending locks the chain's head row, so concurrent writers queue and the chain
stays one.

The chain is keyed (an HMAC under the audit key kept with the data keys, models/audit.py) and
anchored: the head's number and hash are written down outside the database, in the anchor file
(`SAFESHARE_AUDIT_ANCHOR_FILE`) and in a message to the DSL (tasks/audit_anchor.py), and
`safeshare audit verify` holds the chain to them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import insert, inspect, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from foundations.sealing import CURRENT
from models.audit import (
    AuditEntry,
    ChainKey,
    canonical,
    entry_hash,
)
from models.tables.audit import AuditHead, AuditLog
from models.tables.base import utcnow
from models.tables.cases import Case, CaseStep, Concern
from models.tables.directory import Agency, Child, Staff
from models.tables.disclosures import Disclosure, Receipt
from models.tables.openings import AccessRequest, Leaver, Notice, OpeningRecord, PlanEvent


@dataclass(frozen=True)
class Who:
    actor: str
    reason: str


SYSTEM = Who("system", "system")
_WHO: ContextVar[Who | None] = ContextVar("safeshare_audit_who", default=None)


@contextmanager
def acting(actor: str, reason: str) -> Iterator[None]:
    """Everything written or read inside is entered as done by `actor`, for `reason`."""
    token = _WHO.set(Who(actor, reason))
    try:
        yield
    finally:
        _WHO.reset(token)


def act_as(actor: str, reason: str) -> None:
    """For the rest of this context (a CLI command, a flow run): done by `actor`, for `reason`."""
    _WHO.set(Who(actor, reason))


def current() -> Who:
    return _WHO.get() or SYSTEM


def chain_key(*, fresh: bool = False) -> ChainKey | None:
    """The audit key from the data keys, if they hold one (`fresh`: read them again now)."""
    ring = CURRENT.get(fresh=fresh)
    if ring.audit is None and not fresh:
        ring = CURRENT.get(fresh=True)  # keyed a moment ago by another process?
    if ring.audit is None:
        return None
    return ChainKey(ring.audit.key, ring.audit.keyed_from)


def hold_the_chain(connection: Connection) -> None:
    """Queue behind every other writer of the trail until this transaction ends (a row lock on
    PostgreSQL, the write lock on SQLite): for a write that reads, decides and writes many rows
    and must not interleave with another such write (two imports of a roster at once)."""
    connection.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq))


def append(
    connection: Connection,
    action: str,
    *,
    case_id: int | None = None,
    detail: dict[str, Any] | None = None,
    who: Who | None = None,
) -> AuditEntry:
    """Add one entry at the end of the chain, in the caller's transaction."""
    who = who or current()
    # taking the head row first queues concurrent writers (a row lock on PostgreSQL, the write
    # lock on SQLite) until this transaction ends: one chain, no forks
    connection.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + 1))
    seq, prev = connection.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)
    ).one()
    entry = AuditEntry(
        seq=seq,
        at=utcnow().isoformat(timespec="microseconds"),
        actor=who.actor[:80],
        action=action[:48],
        case_id=case_id,
        reason=who.reason[:200],
        detail=canonical(detail or {}),
        prev_hash=prev,
    )
    # read after taking the head: a chain keyed meanwhile (`key_the_chain`) is seen keyed
    key = chain_key()
    entry = replace(entry, hash=entry_hash(entry, key.for_entry(seq) if key else None))
    connection.execute(
        insert(AuditLog).values(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            case_id=entry.case_id,
            reason=entry.reason,
            detail=entry.detail,
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )
    )
    connection.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=entry.hash))
    return entry


def record_read(session: Session, what: str, *, case_id: int | None = None, **detail: Any) -> None:
    """A person was shown case content: enter it, in the session's transaction."""
    append(session.connection(), f"read:{what}", case_id=case_id, detail=detail)


# ---------------------------------------------------------------------------------------------
# Writes: a hook on every session's flush.

#: Inserts, updates and deletes of these are entered; of `cases`, only the insert (a case
#: opened): its other columns are a listing projection rewritten as the case moves.
_AUDITED = (
    Concern,
    AccessRequest,
    Notice,
    Leaver,
    PlanEvent,
    CaseStep,
    Disclosure,
    Receipt,
    Staff,
    Child,
    Agency,
)


def _facts(connection: Connection, obj: Any) -> tuple[int | None, dict[str, Any]]:
    """The case a written row belongs to, and its ids and codes (never its content)."""
    if isinstance(obj, CaseStep):
        return obj.case_id, {
            "id": obj.id,
            "step": obj.step,
            "key": obj.key,
            "accepted": obj.accepted,
            "channel": obj.channel,
            "by": obj.actor,
        }
    if isinstance(obj, Case):
        return obj.id, {"id": obj.id, "concern_id": obj.concern_id}
    if isinstance(obj, Concern):
        case_id = connection.execute(
            text("SELECT id FROM cases WHERE concern_id = :c"), {"c": obj.id}
        ).scalar()
        return case_id, {"id": obj.id, "category": obj.category, "raised_by": obj.raised_by}
    if isinstance(obj, OpeningRecord):  # what else opens a case: keyed by the case's id
        return obj.case_id, {"label": obj.label, "recorded_by": obj.recorded_by}
    if isinstance(obj, Disclosure):
        return obj.case_id, {"id": obj.id, "agency": obj.agency_code}
    if isinstance(obj, Receipt):
        case_id = connection.execute(
            text("SELECT case_id FROM disclosures WHERE id = :d"), {"d": obj.disclosure_id}
        ).scalar()
        return case_id, {"id": obj.id, "channel": obj.channel}
    if isinstance(obj, Staff):
        return None, {"staff_id": obj.staff_id, "role": obj.role, "active": obj.active}
    if isinstance(obj, Child):
        return None, {"id": obj.id, "child_ref": obj.child_ref}
    if isinstance(obj, Agency):
        return None, {"code": obj.code, "kind": obj.kind}
    return None, {}


def _changed(obj: Any) -> list[str]:
    return sorted(a.key for a in inspect(obj).attrs if a.history.has_changes())


def enter_writes(session: Session, _context: Any) -> None:
    written: list[tuple[str, Any, list[str] | None]] = []
    for obj in session.new:
        if isinstance(obj, (*_AUDITED, Case)):
            written.append(("insert", obj, None))
    for obj in session.dirty:
        if isinstance(obj, _AUDITED) and session.is_modified(obj):
            written.append(("update", obj, _changed(obj)))
    for obj in session.deleted:
        if isinstance(obj, _AUDITED):
            written.append(("delete", obj, None))
    if not written:
        return
    connection = session.connection()
    for operation, obj, changed in written:
        case_id, detail = _facts(connection, obj)
        if changed is not None:
            detail["changed"] = changed
        append(connection, f"{operation}:{obj.__tablename__}", case_id=case_id, detail=detail)
