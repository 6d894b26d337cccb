"""What notifications say: ids, codes, times and links only, and what a phone referral changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from models.deadlines import WRITTEN_CONFIRMATION
from models.kernel.steps import Step
from models.messages.disclosure import agency_message
from models.messages.waits import Credentials, overdue_message

DUE = datetime(2026, 11, 26, 8, 5, tzinfo=UTC)
case = pytest.param


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
    assert body_has in body


WEB = "http://127.0.0.1:8400"
UNTIL = datetime(2026, 11, 27, 20, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("options", "has", "has_not"),
    [
        case(
            {
                "credentials": Credentials(
                    wait_key="management-signoff-0-a0",
                    code="K7QM-4XPD",
                    expires_at=UNTIL,
                    link=f"{WEB}/answer/T1",
                ),
                "sign_in": f"{WEB}/sign-in",
            },
            [
                "personal link (works once): http://127.0.0.1:8400/answer/T1",
                "one-time code: K7QM-4XPD",
                "Your new link and code are below",
                "Valid until 2026-11-27 20:05 UTC",
                "Sign in to safeshare: http://127.0.0.1:8400/sign-in",
            ],
            ["/cases/42"],
            id="a-senior-leader-who-may-sign",
        ),
        case(
            {
                "credentials": Credentials(wait_key="w-0-a0", code="K7QM-4XPD", expires_at=UNTIL),
                "case_page": f"{WEB}/cases/42",
            },
            [
                "Your new code is below",
                "one-time code: K7QM-4XPD",
                "Read the case: http://127.0.0.1:8400/cases/42",
                "safeshare answer 42 management-signoff --code",
            ],
            ["/answer/", "sign-in"],
            id="a-deputy-who-may-answer",
        ),
        case(
            {"case_page": f"{WEB}/cases/42"},
            ["Who may answer: head1, head2.", "Read the case: http://127.0.0.1:8400/cases/42"],
            ["code", "safeshare answer", "/answer/"],
            id="a-deputy-who-may-not-answer",
        ),
        case(
            {"sign_in": f"{WEB}/sign-in"},
            ["Who may answer: head1, head2.", "Sign in to safeshare"],
            ["code", "/cases/", "safeshare answer"],
            id="a-shared-inbox-of-the-management-team",
        ),
    ],
)
def test_a_reminder_carries_only_what_its_reader_can_act_on(
    options: dict[str, Any], has: list[str], has_not: list[str]
) -> None:
    title, body = overdue_message(
        42,
        Step.MANAGEMENT_SIGNOFF,
        level=1,
        rung="who must act",
        due=DUE,
        must_act=["head1", "head2"],
        **options,
    )
    for text in has:
        assert text in body
    for text in [*has_not, "safeshare case show"]:
        assert text not in body
    # a reminder that carries someone's code names its wait, as their first message did
    if "credentials" in options:
        assert title.endswith(f": your new code ({options['credentials'].wait_key})")
    else:
        assert "your new code" not in title


def test_an_agency_reminder_carries_its_new_link_and_when_it_ends() -> None:
    from models.messages.disclosure import receipt_reminder_message

    title, body = receipt_reminder_message(
        42, level=4, rung="the agency's duty line", due=DUE, link=f"{WEB}/receipt/T2",
        expires_at=UNTIL,
    )  # fmt: skip
    assert title == (
        "safeshare SS-000042: confirmation of receipt overdue (reminder 4: the agency's duty line)"
    )
    assert "due by 2026-11-26 08:05 UTC" in body
    assert "until 2026-11-27 20:05 UTC; links sent before no longer work): " in body
    assert body.endswith(f"{WEB}/receipt/T2")


@pytest.mark.parametrize(
    ("step", "command"),
    [
        (Step.MANAGEMENT_SIGNOFF, False),
        (Step.RATIFICATION, False),
        (Step.ASSESS_CRITERIA, True),
        (Step.CONFIRM_RECEIPT, True),
        (Step.ACCESS_DECISION, True),
    ],
)
def test_a_waiting_message_to_the_management_team_carries_no_command_they_cannot_use(
    step: Step, command: bool
) -> None:
    from models.messages.waits import waiting_message

    _, body = waiting_message(42, step, who=["head1"], link=None)
    assert ("safeshare case show 42" in body) is command


def test_the_management_team_hears_of_a_refused_ratification_without_the_dsls_commands() -> None:
    from models.messages.sharing import not_ratified_message

    _, to_dsl = not_ratified_message(42, for_dsl=True)
    _, to_slt = not_ratified_message(42, for_dsl=False)
    assert "safeshare case note 42" in to_dsl and "safeshare case show 42" in to_dsl
    assert "safeshare case" not in to_slt
    assert to_slt.startswith(to_dsl.split(" (safeshare")[0])


def test_a_dashboard_form_links_back_to_the_case_page_and_says_nothing_of_the_case() -> None:
    from models.messages.waits import form_description

    text = form_description(
        42, Step.ASSESS_CRITERIA, who=["dsl1"], case_page="http://127.0.0.1:8400/cases/42"
    )
    assert "[SS-000042](http://127.0.0.1:8400/cases/42)" in text
    assert "safeshare case show" not in text
    assert "safeshare case show 42" in form_description(42, Step.ASSESS_CRITERIA, who=["dsl1"])
