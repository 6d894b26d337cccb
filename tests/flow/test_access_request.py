"""A pupil's request to see their child protection records, on the real stack (both case
databases): recorded by whoever received it, routed to the DSL and the management team (each
with their own code), never decided by the person who received it, refused when the decision
does not stand on its own, and due one calendar month after it came in."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from harness.cases import (
    answer,
    answer_ok,
    cli,
    marker,
    notifications_for,
    open_wait,
    wait_for_status,
    wait_for_step,
)

from models.deadlines import DEFAULT_RULES, WorkingCalendar, due_at

pytestmark = pytest.mark.flow

NONE = {"serious_harm": "does-not-apply", "child_abuse_data": "does-not-apply",
        "third_parties": "does-not-apply"}  # fmt: skip


def test_a_request_is_decided_by_someone_other_than_who_received_it(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    mark = marker()
    received = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)
    result = cli(
        "access-request", "record", "--child", "C-0001", "--from", "pupil",
        "--received-by", people["slt"], "--received-at", received.isoformat(),
        "--request", f"{mark} asks for everything the school holds", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    case_id = int(json.loads(result.stdout)["case_id"])

    case = wait_for_step(case_id, "access-decision")
    assert case["kind"] == "access-request"
    # what opened it, as the request records it: who asked (a code of its own), when, and what
    assert case["concern"]["category"] == "pupil"
    assert case["concern"]["raised_by"] == people["slt"]
    assert datetime.fromisoformat(case["concern"]["occurred_at"]) == received
    assert case["concern"]["what_happened"] == f"{mark} asks for everything the school holds"
    waiting = case["waiting"]
    # the DSL, the deputy and the other senior leader: not head1, who received it
    assert waiting["who_may_answer"] == sorted([people["dsl"], people["deputy"], people["slt2"]])
    assert waiting["deadline"] == "access-request"
    expected_due = due_at(DEFAULT_RULES["access-request"], received, WorkingCalendar())
    assert datetime.fromisoformat(waiting["due"]) == expected_due

    # whoever received it cannot decide it, whatever they send
    payload = {**NONE, "outcome": "release-in-full", "released": f"{mark} the file"}
    own = answer(case_id, "access-decision", people["slt"], payload, code="ZZZZ-ZZZZ")
    assert own.exit_code == 1 and "never by whoever received it" in own.stderr
    # the child abuse data exemption is for a parent's request, not a pupil's
    parents_only = {
        **NONE,
        "child_abuse_data": "applies",
        "child_abuse_data_reason": f"{mark} reason",
        "outcome": "withhold",
        "withheld": f"{mark} all of it",
    }
    refused = answer(case_id, "access-decision", people["dsl"], parents_only)
    assert refused.exit_code == 1 and "not to the pupil's own" in refused.stderr
    # nothing withheld without an exemption
    bare = {**NONE, "outcome": "release-redacted", "released": "x", "withheld": "y"}
    refused = answer(case_id, "access-decision", people["slt2"], bare)
    assert refused.exit_code == 1 and "unless an exemption applies" in refused.stderr
    assert wait_for_step(case_id, "access-decision")["status"] == "open"

    decided = {
        **NONE,
        "third_parties": "applies",
        "third_parties_reason": f"{mark} names another pupil",
        "outcome": "release-redacted",
        "released": f"{mark} the chronology",
        "withheld": f"{mark} the other pupil's name",
    }
    open_wait(case_id, "access-decision")
    answer_ok(case_id, "access-decision", people["slt2"], decided)
    closed = wait_for_status(case_id, "decided")
    (entry,) = [e for e in closed["chronology"] if e["step"] == "access-decision" and e["accepted"]]
    assert entry["by"] == people["slt2"]
    assert entry["answer"]["withheld"] == f"{mark} the other pupil's name"
    assert closed["chronology"][-1]["answer"]["reasons"] == ["exemption-third-parties"]

    sent = notifications_for(listener, stack.backend, case_id)
    paths = {path for path, _title in sent}
    assert "/staff/head2" in paths and "/staff/dsl1" in paths and "/tag/dsl" in paths
    assert "/staff/head1" not in paths  # no code for whoever received it
    everything = json.dumps([r.body for r in listener.records if isinstance(r.body, dict)])
    assert mark not in everything


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--child", "C-NOBODY"], "No child has the reference 'C-NOBODY'"),
        (["--child", "C-0001", "--from", "neighbour"], "'neighbour' is not one of"),
        (["--child", "C-0001", "--received-at", "2999-01-01T00:00:00+00:00"], "in the future"),
        (["--child", "C-0001", "--received-by", "ghost"], "no member of staff has the id 'ghost'"),
        (["--child", "C-0001", "--request", "  "], "request"),
    ],
)
def test_a_request_that_cannot_be_recorded_changes_nothing(
    stack: Any, people: dict[str, str], argv: list[str], words: str
) -> None:
    before = case_count()
    defaults = {"--from": "parent", "--received-by": people["teacher"], "--request": "r"}
    for option, value in defaults.items():
        if option not in argv:
            argv = [*argv, option, value]
    result = cli("access-request", "record", *argv)
    assert result.exit_code != 0 and words in result.stderr, result.output
    assert case_count() == before


def case_count() -> int:
    from sqlalchemy import func, select

    from foundations.db import session_scope
    from models.tables.cases import Case

    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Case)) or 0
