"""The audit trail on both case databases: every write and every shown case is entered with who,
what, when and why; the database refuses UPDATE and DELETE on it; tampering done behind its back
is found at the exact entry, even when every later hash is computed again by someone without the
audit key; a chain cut short or rewritten with the key fails against its anchors; a chain
written before it had a key is keyed from its next entry; eight concurrent writers leave one
unbroken chain."""

from __future__ import annotations

import dataclasses
import getpass
import json
import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from harness.databases import DATA_KEYS, case_database, migrated_database
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from typer.testing import CliRunner

from foundations.audit import acting
from foundations.audit_check import entries_for, verify_chain
from foundations.db import engine_for, migrate, session_scope
from foundations.sealing import Keyring, keys_path, load_keyring, write_keyring
from foundations.settings import Settings, get_settings, settings_in_force
from models.audit import GENESIS, AuditEntry, entry_hash
from models.kernel.roles import Role
from models.sharing.concern import Category, ConcernFacts
from safeshare.cli.app import app
from tasks.children import add_child
from tasks.concerns import record_concern
from tasks.staff import add_staff

runner = CliRunner()


@pytest.fixture(params=("sqlite", "postgresql"))
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with (
        migrated_database(request.param, tmp_path) as url,
        settings_in_force(Settings(home=tmp_path, database_url=url, data_keys=DATA_KEYS)),
    ):
        add_staff("dsl1", name="Alice", role=Role.DSL, notify_url=None)
        add_staff("admin1", name="Ada", role=Role.ADMIN, notify_url=None)
        add_child("C-1", date_of_birth=date(2016, 5, 1), cp_plan=False)
        yield url
        engine_for(url).dispose()


def concern(marker: str = "x") -> ConcernFacts:
    return ConcernFacts(
        child_ref="C-1",
        raised_by="dsl1",
        category=Category.NEGLECT,
        occurred_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
        what_happened=f"{marker} what happened",
    )


def verify() -> tuple[int, str]:
    result = runner.invoke(app, ["--user", "admin1", "audit", "verify"])
    return result.exit_code, result.stdout + result.stderr


def test_writes_and_reads_are_entered_with_who_and_why_and_no_content(database: str) -> None:
    marker = f"PD{uuid.uuid4().hex[:10]}"
    with acting("teacher1", "concern form"):
        case_id = record_concern(concern(marker))
    shown = runner.invoke(app, ["--user", "dsl1", "case", "show", str(case_id)])
    assert shown.exit_code == 0, shown.output

    with session_scope() as session:
        entries = entries_for(session, case_id=case_id)
    did = [(e.actor, e.action, e.reason) for e in entries]
    assert ("teacher1", "insert:cases", "concern form") in did
    account = f"os:{getpass.getuser()}"
    assert did[-1] == ("dsl1", "read:case", f"safeshare case ({account})")
    assert marker not in json.dumps([e.__dict__ for e in entries])
    listed = runner.invoke(
        app, ["--user", "dsl1", "audit", "show", "--case", str(case_id), "--json"]
    )
    assert listed.exit_code == 0 and json.loads(listed.stdout)[-1]["action"] == "read:case"
    by_teacher = runner.invoke(
        app, ["--user", "admin1", "audit", "show", "--actor", "teacher1", "--json"]
    )
    assert {e["action"] for e in json.loads(by_teacher.stdout)} == {
        "insert:concerns",
        "insert:cases",
    }
    assert runner.invoke(app, ["--user", "dsl1", "audit", "show"]).exit_code == 1  # whose entries?
    assert verify()[0] == 0


def test_the_database_refuses_to_change_or_remove_an_entry(database: str) -> None:
    record_concern(concern())
    statements = ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"]
    if database.startswith("postgresql"):
        statements.append("TRUNCATE audit_log")
    for statement in statements:
        with pytest.raises(DatabaseError, match="append-only"):
            with engine_for(database).begin() as connection:
                connection.execute(text(statement))
    code, said = verify()
    assert code == 0 and "entries" in said


def drop_guards(url: str) -> None:
    """What someone with the database's own rights could do: remove the triggers."""
    with engine_for(url).begin() as connection:
        if url.startswith("sqlite"):
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
            connection.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            connection.execute(text("DROP TRIGGER audit_log_no_change ON audit_log"))


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        ("UPDATE audit_log SET reason = 'nothing to see' WHERE seq = :n", "altered"),
        ("UPDATE audit_log SET case_id = 999 WHERE seq = :n", "altered"),
        ("DELETE FROM audit_log WHERE seq = :n", "missing"),
    ],
)
def test_tampering_behind_its_back_is_found_at_that_entry(
    database: str, tamper: str, says: str
) -> None:
    for _ in range(3):
        record_concern(concern())
    with session_scope() as session:
        total = verify_chain(session).entries
    target = total // 2
    drop_guards(database)
    with engine_for(database).begin() as connection:
        connection.execute(text(tamper), {"n": target})
    code, said = verify()
    assert code == 1 and f"broken at entry {target}:" in said and says in said


def test_cutting_entries_off_the_end_is_found(database: str) -> None:
    for _ in range(2):
        record_concern(concern())
    with session_scope() as session:
        total = verify_chain(session).entries
    drop_guards(database)
    with engine_for(database).begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq >= :n"), {"n": total - 1})
    code, said = verify()
    assert code == 1 and f"broken at entry {total - 1}" in said


def test_eight_concurrent_writers_leave_one_unbroken_chain(database: str) -> None:
    each, failures = 6, []

    def writer(n: int) -> None:
        try:
            with acting(f"writer{n}", "concurrency test"):
                for _ in range(each):
                    record_concern(concern())
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    with session_scope() as session:
        result = verify_chain(session)
        for n in range(8):
            mine = entries_for(session, actor=f"writer{n}", limit=1000)
            assert len(mine) == 2 * each  # a concern and its case, each time
    assert result.broken is None
    code, said = verify()
    assert code == 0, said


def rehash_from(url: str, target: int, key: bytes | None) -> None:
    """What someone who owns the database could do: drop the triggers, change entry `target`,
    then give it and every entry after it a hash that follows, and the head the last one: a
    plain SHA-256 (the chain's old rule), or an HMAC under a key of their own (or the real one,
    for someone who has stolen it)."""
    drop_guards(url)
    with engine_for(url).begin() as connection:
        connection.execute(
            text("UPDATE audit_log SET reason = 'nothing to see' WHERE seq = :n"), {"n": target}
        )
        prev = (
            connection.execute(
                text("SELECT hash FROM audit_log WHERE seq = :n"), {"n": target - 1}
            ).scalar()
            or GENESIS
        )
        rows = connection.execute(
            text(
                "SELECT seq, at, actor, action, case_id, reason, detail FROM audit_log "
                "WHERE seq >= :n ORDER BY seq"
            ),
            {"n": target},
        ).all()
        for row in rows:
            entry = AuditEntry(*row, prev_hash=prev)  # type: ignore[misc]
            made = entry_hash(entry, key)
            connection.execute(
                text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE seq = :n"),
                {"p": prev, "h": made, "n": entry.seq},
            )
            prev = made
        connection.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": prev})


@pytest.mark.parametrize("attacker_key", ("none: plain SHA-256", "their own"))
def test_a_chain_rehashed_without_the_key_is_found_at_the_changed_entry(
    database: str, attacker_key: str
) -> None:
    for _ in range(3):
        record_concern(concern())
    with session_scope() as session:
        total = verify_chain(session).entries
    target = total // 2
    rehash_from(database, target, None if attacker_key.startswith("none") else os.urandom(32))
    code, said = verify()
    assert code == 1 and f"broken at entry {target}:" in said and "altered" in said, said


def admin(*argv: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--user", "admin1", *argv])
    return result.exit_code, result.stdout + result.stderr


def test_a_chain_cut_short_after_its_anchor_fails_against_the_anchor(database: str) -> None:
    for _ in range(3):
        record_concern(concern())
    code, said = admin("audit", "anchor")
    with session_scope() as session:
        anchored = verify_chain(session).entries
    assert code == 0 and f"entry {anchored}, anchored" in said, said
    anchors = get_settings().audit_anchor_path
    assert anchors.stat().st_mode & 0o777 == 0o600
    assert json.loads(anchors.read_text().splitlines()[-1])["seq"] == anchored
    again = admin("audit", "anchor")[1]  # nobody has the tag here: never sent, said so
    assert f"was anchored already in {anchors}; NOT sent" in again, again
    record_concern(concern())
    assert verify()[0] == 0

    # the last entries cut off, the head set back to what is left: the chain alone still holds
    cut = anchored - 2
    drop_guards(database)
    with engine_for(database).begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq >= :n"), {"n": cut})
        connection.execute(
            text(
                "UPDATE audit_head SET seq = :s, "
                "hash = (SELECT hash FROM audit_log WHERE seq = :s) WHERE id = 1"
            ),
            {"s": cut - 1},
        )
    code, said = verify()
    assert code == 1 and f"broken at entry {anchored}:" in said, said
    assert f"the chain ends before entry {anchored}, anchored" in said


def test_a_chain_rewritten_with_the_key_fails_against_its_anchor(database: str) -> None:
    for _ in range(3):
        record_concern(concern())
    with session_scope() as session:
        anchored, head = verify_chain(session).entries, verify_chain(session).head_hash
    assert admin("audit", "anchor")[0] == 0
    stolen = load_keyring(get_settings()).audit
    assert stolen is not None
    rehash_from(database, anchored // 2, stolen.key)
    code, said = verify()
    assert code == 1 and f"broken at entry {anchored}:" in said, said
    assert "it is not the entry anchored" in said

    # the anchor file gone too: the code in the DSL's message still catches it
    get_settings().audit_anchor_path.unlink()
    assert verify()[0] == 0  # the key alone cannot tell: that is what anchors are for
    code, said = admin("audit", "verify", "--anchor", f"{anchored}:{head}")
    assert code == 1 and f"broken at entry {anchored}:" in said, said
    code, said = admin("audit", "verify", "--anchor", "12:nothex")
    assert code == 1 and "is not ENTRY:CODE" in said


@pytest.mark.parametrize("backend", ("sqlite", "postgresql"))
def test_a_chain_written_before_it_was_keyed_is_keyed_from_its_next_entry(
    backend: str, tmp_path: Path
) -> None:
    """A data directory from before the audit key: its key file has none. `db migrate` (as
    `safeshare up` does) adds one keying the chain from its next entry on, re-hashing nothing;
    the entries before stay plain SHA-256, and the first keyed entry seals them."""
    ring = Keyring.parse(DATA_KEYS, "test")
    with case_database(backend, tmp_path) as url:
        settings = Settings(home=tmp_path, database_url=url, data_keys=None)  # the key file
        write_keyring(keys_path(settings), dataclasses.replace(ring, audit=None))
        with settings_in_force(settings):
            migrate(url)
            add_staff("admin1", name="Ada", role=Role.ADMIN, notify_url=None)
            add_staff("dsl1", name="Alice", role=Role.DSL, notify_url=None)
            add_child("C-1", date_of_birth=date(2016, 5, 1), cp_plan=False)
            record_concern(concern())
            code, said = verify()
            assert code == 0 and "NOT keyed" in said, said
            with session_scope() as session:
                plain = verify_chain(session).entries

            code, said = admin("db", "migrate")
            assert code == 0 and f"keyed from entry {plain + 1} on" in said, said
            keyed = load_keyring(get_settings()).audit
            assert keyed is not None and keyed.keyed_from == plain + 1
            assert admin("db", "migrate")[1].count("keyed") == 0  # once
            record_concern(concern())
            code, said = verify()
            assert code == 0 and f"keyed from entry {plain + 1}" in said, said
            with session_scope() as session:
                marked = entries_for(session, actor="admin1", limit=1000)
            assert [e.seq for e in marked if e.action == "audit:keyed"] == [plain + 1]

            rehash_from(url, 2, None)  # the plain part rewritten, and all after it
            code, said = verify()
            assert code == 1 and f"broken at entry {plain + 1}:" in said, said
            engine_for(url).dispose()
