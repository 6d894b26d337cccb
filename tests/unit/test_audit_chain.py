"""The audit chain's rule: any entry altered, removed, reordered or cut off the end is found, at
that entry."""

from __future__ import annotations

from dataclasses import replace

import pytest

from models.audit import GENESIS, AuditEntry, canonical, entry_hash, first_break


def chain(n: int) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        entry = AuditEntry(
            seq=seq,
            at=f"2026-11-25T12:00:{seq:02d}.000000+00:00",
            actor="dsl1",
            action="insert:case_steps",
            case_id=7,
            reason="safeshare answer",
            detail=canonical({"id": seq, "step": "assess-criteria"}),
            prev_hash=prev,
        )
        entry = replace(entry, hash=entry_hash(entry))
        entries.append(entry)
        prev = entry.hash
    return entries


def test_an_intact_chain_holds() -> None:
    entries = chain(6)
    assert first_break(entries, head=(6, entries[-1].hash)) is None
    assert first_break([], head=(0, GENESIS)) is None


@pytest.mark.parametrize("field", ["at", "actor", "action", "reason", "detail"])
def test_an_altered_entry_is_found_at_that_entry(field: str) -> None:
    entries = chain(6)
    entries[3] = replace(entries[3], **{field: "x"})
    found = first_break(entries)
    assert found is not None and found.seq == 4 and "altered" in found.problem


def test_an_altered_entry_rehashed_breaks_the_next_one() -> None:
    entries = chain(6)
    forged = replace(entries[2], actor="someone-else")
    entries[2] = replace(forged, hash=entry_hash(forged))
    found = first_break(entries)
    assert found is not None and found.seq == 4 and "does not follow" in found.problem


def test_a_removed_or_reordered_entry_is_found() -> None:
    entries = chain(6)
    found = first_break(entries[:2] + entries[3:])
    assert found is not None and found.seq == 3 and "missing" in found.problem
    swapped = entries[:2] + [entries[3], entries[2]] + entries[4:]
    found = first_break(swapped)
    assert found is not None and found.seq == 3


def test_entries_cut_off_the_end_are_found_against_the_head() -> None:
    entries = chain(6)
    assert first_break(entries[:4]) is None  # without the head, a shorter chain looks whole
    found = first_break(entries[:4], head=(6, entries[-1].hash))
    assert found is not None and found.seq == 5 and "ends before entry 6" in found.problem
    wrong_head = first_break(entries, head=(6, "f" * 64))
    assert wrong_head is not None
