"""How long a link or code lives: its own lifetime at least, past its wait's deadline until the
ladder has run, never longer than the longest a signature is accepted; and a leaver's receipt
link still works when the file's receipt is due, weeks after the move."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from models.deadlines import DEFAULT_RULES, ENGLAND, WorkingCalendar, due_at
from models.escalation import ladder, ladder_span
from models.kernel.steps import CaseKind, Step
from models.lifetimes import LONGEST, RECEIPT_RULES, credential_expiry
from models.transfer import LeaverFacts, MoveKind, receipt_clock

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
case = pytest.param


@pytest.mark.parametrize(
    ("ttl", "due", "span", "expires"),
    [
        case(24 * H, None, 0 * H, NOW + 24 * H, id="no-deadline-own-lifetime"),
        case(24 * H, NOW + 2 * H, 12 * H, NOW + 24 * H, id="ladder-ends-first"),
        case(24 * H, NOW + 24 * H, 12 * H, NOW + 36 * H, id="signoff-24h-and-its-ladder"),
        case(24 * H, NOW + 31 * 24 * H, 12 * H, NOW + 31 * 24 * H + 12 * H, id="a-month"),
        case(168 * H, NOW + 30 * 24 * H, 16 * H, NOW + 30 * 24 * H + 16 * H, id="leaver"),
        case(24 * H, NOW - 48 * H, 16 * H, NOW + 24 * H, id="already-past-the-ladder"),
        case(24 * H, NOW + 500 * 24 * H, 16 * H, NOW + LONGEST, id="never-beyond-the-longest"),
        case(400 * 24 * H, None, 0 * H, NOW + LONGEST, id="not-even-when-configured"),
    ],
)
def test_a_credential_lives_until_its_ladder_has_run(
    ttl: timedelta, due: datetime | None, span: timedelta, expires: datetime
) -> None:
    assert credential_expiry(now=NOW, ttl=ttl, due=due, span=span) == expires


@pytest.mark.parametrize(
    "options",
    [
        {"now": NOW.replace(tzinfo=None), "ttl": H},
        {"now": NOW, "ttl": timedelta(0)},
        {"now": NOW, "ttl": H, "span": -H},
    ],
    ids=["naive", "no-lifetime", "negative-span"],
)
def test_a_lifetime_that_is_not_one_is_refused(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        credential_expiry(**options)  # type: ignore[arg-type]


def test_every_kind_of_receipt_wait_has_a_deadline_rule() -> None:
    assert set(RECEIPT_RULES.values()) <= set(DEFAULT_RULES)
    assert RECEIPT_RULES[CaseKind.TRANSFER] == "transfer-receipt"


CALENDAR = WorkingCalendar()


@pytest.mark.parametrize(
    ("leaver", "clock"),
    [
        case(
            LeaverFacts(
                child_ref="C-1",
                leaving_on=date(2026, 12, 18),
                destination="hs",
                move=MoveKind.IN_YEAR,
                recorded_by="dsl1",
            ),
            datetime(2026, 12, 18, tzinfo=ENGLAND),
            id="in-year: from the day they leave",
        ),
        case(
            LeaverFacts(
                child_ref="C-1",
                leaving_on=date(2026, 7, 20),
                destination="hs",
                move=MoveKind.NEW_TERM,
                new_term_starts=date(2026, 9, 3),
                recorded_by="dsl1",
            ),
            datetime(2026, 9, 3, tzinfo=ENGLAND),
            id="new-term: from its first day",
        ),
    ],
)
def test_a_leavers_receipt_link_still_works_when_the_file_is_due(
    leaver: LeaverFacts, clock: datetime
) -> None:
    """Recorded in June, the link outlives the 7 days it would have had by weeks."""
    assert receipt_clock(leaver) == clock
    issued = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
    due = due_at(DEFAULT_RULES["transfer-receipt"], clock, CALENDAR)
    span = ladder_span(ladder(Step.CONFIRM_RECEIPT, ["dsl1"], agency="hs"), 4 * H)
    expires = credential_expiry(now=issued, ttl=168 * H, due=due, span=span)
    assert expires == due + 16 * H > issued + 168 * H
