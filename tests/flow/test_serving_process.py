"""The serving process: it is woken by Prefect's events, not its poll, when a run is resumed;
its children live only as long as it does, on the real stack and both case
databases: when it alone is killed (kill -9 of its pid, not of its group) while a run is sending
a message, the run's process, the forkserver and everything else it started die with it at
once, so nothing goes on writing or sending (no second try of that message). The run is left
Running; served again, the serving process leaves it be (it could be another live process's);
Prefect's automation finds it silent, `recover-run` marks it Crashed and restarts it under its
own id, and it reaches its wait, each message (but the one in flight) sent once."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest
from harness import web
from harness.cases import (
    answer_ok,
    assessment,
    marker,
    new_case,
    notifications_for,
    run_state,
    wait_for_step,
)
from harness.databases import on_sqlite_only
from harness.processes import descendants, owner_of_connection, wait_until_gone

from models.runs import RESTARTED

pytestmark = pytest.mark.flow


@on_sqlite_only
def test_killing_the_serving_process_alone_leaves_no_run_behind(
    stack: Any, listener: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    api, mark = prefect_server.api_url, marker()
    case_id = new_case(people, mark)
    ref, in_flight = f"SS-{case_id:06d}", f"/{stack.backend}/tag/slt"
    run_id = wait_for_step(case_id, "assess-criteria")["flow_run_id"]
    serving = stack.process
    assert serving is not None

    def held(records: list[Any]) -> list[Any]:
        return [
            r
            for r in records
            if r.path == in_flight and isinstance(r.body, dict) and ref in r.body["title"]
        ]

    with listener.hold(in_flight):
        answer_ok(case_id, "assess-criteria", people["dsl"], assessment(mark))
        (sending,) = held(listener.wait_for(held))
        run_process = owner_of_connection(sending.client_port, listener.port)
        children = descendants(serving.pid)
        assert run_process in [p.pid for p in children], children
        assert any("forkserver" in p.cmdline for p in children), children

        os.kill(serving.pid, signal.SIGKILL)  # the serving process alone, not its group
        serving.wait()

        # at once: left alone, the run would wait out Apprise's 4 s timeout on the held message,
        # then try it again three times, and go on
        assert wait_until_gone(children, timeout=10) == []
    assert run_state(api, run_id, {"RUNNING"})  # nobody told Prefect

    stack.start_serving()
    silence = stack.settings.run_silent_seconds

    run_state(api, run_id, {"PAUSED"}, timeout=silence + 60)
    history = [
        (s["type"], s["name"], s["message"] or "")
        for s in web.get(f"{api}/flow_run_states/", params={"flow_run_id": run_id}).json()
    ]
    crashed = [h for h in history if h[0] == "CRASHED"]
    assert len(crashed) == 1 and "Not heard from" in crashed[0][2], history
    assert [h[1] for h in history].count(RESTARTED) == 1, history
    case = wait_for_step(case_id, "management-signoff")
    assert case["flow_run_id"] == run_id
    keys = [n["key"] for n in case["notifications"]]
    assert len(keys) == len(set(keys)) and {n["status"] for n in case["notifications"]} == {"sent"}
    counts = notifications_for(listener, stack.backend, case_id)
    again = {k: v for k, v in counts.items() if v != 1}
    assert {title for _, title in again} <= {sending.body["title"]}, again
    # the message in flight: the copy held at the kill and the restarted run's, no other try
    assert counts[(in_flight.removeprefix(f"/{stack.backend}"), sending.body["title"])] <= 2


@on_sqlite_only
def test_runs_start_when_resumed_not_when_the_runner_next_polls(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    """With the runner's own poll an hour apart, only Prefect's events stream can start a
    resumed run: each answer moves the case on at once, though the process that suspended the
    run is often still ending when the answer resumes it."""
    plain = stack.env
    stack.stop_serving()
    stack.env = plain | {"SAFESHARE_RUNNER_POLL_SECONDS": "3600"}
    try:
        stack.start_serving()
        mark = marker()
        case_id = new_case(people, mark)
        wait_for_step(case_id, "assess-criteria")
        answer_ok(case_id, "assess-criteria", people["dsl"], assessment(mark))
        wait_for_step(case_id, "management-signoff", timeout=60)
        answer_ok(case_id, "management-signoff", people["slt"], {"decision": "approve"})
        wait_for_step(case_id, "parents", timeout=60)
    finally:
        stack.stop_serving()
        stack.env = plain
        stack.start_serving()
