"""Every answer given in the dashboard or the CLI is bound to a person by the one-time code sent
to them, on both case databases: through the dashboard's own API (what its Resume button posts)
and through the CLI. A wrong, missing, someone else's, stale or expired code is recorded and the
step is asked again with new codes; the two-different-people rule holds in every door."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from harness import web
from harness.cases import (
    answer,
    answer_ok,
    assessment,
    cli,
    code_for,
    marker,
    new_case,
    open_wait,
    resume_via_api,
    wait_for_step,
    wait_until_suspended,
)
from harness.databases import on_sqlite_only
from sqlalchemy import ColumnElement, select, update

from foundations.db import session_scope
from models.links import LinkPurpose
from models.tables.base import utcnow
from models.tables.credentials import PersonalLink
from tasks.views import show_case

pytestmark = pytest.mark.flow


def next_wait(case_id: int, after_key: str, timeout: float = 60) -> dict[str, Any]:
    """The case once it waits under a key other than `after_key` (asked again, or moved on)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        case = show_case(case_id)
        if case["waiting"] and case["waiting"]["key"] != after_key:
            return case
        time.sleep(0.3)
    raise AssertionError(f"case {case_id} still waits under {after_key}")


def codes_of(case_id: int) -> list[ColumnElement[bool]]:
    """Which personal links are the case's one-time codes."""
    return [PersonalLink.purpose == LinkPurpose.ANSWER_CODE, PersonalLink.case_id == case_id]


def refused_codes(case: dict[str, Any]) -> list[str]:
    return [p["code"] for p in case["chronology"][-1]["problems"]]


@on_sqlite_only
def test_dashboard_answers_count_only_with_their_persons_code(
    stack: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    api = prefect_server.api_url
    mark = marker()
    case_id = new_case(people, mark)
    waiting = wait_for_step(case_id, "assess-criteria")["waiting"]
    run_id, key = waiting["flow_run_id"], waiting["key"]
    dsl, deputy = people["dsl"], people["deputy"]
    form = {"answered_by": dsl, **assessment(mark)}

    # No code, or an empty one: the dashboard's form requires it, so Prefect's server refuses the
    # resume itself; the run stays suspended under the same key, and nothing is recorded.
    wait_until_suspended(api, run_id)
    missing = resume_via_api(api, run_id, form)
    assert missing["status"] == "REJECT" and "one_time_code" in json.dumps(missing), missing
    assert resume_via_api(api, run_id, form | {"one_time_code": ""})["status"] == "REJECT"
    case = show_case(case_id)
    assert case["waiting"]["key"] == key
    assert [e for e in case["chronology"] if not e["accepted"]] == []
    old_key = key

    # The deputy's own code, in the DSL's name: the code proves the deputy, not the DSL.
    wait_until_suspended(api, run_id)
    deputy_code = code_for(case_id, key, deputy)
    assert resume_via_api(api, run_id, form | {"one_time_code": deputy_code})["status"] == "ACCEPT"
    case = next_wait(case_id, key)
    assert refused_codes(case) == ["code-wrong"]
    stale_code, key = code_for(case_id, key, dsl), case["waiting"]["key"]

    # A code sent for an earlier wait of the same step no longer counts.
    wait_until_suspended(api, run_id)
    assert resume_via_api(api, run_id, form | {"one_time_code": stale_code})["status"] == "ACCEPT"
    case = next_wait(case_id, key)
    assert refused_codes(case) == ["code-wrong"]
    key = case["waiting"]["key"]

    # The DSL's own code for this wait, typed loosely (lower case, a space for the dash): counts.
    wait_until_suspended(api, run_id)
    typed = code_for(case_id, key, dsl).lower().replace("-", " ")
    assert resume_via_api(api, run_id, form | {"one_time_code": typed})["status"] == "ACCEPT"
    case = wait_for_step(case_id, "management-signoff")
    accepted = [e for e in case["chronology"] if e["step"] == "assess-criteria" and e["accepted"]]
    assert [(e["by"], e["channel"]) for e in accepted] == [(dsl, "form")]
    refusals = [
        e for e in case["chronology"] if e["step"] == "assess-criteria" and not e["accepted"]
    ]
    assert len(refusals) == 2 and old_key != key

    # Sign-off in the dashboard: the DSL who assessed is refused whatever code they type ...
    key, run_id = case["waiting"]["key"], case["waiting"]["flow_run_id"]
    wait_until_suspended(api, run_id)
    own = {"answered_by": dsl, "decision": "approve", "one_time_code": "AAAA-AAAA"}
    assert resume_via_api(api, run_id, own)["status"] == "ACCEPT"
    case = next_wait(case_id, key)
    assert refused_codes(case) == ["role-not-allowed"]
    key = case["waiting"]["key"]
    # ... and a senior leader signs with their own code.
    wait_until_suspended(api, run_id)
    signoff = {"answered_by": people["slt"], "decision": "approve"}
    signoff["one_time_code"] = code_for(case_id, key, people["slt"])
    assert resume_via_api(api, run_id, signoff)["status"] == "ACCEPT"
    case = wait_for_step(case_id, "parents")
    assert case["chronology"][-1]["by"] == people["slt"]

    # Only keyed hashes are kept, each code is spent once, and Prefect keeps no answer.
    with session_scope() as session:
        rows = list(session.scalars(select(PersonalLink).where(*codes_of(case_id))))
    assert rows and all(len(r.secret_hash or "") == 64 for r in rows)
    assert sum(r.outcome == "answered" for r in rows) == 2
    assert typed.upper().replace(" ", "") not in json.dumps([r.secret_hash for r in rows])
    inputs = web.post(
        f"{api}/flow_runs/{run_id}/input/filter", json={"prefix": "suspended", "limit": 200}
    ).json()
    assert not [i for i in inputs if i["key"].endswith("-response")]


@on_sqlite_only
def test_cli_refuses_wrong_and_expired_codes_and_asks_again(
    stack: Any, people: dict[str, str]
) -> None:
    mark = marker()
    case_id = new_case(people, mark)
    dsl = people["dsl"]

    wrong = answer(case_id, "assess-criteria", dsl, assessment(mark), code="ZZZZ-ZZZZ")
    assert wrong.exit_code == 1
    assert "one-time code" in wrong.stderr and "Traceback" not in wrong.output
    case = show_case(case_id)
    assert refused_codes(case) == ["code-wrong"]
    assert case["status"] == "open"

    # An expired code is refused too; a new one is sent with the next ask.
    key = next_wait(case_id, case["chronology"][-1]["key"])["waiting"]["key"]
    code = code_for(case_id, key, dsl)
    with session_scope() as session:
        session.execute(
            update(PersonalLink)
            .where(*codes_of(case_id), PersonalLink.key == key)
            .values(expires_at=utcnow())
        )
    expired = answer(case_id, "assess-criteria", dsl, assessment(mark), code=code)
    assert expired.exit_code == 1 and "expired" in expired.stderr
    assert refused_codes(show_case(case_id)) == ["code-expired"]

    # An empty code is a usage error that changes nothing.
    before = show_case(case_id)
    missing = answer(case_id, "assess-criteria", dsl, assessment(mark), code=" ")
    assert missing.exit_code == 1 and "--code" in missing.stderr
    assert show_case(case_id)["chronology"] == before["chronology"]

    answer_ok(case_id, "assess-criteria", dsl, assessment(mark))
    wait_for_step(case_id, "management-signoff")


@on_sqlite_only
def test_resend_replaces_everyones_codes_for_the_current_step(
    stack: Any, people: dict[str, str]
) -> None:
    from harness.cases import cli

    mark = marker()
    case_id = new_case(people, mark)
    key = wait_for_step(case_id, "assess-criteria")["waiting"]["key"]
    first = code_for(case_id, key, people["dsl"])

    resent = cli("case", "resend", str(case_id))
    assert resent.exit_code == 0, resent.output
    assert people["dsl"] in resent.stdout and people["deputy"] in resent.stdout

    def latest_code() -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            code = code_for(case_id, key, people["dsl"])
            if code != first:
                return code
            time.sleep(0.2)
        raise AssertionError("no new code arrived")

    second = latest_code()
    old = answer(case_id, "assess-criteria", people["dsl"], assessment(mark), code=first)
    assert old.exit_code == 1 and "used already" in old.stderr
    next_wait(case_id, key)  # asked again under a new key, with new codes: answer that one
    answer_ok(case_id, "assess-criteria", people["dsl"], assessment(mark))
    wait_for_step(case_id, "management-signoff")
    assert second != first

    unknown = cli("case", "resend", "999999")
    assert unknown.exit_code == 1 and "999999" in unknown.stderr


def test_the_assessor_cannot_co_sign_in_any_door_even_after_joining_the_management_team(
    stack: Any, listener: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    """A DSL who assessed, then moves to the management team mid-case, is still the first
    person: no link or code reaches them, and the dashboard and the CLI refuse them."""
    from models.tables.directory import Staff

    api, dsl = prefect_server.api_url, people["dsl"]
    mark = marker()
    case_id = new_case(people, mark)
    answer_ok(case_id, "assess-criteria", dsl, assessment(mark))
    waiting = wait_for_step(case_id, "management-signoff")["waiting"]
    assert dsl not in waiting["who_may_answer"]
    with session_scope() as session:
        session.execute(update(Staff).where(Staff.staff_id == dsl).values(role="slt"))
    try:
        # The SLT tag's message reaches their address, but no personal link or code does.
        code_for(case_id, waiting["key"], people["slt"])
        mine = [
            r
            for r in listener.records
            if r.path == f"/{stack.backend}/staff/{dsl}"
            and f"SS-{case_id:06d}" in r.body.get("title", "")
            and "your code" in r.body.get("title", "")
        ]
        assert [r.body["title"] for r in mine if "management sign-off" in r.body["title"]] == []

        refused = answer(case_id, "management-signoff", dsl, {"decision": "approve"}, code="AAAA")
        assert refused.exit_code == 1 and "second, different person" in refused.stderr

        # the CLI's refusal was recorded and the step asked again: the dashboard answers that
        # new wait, and its own refusal shows once the case waits under a key after that one
        wait_until_suspended(api, waiting["flow_run_id"])
        asked_again = show_case(case_id)["waiting"]["key"]
        assert asked_again != waiting["key"]
        form = {"answered_by": dsl, "decision": "approve", "one_time_code": "AAAA-AAAA"}
        assert resume_via_api(api, waiting["flow_run_id"], form)["status"] == "ACCEPT"
        case = next_wait(case_id, asked_again)
        assert refused_codes(case) == ["same-person"]
    finally:
        with session_scope() as session:
            session.execute(update(Staff).where(Staff.staff_id == dsl).values(role="dsl"))
    answer_ok(case_id, "management-signoff", people["slt"], {"decision": "approve"})
    wait_for_step(case_id, "parents")


@on_sqlite_only
def test_an_answer_recorded_while_prefect_is_away_moves_on_at_the_next_check(
    stack: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    """`safeshare answer` records the answer in the case database first; when Prefect cannot
    be reached it says so, changes nothing in Prefect, and the next overdue check wakes the
    run: the answer is never lost whatever Prefect says."""
    import subprocess
    import sys
    from pathlib import Path

    from harness.prefect_server import free_port

    case_id = new_case(people, marker())
    waiting = open_wait(case_id, "assess-criteria")["waiting"]
    wait_until_suspended(prefect_server.api_url, waiting["flow_run_id"])
    code = code_for(case_id, waiting["key"], people["dsl"])
    away = stack.env | {
        "PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api",
        "PREFECT_CLIENT_MAX_RETRIES": "1",
    }
    argv = ["answer", str(case_id), "assess-criteria", "--as", people["dsl"]]
    argv += ["--code", code, "--input", json.dumps(assessment(marker()))]
    done = subprocess.run(
        [str(Path(sys.executable).with_name("safeshare")), *argv],
        env=away,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert f"Answer recorded on case {case_id}" in done.stdout
    assert "could not be told yet (unreachable)" in done.stderr
    accepted = [e for e in show_case(case_id)["chronology"] if e["key"] == waiting["key"]]
    assert [(e["accepted"], e["by"]) for e in accepted] == [(True, people["dsl"])]
    # (Whether the run is still paused here is not asked: the stack's own scheduled check may
    # have woken it already, which is the point. The CLI itself could not tell Prefect: it said
    # so above, and its Prefect was a port nobody listens on.)
    result = cli("overdue", "--check-now", "--json")
    assert result.exit_code == 0, result.output
    assert wait_for_step(case_id, "management-signoff")["waiting"]["key"] != waiting["key"]


def test_a_burst_of_dashboard_answers_is_taken_at_the_first_try(
    stack: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    """Ten senior leaders press Resume at the same moment (a school day's first sign-offs, here
    the DSL's assessments): Prefect's server takes each at its first try, none is refused for a
    locked database, and every case moves on with its own answer."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    api, dsl = prefect_server.api_url, people["dsl"]
    cases = {new_case(people, marker()): "" for _ in range(10)}
    for case_id in cases:
        waiting = wait_for_step(case_id, "assess-criteria")["waiting"]
        wait_until_suspended(api, waiting["flow_run_id"])
        cases[case_id] = waiting["flow_run_id"]
    answers = {
        case_id: {
            "answered_by": dsl,
            **assessment(marker()),
            "one_time_code": code_for(case_id, show_case(case_id)["waiting"]["key"], dsl),
        }
        for case_id in cases
    }
    start = threading.Barrier(len(cases))

    def press(case_id: int) -> tuple[int, str]:
        """One press of Resume, as the dashboard makes it: once, no retry."""
        start.wait()
        url = f"{api}/flow_runs/{cases[case_id]}/resume"
        response = httpx.post(
            url, json={"run_input": answers[case_id]}, timeout=120, verify=web.TLS
        )
        status = response.json().get("status") if response.status_code < 300 else None
        return response.status_code, str(status)

    with ThreadPoolExecutor(len(cases)) as pool:
        outcomes = list(pool.map(press, cases))
    assert all(status == "ACCEPT" for _, status in outcomes), outcomes
    for case_id in cases:
        accepted = [
            e
            for e in wait_for_step(case_id, "management-signoff")["chronology"]
            if e["step"] == "assess-criteria" and e["accepted"]
        ]
        assert [(e["by"], e["channel"]) for e in accepted] == [(dsl, "form")]
