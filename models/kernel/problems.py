"""Why an answer or a record is refused (`Problem`: a code and a sentence; `InvalidAnswer`,
the error that carries them), and the check every recorded time passes whatever the kind of
case: none is in the future.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel

from models.kernel.values import Frozen


class Problem(Frozen):
    """Why an answer was not accepted: a code to record and a sentence for the person."""

    code: str
    message: str


class InvalidAnswer(ValueError):
    """An answer the policy does not accept; carries problem codes and messages."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def raise_problems(problems: list[Problem]) -> None:
    """Refuse an answer that has problems (InvalidAnswer carries them); accept one that has none."""
    if problems:
        raise InvalidAnswer(problems)


#: How far ahead of the server's clock a recorded time may be (clocks on phones drift).
CLOCK_SKEW = timedelta(minutes=5)


def future_times(answer: BaseModel, now: datetime) -> list[Problem]:
    """Times in an answer say when something happened: none of them can be in the future.
    The clock is passed in; the rule stays pure."""
    late = sorted(
        name
        for name, value in answer
        if isinstance(value, datetime) and value.tzinfo is not None and value > now + CLOCK_SKEW
    )
    if not late:
        return []
    return [
        Problem(
            code="time-in-future",
            message=f"{', '.join(late)} cannot be in the future: give when it happened, "
            "with its UTC offset.",
        )
    ]


def time_in_future(value: datetime, now: datetime, *, what: str = "the time") -> Problem | None:
    """A time that says when something happened (a concern, an event, a request or notice
    received) cannot be ahead of the clock, beyond the skew allowed for answers."""
    if value > now + CLOCK_SKEW:
        return Problem(
            code="time-in-future",
            message=f"{what} {value.isoformat()} is in the future: give when it happened "
            f"(at most {CLOCK_SKEW.seconds // 60} minutes ahead of the server's clock)",
        )
    return None
