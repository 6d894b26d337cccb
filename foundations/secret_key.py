"""The key that signs links (and keys the one-time codes' hashes): from the environment, or a
random, owner-only key file in the data directory."""

from __future__ import annotations

import os
import secrets

from foundations.settings import Settings

PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "password", "dev", "test", "example"}


class SecretKeyError(RuntimeError):
    """There is no usable key to sign links with; the message says what to do."""


def secret_key(settings: Settings, *, create: bool = False) -> bytes:
    """The key that signs links: from the environment, or the data directory's key file.

    `create` makes the key file (random, owner-only) when there is none: `safeshare up` does.
    A short or placeholder key is refused rather than used.
    """
    if settings.secret_key is not None:
        value = settings.secret_key.get_secret_value()
    else:
        path = settings.secret_key_path
        if not path.exists():
            if not create:
                raise SecretKeyError(
                    f"no secret key: set SAFESHARE_SECRET_KEY or run `safeshare up` once "
                    f"to create {path}"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        if path.stat().st_mode & 0o077:
            raise SecretKeyError(f"{path} must be readable by its owner only (chmod 600)")
        value = path.read_text().strip()
    if len(value) < 32 or value.lower() in PLACEHOLDER_SECRETS:
        raise SecretKeyError("the secret key must be at least 32 random characters")
    return value.encode()
