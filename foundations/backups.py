"""The backup file: encrypted and self-checking, so a backup that was altered, cut short or made
under another key is refused before anything is restored from it.

    SSBK1\\n | header length (4 bytes) | header (JSON) | chunks ...
    chunk = length (4 bytes) | nonce (12) | AES-256-GCM ciphertext of up to 1 MiB

The plaintext is gzip'd JSON lines. Each chunk's associated data is the header's hash, the
chunk's number and whether it is the last: chunks cannot be reordered, dropped, or the file cut
short unnoticed, and the header (which says which data key and which schema) cannot be changed.
The key is derived (HKDF-SHA256, a random salt per backup) from a data key: without the data
keys the backup cannot be opened, as the database's sealed values could not be read anyway.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import secrets
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from foundations.sealing import Keyring

MAGIC = b"SSBK1\n"
CHUNK = 1 << 20
FORMAT_VERSION = 1


class BackupError(RuntimeError):
    """A backup cannot be written or trusted; the message says why."""


def _key(ring: Keyring, kid: str, salt: bytes) -> bytes:
    if kid not in ring.keys:
        raise BackupError(
            f"this backup was made under data key {kid!r}, which is not in {ring.source}: "
            "restore with the key file (or SAFESHARE_DATA_KEYS) that holds it"
        )
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"safeshare backup v1")
    return hkdf.derive(ring.keys[kid])


def _aad(header_hash: bytes, index: int, last: bool) -> bytes:
    return header_hash + struct.pack(">Q?", index, last)


class _SealedWriter(io.RawIOBase):
    """A write-only stream that seals what is written into chunks on `out`."""

    def __init__(self, out: IO[bytes], key: bytes, header_hash: bytes) -> None:
        self._out, self._aead, self._hash = out, AESGCM(key), header_hash
        self._buffer = bytearray()
        self._index = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer.extend(data)
        while len(self._buffer) > CHUNK:
            self._emit(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def finish(self) -> None:
        self._emit(bytes(self._buffer), last=True)
        self._buffer.clear()

    def _emit(self, plain: bytes, *, last: bool) -> None:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, plain, _aad(self._hash, self._index, last))
        self._out.write(struct.pack(">I", len(nonce) + len(sealed)) + nonce + sealed)
        self._index += 1


@dataclass(frozen=True)
class Header:
    version: int
    revision: str
    database: str
    created_at: str
    key_id: str
    salt: str

    def encode(self) -> bytes:
        return json.dumps(self.__dict__, sort_keys=True).encode()


def write_backup(path: Path, header: Header, ring: Keyring, lines: Iterator[dict[str, Any]]) -> int:
    """Write `lines` (JSON objects) sealed to `path` (owner-only); returns the bytes written."""
    raw_header = header.encode()
    key = _key(ring, header.key_id, bytes.fromhex(header.salt))
    temporary = path.with_name(f".{path.name}.partial")
    try:
        # a crashed attempt's is made anew, owner-only from the start
        temporary.unlink(missing_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise BackupError(f"cannot write a backup at {path} ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(MAGIC + struct.pack(">I", len(raw_header)) + raw_header)
            sealer = _SealedWriter(out, key, hashlib.sha256(raw_header).digest())
            with gzip.GzipFile(fileobj=sealer, mode="wb", mtime=0) as zipped:
                for line in lines:
                    zipped.write(json.dumps(line, separators=(",", ":")).encode() + b"\n")
            sealer.finish()
            out.flush()
        temporary.replace(path)
    except OSError as exc:  # a full disk, a directory gone: no half backup is left behind
        temporary.unlink(missing_ok=True)
        raise BackupError(f"cannot write a backup at {path} ({exc.strerror})") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path.stat().st_size


def new_header(ring: Keyring, *, revision: str, database: str, created_at: str) -> Header:
    return Header(
        version=FORMAT_VERSION,
        revision=revision,
        database=database,
        created_at=created_at,
        key_id=ring.primary,
        salt=secrets.token_hex(16),
    )


def read_header(handle: IO[bytes]) -> tuple[Header, bytes]:
    if handle.read(len(MAGIC)) != MAGIC:
        raise BackupError("this is not a safeshare backup (its first bytes are wrong)")
    (size,) = struct.unpack(">I", _exactly(handle, 4))
    raw = _exactly(handle, size)
    try:
        fields = json.loads(raw)
        header = Header(**fields)
    except (ValueError, TypeError):
        raise BackupError("the backup's header is damaged") from None
    if header.version != FORMAT_VERSION:
        raise BackupError(f"backup format {header.version} is not known to this safeshare")
    return header, raw


def _exactly(handle: IO[bytes], size: int) -> bytes:
    data = handle.read(size)
    if len(data) != size:
        raise BackupError("the backup is cut short")
    return data


def open_backup(path: Path, ring: Keyring) -> tuple[Header, bytes]:
    """The header and the whole plaintext (gzip'd JSON lines) of a backup, every chunk checked;
    BackupError for anything altered, missing or under an unknown key."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed by the with below)
    except OSError as exc:
        raise BackupError(f"cannot read the backup {path} ({exc.strerror})") from None
    with handle:
        header, raw_header = read_header(handle)
        aead = AESGCM(_key(ring, header.key_id, bytes.fromhex(header.salt)))
        header_hash = hashlib.sha256(raw_header).digest()
        plain = bytearray()
        index, ended = 0, False
        while True:
            prefix = handle.read(4)
            if not prefix:
                break
            if ended:
                raise BackupError("the backup has data after its last chunk")
            if len(prefix) != 4:
                raise BackupError("the backup is cut short")
            (size,) = struct.unpack(">I", prefix)
            chunk = _exactly(handle, size)
            nonce, sealed = chunk[:12], chunk[12:]
            for last in (False, True):
                try:
                    plain += aead.decrypt(nonce, sealed, _aad(header_hash, index, last))
                    ended = last
                    break
                except InvalidTag:
                    continue
            else:
                raise BackupError(
                    f"chunk {index} of the backup does not check: the file was altered, or "
                    "its chunks reordered"
                )
            index += 1
        if not ended:
            raise BackupError("the backup is cut short: its last chunk is missing")
    try:
        return header, gzip.decompress(bytes(plain))
    except (OSError, EOFError):
        raise BackupError("the backup's content is damaged") from None
