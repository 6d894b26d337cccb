"""Personal links meet the front door's sessions, against the real web app on both case
databases: a link opened in a browser signed in as someone other than its holder is refused
(GET, HEAD and POST, sign-off and receipt links alike), saying who is signed in, with nothing
recorded but the refused attempt; and X-Forwarded-For is believed only from a proxy named in
SAFESHARE_TRUSTED_PROXIES, so forged headers cannot spread guesses over many addresses."""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from harness import web
from harness.cases import (
    LINK_LINE,
    agency_link,
    answer_ok,
    assessment,
    case_awaiting_receipt,
    link_in,
    marker,
    new_case,
    wait_for_step,
)
from harness.databases import on_sqlite_only
from harness.prefect_server import free_port
from sqlalchemy import select

from foundations.db import session_scope
from foundations.tokens import fingerprint
from models.links import LinkPurpose
from models.tables.audit import AuditLog
from models.tables.cases import CaseStep
from models.tables.credentials import LinkAttempt, PersonalLink
from models.tables.disclosures import Disclosure, Receipt

pytestmark = pytest.mark.flow


def csrf_of(html: str) -> str:
    return html.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def outcomes(url: str) -> list[tuple[str, str, int]]:
    """Every attempt the attempt log kept for this link: method, outcome, status."""
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


def signoffs(case_id: int) -> list[str]:
    with session_scope() as session:
        return list(
            session.scalars(
                select(CaseStep.actor).where(
                    CaseStep.case_id == case_id,
                    CaseStep.step == "management-signoff",
                    CaseStep.accepted.is_(True),
                )
            )
        )


def denied(case_id: int, actor: str) -> list[dict[str, Any]]:
    import json

    with session_scope() as session:
        rows = session.scalars(
            select(AuditLog).where(
                AuditLog.case_id == case_id,
                AuditLog.actor == actor,
                AuditLog.action == "denied:link",
            )
        ).all()
        return [json.loads(r.detail) for r in rows]


def test_a_link_opened_while_signed_in_as_someone_else_is_refused(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    mark = marker()
    case_id = new_case(people, mark)
    answer_ok(case_id, "assess-criteria", people["dsl"], assessment(mark))
    wait_for_step(case_id, "management-signoff")
    # head1's link, as it reached their own address
    url = link_in(listener, stack.backend, case_id, f"/staff/{people['slt']}", LINK_LINE)
    csrf = csrf_of(web.get(url).text)  # as a browser with no session sees the page

    # head2 is signed in in this browser
    with contextlib.closing(web.sign_in(stack.web_url, people["slt2"])) as other:
        shown = other.get(url)
        assert shown.status_code == 403, shown.text
        assert "someone else" in shown.text and f"signed in as {people['slt2']}" in shown.text
        assert "Approve" not in shown.text  # nothing of the case is shown
        assert other.head(url).status_code == 403
        posted = other.post(url, data={"csrf": csrf, "decision": "approve"})
        assert posted.status_code == 403 and "Nothing was done with it" in posted.text

    # nothing recorded but the refusals: no sign-off, the link unused, the case still waiting
    assert signoffs(case_id) == []
    with session_scope() as session:
        link = session.scalar(
            select(PersonalLink).where(
                PersonalLink.purpose == LinkPurpose.ANSWER_LINK,
                PersonalLink.case_id == case_id,
                PersonalLink.holder == people["slt"],
            )
        )
        assert link is not None and link.used_at is None
    assert [a for a in outcomes(url) if a[1] == "someone-else"] == [
        ("GET", "someone-else", 403),
        ("HEAD", "someone-else", 403),
        ("POST", "someone-else", 403),
    ]
    refusals = denied(case_id, people["slt2"])
    assert len(refusals) == 3 and {r["holder"] for r in refusals} == {people["slt"]}

    # the holder's own session is fine: the sign-off is theirs
    with contextlib.closing(web.sign_in(stack.web_url, people["slt"])) as own:
        page = own.get(url)
        assert page.status_code == 200
        done = own.post(url, data={"csrf": csrf, "decision": "approve"})
        assert done.status_code == 200, done.text
    assert signoffs(case_id) == [people["slt"]]


@on_sqlite_only
def test_a_receipt_link_opened_in_a_staff_members_session_is_refused(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    case_id, _, _ = case_awaiting_receipt(people)
    url = agency_link(listener, stack.backend, case_id)
    page = web.get(url)
    assert page.status_code == 200  # the agency's own browser, with no staff session
    csrf = csrf_of(page.text)

    with contextlib.closing(web.sign_in(stack.web_url, people["dsl"])) as staff:
        shown = staff.get(url)
        assert shown.status_code == 403 and f"signed in as {people['dsl']}" in shown.text
        fields = {"name": "Duty officer", "role": "social worker", "reference": "R-1"}
        posted = staff.post(url, data={"csrf": csrf, **fields})
        assert posted.status_code == 403

    with session_scope() as session:
        receipt = session.scalar(
            select(Receipt).join(Disclosure).where(Disclosure.case_id == case_id)
        )
        link = session.scalar(
            select(PersonalLink).where(
                PersonalLink.purpose == LinkPurpose.RECEIPT_LINK, PersonalLink.case_id == case_id
            )
        )
        assert receipt is None and link is not None and link.used_at is None
    refused = [a for a in outcomes(url) if a[1] == "receipt-someone-else"]
    assert refused == [("GET", "receipt-someone-else", 403), ("POST", "receipt-someone-else", 403)]
    assert len(denied(case_id, people["dsl"])) == 2


@contextlib.contextmanager
def web_app(stack: Any, **settings: str) -> Iterator[str]:
    """Another web app on the stack's database, with these settings; its address."""
    port = free_port()
    env = stack.env | {"SAFESHARE_WEB_PORT": str(port)} | settings
    process = subprocess.Popen(
        [sys.executable, "-m", "safeshare.web"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"the web app exited with {process.returncode}"
            assert time.monotonic() < deadline, "the web app did not answer within 60 s"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health/live", timeout=2, verify=web.TLS).status_code == 200:
                    break
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def forged_attempts(url: str, forwarded: list[str]) -> list[tuple[str, int, str]]:
    """A forged link tried once per address, each claiming to come from that address: the
    token tried, the status, and the address the attempt log kept."""
    tried = []
    for address in forwarded:
        token = secrets.token_urlsafe(24)
        answer = web.get(f"{url}/answer/{token}", headers={"X-Forwarded-For": address})
        tried.append((token, answer.status_code))
    with session_scope() as session:
        kept = dict(
            session.execute(
                select(LinkAttempt.token_fingerprint, LinkAttempt.address).where(
                    LinkAttempt.token_fingerprint.in_([fingerprint(t) for t, _ in tried])
                )
            ).all()
        )
    return [(t, status, kept[fingerprint(t)]) for t, status in tried]


@on_sqlite_only
def test_forwarded_addresses_are_believed_only_from_a_named_proxy(stack: Any) -> None:
    limit = 5
    base = random.randrange(0, 240)
    forged = [f"198.51.100.{base + n}" for n in range(12)]

    with web_app(stack, SAFESHARE_LINK_FAILURE_LIMIT=str(limit)) as url:
        seen = forged_attempts(url, forged)
    # by default the address that connected is the one counted: twelve forged headers from
    # 127.0.0.1 are one address, slowed down after `limit` failures at most
    assert {address for _, _, address in seen} == {"127.0.0.1"}
    statuses = [status for _, status, _ in seen]
    assert set(statuses) <= {403, 429} and statuses.count(429) >= len(forged) - limit, statuses

    with web_app(
        stack, SAFESHARE_LINK_FAILURE_LIMIT=str(limit), SAFESHARE_TRUSTED_PROXIES="127.0.0.1"
    ) as url:
        seen = forged_attempts(url, forged)
    # from a proxy named in the setting, the address it forwards is the client's
    assert [address for _, _, address in seen] == forged
    assert [status for _, status, _ in seen] == [403] * len(forged)
