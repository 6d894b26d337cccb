"""Encryption at rest: every value that identifies a person or tells what happened is sealed.

A sealed value is `s1:<key id>:<base64 of nonce, ciphertext and tag>`: AES-256-GCM from the
`cryptography` package, with the column's name as associated data, so a value copied into another
column does not open. Keys live outside the repository and the database: in SAFESHARE_DATA_KEYS
(JSON) or in `<home>/data.keys` (owner-only), as `{"primary": id, "keys": {id: base64}}`. New
values are sealed under the primary key; any key in the ring opens the values made under it.

A missing key, a wrong key, a damaged value or a value that is not sealed is an error that says
which; nothing ever falls back to plaintext.

The same keys hold the audit trail's key (`"audit": {"key": base64, "from": first entry}`): the
chain's HMAC key is kept here, with the data keys, never in the database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from foundations.settings import Settings, get_settings

PREFIX = "s1"
NONCE_BYTES = 12
KEY_BYTES = 32
ENV = "SAFESHARE_DATA_KEYS"
_KID = re.compile(r"^[a-z0-9]{4,16}$")
#: How often a process looks at the key file for a rotation made by another process.
RELOAD_SECONDS = 1.0


class SealError(RuntimeError):
    """A sealed value cannot be opened, or no key can seal; the message says why and what to do."""


@dataclass(frozen=True)
class AuditKey:
    """The key of the audit trail's chain (HMAC-SHA256), and the first entry keyed with it:
    entries before it (written before the chain was keyed) keep their plain SHA-256."""

    key: bytes
    keyed_from: int = 1


@dataclass(frozen=True)
class Keyring:
    primary: str
    keys: Mapping[str, bytes]
    source: str = field(default=ENV, compare=False)
    audit: AuditKey | None = None

    def __post_init__(self) -> None:
        if self.audit is not None and (
            len(self.audit.key) != KEY_BYTES or self.audit.keyed_from < 1
        ):
            raise SealError(
                f"the audit key in {self.source} is not 32 bytes keying from an entry number"
            )
        if self.primary not in self.keys:
            raise SealError(
                f"the data keys in {self.source} name {self.primary!r} as primary "
                "but do not hold it"
            )
        for kid, key in self.keys.items():
            if not _KID.match(kid):
                raise SealError(f"the data key id {kid!r} in {self.source} is not 4-16 a-z/0-9")
            if len(key) != KEY_BYTES:
                raise SealError(f"the data key {kid!r} in {self.source} is not 32 bytes")

    @classmethod
    def new(cls, source: str) -> Keyring:
        """A new ring, for a new database: its audit trail is keyed from the first entry."""
        kid = new_kid()
        return cls(
            primary=kid,
            keys={kid: AESGCM.generate_key(bit_length=256)},
            source=source,
            audit=AuditKey(secrets.token_bytes(KEY_BYTES)),
        )

    @classmethod
    def parse(cls, text: str, source: str) -> Keyring:
        try:
            raw = json.loads(text)
            keys = {str(k): base64.b64decode(v, validate=True) for k, v in raw["keys"].items()}
            audit = None
            if raw.get("audit") is not None:
                audit = AuditKey(
                    base64.b64decode(raw["audit"]["key"], validate=True),
                    int(raw["audit"]["from"]),
                )
            return cls(primary=str(raw["primary"]), keys=keys, source=source, audit=audit)
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
            raise SealError(
                f"the data keys in {source} are not valid: expected "
                '{"primary": "<id>", "keys": {"<id>": "<base64 of 32 bytes>"}, '
                '"audit": {"key": "<base64 of 32 bytes>", "from": <entry number>}}'
            ) from None

    def to_json(self) -> str:
        raw: dict[str, object] = {
            "primary": self.primary,
            "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()},
        }
        if self.audit is not None:
            raw["audit"] = {
                "key": base64.b64encode(self.audit.key).decode(),
                "from": self.audit.keyed_from,
            }
        return json.dumps(raw, indent=2) + "\n"

    def with_new_primary(self) -> Keyring:
        kid = new_kid()
        keys = {**self.keys, kid: AESGCM.generate_key(bit_length=256)}
        return Keyring(primary=kid, keys=keys, source=self.source, audit=self.audit)

    def with_audit_key(self, keyed_from: int) -> Keyring:
        """This ring with a new audit key, keying the chain from entry `keyed_from` on."""
        audit = AuditKey(secrets.token_bytes(KEY_BYTES), keyed_from)
        return Keyring(primary=self.primary, keys=self.keys, source=self.source, audit=audit)

    def without(self, kid: str) -> Keyring:
        if kid == self.primary:
            raise SealError(f"{kid} is the primary data key: rotate to a new one first")
        if kid not in self.keys:
            raise SealError(f"there is no data key {kid!r} in {self.source}")
        return Keyring(
            primary=self.primary,
            keys={k: v for k, v in self.keys.items() if k != kid},
            source=self.source,
            audit=self.audit,
        )

    def seal(self, plaintext: bytes, label: str) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.primary]).encrypt(nonce, plaintext, label.encode())
        return f"{PREFIX}:{self.primary}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, value: str, label: str) -> bytes:
        kid, blob = split(value, label)
        key = self.keys.get(kid)
        if key is None:
            raise SealError(
                f"{label} is sealed under data key {kid!r}, which is not in {self.source}: "
                "restore the key file (or SAFESHARE_DATA_KEYS) that holds it"
            )
        try:
            return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], label.encode())
        except InvalidTag:
            raise SealError(
                f"a value of {label} does not open with data key {kid!r}: the key is wrong, or "
                "the value was altered or copied from another column"
            ) from None


def new_kid() -> str:
    return secrets.token_hex(4)


def split(value: str, label: str) -> tuple[str, bytes]:
    """The key id and the bytes of a sealed value; SealError for anything else (plaintext)."""
    parts = value.split(":", 2) if isinstance(value, str) else []
    if len(parts) != 3 or parts[0] != PREFIX:
        raise SealError(f"a value of {label} is not sealed: refusing to read it as plaintext")
    try:
        blob = base64.b64decode(parts[2], validate=True)
    except (ValueError, binascii.Error):
        raise SealError(f"a value of {label} is damaged (not base64)") from None
    if len(blob) < NONCE_BYTES + 16:
        raise SealError(f"a value of {label} is damaged (too short)")
    return parts[1], blob


def key_id(value: str) -> str:
    """The id of the key a sealed value was made under."""
    return split(value, "value")[0]


# ---------------------------------------------------------------------------------------------
# Where the keys are kept.


def keys_path(settings: Settings) -> Path:
    return settings.home / "data.keys"


def load_keyring(settings: Settings) -> Keyring:
    """The data keys from SAFESHARE_DATA_KEYS, else from the key file; SealError if neither."""
    if settings.data_keys is not None:
        return Keyring.parse(settings.data_keys.get_secret_value(), ENV)
    path = keys_path(settings)
    if not path.exists():
        raise SealError(
            f"no data keys: set {ENV} or restore {path} (the case database is sealed with them; "
            "`safeshare db upgrade` makes them only for a new database)"
        )
    if path.stat().st_mode & 0o077:
        raise SealError(f"{path} must be readable by its owner only (chmod 600)")
    return Keyring.parse(path.read_text(), str(path))


def write_keyring(path: Path, ring: Keyring) -> None:
    """Replace the key file atomically (owner-only), so a reader sees the old ring or the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(ring.to_json())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def ensure_keyring(settings: Settings) -> Keyring:
    """The data keys, made (random, owner-only file) when there are none: for a new database."""
    if settings.data_keys is None and not keys_path(settings).exists():
        path = keys_path(settings)
        ring = Keyring.new(str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return load_keyring(settings)
        with os.fdopen(fd, "w") as handle:
            handle.write(ring.to_json())
    return load_keyring(settings)


# ---------------------------------------------------------------------------------------------
# The process's current ring: read once, re-read when the key file changes (a rotation made by
# another process) or when a value names a key this process has not seen.


class _Current:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ring: Keyring | None = None
        self._settings: object = None
        self._stamp: tuple[str, str] | None = None
        self._checked = 0.0

    def get(self, *, fresh: bool = False) -> Keyring:
        settings = get_settings()
        now = time.monotonic()
        with self._lock:
            recent = now - self._checked < RELOAD_SECONDS and self._settings is settings
            if self._ring is not None and recent and not fresh:
                return self._ring
            stamp = self._stamp_of(settings)
            if self._ring is None or fresh or stamp != self._stamp:
                self._ring, self._stamp = load_keyring(settings), stamp
            self._settings, self._checked = settings, now
            return self._ring

    @staticmethod
    def _stamp_of(settings: Settings) -> tuple[str, str]:
        """What the ring was read from: a change means read it again."""
        if settings.data_keys is not None:
            value = settings.data_keys.get_secret_value().encode()
            return ("env", hashlib.sha256(value).hexdigest())
        path = keys_path(settings)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return (str(path), "missing")
        return (str(path), f"{stat.st_mtime_ns}:{stat.st_ino}:{stat.st_size}")

    def forget(self) -> None:
        with self._lock:
            self._ring, self._stamp, self._settings = None, None, None


CURRENT = _Current()


def seal_text(value: str, label: str) -> str:
    return CURRENT.get().seal(value.encode(), label)


def open_text(value: str, label: str) -> str:
    ring = CURRENT.get()
    kid, _ = split(value, label)
    if kid not in ring.keys:
        ring = CURRENT.get(fresh=True)  # a key added by a rotation elsewhere
    return ring.open(value, label).decode()
