"""Which rule makes the audit trail tamper-evident: each entry's hash covers the entry and the
hash before it, so changing, removing or reordering any entry breaks the chain at that entry.

The hash is an HMAC-SHA256 under the audit key, which is kept with the data keys, never in the
database: whoever can rewrite the database but lacks the key cannot make a changed entry, or any
entry after it, carry a hash that holds. A chain written before it was keyed keeps its plain
SHA-256 up to the entry the key names as its first (`keyed_from`); that entry's HMAC covers the
hash before it, so the older part cannot be rewritten either without breaking the keyed part.
Anchors (the head's number and hash, kept outside the database) catch what the key cannot: a
chain cut short, or rewritten by someone who holds the key.

Pure: no database and no clock; entries carry ids, codes and reasons, never case content.
"""

from __future__ import annotations

import hashlib
import hmac
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


def entry_hash(entry: AuditEntry, key: bytes | None = None) -> str:
    """The hash an entry must carry: over its fields and the previous entry's hash; an
    HMAC-SHA256 under `key` when the chain is keyed at this entry, else a plain SHA-256."""
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
    if key is not None:
        return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class ChainKey:
    """The audit key, and the first entry hashed with it."""

    key: bytes
    keyed_from: int = 1

    def for_entry(self, seq: int) -> bytes | None:
        return self.key if seq >= self.keyed_from else None


@dataclass(frozen=True)
class Break:
    """The first place the chain does not hold, and why."""

    seq: int
    problem: str


def first_break(
    entries: Iterable[AuditEntry],
    head: tuple[int, str] | None = None,
    key: ChainKey | None = None,
) -> Break | None:
    """Walk the chain in order; the first entry that is missing, altered or out of place. With
    `head` (the last sequence number and hash recorded apart from the entries), entries cut off
    the end are found too. With `key`, entries from its first on must carry its HMAC."""
    expected_seq, expected_prev = 1, GENESIS
    for entry in entries:
        if entry.seq != expected_seq:
            return Break(expected_seq, f"entry {expected_seq} is missing (next is {entry.seq})")
        if entry.prev_hash != expected_prev:
            return Break(entry.seq, "it does not follow the entry before it")
        if entry_hash(entry, key.for_entry(entry.seq) if key else None) != entry.hash:
            return Break(entry.seq, "its content does not match its hash (altered)")
        expected_seq, expected_prev = entry.seq + 1, entry.hash
    if head is not None:
        last_seq, last_hash = head
        if last_seq != expected_seq - 1 or (last_seq and last_hash != expected_prev):
            return Break(expected_seq, f"the chain ends before entry {last_seq}, its recorded head")
    return None


@dataclass(frozen=True)
class Anchor:
    """The chain's head as it was written down outside the database, at `at`."""

    seq: int
    hash: str
    at: str


def anchor_break(found: dict[int, str], anchors: Iterable[Anchor]) -> Break | None:
    """The first anchor the chain no longer matches, given the hashes `found` in the chain at
    the anchored entries (absent: the chain no longer has that entry)."""
    for anchor in sorted(anchors, key=lambda a: a.seq):
        if anchor.seq not in found:
            return Break(
                anchor.seq, f"the chain ends before entry {anchor.seq}, anchored ({anchor.at})"
            )
        if found[anchor.seq] != anchor.hash:
            return Break(
                anchor.seq,
                f"it is not the entry anchored ({anchor.at}): the chain up to it was rewritten",
            )
    return None
