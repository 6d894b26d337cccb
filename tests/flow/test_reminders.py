"""Reminders that lead somewhere, on the real stack and both case databases: each rung of an
overdue wait's ladder gets what that person can act on (a senior leader a new sign-off link of
their own, a deputy DSL the case page and a new code, an agency a new receipt link), and links
live until their wait's deadline and ladder have run (a leaver's, weeks after the move). Time is
moved with the overdue check's `at`, never by sleeping."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from harness import web
from harness.cases import (
    RECEIPT_LINK,
    agency_link,
    answer_ok,
    assessment,
    case_awaiting_receipt,
    cli,
    marker,
    new_case,
    notifications_for,
    personal_message,
    told_parents,
    wait_for_status,
    wait_for_step,
)
from harness.databases import on_sqlite_only
from sqlalchemy import select, update

from foundations.db import session_scope
from foundations.tokens import token_hash
from models.links import LinkPurpose
from models.tables.credentials import PersonalLink
from tasks.views import show_case

pytestmark = pytest.mark.flow

EVERY = timedelta(hours=4)  # SAFESHARE_ESCALATE_EVERY_HOURS's default
LINK = re.compile(r"personal link \(works once\): (\S+)")
CODE = re.compile(r"one-time code: ([A-Z0-9]{4}-[A-Z0-9]{4})")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def check(at: datetime) -> None:
    """The overdue check, run now as of `at` (it has delivered everything when it returns)."""
    result = cli("overdue", "--check-now", "--json", "--at", at.isoformat())
    assert result.exit_code == 0, result.output


def reminders(listener: Any, backend: str, case_id: int, path: str, title_has: str) -> list[str]:
    """The bodies of the reminders about this case that reached `path`, with `title_has`."""
    ref = f"SS-{case_id:06d}"
    return [
        str(r.body["message"])
        for r in listener.records
        if r.path == f"/{backend}{path}"
        and isinstance(r.body, dict)
        and ref in r.body.get("title", "")
        and "overdue" in r.body.get("title", "")
        and title_has in r.body.get("title", "")
    ]


def reminder(listener: Any, backend: str, case_id: int, path: str, title_has: str) -> str:
    """The one reminder with `title_has` about this case that reached `path`."""
    listener.wait_for(lambda _: reminders(listener, backend, case_id, path, title_has))
    (body,) = reminders(listener, backend, case_id, path, title_has)
    return body


def found(pattern: re.Pattern[str], text: str) -> str:
    match = pattern.search(text)
    assert match, text
    return match.group(1)


def link_row(url: str, purpose: LinkPurpose) -> PersonalLink:
    """The row of the link an address carries, found by its token's hash."""
    with session_scope() as session:
        row = session.scalar(
            select(PersonalLink).where(
                PersonalLink.purpose == purpose,
                PersonalLink.secret_hash == token_hash(url.rsplit("/", 1)[1]),
            )
        )
        assert row is not None, url
        session.expunge(row)
        return row


def answer_link_row(url: str) -> PersonalLink:
    return link_row(url, LinkPurpose.ANSWER_LINK)


def receipt_link_row(url: str) -> PersonalLink:
    return link_row(url, LinkPurpose.RECEIPT_LINK)


def no_command_they_cannot_use(body: str) -> None:
    for command in ("safeshare case show", "safeshare case note", "safeshare case resend"):
        assert command not in body, body


@on_sqlite_only
def test_an_overdue_signoff_reaches_each_senior_leader_with_a_new_link_of_their_own(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    backend, head, other = stack.backend, people["slt"], people["slt2"]
    mark = marker()
    case_id = new_case(people, mark)
    answer_ok(case_id, "assess-criteria", people["dsl"], assessment(mark))
    case = wait_for_step(case_id, "management-signoff")
    key, due = case["waiting"]["key"], datetime.fromisoformat(case["waiting"]["due"])
    first = found(LINK, personal_message(case_id, key, head))

    # Due: each senior leader who may sign gets a new link of their own and the sign-in page;
    # the one they had is superseded, the new one opens the sign-off page.
    check(due + timedelta(minutes=1))
    body = reminder(listener, backend, case_id, f"/staff/{head}", "reminder 1: who must act")
    fresh = found(LINK, body)
    assert fresh != first and fresh.startswith(f"{stack.web_url}/answer/")
    assert f"Sign in to safeshare: {stack.web_url}/sign-in" in body
    assert f"/cases/{case_id}" not in body  # a page they may not open
    no_command_they_cannot_use(body)
    page = web.get(fresh)
    assert page.status_code == 200 and f"Management sign-off: case SS-{case_id:06d}" in page.text
    assert answer_link_row(first).outcome == "superseded"
    replaced = web.get(first)  # it no longer answers, and says why
    assert replaced.status_code == 409 and "newer link has been sent to you" in replaced.text
    assert web.get(f"{stack.web_url}/sign-in").status_code == 200
    theirs = found(LINK, reminder(listener, backend, case_id, f"/staff/{other}", "reminder 1"))
    assert theirs not in (first, fresh) and web.get(theirs).status_code == 200

    # Two rungs on: the deputy DSL, who may read the case but not sign, gets its page and no
    # code; each senior leader a newer link; the management team's shared inbox hears of it
    # with nothing it cannot use.
    later = due + 2 * EVERY + timedelta(minutes=1)
    check(later)
    deputy = reminder(
        listener, backend, case_id, f"/staff/{people['deputy']}", "reminder 2: deputy DSLs"
    )
    assert f"Read the case: {stack.web_url}/cases/{case_id}" in deputy
    assert "one-time code" not in deputy and "/answer/" not in deputy
    assert f"Who may answer: {head}, {other}." in deputy
    newest = found(
        LINK, reminder(listener, backend, case_id, f"/staff/{head}", "reminder 3: head and senior")
    )
    assert answer_link_row(fresh).outcome == "superseded"
    shared = reminder(listener, backend, case_id, "/tag/slt", "reminder 3: head and senior")
    assert f"Sign in to safeshare: {stack.web_url}/sign-in" in shared
    for nothing_to_use in ("/answer/", "/cases/", "one-time code", "safeshare answer"):
        assert nothing_to_use not in shared
    no_command_they_cannot_use(shared)

    # The same check again, once everything it sent has arrived: nothing goes twice.
    check(later + timedelta(minutes=1))
    told = notifications_for(listener, backend, case_id)
    sent = Counter({k: n for k, n in told.items() if "overdue" in k[1]})
    assert set(sent.values()) == {1}, sent
    assert sum(sent.values()) == 2 + 1 + 3  # head1 and head2; dep1; head1, head2, the shared inbox
    for record in listener.records:
        assert mark not in json.dumps(record.body), "personal data in a notification"

    # The senior leader signs through the newest link: the case moves on.
    page = web.get(newest)
    posted = web.post(newest, data={"csrf": found(CSRF, page.text), "decision": "approve"})
    assert posted.status_code == 200, posted.text
    moved = wait_for_step(case_id, "parents")
    (signed,) = [e for e in moved["chronology"] if e["step"] == "management-signoff"]
    assert (signed["by"], signed["channel"]) == (head, "link")


@on_sqlite_only
def test_an_overdue_assessment_gives_a_deputy_the_case_page_and_a_code_the_cli_accepts(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    backend, deputy = stack.backend, people["deputy"]
    mark = marker()
    case_id = new_case(people, mark)
    case = wait_for_step(case_id, "assess-criteria")
    key, due = case["waiting"]["key"], datetime.fromisoformat(case["waiting"]["due"])

    check(due + EVERY + timedelta(minutes=1))
    first = reminder(listener, backend, case_id, f"/staff/{deputy}", "reminder 1: who must act")
    body = reminder(listener, backend, case_id, f"/staff/{deputy}", "reminder 2: deputy DSLs")
    case_page = f"{stack.web_url}/cases/{case_id}"
    assert f"Read the case: {case_page}" in body and f"Read the case: {case_page}" in first
    no_command_they_cannot_use(body)
    assert "/answer/" not in body and "Sign in" not in body
    code = found(CODE, body)
    assert code != found(CODE, first)

    # The page opens for the deputy, signed in.
    browser = web.sign_in(stack.web_url, deputy)
    try:
        assert browser.get(f"/cases/{case_id}").status_code == 200
    finally:
        browser.close()

    # Their first code was superseded by the second; the second answers through the CLI.
    with session_scope() as session:
        outcomes = list(
            session.scalars(
                select(PersonalLink.outcome)
                .where(
                    PersonalLink.purpose == LinkPurpose.ANSWER_CODE,
                    PersonalLink.case_id == case_id,
                    PersonalLink.holder == deputy,
                )
                .order_by(PersonalLink.id)
            )
        )
    assert outcomes == ["superseded", "superseded", None], outcomes  # first message, rung 1, 2
    result = cli(
        "--user", deputy, "answer", str(case_id), "assess-criteria", "--as", deputy,
        "--code", code,
        "--input", json.dumps(assessment(mark)),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    moved = wait_for_step(case_id, "management-signoff")
    (assessed,) = [e for e in moved["chronology"] if e["step"] == "assess-criteria"]
    assert assessed["by"] == deputy and assessed["accepted"] is True
    assert key == assessed["key"]


@on_sqlite_only
def test_an_agency_that_has_not_confirmed_gets_a_new_link_that_works_after_the_first_expired(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    backend = stack.backend
    case_id, mark, case = case_awaiting_receipt(people)
    due = datetime.fromisoformat(case["waiting"]["due"])
    first = agency_link(listener, backend, case_id)
    # The first link lasts until the wait's ladder has run (4 rungs, 4 hours apart), at least
    assert receipt_link_row(first).expires_at >= due + 4 * EVERY
    # ... and then its time is up (as it is days later: the row is what the web app reads).
    with session_scope() as session:
        session.execute(
            update(PersonalLink)
            .where(PersonalLink.id == receipt_link_row(first).id)
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    assert web.get(first).status_code == 410

    # The top rung: the agency's duty line gets a new link of its own, which works.
    check(due + 3 * EVERY + timedelta(minutes=1))
    body = reminder(listener, backend, case_id, "/tag/agency-csc", "reminder 4")
    fresh = found(RECEIPT_LINK, body)
    assert fresh != first and "links sent before no longer work" in body
    assert mark not in body
    row = receipt_link_row(fresh)
    assert row.expires_at > datetime.now(UTC) + timedelta(days=6)
    assert receipt_link_row(first).outcome == "superseded"
    page = web.get(fresh)
    assert page.status_code == 200
    fields = {"name": "Duty worker", "role": "Team manager", "reference": "R-7"}
    done = web.post(fresh, data={"csrf": found(CSRF, page.text), **fields})
    assert done.status_code == 200, done.text
    assert wait_for_status(case_id, "shared")["receipt"]["agency_reference"] == "R-7"
    assert web.get(first).status_code != 200


@on_sqlite_only
def test_a_receipt_link_sent_long_before_its_wait_lives_until_that_wait_has_run(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    """After an emergency share the agency's link goes out before ratification and the parents:
    when the receipt wait opens at last, the link lives until that wait's ladder has run."""
    backend = stack.backend
    mark = marker()
    case_id = new_case(people, mark)
    answer_ok(
        case_id,
        "assess-criteria",
        people["dsl"],
        assessment(mark, emergency_reason=f"{mark} cannot wait"),
    )
    wait_for_step(case_id, "ratification")
    link = agency_link(listener, backend, case_id)
    soon = datetime.now(UTC) + timedelta(hours=1)  # as if most of its life had gone by
    with session_scope() as session:
        session.execute(
            update(PersonalLink)
            .where(PersonalLink.id == receipt_link_row(link).id)
            .values(expires_at=soon)
        )
    answer_ok(case_id, "ratification", people["slt"], {"decision": "approve"})
    answer_ok(case_id, "parents", people["dsl"], told_parents(people, mark))
    case = wait_for_step(case_id, "confirm-receipt")
    due = datetime.fromisoformat(case["waiting"]["due"])
    personal_message(case_id, case["waiting"]["key"], people["dsl"])  # the wait has begun
    assert receipt_link_row(link).expires_at >= due + 4 * EVERY > soon
    assert web.get(link).status_code == 200


@on_sqlite_only
def test_a_leavers_receipt_link_still_works_when_the_file_is_due_weeks_after_the_move(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    import uuid

    from models.kernel.directory import AgencyKind
    from tasks.agencies import add_agency
    from tasks.children import add_child

    backend = stack.backend
    ref = f"LV-{uuid.uuid4().hex[:8]}"
    add_child(ref, date_of_birth=date(2015, 2, 1), cp_plan=False)
    school = f"hs{uuid.uuid4().hex[:6]}"
    path = f"/school/{school}"
    add_agency(
        school,
        name="Hillside Primary",
        kind=AgencyKind.SCHOOL,
        notify_url=listener.url(f"/{backend}{path}"),
    )
    leaving = date.today() + timedelta(days=21)
    new_term = leaving + timedelta(days=42)  # after the summer
    result = cli(
        "leaver", "record", "--child", ref, "--leaving-on", leaving.isoformat(),
        "--destination", school, "--move", "new-term", "--new-term-starts", new_term.isoformat(),
        "--recorded-by", people["dsl"], "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    case_id = int(json.loads(result.stdout)["case_id"])
    wait_for_step(case_id, "transfer-review")
    answer_ok(case_id, "transfer-review", people["dsl"], {"early_sharing": "not-needed"})
    case = wait_for_step(case_id, "confirm-receipt")
    due = datetime.fromisoformat(case["waiting"]["due"])
    assert due.date() > new_term  # five working days into the new term

    link = agency_link(listener, backend, case_id, path=path)
    expires = receipt_link_row(link).expires_at
    assert expires >= due + 4 * EVERY  # the link works at the deadline, and while it is chased
    ref_ = f"SS-{case_id:06d}"
    (message,) = [
        r.body["message"]
        for r in listener.records
        if r.path == f"/{backend}{path}" and ref_ in r.body.get("title", "")
    ]
    assert f"until {expires:%Y-%m-%d %H:%M} UTC" in message  # and says so
    assert web.get(link).status_code == 200
    assert show_case(case_id)["status"] == "open"


# on PostgreSQL too: the only test there whose reminder supersedes receipt links (`make statements`)
def test_a_plan_events_reminder_gives_social_care_and_the_social_worker_a_new_link_each(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    import uuid

    from tasks.children import add_child

    backend = stack.backend
    ref = f"CP-{uuid.uuid4().hex[:8]}"
    worker = f"/social-worker/{ref}"
    add_child(
        ref,
        date_of_birth=date(2014, 9, 1),
        cp_plan=True,
        social_worker_notify=listener.url(f"/{backend}{worker}"),
    )
    mark = marker()
    result = cli(
        "events", "record", "--child", ref, "--kind", "unexplained-absence",
        "--recorded-by", people["teacher"], "--details", f"{mark} not in school", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    case_id = int(json.loads(result.stdout)["case_id"])
    case = wait_for_step(case_id, "confirm-receipt")
    due = datetime.fromisoformat(case["waiting"]["due"])
    paths = ("/tag/agency-csc", worker)
    firsts = {path: agency_link(listener, backend, case_id, path) for path in paths}

    check(due + 3 * EVERY + timedelta(minutes=1))
    for path, first in firsts.items():
        body = reminder(listener, backend, case_id, path, "reminder 4")
        fresh = found(RECEIPT_LINK, body)
        assert fresh != first and mark not in body and ref not in body
        assert receipt_link_row(first).outcome == "superseded"
        assert web.get(fresh).status_code == 200
    # the social worker confirms through their new link: the case has its receipt
    fresh = agency_link(listener, backend, case_id, worker)
    page = web.get(fresh)
    fields = {"name": "Social worker", "role": "Social worker", "reference": "SW-4"}
    assert web.post(fresh, data={"csrf": found(CSRF, page.text), **fields}).status_code == 200
    assert wait_for_status(case_id, "shared")["status"] == "shared"


@on_sqlite_only
def test_a_resend_gives_the_agency_a_new_receipt_link_too(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    """The page of an expired receipt link says to ask the DSL for a new one: `case resend`
    sends it."""
    backend = stack.backend
    case_id, _, case = case_awaiting_receipt(people)
    first = agency_link(listener, backend, case_id)
    personal_message(case_id, case["waiting"]["key"], people["dsl"])  # the wait has begun
    resent = cli("case", "resend", str(case_id))
    assert resent.exit_code == 0, resent.output
    assert "agency:csc" in resent.stdout and people["dsl"] in resent.stdout

    def newer(_: Any) -> bool:
        return agency_link(listener, backend, case_id) != first

    listener.wait_for(newer)
    fresh = agency_link(listener, backend, case_id)
    assert receipt_link_row(first).outcome == "superseded"
    assert web.get(first).status_code == 409
    assert web.get(fresh).status_code == 200
    assert receipt_link_row(fresh).expires_at >= datetime.fromisoformat(case["waiting"]["due"])


@on_sqlite_only
def test_a_reminder_replaces_the_links_of_every_asking_of_the_wait(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    """A refused answer asks the sign-off again with new links, and the first ones still answer
    it; a reminder's new link replaces them all, so one link of their own works."""
    from harness.cases import answer, open_wait

    backend, head = stack.backend, people["slt2"]
    mark = marker()
    case_id = new_case(people, mark)
    answer_ok(case_id, "assess-criteria", people["dsl"], assessment(mark))
    first_key = wait_for_step(case_id, "management-signoff")["waiting"]["key"]
    first = found(LINK, personal_message(case_id, first_key, head))
    refused = answer(
        case_id, "management-signoff", people["slt"], {"decision": "approve"}, code="ZZZZ-ZZZZ"
    )
    assert refused.exit_code == 1
    waiting = open_wait(case_id, "management-signoff")["waiting"]
    assert waiting["key"] != first_key
    second = found(LINK, personal_message(case_id, waiting["key"], head))

    check(datetime.fromisoformat(waiting["due"]) + timedelta(minutes=1))
    fresh = found(LINK, reminder(listener, backend, case_id, f"/staff/{head}", "reminder 1"))
    assert {answer_link_row(first).outcome, answer_link_row(second).outcome} == {"superseded"}
    assert web.get(first).status_code != 200 and web.get(second).status_code != 200
    page = web.get(fresh)
    assert page.status_code == 200
    posted = web.post(fresh, data={"csrf": found(CSRF, page.text), "decision": "approve"})
    assert posted.status_code == 200, posted.text
    wait_for_step(case_id, "parents")
