"""The key that signs links: made once under the data directory, owner-only, never a placeholder."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from foundations.secret_key import SecretKeyError, secret_key
from foundations.settings import Settings


@pytest.fixture(autouse=True)
def _no_key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A running test stack puts its key in the environment; these tests are about the file."""
    monkeypatch.delenv("SAFESHARE_SECRET_KEY", raising=False)


def test_created_once_owner_only_and_then_reused(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    with pytest.raises(SecretKeyError, match="safeshare up"):
        secret_key(settings)
    first = secret_key(settings, create=True)
    assert (settings.secret_key_path.stat().st_mode & 0o777) == 0o600
    assert secret_key(settings) == first and len(first) >= 32


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    secret_key(settings, create=True)
    settings.secret_key_path.chmod(0o644)
    with pytest.raises(SecretKeyError, match="chmod 600"):
        secret_key(settings)


@pytest.mark.parametrize("value", ["changeme", "short", "x" * 31])
def test_placeholder_or_short_keys_are_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(SecretKeyError, match="at least 32"):
        secret_key(Settings(home=tmp_path, secret_key=SecretStr(value)))


def test_a_key_from_the_environment_wins(tmp_path: Path) -> None:
    value = "v" * 40
    assert secret_key(Settings(home=tmp_path, secret_key=SecretStr(value))) == value.encode()
    assert not (tmp_path / "secret.key").exists()
