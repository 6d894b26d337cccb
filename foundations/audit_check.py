"""The audit trail read back: the chain verified against its hashes and its key, its head, the
anchors written down outside the database and held against the chain, and the entries of one
case (the writer is foundations/audit.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundations.audit import chain_key
from foundations.settings import get_settings
from models.audit import (
    Anchor,
    AuditEntry,
    Break,
    anchor_break,
    first_break,
)
from models.tables.audit import AuditHead, AuditLog


@dataclass(frozen=True)
class Verification:
    entries: int
    head_hash: str
    broken: Break | None
    keyed_from: int | None = None  # None: the data keys hold no audit key


def _entry(row: AuditLog) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        case_id=row.case_id,
        reason=row.reason,
        detail=row.detail,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def verify_chain(session: Session) -> Verification:
    """Walk the whole chain, in order, against its recorded head."""
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one()
    rows = session.scalars(
        select(AuditLog).order_by(AuditLog.seq).execution_options(yield_per=2000)
    )
    counted = 0

    def entries() -> Iterator[AuditEntry]:
        nonlocal counted
        for row in rows:
            counted += 1
            yield _entry(row)

    key = chain_key(fresh=True)
    broken = first_break(entries(), head=(head.seq, head.hash), key=key)
    return Verification(
        entries=counted,
        head_hash=head.hash,
        broken=broken,
        keyed_from=key.keyed_from if key else None,
    )


def head_of(session: Session) -> tuple[int, str]:
    """The chain's last entry number and hash, as its head row records them."""
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one()
    return int(head.seq), str(head.hash)


# ---------------------------------------------------------------------------------------------
# Keying a chain written before it had a key, and holding the chain to its anchors.


class AnchorFileError(RuntimeError):
    """The anchor file cannot be read or written; the message says which and why."""


def anchor_path() -> Path:
    return get_settings().audit_anchor_path


def read_anchors(path: Path | None = None) -> list[Anchor]:
    """Every anchor written down in the anchor file, oldest first (none if there is no file)."""
    path = path or anchor_path()
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise AnchorFileError(f"cannot read the anchor file {path}: {exc.strerror}") from None
    anchors = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            anchors.append(Anchor(seq=int(raw["seq"]), hash=str(raw["hash"]), at=str(raw["at"])))
        except (ValueError, KeyError, TypeError):
            raise AnchorFileError(
                f"line {number} of the anchor file {path} is not an anchor"
            ) from None
    return anchors


def write_anchor(anchor: Anchor, path: Path | None = None) -> None:
    """Add an anchor at the end of the anchor file (append-only, owner-only), on disk."""
    path = path or anchor_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"at": anchor.at, "seq": anchor.seq, "hash": anchor.hash}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def check_anchors(session: Session, anchors: list[Anchor]) -> Break | None:
    """The first anchor the chain in the database no longer matches."""
    wanted = sorted({a.seq for a in anchors})
    found: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        some = wanted[start : start + 500]
        rows = session.execute(select(AuditLog.seq, AuditLog.hash).where(AuditLog.seq.in_(some)))
        found.update({int(seq): str(hash_) for seq, hash_ in rows})
    return anchor_break(found, anchors)


def entries_for(
    session: Session, *, case_id: int | None = None, actor: str | None = None, limit: int = 200
) -> list[AuditEntry]:
    """The latest entries about a case or by a person, oldest first."""
    query = select(AuditLog)
    if case_id is not None:
        query = query.where(AuditLog.case_id == case_id)
    if actor is not None:
        query = query.where(AuditLog.actor == actor)
    rows = session.scalars(query.order_by(AuditLog.seq.desc()).limit(limit)).all()
    return [_entry(r) for r in reversed(rows)]
