"""A case's run is its own, on the real stack and both case databases: after the newest case is
destroyed, the next concern gets a new id, reference and run of its own (not the destroyed
case's finished one) and waits for the DSL; and a run that does not carry a case's start key
(one left by a case database that was replaced) touches nothing of the case."""

from __future__ import annotations

import json
import time
import uuid
from datetime import date
from typing import Any

import pytest
from harness import web
from harness.cases import answer_ok, cli, marker, new_case, wait_for_status, wait_for_step

from models.domain import CaseKind
from safeshare.views import show_case

pytestmark = pytest.mark.flow


def run_state(api: str, run_id: str, states: set[str], timeout: float = 90) -> dict[str, Any]:
    """The run's state once it is one of `states`."""
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = web.get(f"{api}/flow_runs/{run_id}").json()["state"] or {}
        if state.get("type") in states:
            return state
        time.sleep(0.3)
    raise AssertionError(f"flow run {run_id} never became {states}: {state}")


def test_a_concern_after_the_newest_case_is_destroyed_gets_a_new_id_and_run(
    stack: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    from tasks.directory import add_child

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


def test_a_run_that_is_not_the_cases_own_touches_nothing(
    stack: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    """A run for the same case id under another start key, as a case database that was replaced
    leaves in Prefect: it fails at once, saying why, and the case is as it was."""
    from prefect.deployments import run_deployment

    from tasks.starting import start_key

    case_id = new_case(people, marker())
    run_id = wait_for_step(case_id, "assess-criteria")["flow_run_id"]
    run_state(prefect_server.api_url, run_id, {"PAUSED"})
    before = show_case(case_id)  # its messages all sent: the run suspends after them

    stray = run_deployment(
        name=f"sharing-case/{stack.env['SAFESHARE_DEPLOYMENT']}",
        parameters={"case_id": case_id},
        timeout=0,
        idempotency_key=start_key(case_id, CaseKind.SHARING, uuid.uuid4().hex),
        as_subflow=False,
    )

    state = run_state(prefect_server.api_url, str(stray.id), {"FAILED", "COMPLETED", "CRASHED"})
    assert state["type"] == "FAILED" and f"not started for case {case_id}" in state["message"]
    after = show_case(case_id)
    assert after["flow_run_id"] == before["flow_run_id"]
    assert after["chronology"] == before["chronology"]
    assert [n["key"] for n in after["notifications"]] == [n["key"] for n in before["notifications"]]
