"""Which rule decides whether a one-time code proves who answers a wait (pure: clock passed in).

Each person who may answer a wait gets their own code on their own channel. An answer typed in
the dashboard or given to the CLI counts only with the code of the person it names, for that
case and that wait, unexpired and unused. A code is eight characters from an alphabet without
look-alikes (about 40 bits); a wrong one is recorded and the wait is asked again with new codes,
so each code can be guessed at most once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from models.kernel.problems import Problem
from models.kernel.values import Frozen

#: No 0/O, 1/I/L: a code is read off a phone and typed.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


def new_code(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    """A fresh code, shown as two groups of four: `K7QM-4XPD`."""
    chars = "".join(ALPHABET[randbelow(len(ALPHABET))] for _ in range(CODE_LENGTH))
    return f"{chars[:4]}-{chars[4:]}"


def normalise_code(typed: str) -> str:
    """What a person typed, as the code it means: case, spaces and dashes do not matter."""
    return "".join(ch for ch in typed.upper() if ch not in " -\t")


class CodeOutcome(StrEnum):
    VALID = "valid"
    MISSING = "code-missing"
    WRONG = "code-wrong"  # no code of this person for this wait matches
    EXPIRED = "code-expired"
    USED = "code-used"


class CodeFacts(Frozen):
    """What the case database holds about the code issued to one person for one wait."""

    staff_id: str
    key: str
    expires_at: datetime
    used_at: datetime | None = None
    matches: bool  # the typed code's keyed hash equals the stored one


def judge_code(typed: str | None, facts: CodeFacts | None, *, now: datetime) -> CodeOutcome:
    """Whether the code given with an answer proves its person, or the first reason not."""
    if typed is None or not normalise_code(typed):
        return CodeOutcome.MISSING
    if facts is None or not facts.matches:
        return CodeOutcome.WRONG
    if facts.used_at is not None:
        return CodeOutcome.USED
    if now >= facts.expires_at:
        return CodeOutcome.EXPIRED
    return CodeOutcome.VALID


CODE_MESSAGES: dict[CodeOutcome, str] = {
    CodeOutcome.MISSING: "Give the one-time code sent to you for this step.",
    CodeOutcome.WRONG: "The one-time code is not the one sent to the person named in "
    "answered_by for this step; a new code has been sent.",
    CodeOutcome.EXPIRED: "The one-time code has expired; a new code has been sent.",
    CodeOutcome.USED: "The one-time code has been used already; a new code has been sent.",
}


def code_problem(outcome: CodeOutcome) -> Problem:
    return Problem(code=outcome.value, message=CODE_MESSAGES[outcome])
