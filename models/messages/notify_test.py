"""The test message `safeshare notify test` sends: harmless, about no case, and told apart from
any other by a random reference the person can look for where it arrives. (Named *_of_test, not
test_*, so that a test module importing them does not take them for tests.)"""

from __future__ import annotations

#: What a test message's reference looks like: T- and eight upper-case hex digits.
REFERENCE_PREFIX = "T-"


def reference_of_test(random_hex: str) -> str:
    """The reference of one test message, from eight random hex digits."""
    return f"{REFERENCE_PREFIX}{random_hex.upper()}"


def message_of_test(reference: str) -> tuple[str, str]:
    """Title and body of a test message: it says what it is, and nothing else."""
    return (
        f"safeshare test message {reference}",
        f"This is a test message from safeshare (reference {reference}): it checks that "
        "safeguarding notifications reach this address. Nothing needs to be done.",
    )
