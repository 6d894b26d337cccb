"""Which rule makes the audit trail tamper-evident: each entry's hash covers the entry and the
hash before it, so changing, removing or reordering any entry breaks the chain at that entry.

Pure: no database and no clock; entries carry ids, codes and reasons, never case content.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: The hash before the first entry.
GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str  # ISO 8601, UTC, as stored: the hash covers this exact text
    actor: str  # a staff id, "agency.<code>", "system" or "os:<user>"
    action: str  # what was done: "read:case", "write:case_steps", ...
    case_id: int | None
    reason: str  # why: the command, page or flow run that did it
    detail: str  # canonical JSON of ids and codes
    prev_hash: str
    hash: str = ""


def canonical(detail: dict[str, Any]) -> str:
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(entry: AuditEntry) -> str:
    """The hash an entry must carry: over its fields and the previous entry's hash."""
    body = canonical(
        {
            "seq": entry.seq,
            "at": entry.at,
            "actor": entry.actor,
            "action": entry.action,
            "case_id": entry.case_id,
            "reason": entry.reason,
            "detail": entry.detail,
            "prev": entry.prev_hash,
        }
    )
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Break:
    """The first place the chain does not hold, and why."""

    seq: int
    problem: str


def first_break(entries: Iterable[AuditEntry], head: tuple[int, str] | None = None) -> Break | None:
    """Walk the chain in order; the first entry that is missing, altered or out of place. With
    `head` (the last sequence number and hash recorded apart from the entries), entries cut off
    the end are found too."""
    expected_seq, expected_prev = 1, GENESIS
    for entry in entries:
        if entry.seq != expected_seq:
            return Break(expected_seq, f"entry {expected_seq} is missing (next is {entry.seq})")
        if entry.prev_hash != expected_prev:
            return Break(entry.seq, "it does not follow the entry before it")
        if entry_hash(entry) != entry.hash:
            return Break(entry.seq, "its content does not match its hash (altered)")
        expected_seq, expected_prev = entry.seq + 1, entry.hash
    if head is not None:
        last_seq, last_hash = head
        if last_seq != expected_seq - 1 or (last_seq and last_hash != expected_prev):
            return Break(expected_seq, f"the chain ends before entry {last_seq}, its recorded head")
    return None
