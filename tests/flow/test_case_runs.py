"""A case's run is its own and keeps moving, on the real stack and both case databases: after
the newest case is destroyed, the next concern gets a new id, reference and run of its own (not
the destroyed case's finished one) and waits for the DSL; a run that does not carry a case's
start key (one left by a case database that was replaced) touches nothing of the case; an open
case whose run ended is told to the DSL by the overdue check, once, and `case start` starts it
again; and a waiting case whose run crashed is restarted at once, through Prefect's automation."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from harness import web
from harness.cases import (
    answer_ok,
    assessment,
    cli,
    marker,
    new_case,
    notifications_for,
    run_state,
    wait_for_status,
    wait_for_step,
)
from harness.databases import on_sqlite_only

from models.kernel.steps import CaseKind
from tasks.views import show_case

pytestmark = pytest.mark.flow


def test_a_concern_after_the_newest_case_is_destroyed_gets_a_new_id_and_run(
    stack: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    from tasks.children import add_child

    api, old_child = prefect_server.api_url, f"OLD-{uuid.uuid4().hex[:8]}"
    add_child(old_child, date_of_birth=date(1990, 1, 1), cp_plan=False)
    recorded = cli(
        "concern", "record", "--child", old_child, "--raised-by", people["teacher"],
        "--category", "physical", "--what", f"{marker()} what happened", "--json",
    )  # fmt: skip
    assert recorded.exit_code == 0, recorded.output
    old = int(json.loads(recorded.stdout)["case_id"])
    no = {f: "no" for f in ("evidence_of_harm", "reasonable_cause", "prevent_harm_or_crime")}
    answer_ok(
        old,
        "assess-criteria",
        people["dsl"],
        no | {"public_interest": "no", "reasons": "none met", "consent": "refused"},
    )
    old_run = wait_for_status(old, "not-shared")["flow_run_id"]
    run_state(api, old_run, {"COMPLETED"})
    destroyed = cli(
        "retention", "decide", old_child, "--destroy", "--reason", "past its date",
        "--at", date.today().isoformat(),
    )  # fmt: skip
    assert destroyed.exit_code == 0, destroyed.output

    new = new_case(people, marker())

    assert new > old
    case = wait_for_step(new, "assess-criteria")
    assert case["reference"] != f"SS-{old:06d}"
    assert case["flow_run_id"] != old_run
    run_state(api, case["flow_run_id"], {"PAUSED"})
    told = [n for n in show_case(new)["notifications"] if n["kind"] == "waiting:assess-criteria"]
    assert told and {n["status"] for n in told} == {"sent"}
    started = cli("case", "start", str(new))
    assert started.exit_code == 0, started.output
    assert case["flow_run_id"] in started.stdout


@on_sqlite_only
def test_a_run_that_is_not_the_cases_own_touches_nothing(
    stack: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    """A run for the same case id under another start key, as a case database that was replaced
    leaves in Prefect: it fails at once, saying why, and the case is as it was."""
    from prefect.deployments import run_deployment

    from models.runs import start_key

    case_id = new_case(people, marker())
    run_id = wait_for_step(case_id, "assess-criteria")["flow_run_id"]
    run_state(prefect_server.api_url, run_id, {"PAUSED"})
    before = show_case(case_id)  # its messages all sent: the run suspends after them

    stray = run_deployment(
        name=f"sharing-case/{stack.env['SAFESHARE_DEPLOYMENT']}",
        parameters={"case_id": case_id},
        timeout=0,
        idempotency_key=start_key(
            stack.env["SAFESHARE_DEPLOYMENT"], CaseKind.SHARING, case_id, uuid.uuid4().hex
        ),
        as_subflow=False,
    )

    state = run_state(prefect_server.api_url, str(stray.id), {"FAILED", "COMPLETED", "CRASHED"})
    assert state["type"] == "FAILED" and f"not started for case {case_id}" in state["message"]
    after = show_case(case_id)
    assert after["flow_run_id"] == before["flow_run_id"]
    assert after["chronology"] == before["chronology"]
    assert [n["key"] for n in after["notifications"]] == [n["key"] for n in before["notifications"]]


def check(at: datetime) -> list[dict[str, Any]]:
    """`safeshare overdue --check-now` as of `at`: what it lists."""
    result = cli("overdue", "--check-now", "--json", "--at", at.isoformat())
    assert result.exit_code == 0, result.output
    return list(json.loads(result.stdout))


def was_crashed(api: str, run_id: str, timeout: float = 60) -> None:
    """Wait until the run's history holds a Crashed state (it may be restarted at once)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = web.get(f"{api}/flow_run_states/", params={"flow_run_id": run_id}).json()
        if any(state["type"] == "CRASHED" for state in states):
            return
        time.sleep(0.3)
    raise AssertionError(f"flow run {run_id} was never Crashed")


def outbox(case_id: int) -> Counter[str]:
    """The case's outbox rows by key, each with how many rows it has and whether it went."""
    return Counter(f"{n['key']} {n['status']}" for n in show_case(case_id)["notifications"])


def test_an_open_case_whose_run_ended_is_told_to_the_dsl_once_and_started_again(
    stack: Any, listener: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    """Someone cancels a waiting case's run in the dashboard: the next check tells the DSL (once,
    however often it runs) and lists the case; `case start` gives it a new run, which waits at
    the same step without sending anything again, and the case goes on from there."""
    from prefect import get_client
    from prefect.states import Cancelling

    api, mark = prefect_server.api_url, marker()
    case_id = new_case(people, mark)
    healthy = new_case(people, marker())
    run_id = wait_for_step(case_id, "assess-criteria")["flow_run_id"]
    for waiting in (run_id, wait_for_step(healthy, "assess-criteria")["flow_run_id"]):
        run_state(api, waiting, {"PAUSED"})
    sent = outbox(case_id)
    with get_client(sync_client=True) as client:  # the dashboard's Cancel button
        client.set_flow_run_state(UUID(run_id), Cancelling())
    run_state(api, run_id, {"CANCELLED"})

    later = datetime.now(UTC) + timedelta(minutes=5)
    listed = {c["case_id"]: c for c in check(later) if c["stranded"]}
    check(later + timedelta(minutes=5))

    assert healthy not in listed
    assert listed[case_id]["stranded"] == "its workflow run is cancelled"
    assert listed[case_id]["flow_run_id"] == run_id
    ref = f"SS-{case_id:06d}"
    told = lambda records: [  # noqa: E731
        r
        for r in records
        if r.path == f"/{stack.backend}/tag/dsl"
        and isinstance(r.body, dict)
        and r.body.get("title") == f"safeshare {ref}: open, but nothing moves it on"
    ]
    listener.wait_for(told)
    assert outbox(case_id) - sent == Counter(
        {f"case:{case_id}:stranded:{run_id}:CANCELLED sent": 1}
    )

    started = cli("case", "start", str(case_id))

    assert started.exit_code == 0, started.output
    new_run = show_case(case_id)["flow_run_id"]
    assert new_run != run_id and new_run in started.stdout
    run_state(api, new_run, {"PAUSED"})
    assert wait_for_step(case_id, "assess-criteria")["waiting"]["flow_run_id"] == new_run
    assert outbox(case_id) - sent == Counter(
        {f"case:{case_id}:stranded:{run_id}:CANCELLED sent": 1}
    )  # nothing sent again
    assert case_id not in [c["case_id"] for c in check(later + timedelta(minutes=10))]
    assert len(told(listener.records)) == 1
    answer_ok(case_id, "assess-criteria", people["dsl"], assessment(mark))
    wait_for_step(case_id, "management-signoff")


@on_sqlite_only
def test_a_waiting_case_whose_run_crashed_is_restarted_at_once(
    stack: Any, listener: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    """The run's process dies (kill -9) while it sends the sign-off request: Prefect marks the
    run Crashed and the serving process goes on. Prefect's automation starts `recover-run` for
    it at once, which restarts the run under its own id (no overdue check needed); it reaches its
    wait, each outbox key has one row and every message but the one in flight at the crash (one
    outbox row, to every address of its tag) arrived once. An overdue check meanwhile asks for
    its recovery again: the second `recover-run` finds it moving and does nothing."""
    from harness.processes import owner_of_connection

    api, mark = prefect_server.api_url, marker()
    case_id = new_case(people, mark)
    ref, in_flight = f"SS-{case_id:06d}", f"/{stack.backend}/tag/slt"
    run_id = wait_for_step(case_id, "assess-criteria")["flow_run_id"]

    def held(records: list[Any]) -> list[Any]:
        return [
            r
            for r in records
            if r.path == in_flight and isinstance(r.body, dict) and ref in r.body["title"]
        ]

    with listener.hold(in_flight):
        answer_ok(case_id, "assess-criteria", people["dsl"], assessment(mark))
        (sending,) = held(listener.wait_for(held))
        pid = owner_of_connection(sending.client_port, listener.port)
        assert pid is not None and pid != os.getpid()
        os.kill(pid, signal.SIGKILL)
        was_crashed(api, run_id)  # said by the runner; restarted a moment later
    assert show_case(case_id)["waiting"]["step"] == "management-signoff"

    listed = check(datetime.now(UTC) + timedelta(minutes=5))
    assert case_id not in [c["case_id"] for c in listed if c["stranded"]]
    run_state(api, run_id, {"PAUSED"})  # the same run, at its wait again
    case = wait_for_step(case_id, "management-signoff")
    assert case["flow_run_id"] == run_id
    keys = [n["key"] for n in case["notifications"]]
    assert len(keys) == len(set(keys)) and {n["status"] for n in case["notifications"]} == {"sent"}
    counts = notifications_for(listener, stack.backend, case_id)
    again = {k: v for k, v in counts.items() if v != 1}
    assert {title for _, title in again} <= {sending.body["title"]}, again  # one outbox row
    answer_ok(case_id, "management-signoff", people["slt"], {"decision": "approve"})
    wait_for_step(case_id, "parents")
