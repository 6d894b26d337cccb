"""Where sealed values are re-sealed: a key rotation adds a new primary data key, then re-seals
every value made under an older one, batch by batch, while the system keeps running (any key in
the ring opens the values made under it, so readers never wait)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select, text, update

from foundations.audit import append, chain_key
from foundations.db import get_engine, session_scope
from foundations.sealing import (
    CURRENT,
    ENV,
    PREFIX,
    RELOAD_SECONDS,
    Keyring,
    SealError,
    keys_path,
    load_keyring,
    write_keyring,
)
from foundations.settings import get_settings
from models.tables.audit import AuditHead
from models.tables.base import sealed_columns

BATCH = 500


@dataclass(frozen=True)
class Rotation:
    old_primary: str
    new_primary: str
    resealed: int


def _file_ring() -> Keyring:
    settings = get_settings()
    if settings.data_keys is not None:
        raise SealError(
            f"the data keys come from {ENV}: add a new key there (as primary, keeping the old "
            "ones) and restart, then run `safeshare keys reseal`"
        )
    return load_keyring(settings)


def usage() -> Counter[str]:
    """How many sealed values each data key holds, over every sealed column."""
    counts: Counter[str] = Counter()
    with get_engine().connect() as connection:
        for table, _, column, _ in sealed_columns():
            rows = connection.execute(
                text(f"SELECT substr({column}, 1, 24) FROM {table} WHERE {column} IS NOT NULL")
            )
            for (head,) in rows:
                parts = head.split(":")
                # "?" counts a value that is not sealed at all: there should be none
                counts[parts[1] if len(parts) >= 3 and parts[0] == PREFIX else "?"] += 1
    return counts


def reseal(ring: Keyring | None = None, batch: int = BATCH) -> int:
    """Re-seal, under the primary key, every value made under another; returns how many. Each
    batch is its own transaction, and a value changed meanwhile is left for the next pass."""
    ring = ring or CURRENT.get(fresh=True)
    done = 0
    engine = get_engine()
    for table, key, column, _ in sealed_columns():
        label = f"{table}.{column}"
        after: object = None
        while True:
            with engine.begin() as connection:
                rows = connection.execute(
                    text(
                        f"SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL "
                        f"AND {column} NOT LIKE :current"
                        + (f" AND {key} > :after" if after is not None else "")
                        + f" ORDER BY {key} LIMIT :batch"
                    ),
                    {"current": f"{PREFIX}:{ring.primary}:%", "after": after, "batch": batch},
                ).all()
                for row_key, value in rows:
                    connection.execute(
                        text(
                            f"UPDATE {table} SET {column} = :new "
                            f"WHERE {key} = :key AND {column} = :old"
                        ),
                        {
                            "new": ring.seal(ring.open(value, label), label),
                            "key": row_key,
                            "old": value,
                        },
                    )
            done += len(rows)
            if len(rows) < batch:
                break
            after = rows[-1][0]
    return done


def rotate() -> Rotation:
    """Add a new primary data key to the key file, give every process time to see it, then
    re-seal everything under it. The old keys stay in the ring until retired."""
    settings = get_settings()
    old = _file_ring()
    new = old.with_new_primary()
    write_keyring(keys_path(settings), new)
    # processes re-read the key file at most RELOAD_SECONDS after it changes: wait until none
    # can still be sealing under the old primary, so the pass below leaves nothing behind
    time.sleep(2 * RELOAD_SECONDS)
    CURRENT.forget()
    resealed = reseal(new)
    with get_engine().begin() as connection:
        append(
            connection,
            "keys:rotate",
            detail={"old": old.primary, "new": new.primary, "resealed": resealed},
        )
    return Rotation(old_primary=old.primary, new_primary=new.primary, resealed=resealed)


def retire(kid: str) -> Keyring:
    """Remove a data key from the key file, refused while any value is sealed under it."""
    ring = _file_ring()
    left = usage().get(kid, 0)
    if left:
        raise SealError(
            f"{left} value(s) are still sealed under data key {kid!r}: "
            "run `safeshare keys reseal` first"
        )
    smaller = ring.without(kid)
    write_keyring(keys_path(get_settings()), smaller)
    with get_engine().begin() as connection:
        append(connection, "keys:retire", detail={"key": kid})
    CURRENT.forget()
    return smaller


def key_the_chain() -> int | None:
    """Give a chain written without a key an audit key, in the key file, keying it from its
    next entry on (entered as `audit:keyed`); nothing is re-hashed. The first keyed entry, or
    None when the chain is keyed already. SealError when the keys are in the environment (they
    cannot be written: the README says how to add one)."""
    if chain_key(fresh=True) is not None:
        return None
    settings = get_settings()
    if settings.data_keys is not None:
        raise SealError(
            f"{ENV} holds no audit key, so the audit trail is not keyed: add one as the "
            "README's audit trail section says"
        )
    with session_scope() as session:
        connection = session.connection()
        # the head first: writers queue behind this transaction, then read the new key
        connection.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq))
        seq = connection.execute(select(AuditHead.seq).where(AuditHead.id == 1)).scalar_one()
        ring = CURRENT.get(fresh=True)
        if ring.audit is not None:  # keyed by another process meanwhile
            return None
        write_keyring(keys_path(settings), ring.with_audit_key(seq + 1))
        CURRENT.forget()
        append(connection, "audit:keyed", detail={"from": seq + 1})
    return int(seq) + 1
