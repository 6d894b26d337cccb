"""The one-time code rules: how codes look, how typing is read, and every outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from foundations.tokens import code_hash
from models.codes import (
    ALPHABET,
    CODE_MESSAGES,
    CodeFacts,
    CodeOutcome,
    code_problem,
    judge_code,
    new_code,
    normalise_code,
)

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def facts(**overrides: object) -> CodeFacts:
    base: dict[str, object] = {
        "staff_id": "dsl1",
        "key": "assess-criteria-0-a0",
        "expires_at": NOW + timedelta(hours=1),
        "used_at": None,
        "matches": True,
    }
    return CodeFacts.model_validate(base | overrides)


def test_codes_are_two_groups_of_four_without_look_alikes() -> None:
    codes = {new_code() for _ in range(500)}
    assert len(codes) == 500
    for code in codes:
        assert len(code) == 9 and code[4] == "-"
        assert set(code.replace("-", "")) <= set(ALPHABET)
    assert not set("01ILO") & set(ALPHABET)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("k7qm-4xpd", "K7QM4XPD"), (" K7QM 4XPD ", "K7QM4XPD"), ("K7QM4XPD", "K7QM4XPD"), ("", "")],
)
def test_typing_is_read_whatever_the_case_spaces_or_dashes(typed: str, expected: str) -> None:
    assert normalise_code(typed) == expected


@pytest.mark.parametrize(
    ("typed", "found", "outcome"),
    [
        ("K7QM-4XPD", facts(), CodeOutcome.VALID),
        (None, facts(), CodeOutcome.MISSING),
        ("  ", facts(), CodeOutcome.MISSING),
        ("K7QM-4XPD", None, CodeOutcome.WRONG),
        ("K7QM-4XPD", facts(matches=False), CodeOutcome.WRONG),
        ("K7QM-4XPD", facts(used_at=NOW - timedelta(minutes=1)), CodeOutcome.USED),
        ("K7QM-4XPD", facts(expires_at=NOW), CodeOutcome.EXPIRED),
        ("K7QM-4XPD", facts(expires_at=NOW - timedelta(seconds=1)), CodeOutcome.EXPIRED),
        # A used code is reported as used even once it has also expired.
        ("K7QM-4XPD", facts(used_at=NOW, expires_at=NOW), CodeOutcome.USED),
    ],
)
def test_every_outcome_of_a_code(
    typed: str | None, found: CodeFacts | None, outcome: CodeOutcome
) -> None:
    assert judge_code(typed, found, now=NOW) is outcome


def test_every_refusal_has_a_problem_that_names_no_code() -> None:
    for outcome in CodeOutcome:
        if outcome is CodeOutcome.VALID:
            continue
        problem = code_problem(outcome)
        assert problem.code == outcome.value and problem.message == CODE_MESSAGES[outcome]


def test_the_hash_binds_the_code_to_its_case_wait_person_and_key() -> None:
    key, other = b"k" * 40, b"o" * 40
    base = code_hash(key, 1, "w-a0", "dsl1", "K7QM4XPD")
    assert len(base) == 64 and "K7QM4XPD" not in base
    assert base == code_hash(key, 1, "w-a0", "dsl1", "K7QM4XPD")
    for changed in (
        code_hash(other, 1, "w-a0", "dsl1", "K7QM4XPD"),
        code_hash(key, 2, "w-a0", "dsl1", "K7QM4XPD"),
        code_hash(key, 1, "w-a1", "dsl1", "K7QM4XPD"),
        code_hash(key, 1, "w-a0", "dep1", "K7QM4XPD"),
        code_hash(key, 1, "w-a0", "dsl1", "K7QM4XPE"),
    ):
        assert changed != base
