"""The emergency path, on both case databases: when waiting for sign-off would leave the child at
risk, the DSL shares at once; the management team is asked to ratify within 24 hours, and the
record says so. Ratified or not, the case goes on to its receipt; a refusal is told at once."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from harness import web
from harness.cases import (
    RECEIPT,
    answer,
    answer_ok,
    assessment,
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

from tasks.views import show_case

pytestmark = pytest.mark.flow

LINK = re.compile(r"personal link \(works once\): (\S+)")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def emergency_case(people: dict[str, str]) -> tuple[int, str, dict[str, Any]]:
    mark = marker()
    case_id = new_case(people, mark)
    answer_ok(
        case_id,
        "assess-criteria",
        people["dsl"],
        assessment(mark, emergency_reason=f"{mark} cannot wait"),
    )
    return case_id, mark, wait_for_step(case_id, "ratification")


def test_shared_at_once_then_ratified_through_the_link(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    case_id, mark, case = emergency_case(people)

    # Shared before anyone co-signed, and the record says by when it must be ratified.
    assert case["disclosure"]["agency"] == "csc"
    assert case["disclosure"]["cosigned_by"] is None
    (emergency,) = [e for e in case["chronology"] if e["step"] == "emergency-share"]
    due = datetime.fromisoformat(emergency["answer"]["ratify_by"])
    shared_at = datetime.fromisoformat(emergency["at"])
    assert abs(due - shared_at - timedelta(hours=24)) < timedelta(minutes=1)
    assert emergency["answer"]["decided_by"] == people["dsl"]
    assert emergency["answer"]["ratify_within"] == "24 hours"
    # The ratification wait carries the same deadline (its rule counts from when it started).
    waiting_due = datetime.fromisoformat(case["waiting"]["due"])
    assert abs(waiting_due - due) < timedelta(seconds=30)
    assert not [e for e in case["chronology"] if e["step"] == "management-signoff"]
    listener.wait_for(
        lambda _: (
            ("/tag/agency-csc", f"safeshare SS-{case_id:06d}: safeguarding information for csc")
            in notifications_for(listener, stack.backend, case_id)
        )
    )

    def asked(records: list[Any]) -> list[str]:
        return [
            r.body["message"]
            for r in records
            if r.path == f"/{stack.backend}/tag/slt" and f"SS-{case_id:06d}" in r.body["title"]
        ]

    # The case waits (in the database) a moment before its message to the management team goes.
    (message,) = asked(listener.wait_for(lambda records: asked(records)))
    assert f"Due by {due:%Y-%m-%d %H:%M} UTC" in message

    # A senior leader ratifies from their link; the page says what it is for.
    key = case["waiting"]["key"]
    url = LINK.search(personal_message(case_id, key, people["slt"])).group(1)  # type: ignore[union-attr]
    page = web.get(url)
    assert page.status_code == 200 and "Ratify an emergency share" in page.text
    assert f"{mark} cannot wait" in page.text
    csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    posted = web.post(url, data={"csrf": csrf, "decision": "approve"})
    assert posted.status_code == 200, posted.text

    answer_ok(case_id, "parents", people["dsl"], told_parents(people, mark))
    answer_ok(case_id, "confirm-receipt", people["dsl"], RECEIPT)
    closed = wait_for_status(case_id, "shared")
    assert "emergency-share-ratified" in closed["chronology"][-1]["answer"]["reasons"]
    (ratified,) = [e for e in closed["chronology"] if e["step"] == "ratification"]
    assert (ratified["by"], ratified["channel"]) == (people["slt"], "link")


@on_sqlite_only
def test_not_ratified_is_told_at_once_and_recorded_to_the_end(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    case_id, mark, _case = emergency_case(people)

    # The DSL who shared cannot ratify their own decision.
    own = answer(case_id, "ratification", people["dsl"], {"decision": "approve"}, code="AAAA-AAAA")
    assert own.exit_code == 1 and "needs slt" in own.stderr
    answer_ok(
        case_id,
        "ratification",
        people["slt2"],
        {"decision": "decline", "reason": f"{mark} was not an emergency"},
    )

    title = f"safeshare SS-{case_id:06d}: emergency share not ratified"
    listener.wait_for(
        lambda _: (
            {("/tag/dsl", title), ("/tag/slt", title)}
            <= set(notifications_for(listener, stack.backend, case_id))
        )
    )
    # The information has gone: the case goes on to record the parents and the receipt.
    answer_ok(case_id, "parents", people["dsl"], told_parents(people, mark))
    answer_ok(case_id, "confirm-receipt", people["dsl"], RECEIPT)
    closed = wait_for_status(case_id, "shared")
    assert "emergency-share-not-ratified" in closed["chronology"][-1]["answer"]["reasons"]
    refusal, declined = [e for e in closed["chronology"] if e["step"] == "ratification"]
    assert declined["answer"]["reason"] == f"{mark} was not an emergency"
    assert declined["by"] == people["slt2"] and declined["accepted"]
    # the DSL's own attempt, refused at the CLI, is in the record as the dashboard's would be
    assert not refusal["accepted"] and refusal["by"] == people["dsl"]
    assert any("needs slt" in p["message"] for p in refusal["problems"])
    entries = json.loads(cli("audit", "show", "--case", str(case_id), "--json").stdout)
    refused = [
        e
        for e in entries
        if e["action"] == "insert:case_steps"
        and e["detail"]["step"] == "ratification"
        and e["detail"]["accepted"] is False
    ]
    assert [(e["actor"], e["detail"]["channel"]) for e in refused] == [(people["dsl"], "cli")]
    # what followed the review is recorded on the case, as the message asks
    message = next(
        r.body["message"]
        for r in listener.records
        if r.path == f"/{stack.backend}/tag/dsl" and r.body.get("title") == title
    )
    assert f"safeshare case note {case_id}" in message
    noted = cli("case", "note", str(case_id), "--text", f"{mark} reviewed with the head")
    assert noted.exit_code == 0, noted.output
    after = show_case(case_id)["chronology"]
    assert after[-1]["step"] == "note" and after[-1]["by"] == people["dsl"]
    assert after[-1]["answer"]["text"] == f"{mark} reviewed with the head"
