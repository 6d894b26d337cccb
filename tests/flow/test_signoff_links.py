"""Senior leaders sign off through their personal links, against the real web app over HTTP, on
both case databases: every outcome of a link, the page a signer reads, and a 20-way race."""

from __future__ import annotations

import re
import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from harness import web
from harness.cases import (
    NOW,
    about_case,
    answer,
    answer_ok,
    assessment,
    expire_link,
    marker,
    new_case,
    notifications_for,
    open_wait,
    sent_once,
    told_parents,
    wait_for_status,
    wait_for_step,
    wait_until_suspended,
)
from harness.databases import on_sqlite_only
from sqlalchemy import select, update

from foundations.db import session_scope
from models.links import LinkPurpose
from models.tables.cases import CaseStep
from models.tables.credentials import LinkAttempt, PersonalLink
from tasks.views import show_case

pytestmark = pytest.mark.flow

LINK = re.compile(r"(http://127\.0\.0\.1:\d+/answer/[A-Za-z0-9_.\-]+)")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def links_for(listener: Any, backend: str, case_id: int, staff_id: str) -> list[str]:
    ref = f"SS-{case_id:06d}"
    found = []
    for r in listener.records:
        if (
            isinstance(r.body, dict)
            and r.path == f"/{backend}/staff/{staff_id}"
            and ref in r.body.get("title", "")
        ):
            found += LINK.findall(r.body.get("message", ""))
    return found


def case_at_signoff(stack: Any, listener: Any, people: dict[str, str]) -> tuple[int, str]:
    """A new case, assessed, waiting for sign-off; its links have reached both senior leaders."""
    mark = marker()
    case_id = new_case(people, mark)
    answer_ok(case_id, "assess-criteria", people["dsl"], assessment(mark))
    run_id = wait_for_step(case_id, "management-signoff")["waiting"]["flow_run_id"]
    listener.wait_for(
        lambda _: all(
            links_for(listener, stack.backend, case_id, who) for who in (people["slt"], "head2")
        )
    )
    return case_id, run_id


def open_page(url: str) -> tuple[httpx.Response, str]:
    page = web.get(url)
    found = CSRF.search(page.text)
    return page, found.group(1) if found else ""


def post(url: str, csrf: str, **fields: str) -> httpx.Response:
    return web.post(url, data={"csrf": csrf, **fields})


def signoff_rows(case_id: int) -> list[CaseStep]:
    with session_scope() as session:
        return list(
            session.scalars(
                select(CaseStep).where(
                    CaseStep.case_id == case_id,
                    CaseStep.step == "management-signoff",
                    CaseStep.accepted.is_(True),
                )
            )
        )


def attempts(url: str) -> list[tuple[str, str, int]]:
    from foundations.tokens import fingerprint

    token = url.rsplit("/", 1)[1]
    with session_scope() as session:
        return [
            (a.method, a.outcome, a.status)
            for a in session.scalars(
                select(LinkAttempt)
                .where(LinkAttempt.token_fingerprint == fingerprint(token))
                .order_by(LinkAttempt.id)
            )
        ]


@on_sqlite_only
def test_valid_link_shows_what_the_signer_needs_and_approves_once(
    stack: Any, listener: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    case_id, run_id = case_at_signoff(stack, listener, people)
    (url,) = links_for(listener, stack.backend, case_id, people["slt"])

    # Mail scanners open links: GET and HEAD change nothing.
    assert web.head(url).status_code == 200
    page, csrf = open_page(url)
    assert page.status_code == 200
    assert f"SS-{case_id:06d}" in page.text and "Physical abuse" in page.text
    assert "info" in page.text  # what would be shared
    assert "what happened" not in page.text  # the concern's own text is not for the signer
    assert page.headers["cache-control"] == "no-store"
    assert show_case(case_id)["waiting"]["step"] == "management-signoff"

    # Without the page's anti-forgery value, nothing happens.
    assert post(url, "", decision="approve").status_code == 403
    # An incomplete answer is shown again with what to fix, and keeps what was typed.
    bad = post(url, csrf, decision="decline", reason="")
    assert bad.status_code == 422 and "reason" in bad.text.lower()
    # ... beside its field, linked from the summary at the top
    assert 'href="#reason"' in bad.text and 'id="reason-error"' in bad.text
    assert re.search(r'<textarea[^>]*id="reason"[^>]*aria-invalid="true"', bad.text, re.S)
    undecided = post(url, csrf, reason="")
    assert undecided.status_code == 422 and 'href="#decision"' in undecided.text
    assert "Choose whether you approve sharing or decline" in undecided.text
    assert signoff_rows(case_id) == []

    done = post(url, csrf, decision="approve", reason="Agreed with the DSL")
    assert done.status_code == 200, done.text
    (row,) = signoff_rows(case_id)
    assert (row.actor, row.channel) == (people["slt"], "link")
    wait_for_step(case_id, "parents")  # the run was resumed and moved on

    # The link works once; the other leader's link finds the step answered.
    assert post(url, csrf, decision="approve").status_code == 409
    (other,) = links_for(listener, stack.backend, case_id, "head2")
    assert web.get(other).status_code == 409
    outcomes = [o for _m, o, _s in attempts(url)]
    assert outcomes[:2] == ["shown", "shown"] and "answered" in outcomes and "used" in outcomes

    answer_ok(case_id, "parents", people["dsl"], told_parents(people, marker()))
    answer_ok(
        case_id,
        "confirm-receipt",
        people["dsl"],
        {"confirmed_by_name": "Duty", "confirmed_at": NOW, "channel": "phone"},
    )
    wait_for_status(case_id, "shared")


@on_sqlite_only
def test_forged_altered_expired_and_wrong_step_links_are_refused(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    case_id, _run_id = case_at_signoff(stack, listener, people)
    (url,) = links_for(listener, stack.backend, case_id, people["slt"])
    token = url.rsplit("/", 1)[1]

    altered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    assert web.get(altered).status_code == 403
    assert web.get(f"{stack.web_url}/answer/not-a-token").status_code == 403
    # Signed by someone else's key: refused as forged.
    from itsdangerous import URLSafeTimedSerializer

    from foundations.tokens import LINK_SALT

    foreign = URLSafeTimedSerializer(b"x" * 48, salt=LINK_SALT).dumps({"l": 1, "n": "n"})
    assert web.get(f"{stack.web_url}/answer/{foreign}").status_code == 403

    # Expired (the link's own expiry, as issued): 410, and a page that says what to do.
    expire_link(LinkPurpose.ANSWER_LINK, case_id, people["slt"])
    expired = web.get(url)
    assert expired.status_code == 410 and "new one" in expired.text
    assert post(url, "x", decision="approve").status_code == 410

    # The other leader answers in the dashboard's place (CLI); this link is then for a step
    # that no longer waits.
    (other,) = links_for(listener, stack.backend, case_id, "head2")
    answer_ok(case_id, "management-signoff", "head2", {"decision": "approve"})
    assert web.get(other).status_code == 409
    assert signoff_rows(case_id)[0].actor == "head2"
    assert [s for _m, _o, s in attempts(url)] == [410, 410]
    assert token not in str(attempts(url))


@on_sqlite_only
def test_a_link_stays_good_for_its_wait_when_the_wait_is_asked_again(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    """A refused answer asks the sign-off again under a new key, with new codes and links; a
    link sent for the first asking still answers the wait (it is the same wait, asked again):
    the page opens, the sign-off is recorded through it and the case moves on. The link sent
    for the second asking then says the step has been answered."""
    case_id, _run_id = case_at_signoff(stack, listener, people)
    (first,) = links_for(listener, stack.backend, case_id, "head2")
    first_key = show_case(case_id)["waiting"]["key"]
    refused = answer(
        case_id, "management-signoff", people["slt"], {"decision": "approve"}, code="ZZZZ-ZZZZ"
    )
    assert refused.exit_code == 1
    waiting = open_wait(case_id, "management-signoff")["waiting"]
    again, due = waiting["key"], datetime.fromisoformat(waiting["due"])
    assert again != first_key
    listener.wait_for(lambda _: len(links_for(listener, stack.backend, case_id, "head2")) == 2)
    new = links_for(listener, stack.backend, case_id, "head2")[-1]

    page, csrf = open_page(first)
    assert page.status_code == 200
    assert post(first, csrf, decision="approve").status_code == 200
    wait_for_step(case_id, "parents")
    (row,) = signoff_rows(case_id)
    assert (row.actor, row.channel, row.key) == ("head2", "link", again)
    page, _csrf = open_page(new)
    assert page.status_code == 409 and "answered already" in page.text
    outcomes = [(o, s) for _m, o, s in attempts(first)]
    assert outcomes == [("shown", 200), ("answered", 200)], outcomes
    # each link lives 24 hours by default, and past the sign-off's deadline (24 hours after it
    # was first asked, as asking again keeps it) until its ladder of three rungs, 4 hours
    # apart, has run; the database holds only its token's hash
    from foundations.settings import Settings

    assert Settings.model_fields["link_ttl_hours"].default == 24
    token = first.rsplit("/", 1)[1]
    with session_scope() as session:
        links = session.scalars(
            select(PersonalLink).where(
                PersonalLink.purpose == LinkPurpose.ANSWER_LINK, PersonalLink.case_id == case_id
            )
        ).all()
        assert links and all(
            abs(link.expires_at - (due + timedelta(hours=12))) < timedelta(seconds=5)
            and link.expires_at - link.created_at > timedelta(hours=24)
            for link in links
        )
        assert all(token not in repr(vars(link)) for link in links)


def test_a_link_whose_holder_may_no_longer_sign_is_refused(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    case_id, _run_id = case_at_signoff(stack, listener, people)
    (url,) = links_for(listener, stack.backend, case_id, "head2")
    from models.tables.directory import Staff

    with session_scope() as session:
        session.execute(update(Staff).where(Staff.staff_id == "head2").values(active=False))
    try:
        assert web.get(url).status_code == 403
        page, csrf = open_page(links_for(listener, stack.backend, case_id, people["slt"])[0])
        assert page.status_code == 200
    finally:
        with session_scope() as session:
            session.execute(update(Staff).where(Staff.staff_id == "head2").values(active=True))
    assert signoff_rows(case_id) == []


def test_twenty_simultaneous_posts_give_one_signoff_one_resume_one_notification(
    stack: Any, listener: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    case_id, run_id = case_at_signoff(stack, listener, people)
    wait_until_suspended(prefect_server.api_url, run_id)
    (url,) = links_for(listener, stack.backend, case_id, people["slt"])
    _page, csrf = open_page(url)

    start = threading.Barrier(20)
    statuses: list[int] = []
    lock = threading.Lock()

    def racer() -> None:
        start.wait()
        status = post(url, csrf, decision="approve").status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=racer) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Counter(statuses) == Counter({200: 1, 409: 19}), statuses
    assert len(signoff_rows(case_id)) == 1
    parents = wait_for_step(case_id, "parents")["waiting"]
    # One resume: the run's history shows one resume for the assessment, one for the sign-off.
    runs = web.get(f"{prefect_server.api_url}/flow_run_states/", params={"flow_run_id": run_id})
    resumed = [s for s in runs.json() if s["name"] == "Resuming"]
    assert len(resumed) == 2, [s["name"] for s in runs.json()]  # assessment, then sign-off

    # One notification of the next step to the dsl tag (its three addresses: the config file's,
    # dsl1, dep1), and one personal code to each of dsl1 and dep1, each delivered once.
    about = about_case(stack.backend, case_id)

    def parents_told(records: list[Any]) -> list[Any]:
        return [r for r in about(records) if "parents or carers" in r.body["title"]]

    rows = sent_once(
        stack,
        listener,
        rows=3,
        case_id=case_id,
        pick=lambda row: row.kind.endswith(":parents"),
        messages=parents_told,
    )
    wait = f"case:{case_id}:{parents['key']}"
    assert {(row.key, row.tag, row.kind) for row in rows} == {
        (f"case:{case_id}:{parents['slot']}:dsl", "dsl", "waiting:parents"),
        (f"{wait}:personal:{people['dsl']}", f"staff:{people['dsl']}", "personal:parents"),
        (f"{wait}:personal:{people['deputy']}", f"staff:{people['deputy']}", "personal:parents"),
    }, rows
    told = notifications_for(listener, stack.backend, case_id)
    assert len([k for k in told if "parents or carers" in k[1]]) == 5, told


@on_sqlite_only
def test_repeated_failures_are_slowed_down_and_every_attempt_is_kept(
    stack: Any, tmp_path: Any
) -> None:
    """A web app allowing 3 failures in its window, on an empty case database of the same kind
    (so that no other test's attempts count): the 4th failure from a token or an address, and
    anything after it from that address, is refused with 429; every attempt is recorded."""
    import dataclasses

    from harness.databases import migrated_database
    from harness.prefect_server import free_port

    from foundations.db import engine_for
    from models.tables.credentials import LinkAttempt

    with migrated_database(stack.backend, tmp_path) as url:
        port = free_port()
        strict = dataclasses.replace(
            stack,
            home=tmp_path,
            web_url=f"http://127.0.0.1:{port}",
            env=stack.env
            | {
                "DATABASE_URL": url,
                "SAFESHARE_WEB_PORT": str(port),
                "SAFESHARE_LINK_FAILURE_LIMIT": "3",
            },
            web=None,
        )
        strict.start_web()
        try:
            guessed = f"{strict.web_url}/answer/guessed-token"
            statuses = [web.get(guessed).status_code for _ in range(4)]
            assert statuses == [403, 403, 403, 429]
            other = web.post(f"{strict.web_url}/answer/another-guess", data={"csrf": "x"})
            assert other.status_code == 429
            assert "Too many failed attempts" in other.text
        finally:
            strict.stop_web()
        with engine_for(url).connect() as connection:
            kept = connection.execute(
                select(LinkAttempt.method, LinkAttempt.status).order_by(LinkAttempt.id)
            ).all()
        engine_for(url).dispose()
    assert [tuple(row) for row in kept] == [("GET", 403)] * 3 + [("GET", 429), ("POST", 429)]
