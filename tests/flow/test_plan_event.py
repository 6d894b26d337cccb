"""Child Protection Plan events on the real stack (both case databases): an event recorded from
the CLI or imported from a feed goes at once to children's social care and to the pupil's social
worker, each with a link of their own; the DSL is told; receipt is due the same day, and either
link (or the DSL, for a confirmation by phone) closes it. Nothing is sent twice, nothing personal
is in any message."""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from harness import web
from harness.cases import (
    NOW,
    RECEIPT,
    agency_link,
    answer_ok,
    assert_once_each,
    cli,
    marker,
    notifications_for,
    wait_for_status,
    wait_for_step,
)
from harness.databases import on_sqlite_only

from models.deadlines import DEFAULT_RULES, WorkingCalendar, due_at
from models.plan_event.policy import PLAN_EVENT_RECEIPT
from tasks.children import add_child
from tasks.views import show_case

pytestmark = pytest.mark.flow

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def pupil_on_plan(stack: Any, listener: Any, social_worker: bool = True) -> tuple[str, str]:
    """A pupil on a plan (and the listener path of their social worker)."""
    ref = f"CP-{uuid.uuid4().hex[:8]}"
    path = f"/social-worker/{ref}"
    add_child(
        ref,
        date_of_birth=date(2014, 9, 1),
        cp_plan=True,
        social_worker_notify=listener.url(f"/{stack.backend}{path}") if social_worker else None,
    )
    return ref, path


def messages_to(listener: Any, backend: str, case_id: int, path: str) -> list[dict[str, Any]]:
    ref = f"SS-{case_id:06d}"
    return [
        r.body
        for r in listener.records
        if r.path == f"/{backend}{path}" and isinstance(r.body, dict) and ref in r.body["title"]
    ]


def record_event(ref: str, kind: str, recorded_by: str, details: str) -> dict[str, Any]:
    """A plan event recorded through the CLI, as the office would; what it printed."""
    argv = ("events", "record", "--child", ref, "--kind", kind, "--recorded-by", recorded_by)
    result = cli(*argv, "--when", NOW, "--details", details, "--json")
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


@on_sqlite_only
def test_an_exclusion_goes_to_social_care_and_the_social_worker_at_once(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    ref, social_worker = pupil_on_plan(stack, listener)
    mark = marker()
    recorded = record_event(ref, "Fixed term exclusion", people["teacher"], f"{mark} three days")
    assert recorded["new"] and recorded["started"]
    case_id = int(recorded["case_id"])

    # no management wait: the case goes straight to waiting for the confirmation of receipt
    case = wait_for_step(case_id, "confirm-receipt")
    assert case["kind"] == "plan-event" and case["status"] == "open"
    assert [e["step"] for e in case["chronology"]] == ["record-event", "notify-agency"]
    assert case["disclosure"]["agency"] == "csc"
    assert case["disclosure"]["information"].endswith(f"{mark} three days")
    # the policy decided (at once, no one's choice); who recorded the event is kept beside it
    assert case["disclosure"]["decided_by"] == "policy:cp-plan-event"
    assert case["disclosure"]["recorded_by"] == people["teacher"]
    assert case["disclosure"]["cosigned_by"] is None
    waiting = case["waiting"]
    assert waiting["deadline"] == PLAN_EVENT_RECEIPT
    since = datetime.fromisoformat(waiting["since"])
    due = due_at(DEFAULT_RULES[PLAN_EVENT_RECEIPT], since, WorkingCalendar())
    assert datetime.fromisoformat(waiting["due"]) == due  # the end of the day, in England
    assert set(waiting["who_may_answer"]) == {people["dsl"], people["deputy"]}

    # each is told, with a link of their own; the DSL is told what went and what is awaited
    csc_link = agency_link(listener, stack.backend, case_id)
    worker_link = agency_link(listener, stack.backend, case_id, path=social_worker)
    assert csc_link != worker_link
    (to_worker,) = messages_to(listener, stack.backend, case_id, social_worker)
    assert "Child Protection Plan event (exclusion-fixed-term)" in to_worker["title"]
    assert "social worker" in to_worker["title"]

    def to_dsl_of(records: list[Any]) -> list[Any]:
        ref = f"SS-{case_id:06d}"
        return [
            r
            for r in records
            if r.path == f"/{stack.backend}/tag/dsl" and ref in r.body.get("title", "")
        ]

    (to_dsl,) = to_dsl_of(listener.wait_for(to_dsl_of))
    assert "exclusion-fixed-term" in to_dsl.body["message"]
    assert "children's social care and the pupil's social worker" in to_dsl.body["message"]

    # the social worker reads what is shared and confirms: that is the case's receipt
    page = web.get(worker_link)
    assert page.status_code == 200 and f"{mark} three days" in page.text
    done = web.submit(worker_link, name="Allocated social worker", role="Social worker",
                   reference="SW-77")  # fmt: skip
    assert done.status_code == 200, done.text
    case = wait_for_status(case_id, "shared")
    assert case["receipt"]["agency_reference"] == "SW-77"
    assert case["receipt"]["channel"] == "agency-link"
    assert case["receipt"]["recipient"] == "social-worker"

    # the duty inbox keeps its link after the case closed: it reads what was shared and
    # confirms its own receipt, recorded beside the first; each link then works no more
    late = web.get(csc_link)
    assert late.status_code == 200 and f"{mark} three days" in late.text
    done = web.submit(csc_link, name="Duty manager", role="Duty team", reference="CSC-78")
    assert done.status_code == 200, done.text
    case = show_case(case_id)
    assert case["status"] == "shared"
    assert [(r["recipient"], r["agency_reference"]) for r in case["receipts"]] == [
        ("social-worker", "SW-77"),
        ("agency", "CSC-78"),
    ]
    confirmed = [e for e in case["chronology"] if e["step"] == "confirm-receipt"]
    assert [(e["by"], e["accepted"]) for e in confirmed] == [
        ("social-worker.csc", True),
        ("agency.csc", True),
    ]
    assert web.get(csc_link).status_code == web.get(worker_link).status_code == 409

    counts = assert_once_each(listener, stack.backend, case_id)
    everything = json.dumps([r.body for r in listener.records if isinstance(r.body, dict)])
    assert mark not in everything  # the details stay behind the links
    assert counts[(social_worker, to_worker["title"])] == 1


def test_social_care_and_the_social_worker_confirming_at_once_are_both_recorded(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    ref, social_worker = pupil_on_plan(stack, listener)
    recorded = record_event(ref, "Unexplained absence", people["teacher"], f"{marker()} absent")
    case_id = int(recorded["case_id"])
    wait_for_step(case_id, "confirm-receipt")
    links = {
        "agency": agency_link(listener, stack.backend, case_id),
        "social-worker": agency_link(listener, stack.backend, case_id, path=social_worker),
    }
    forms = {}
    for recipient, url in links.items():
        csrf = CSRF.search(web.get(url).text)
        assert csrf
        forms[recipient] = {"csrf": csrf.group(1), "name": "N", "role": "R", "reference": recipient}
    start = threading.Barrier(len(links))
    sent: dict[str, int] = {}

    def send(recipient: str) -> None:
        start.wait()
        sent[recipient] = web.post(links[recipient], data=forms[recipient]).status_code

    both = [threading.Thread(target=send, args=(recipient,)) for recipient in links]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join()

    # both are thanked and both are recorded; one of them, whichever came first, answered
    # the wait, and the case closed once
    assert sent == {"agency": 200, "social-worker": 200}
    case = wait_for_status(case_id, "shared")
    receipts = {r["recipient"]: r["agency_reference"] for r in case["receipts"]}
    assert receipts == {"agency": "agency", "social-worker": "social-worker"}
    confirmed = [e for e in case["chronology"] if e["step"] == "confirm-receipt"]
    assert sorted(e["by"] for e in confirmed) == ["agency.csc", "social-worker.csc"]
    assert all(e["accepted"] for e in confirmed)
    assert [e["slot"] for e in confirmed][0] == "confirm-receipt-0"
    assert case["receipt"]["recipient"] == confirmed[0]["by"].split(".")[0]


def test_a_feed_is_imported_once_and_the_dsl_records_a_phoned_confirmation(
    stack: Any, listener: Any, people: dict[str, str], tmp_path: Path
) -> None:
    with_worker, worker_path = pupil_on_plan(stack, listener)
    without_worker, _ = pupil_on_plan(stack, listener, social_worker=False)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    feed = tmp_path / "sis-export.csv"
    feed.write_text(
        "Pupil,Event,Date,Notes\n"
        f"{with_worker},Unexplained absence,{yesterday},no call from home\n"
        f"{without_worker},Change in circumstances,{yesterday},moved to a new address\n"
    )
    argv = ("events", "import", str(feed), "--recorded-by", people["teacher"], "--json")
    result = cli(*argv)
    assert result.exit_code == 0, result.output
    imported = json.loads(result.stdout)
    assert (imported["recorded"], imported["already"]) == (2, 0)
    first, second = (int(e["case_id"]) for e in imported["events"])
    assert [e["line"] for e in imported["events"]] == [2, 3]

    wait_for_step(first, "confirm-receipt")
    case = wait_for_step(second, "confirm-receipt")
    # a pupil whose social worker is not on record: the gap is recorded, not hidden
    agency_link(listener, stack.backend, second)
    (failed,) = [n for n in case["notifications"] if n["tag"].startswith("social-worker:")]
    assert failed["status"] == "failed"
    assert failed["error"] == f"no Apprise address has the tag 'social-worker:{without_worker}'"

    # importing the same export again records nothing and sends nothing (counted at the end)
    again = cli(*argv)
    assert again.exit_code == 0, again.output
    assert (json.loads(again.stdout)["recorded"], json.loads(again.stdout)["already"]) == (0, 2)

    # the DSL records the confirmation social care gave by phone; the case closes
    answer_ok(second, "confirm-receipt", people["dsl"], RECEIPT)
    closed = wait_for_status(second, "shared")
    assert closed["receipt"]["channel"] == "phone"
    assert closed["receipt"]["recorded_by"] == people["dsl"]

    # the first is still awaited; at the end of the day it is overdue, under its own rule
    due = show_due(first)
    late = json.loads(cli("overdue", "--json", "--at", (due + timedelta(minutes=1)).isoformat())
                      .stdout)  # fmt: skip
    (listed,) = [c for c in late if c["case_id"] == first]
    assert listed["deadline"] == PLAN_EVENT_RECEIPT and listed["step"] == "confirm-receipt"
    agency_link(listener, stack.backend, first, path=worker_path)
    sent = notifications_for(listener, stack.backend, first)
    assert {n for n in sent.values()} == {1}, sent
    assert (worker_path, f"safeshare SS-{first:06d}: Child Protection Plan event "
            "(unexplained-absence), for the pupil's social worker") in sent  # fmt: skip

    # the DSL records what social care said by phone: the social care link is answered, and
    # the social worker still reads and confirms through their own
    answer_ok(first, "confirm-receipt", people["dsl"], RECEIPT)
    wait_for_status(first, "shared")
    assert web.get(agency_link(listener, stack.backend, first)).status_code == 409
    worker_link = agency_link(listener, stack.backend, first, path=worker_path)
    assert web.get(worker_link).status_code == 200
    done = web.submit(worker_link, name="Social worker", role="Social worker", reference="SW-1")
    assert done.status_code == 200, done.text
    receipts = show_case(first)["receipts"]
    assert [(r["recipient"], r["channel"], r["recorded_by"]) for r in receipts] == [
        ("agency", "phone", people["dsl"]),
        ("social-worker", "agency-link", None),
    ]


def show_due(case_id: int) -> datetime:
    return datetime.fromisoformat(show_case(case_id)["waiting"]["due"])


@on_sqlite_only
def test_a_pupils_events_reach_social_care_in_the_order_they_were_recorded(
    stack: Any, listener: Any, people: dict[str, str], tmp_path: Path
) -> None:
    """A feed of one pupil's events, run at once (as many at a time as the runner takes): the
    agency hears of them in the feed's order, each once."""
    pupil, _ = pupil_on_plan(stack, listener)
    start = datetime.now(UTC) - timedelta(days=1)
    feed = tmp_path / "absences.csv"
    feed.write_text(
        "child_ref,kind,occurred_at,details\n"
        + "".join(
            f"{pupil},unexplained-absence,{(start + timedelta(hours=n)).isoformat()},day {n}\n"
            for n in range(8)
        )
    )
    result = cli("events", "import", str(feed), "--recorded-by", people["teacher"], "--json")
    assert result.exit_code == 0, result.output
    ids = [int(e["case_id"]) for e in json.loads(result.stdout)["events"]]
    assert ids == sorted(ids)
    for case_id in ids:
        wait_for_step(case_id, "confirm-receipt")
    agency = f"/{stack.backend}/tag/agency-csc"
    arrived = [
        case_id
        for r in listener.records
        if r.path == agency and isinstance(r.body, dict)
        for case_id in ids
        if f"SS-{case_id:06d}" in r.body["title"]
    ]
    assert arrived == ids
