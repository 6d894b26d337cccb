"""Sealing at rest: authenticated encryption under named keys, never a plaintext fallback, keys
kept owner-only outside the database, and a ring that picks up another process's rotation."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from foundations import sealing
from foundations.sealing import (
    Keyring,
    SealError,
    ensure_keyring,
    key_id,
    keys_path,
    load_keyring,
    open_text,
    seal_text,
    write_keyring,
)
from foundations.settings import Settings, get_settings, settings_in_force
from models.tables.base import Sealed, sealed_columns

LABEL = "concerns.what_happened"


@pytest.fixture
def ring() -> Keyring:
    return Keyring.new("test")


def test_a_sealed_value_opens_to_what_was_sealed_and_names_its_key(ring: Keyring) -> None:
    first, second = ring.seal(b"bruise on the arm", LABEL), ring.seal(b"bruise on the arm", LABEL)
    assert first != second  # a fresh nonce every time: equal texts do not look equal
    assert b"bruise" not in first.encode() and first.startswith(f"s1:{ring.primary}:")
    assert key_id(first) == ring.primary
    assert ring.open(first, LABEL) == b"bruise on the arm"


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        pytest.param(
            lambda v, r: r.open(v, "concerns.child_words"),
            "copied from another column",
            id="other-column",
        ),
        pytest.param(
            lambda v, r: Keyring.new("x").open(
                v.replace(v.split(":")[1], Keyring.new("x").primary), LABEL
            ),
            "not in",
            id="unknown-key",
        ),
        pytest.param(lambda v, r: r.open("bruise on the arm", LABEL), "not sealed", id="plaintext"),
        pytest.param(
            lambda v, r: r.open(
                v[:-6] + ("AAAA" if not v.endswith("AAAA") else "BBBB") + v[-2:], LABEL
            ),
            "altered",
            id="flipped-bytes",
        ),
        pytest.param(lambda v, r: r.open(v[:20] + "!!!", LABEL), "damaged", id="not-base64"),
        pytest.param(
            lambda v, r: r.open("s1:" + r.primary + ":QUJD", LABEL), "too short", id="truncated"
        ),
    ],
)
def test_anything_but_a_good_value_under_a_known_key_is_a_clear_error(
    ring: Keyring, damage: object, says: str
) -> None:
    value = ring.seal(b"bruise on the arm", LABEL)
    with pytest.raises(SealError, match=says):
        damage(value, ring)  # type: ignore[operator]


def test_a_wrong_key_under_the_right_id_is_found_not_read_as_garbage(ring: Keyring) -> None:
    value = ring.seal(b"bruise", LABEL)
    impostor = Keyring(primary=ring.primary, keys={ring.primary: os.urandom(32)})
    with pytest.raises(SealError, match="key is wrong"):
        impostor.open(value, LABEL)


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        json.dumps({"primary": "k1"}),
        json.dumps({"primary": "k1", "keys": {"k1": "not base64!"}}),
        json.dumps({"primary": "abcd", "keys": {"abcd": base64.b64encode(b"short").decode()}}),
        json.dumps(
            {"primary": "zzzz", "keys": {"abcd": base64.b64encode(bytes(range(32))).decode()}}
        ),
        json.dumps(
            {"primary": "A B", "keys": {"A B": base64.b64encode(bytes(range(32))).decode()}}
        ),
    ],  # fixed bytes, not random: test ids must be the same in every xdist worker
)
def test_bad_key_material_is_refused_in_one_sentence(text: str) -> None:
    with pytest.raises(SealError, match="data key"):
        Keyring.parse(text, "SAFESHARE_DATA_KEYS")


def test_a_rotated_ring_keeps_the_old_keys_until_retired(ring: Keyring) -> None:
    old = ring.seal(b"x", LABEL)
    rotated = ring.with_new_primary()
    assert rotated.primary != ring.primary and rotated.open(old, LABEL) == b"x"
    assert key_id(rotated.seal(b"x", LABEL)) == rotated.primary
    with pytest.raises(SealError, match="primary"):
        rotated.without(rotated.primary)
    with pytest.raises(SealError, match="no data key"):
        rotated.without("nope1234")
    assert set(rotated.without(ring.primary).keys) == {rotated.primary}
    assert Keyring.parse(rotated.to_json(), "file") == rotated


def test_the_audit_key_is_kept_with_the_data_keys_through_rotations(ring: Keyring) -> None:
    assert ring.audit is not None and ring.audit.keyed_from == 1  # a new ring keys from the start
    rotated = ring.with_new_primary().without(ring.primary)
    assert rotated.audit == ring.audit
    assert Keyring.parse(rotated.to_json(), "file").audit == ring.audit
    older = json.loads(ring.to_json())
    del older["audit"]  # a key file from before the audit key still reads
    assert Keyring.parse(json.dumps(older), "file").audit is None
    later = Keyring.parse(json.dumps(older), "file").with_audit_key(571)
    assert later.audit is not None and later.audit.keyed_from == 571
    bad = json.loads(ring.to_json()) | {"audit": {"key": "c2hvcnQ=", "from": 1}}
    with pytest.raises(SealError, match="audit key"):
        Keyring.parse(json.dumps(bad), "file")


def test_every_column_that_names_a_person_or_tells_what_happened_is_sealed() -> None:
    """A new column of this kind must be added here, and sealed, on purpose."""
    found = {(t, c) for t, _, c, _ in sealed_columns()}
    assert found == {
        ("agencies", "notify_url"),
        ("children", "date_of_birth"),
        ("children", "identity"),
        ("staff", "name"),
        ("staff", "email"),
        ("staff", "job_title"),
        ("staff", "notify_url"),
        ("staff", "totp_secret"),
        ("concerns", "place"),
        ("concerns", "what_happened"),
        ("concerns", "child_words"),
        ("concerns", "action_taken"),
        ("concerns", "allegation_against"),
        ("concerns", "who_told"),
        ("children", "social_worker_notify"),
        ("case_steps", "data"),
        ("disclosures", "information"),
        ("disclosures", "purpose"),
        ("receipts", "confirmed_by_name"),
        ("receipts", "confirmed_by_role"),
        ("receipts", "agency_reference"),
        ("retention_decisions", "reason"),
        ("access_requests", "request"),
        ("notices", "details"),
        ("leavers", "destination"),
        ("plan_events", "details"),
    }
    for table, _, column, kind in sealed_columns():
        assert isinstance(kind, Sealed) and kind.label == f"{table}.{column}"


# ---------------------------------------------------------------------------------------------
# Where the keys are kept.


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A data directory whose settings give no data keys: only the key file there can."""
    with settings_in_force(Settings(home=tmp_path, data_keys=None)):
        yield tmp_path


def test_without_keys_anywhere_the_error_says_where_to_put_them(home: Path) -> None:
    with pytest.raises(SealError, match="SAFESHARE_DATA_KEYS or restore .*data.keys"):
        load_keyring(get_settings())
    with pytest.raises(SealError):
        seal_text("x", LABEL)


def test_a_new_key_file_is_random_and_owner_only_and_made_once(home: Path) -> None:
    first = ensure_keyring(get_settings())
    path = keys_path(get_settings())
    assert path.stat().st_mode & 0o777 == 0o600
    assert ensure_keyring(get_settings()) == first
    path.chmod(0o644)
    with pytest.raises(SealError, match="chmod 600"):
        load_keyring(get_settings())


def test_the_environment_wins_over_the_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ensure_keyring(get_settings())
    mine = Keyring.new("env")
    monkeypatch.setenv("SAFESHARE_DATA_KEYS", mine.to_json())
    assert load_keyring(Settings(home=home)).primary == mine.primary


def test_the_keys_follow_the_settings_put_in_force(tmp_path: Path) -> None:
    """Nothing of one setting's keys is kept once another's settings are in force."""
    mine, theirs = Keyring.new("mine"), Keyring.new("theirs")
    with settings_in_force(Settings(home=tmp_path, data_keys=mine.to_json())):
        sealed = seal_text("the child's words", LABEL)
        with settings_in_force(Settings(home=tmp_path, data_keys=theirs.to_json())):
            with pytest.raises(SealError):
                open_text(sealed, LABEL)
            assert open_text(seal_text("x", LABEL), LABEL) == "x"
        assert open_text(sealed, LABEL) == "the child's words"


def test_a_process_picks_up_a_rotation_made_by_another(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sealing, "RELOAD_SECONDS", 3600.0)  # only a new key id forces a reload
    ring = ensure_keyring(get_settings())
    before = seal_text("the child's words", LABEL)
    rotated = ring.with_new_primary()
    write_keyring(keys_path(get_settings()), rotated)  # as `safeshare keys rotate` elsewhere
    after = rotated.seal(b"the child's words", LABEL)
    assert open_text(after, LABEL) == open_text(before, LABEL) == "the child's words"
    assert keys_path(get_settings()).stat().st_mode & 0o777 == 0o600
