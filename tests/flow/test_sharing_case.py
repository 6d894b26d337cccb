"""Whole sharing cases on the real stack: a Prefect server, a served deployment, a real case
database (SQLite and PostgreSQL), answers given through the CLI and the dashboard's own API, and
notifications counted at a loopback HTTP listener."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import pytest
from harness import web
from harness.cases import (
    NOW,
    RECEIPT,
    about_case,
    answer,
    answer_ok,
    assert_once_each,
    assessment,
    marker,
    new_case,
    notifications_for,
    outbox,
    resume_via_api,
    sent_once,
    told_parents,
    wait_for_status,
    wait_for_step,
    wait_until_suspended,
)
from harness.databases import on_sqlite_only

from tasks.views import show_case

pytestmark = pytest.mark.flow

# ---------------------------------------------------------------------------------------------
# The branches of the policy.


def test_shared_after_telling_parents(stack: Any, listener: Any, people: dict[str, str]) -> None:
    mark = marker()
    case_id = new_case(people, mark)
    answer_ok(case_id, "assess-criteria", people["dsl"], assessment(mark))
    answer_ok(case_id, "management-signoff", people["slt"], {"decision": "approve"})
    answer_ok(case_id, "parents", people["dsl"], told_parents(people, mark))
    answer_ok(case_id, "confirm-receipt", people["dsl"], RECEIPT)
    case = wait_for_status(case_id, "shared")

    assert case["disclosure"]["agency"] == "csc"
    assert case["disclosure"]["decided_by"] == people["dsl"]
    assert case["disclosure"]["cosigned_by"] == people["slt"]
    assert case["disclosure"]["information"] == f"{mark} info"
    assert case["receipt"]["agency_reference"] == "CSC-123"
    counts = assert_once_each(listener, stack.backend, case_id)
    paths = Counter(path for path, _ in counts.elements())
    assert paths["/tag/dsl"] == 4  # assess, parents, receipt, closed
    assert paths["/tag/slt"] == 1
    assert paths["/tag/agency-csc"] == 1
    # The sign-off request goes to the management team's tag and to each member's own address,
    # and each member also gets their own code and sign-off link.
    assert paths[f"/staff/{people['slt']}"] == 2
    for record in listener.records:
        assert mark not in json.dumps(record.body), "personal data in a notification"


@on_sqlite_only
def test_shared_after_mash_advice_when_telling_parents_adds_risk(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    mark = marker()
    case_id = new_case(people, mark)
    answer_ok(case_id, "assess-criteria", people["deputy"], assessment(mark))
    answer_ok(case_id, "management-signoff", people["slt"], {"decision": "approve"})
    answer_ok(
        case_id,
        "parents",
        people["dsl"],
        {"choice": "not-told-risk", "risk_reason": f"{mark} risk"},
    )
    answer_ok(
        case_id,
        "mash-advice",
        people["dsl"],
        {
            "sought_at": NOW,
            "mash_contact": "MASH duty",
            "mash_reference": "M-9",
            "advice": f"{mark} advice",
            "proceed": True,
        },
    )
    answer_ok(case_id, "confirm-receipt", people["dsl"], RECEIPT)
    case = wait_for_status(case_id, "shared")
    steps = [e["slot"] for e in case["chronology"] if e["accepted"]]
    assert steps == [
        "record-concern",
        "assess-criteria-0",
        "management-signoff-0",
        "parents-0",
        "mash-advice-parents-risk-0",
        "notify-agency",
        "confirm-receipt-0",
        "closed",
    ]
    assert_once_each(listener, stack.backend, case_id)


@on_sqlite_only
def test_not_shared_at_assessment(stack: Any, listener: Any, people: dict[str, str]) -> None:
    mark = marker()
    case_id = new_case(people, mark)
    answer_ok(
        case_id,
        "assess-criteria",
        people["dsl"],
        {
            "evidence_of_harm": "no",
            "reasonable_cause": "no",
            "prevent_harm_or_crime": "no",
            "public_interest": "no",
            "reasons": f"{mark} reasons",
            "consent": "refused",
        },
    )
    case = wait_for_status(case_id, "not-shared")
    closed = case["chronology"][-1]
    assert closed["step"] == "closed"
    assert closed["answer"]["reasons"] == ["no-criterion-met"]
    assert case["disclosure"] is None
    assert_once_each(listener, stack.backend, case_id)


@on_sqlite_only
def test_insufficient_information_seeks_mash_advice_then_reassesses(
    stack: Any, people: dict[str, str]
) -> None:
    mark = marker()
    case_id = new_case(people, mark)
    answer_ok(
        case_id,
        "assess-criteria",
        people["dsl"],
        assessment(
            mark,
            evidence_of_harm="unsure",
            reasonable_cause="unsure",
            information_to_share=None,
            agency=None,
            purpose=None,
            lawful_basis=None,
            consent_override_reason=None,
        ),
    )
    answer_ok(
        case_id,
        "mash-advice",
        people["dsl"],
        {
            "sought_at": NOW,
            "mash_contact": "MASH duty",
            "advice": f"{mark} advice",
            "proceed": True,
        },
    )
    answer_ok(
        case_id,
        "assess-criteria",
        people["dsl"],
        {
            "evidence_of_harm": "no",
            "reasonable_cause": "no",
            "prevent_harm_or_crime": "no",
            "public_interest": "no",
            "reasons": f"{mark} after advice",
            "consent": "refused",
        },
    )
    case = wait_for_status(case_id, "not-shared")
    slots = [e["slot"] for e in case["chronology"] if e["accepted"]]
    assert slots[1:4] == [
        "assess-criteria-0",
        "mash-advice-insufficient-information-0",
        "assess-criteria-1",
    ]


@on_sqlite_only
def test_declined_at_signoff_and_same_person_refused(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    mark = marker()
    case_id = new_case(people, mark)
    answer_ok(case_id, "assess-criteria", people["dsl"], assessment(mark))
    # The DSL who assessed cannot be the second person, even with a management role elsewhere.
    # (They were sent no code for sign-off; the refusal comes before any code is looked at.)
    refused = answer(
        case_id, "management-signoff", people["dsl"], {"decision": "approve"}, code="AAAA-AAAA"
    )
    assert refused.exit_code == 1
    assert "this step needs slt" in refused.stderr
    refused = answer(case_id, "management-signoff", people["slt"], {"decision": "decline"})
    assert refused.exit_code == 1 and "reason for declining" in refused.stderr
    answer_ok(
        case_id,
        "management-signoff",
        people["slt"],
        {"decision": "decline", "reason": f"{mark} decline reason"},
    )
    case = wait_for_status(case_id, "not-shared")
    assert case["chronology"][-1]["answer"]["reasons"] == ["management-declined"]
    assert case["disclosure"] is None
    assert not [
        k for k in notifications_for(listener, stack.backend, case_id) if k[0] == "/tag/agency-csc"
    ]


@on_sqlite_only
def test_invalid_dashboard_answers_are_asked_again(
    stack: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    """The dashboard checks only the form's types; the flow re-asks what the policy refuses."""
    mark = marker()
    case_id = new_case(people, mark)
    case = wait_for_step(case_id, "assess-criteria")
    run_id = case["waiting"]["flow_run_id"]
    first_key = case["waiting"]["key"]
    api = prefect_server.api_url
    wait_until_suspended(api, run_id)

    # Refused by the server's schema check: the run stays suspended under the same key.
    bad_type = resume_via_api(api, run_id, {"answered_by": people["dsl"], "consent": "maybe"})
    assert bad_type.get("status") == "REJECT", bad_type
    assert show_case(case_id)["waiting"]["key"] == first_key

    # Passes the schema but fails the policy's own validator (no reason consent was not sought).
    policy_bad = assessment(mark, consent="not-sought", consent_override_reason=None)
    # (with a code, which the form requires: the policy is checked before the code)
    some_code = {"one_time_code": "AAAA-AAAA"}
    resumed = resume_via_api(api, run_id, {"answered_by": people["dsl"], **policy_bad, **some_code})
    assert resumed.get("status") == "ACCEPT", resumed
    deadline = time.monotonic() + 60
    while (show_case(case_id)["waiting"] or {}).get("key") in (
        first_key,
        None,
    ) and time.monotonic() < deadline:
        time.sleep(0.3)
    case = show_case(case_id)
    assert case["waiting"]["key"] != first_key
    refused = [e for e in case["chronology"] if not e["accepted"]]
    assert [p["code"] for p in refused[0]["problems"]] == ["consent-not-sought-reason-missing"]

    # A teacher may not assess: refused by the people check inside the flow, asked again.
    second_key = case["waiting"]["key"]
    wait_until_suspended(api, run_id)
    teacher = resume_via_api(
        api, run_id, {"answered_by": people["teacher"], **assessment(mark), **some_code}
    )
    assert teacher.get("status") == "ACCEPT", teacher
    deadline = time.monotonic() + 60
    while (show_case(case_id)["waiting"] or {}).get("key") in (
        second_key,
        None,
    ) and time.monotonic() < deadline:
        time.sleep(0.3)
    case = show_case(case_id)
    assert [p["code"] for p in case["chronology"][-1]["problems"]] == ["role-not-allowed"]
    assert case["status"] == "open"

    # The stored answers were removed from Prefect once recorded or refused.
    inputs = web.post(
        f"{api}/flow_runs/{run_id}/input/filter", json={"prefix": "suspended", "limit": 100}
    ).json()
    assert not [i for i in inputs if i["key"].endswith("-response")]
    assert mark not in json.dumps(inputs)

    answer_ok(case_id, "assess-criteria", people["dsl"], assessment(mark))
    wait_for_step(case_id, "management-signoff")


def test_killed_serving_process_loses_nothing_and_repeats_nothing(
    stack: Any, listener: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    """kill -9 of the serving process while cases wait: restarted, the case completes."""
    mark = marker()
    case_id = new_case(people, mark)
    answer_ok(case_id, "assess-criteria", people["dsl"], assessment(mark))
    run_id = wait_for_step(case_id, "management-signoff")["waiting"]["flow_run_id"]
    wait_until_suspended(prefect_server.api_url, run_id)
    stack.kill_serving()
    stack.start_serving()
    answer_ok(case_id, "management-signoff", people["slt"], {"decision": "approve"})
    answer_ok(case_id, "parents", people["dsl"], told_parents(people, mark))
    wait_for_step(case_id, "confirm-receipt")
    wait_until_suspended(prefect_server.api_url, run_id)
    stack.kill_serving()
    stack.start_serving()
    answer_ok(case_id, "confirm-receipt", people["dsl"], RECEIPT)
    wait_for_status(case_id, "shared")
    # 4 messages to the DSL tag (config file, dsl1, dep1); the sign-off to the slt tag (config
    # file, head1, head2) and a personal code and link to each of head1 and head2; 1 to the
    # agency; a personal code to each of dsl1 and dep1 for each of the 3 DSL waits: each row of
    # the outbox sent once, and nothing sent twice
    rows = sent_once(stack, listener, rows=4 + 1 + 2 + 1 + 3 * 2, case_id=case_id)
    dsl, deputy = f"staff:{people['dsl']}", f"staff:{people['deputy']}"
    slt, slt2 = f"staff:{people['slt']}", f"staff:{people['slt2']}"
    assert Counter((row.kind, row.tag) for row in rows) == Counter(
        {
            ("waiting:assess-criteria", "dsl"): 1,
            ("personal:assess-criteria", dsl): 1,
            ("personal:assess-criteria", deputy): 1,
            ("waiting:management-signoff", "slt"): 1,
            ("personal:management-signoff", slt): 1,
            ("personal:management-signoff", slt2): 1,
            ("waiting:parents", "dsl"): 1,
            ("personal:parents", dsl): 1,
            ("personal:parents", deputy): 1,
            ("disclosure", "agency:csc"): 1,
            ("waiting:confirm-receipt", "dsl"): 1,
            ("personal:confirm-receipt", dsl): 1,
            ("personal:confirm-receipt", deputy): 1,
            ("closed", "dsl"): 1,
        }
    ), rows
    expected = 4 * 3 + 3 + 2 + 1 + 3 * 2
    assert sum(notifications_for(listener, stack.backend, case_id).values()) == expected


@on_sqlite_only
def test_run_killed_mid_step_is_restarted_and_completes(
    stack: Any, listener: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    """kill -9 while a run is Running (mid-delivery): the restarted stack re-runs it to the end.

    Only the message that was in flight at the crash may arrive twice (nobody can know whether
    it got through); every other message arrives exactly once, and no record is repeated.
    """
    mark = marker()
    case_id = new_case(people, mark)
    ref = f"SS-{case_id:06d}"
    in_flight = f"/{stack.backend}/tag/slt"
    with listener.hold(in_flight):
        answer_ok(case_id, "assess-criteria", people["dsl"], assessment(mark))
        listener.wait_for(
            lambda records: any(
                r.path == in_flight and ref in r.body.get("title", "")
                for r in records
                if isinstance(r.body, dict)
            )
        )
        run_id = show_case(case_id)["flow_run_id"]
        state = web.get(f"{prefect_server.api_url}/flow_runs/{run_id}").json()["state"]
        assert state["type"] == "RUNNING"
        stack.kill_serving()
    stack.start_serving()
    # Restarted, the run sends its codes for the sign-off and waits: answered before it got to
    # head2's, it would rightly send head2 none, and the outbox would hold one row fewer.
    # The serving process starts again first (its imports, its forkserver's): 15 s alone, over
    # a minute once in a loaded suite.
    wait_until_suspended(prefect_server.api_url, run_id, timeout=180)

    answer_ok(case_id, "management-signoff", people["slt"], {"decision": "approve"})
    answer_ok(case_id, "parents", people["dsl"], told_parents(people, mark))
    answer_ok(case_id, "confirm-receipt", people["dsl"], RECEIPT)
    case = wait_for_status(case_id, "shared")
    assert case["flow_run_id"] == run_id  # the same run, restarted, not a second one

    # Every other row of the outbox went once (14 rows in all, as in a case nothing stopped),
    # and so did its messages; the one in flight is sent, to each of its addresses once or twice.
    needed = "management sign-off needed"
    about = about_case(stack.backend, case_id)

    def not_in_flight(records: list[Any]) -> list[Any]:
        return [r for r in about(records) if not r.body["title"].endswith(needed)]

    rows = sent_once(
        stack,
        listener,
        rows=13,
        case_id=case_id,
        pick=lambda row: row.kind != "waiting:management-signoff",
        messages=not_in_flight,
    )
    assert ("closed", "dsl") in [(row.kind, row.tag) for row in rows], rows
    (held,) = [row for row in outbox(stack, case_id) if row.kind == "waiting:management-signoff"]
    assert (held.tag, held.status) == ("slt", "sent"), held
    counts = notifications_for(listener, stack.backend, case_id)
    signoff = {path: n for (path, title), n in counts.items() if title.endswith(needed)}
    slt, slt2 = f"/staff/{people['slt']}", f"/staff/{people['slt2']}"
    assert signoff.keys() == {"/tag/slt", slt, slt2} and set(signoff.values()) <= {1, 2}, counts
    steps = [(s["step"], s["accepted"]) for s in case["chronology"] if s.get("step")]
    assert steps.count(("management-signoff", True)) == 1, steps
