"""What notifications say: ids, codes, times and links only, and what a phone referral changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from models.deadlines import WRITTEN_CONFIRMATION
from models.domain import Step
from models.messages import agency_message, overdue_message

DUE = datetime(2026, 11, 26, 8, 5, tzinfo=UTC)


def test_the_agency_is_told_what_a_notification_confirms_in_writing() -> None:
    called = datetime(2026, 11, 25, 9, 5, tzinfo=timezone(timedelta(hours=1)))
    title, body = agency_message(
        42, "csc", link="http://127.0.0.1:8400/receipt/T", expires_at=DUE, phoned_at=called
    )
    assert title == "safeshare SS-000042: written confirmation of phone referral, for csc"
    assert "by phone at 2026-11-25 08:05 UTC" in body  # in UTC, whatever offset it was given
    assert "http://127.0.0.1:8400/receipt/T" in body


def test_without_a_call_the_notification_confirms_nothing() -> None:
    title, body = agency_message(42, "csc", link="http://127.0.0.1:8400/receipt/T")
    assert title == "safeshare SS-000042: safeguarding information for csc"
    assert "phone" not in body


@pytest.mark.parametrize(
    ("deadline", "title_has", "body_has"),
    [
        (None, "management sign-off overdue", "waiting past its deadline (2026-11-26 08:05 UTC)"),
        ("management-signoff", "management sign-off overdue", "waiting past its deadline"),
        (
            WRITTEN_CONFIRMATION,
            "written confirmation of phone referral overdue",
            "was due by 2026-11-26 08:05 UTC",
        ),
    ],
)
def test_a_reminder_names_the_deadline_it_missed(
    deadline: str | None, title_has: str, body_has: str
) -> None:
    title, body = overdue_message(
        42, Step.MANAGEMENT_SIGNOFF, level=2, rung="deputy DSLs", due=DUE, deadline=deadline
    )
    assert title_has in title.lower() and "reminder 2: deputy DSLs" in title
    assert body_has in body and "safeshare case show 42" in body


def test_a_dashboard_form_links_back_to_the_case_page_and_says_nothing_of_the_case() -> None:
    from models.messages import form_description

    text = form_description(
        42, Step.ASSESS_CRITERIA, who=["dsl1"], case_page="http://127.0.0.1:8400/cases/42"
    )
    assert "[SS-000042](http://127.0.0.1:8400/cases/42)" in text
    assert "safeshare case show" not in text
    assert "safeshare case show 42" in form_description(42, Step.ASSESS_CRITERIA, who=["dsl1"])
