"""`safeshare up --topology production` on this machine as if on several, and when its parts
die: Prefect's API and its background services as separate processes on PostgreSQL, with a
Redis of the test's own (so it can be killed) carrying Prefect's messaging, event ordering,
leases and services' coordination; two serving processes on the same deployments; two web apps;
the case database on PostgreSQL. One `up` for all of it (each start costs a minute of CPU).

- The parts: each is started and said so, every flow is served, both web apps say every
  dependency (Redis included) is up, the services' scheduler (the API has none) schedules the
  overdue check; cases recorded through the CLI start their runs and reach the DSL's wait.
- kill -9 of one serving process while runs are Running: its runs die with it; `up` starts it
  again; the other serving process goes on with its own; the dead one's runs fall silent,
  Prefect's automation finds them and `recover-run` restarts them; every case reaches its next
  wait, every outbox key has one row, every message went once (but the one in flight at the
  kill).
- kill -9 of Prefect's API with cases waiting: `up` starts it again; an answer given while it
  was down is kept and its run resumed by the overdue check; answers given once it is back
  resume their runs.
- Redis killed and started again (empty, as the machine's Redis keeps nothing on disk) while
  cases move: answers given after resume their runs to the next wait, and Prefect's messages go
  through it again. SIGTERM then stops it all, cleanly.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import redis
from harness import web
from harness.cases import assessment, marker
from harness.listeners import HttpListener, HttpRecord
from harness.prefect_server import free_port, free_ports
from harness.processes import Proc, connected_to, descendants, wait_until_gone
from harness.redis_server import own_redis
from harness.up import (
    SAFESHARE,
    SERVED,
    case_waiting_for,
    clean_env,
    cli,
    first_concern,
    outbox_of,
    production_databases,
    served_flows,
    start_up,
    wait_of,
)

CODE = re.compile(r"one-time code: ([A-Z0-9]{4}-[A-Z0-9]{4})")
CASES = 4
SILENT_SECONDS = 35


def parts_of(up: subprocess.Popen[str], word: str) -> list[Proc]:
    """The living processes `up` started whose command line holds `word`."""
    return [p for p in descendants(up.pid) if p.ppid == up.pid and word in p.cmdline]


def said_so(lines: list[str], text: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in line for line in lines):
        assert time.monotonic() < deadline, f"`up` never said {text!r}: {lines[-20:]}"
        time.sleep(0.2)


def healthy(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if web.get(url).status_code == 200:
                return
        except httpx.HTTPError:  # not listening yet
            pass
        assert time.monotonic() < deadline, f"{url} never answered"
        time.sleep(0.5)


def codes_for(listener: HttpListener, path: str, keys: dict[int, str]) -> dict[int, str]:
    """The one-time code sent to `path` for each case's wait (keys: case id -> wait key)."""
    found: dict[int, str] = {}

    def sent(records: list[HttpRecord]) -> list[HttpRecord]:
        for case_id, key in keys.items():
            for record in records:
                code = CODE.search(str(record.body))
                body = str(record.body)
                ours = f"SS-{case_id:06d}" in body and f"({key})" in body
                if record.path == path and ours and code:
                    found[case_id] = code.group(1)
        return records if len(found) == len(keys) else []

    listener.wait_for(sent, timeout=120)
    return found


def test_the_production_topology_serves_cases_and_outlives_its_parts(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = clean_env(home)
    mark = marker()
    with (
        production_databases(tmp_path) as (cases_url, databases),
        HttpListener() as listener,
        own_redis() as redis_server,
    ):
        prefect_port, web_port = free_port(), free_ports(2)  # the second web app: the next
        env |= databases | {
            "SAFESHARE_REDIS_URL": redis_server.url,
            "SAFESHARE_RUN_SILENT_SECONDS": str(SILENT_SECONDS),
        }
        up = start_up(env, prefect_port, web_port, "--topology", "production")
        lines: list[str] = []
        threading.Thread(target=lambda: lines.extend(up.stdout or []), daemon=True).start()
        try:
            said_so(lines, "Data directory:", timeout=240)
            api = f"http://127.0.0.1:{prefect_port}/api"
            _every_part_up(lines, api, web_port)
            case_id, _, dsl = first_concern(env, prefect_port, mark, listener.url("/dsl1"))
            shell = {**env, "SAFESHARE_PREFECT_PORT": str(prefect_port)}
            cli(shell | {"SAFESHARE_USER": "it1"})(
                "staff", "add", "head1", "--name", "H", "--role", "slt",
                "--notify", listener.url("/slt1"),
            )  # fmt: skip
            teacher = cli(shell | {"SAFESHARE_USER": "teacher1"})
            ids = [case_id] + [
                int(json.loads(teacher(
                    "concern", "record", "--child", "C-0001", "--raised-by", "teacher1",
                    "--category", "physical", "--what", f"{mark} what {n}", "--json",
                ))["case_id"])
                for n in range(CASES - 1)
            ]  # fmt: skip
            # the CLI tells the first case's wait (through the topology's case database); the
            # others' are read from it (a CLI process costs a second of CPU on a busy machine)
            waits = {
                case_id: case_waiting_for(dsl, case_id, "assess-criteria", cases_url)["waiting"]
            }
            waits |= {i: wait_of(cases_url, i, "assess-criteria") for i in ids[1:]}
            runs = {i: waits[i]["flow_run_id"] for i in ids}
            codes = codes_for(listener, "/dsl1", {i: waits[i]["key"] for i in ids})

            # 1. kill -9 of one serving process while one of its runs sends a message (held
            # at the listener for the moment it takes; under Apprise's 4 s timeout, so no other
            # sender gives up and tries again)
            with listener.hold("/slt1"):
                answering = [
                    subprocess.Popen(
                        [str(SAFESHARE), "answer", str(i), "assess-criteria", "--as", "dsl1",
                         "--input", json.dumps(assessment(mark)), "--code", codes[i]],
                        env=shell | {"SAFESHARE_USER": "dsl1"},
                        stdout=subprocess.DEVNULL,
                        stdin=subprocess.DEVNULL,
                    )
                    for i in ids
                ]  # fmt: skip
                (first, *_) = listener.wait_for(
                    lambda rs: [r for r in rs if r.path == "/slt1"], timeout=120
                )
                serving = parts_of(up, "deployments.serve")
                assert len(serving) == 2, serving
                # the serving process of a run still sending to the listener (held there)
                victim = _sending(serving, listener.port)
                its_runs = descendants(victim.pid)
                os.kill(victim.pid, signal.SIGKILL)
                assert wait_until_gone([victim, *its_runs], timeout=10) == []
            held = {(r.path, r.body["title"]) for r in listener.records if r.path == "/slt1"}
            assert [p.wait(timeout=120) for p in answering] == [0] * CASES
            said_so(lines, "serving process")  # up saw it die ...
            said_so(lines, "again ...")  # ... and started it again
            try:
                signoff = {i: wait_of(cases_url, i, "management-signoff", 180) for i in ids}
            except AssertionError as exc:
                raise AssertionError(_diagnosis(api, runs, home, lines)) from exc
            assert {i: signoff[i]["flow_run_id"] for i in ids} == runs  # each case's own run
            # a case waits once its run has written so, before its wait's messages go: the runs
            # at their wait (suspended) have sent them, the restarted ones included
            for i in ids:
                _suspended(api, runs[i])
            # a restarted run opens its wait again under a new key, and sends new codes for it:
            # the keys are read once every run is at its wait
            signoff = {i: wait_of(cases_url, i, "management-signoff") for i in ids}
            # the run caught sending was found silent and crashed, and restarted
            assert [i for i in ids if "CRASHED" in _history(api, runs[i])], lines[-20:]
            _each_message_once(cases_url, listener, ids, in_flight=held)

            # 2. kill -9 of Prefect's API with every case waiting for its sign-off
            def slt_code(i: int) -> str:
                """The code head1 was last sent for case i's sign-off (a restarted run that
                sends its request again sends a new code: the latest is the one that holds)."""
                return codes_for(listener, "/slt1", {i: signoff[i]["key"]})[i]

            head = cli(shell | {"SAFESHARE_USER": "head1"})
            (prefect_api,) = parts_of(up, "--no-services")
            os.kill(prefect_api.pid, signal.SIGKILL)
            said_so(lines, "The Prefect API stopped")
            early = ids[0]  # answered while the API is away: kept in the case database
            head("answer", str(early), "management-signoff", "--as", "head1",
                 "--input", '{"decision": "approve"}', "--code", slt_code(early))  # fmt: skip
            try:
                healthy(f"{api}/health")
            except AssertionError as exc:
                raise AssertionError(_diagnosis(api, runs, home, lines)) from exc
            dsl("overdue", "--check-now", "--json")  # the safety net wakes its run
            case_waiting_for(dsl, early, "parents", cases_url, timeout=180)  # as the CLI says

            # 3. Redis killed and started again, empty, while the rest are answered
            redis_server.restart()
            for i in ids[1:]:
                head("answer", str(i), "management-signoff", "--as", "head1",
                     "--input", '{"decision": "approve"}', "--code", slt_code(i))  # fmt: skip
            for i in ids[1:]:
                wait_of(cases_url, i, "parents", 180)
            _each_message_once(cases_url, listener, ids, in_flight=held)
            assert redis.Redis.from_url(redis_server.url).dbsize() > 0  # Prefect's, again
            assert up.poll() is None, lines[-20:]
        finally:
            if up.poll() is None:
                os.killpg(up.pid, signal.SIGTERM)
            code = up.wait(timeout=90)
        assert code == 0, lines[-30:]
    logs = {p.name for p in (home / "logs").iterdir()}
    assert {"prefect-api.log", "prefect-services.log", "serve-1.log", "serve-2.log"} <= logs


def _every_part_up(lines: list[str], api: str, web_port: int) -> None:
    """Each part started, every flow served, both web apps healthy on every dependency, and the
    services' scheduler at work."""
    for part in ("Prefect API", "Prefect services", "serving process 2", "web app 2"):
        said_so(lines, f"Starting the {part} ...")
    assert served_flows(api) == SERVED
    for port in (web_port, web_port + 1):
        healthy(f"http://127.0.0.1:{port}/health")
        checks = web.get(f"http://127.0.0.1:{port}/health").json()["checks"]
        assert list(checks) == ["case database", "prefect api", "redis", "outbox"], checks
    # the scheduler runs in the services' process alone (the API has none): it is what
    # schedules the overdue check's runs
    deadline = time.monotonic() + 120
    while not web.post(
        f"{api}/flow_runs/filter",
        json={"flows": {"name": {"any_": ["overdue-check"]}}, "limit": 1},
    ).json():
        assert time.monotonic() < deadline, "the services never scheduled the overdue check"
        time.sleep(2)


def _diagnosis(api: str, runs: dict[int, str], home: Path, lines: list[str]) -> str:
    """What `up` and Prefect's processes said, then (last, so a shortened report keeps it) what
    each case's run went through and what recover-run did, when the API answers."""
    said = [f"up: {line.rstrip()}" for line in lines[-15:]]
    for log in (
        "prefect-api.log",
        "prefect-services.log",
        *sorted(p.name for p in (home / "logs").glob("serve-*.log")),
    ):
        told = [
            line
            for line in (home / "logs" / log).read_text().splitlines()
            if "HTTP Request:" not in line  # the runners' polls and the API's access log
        ]
        said += [f"{log}: {line}" for line in told[-15:]]
    try:
        recoveries = web.post(
            f"{api}/flow_runs/filter", json={"flows": {"name": {"any_": ["recover-run"]}}}
        ).json()
        said += [f"recover-run {r['parameters']} {r['state']['name']}" for r in recoveries]
        for case_id, run_id in runs.items():
            states = web.get(f"{api}/flow_run_states/", params={"flow_run_id": run_id}).json()
            said.append(
                f"case {case_id} run {run_id}: "
                + ", ".join(f"{s['name']} {s['timestamp'][11:19]}" for s in states)
            )
    except Exception as exc:  # noqa: BLE001 - the API is what failed
        said.append(f"Prefect's API: {exc!r}")
    return "\n".join(said)


def _sending(serving: list[Proc], port: int, timeout: float = 10) -> Proc:
    """The serving process one of whose runs has a connection open to the listener."""
    deadline = time.monotonic() + timeout
    while True:
        senders = connected_to(port)
        for process in serving:
            if set(senders) & {d.pid for d in descendants(process.pid)}:
                return process
        assert time.monotonic() < deadline, (senders, [descendants(p.pid) for p in serving])
        time.sleep(0.05)


def _suspended(api: str, run_id: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while (web.get(f"{api}/flow_runs/{run_id}").json()["state"] or {}).get("type") != "PAUSED":
        assert time.monotonic() < deadline, f"flow run {run_id} never got to its wait"
        time.sleep(0.5)


def _history(api: str, run_id: str) -> list[str]:
    states = web.get(f"{api}/flow_run_states/", params={"flow_run_id": run_id}).json()
    return [s["type"] for s in states]


def _each_message_once(
    cases_url: str, listener: HttpListener, ids: list[int], in_flight: set[Any]
) -> None:
    """Every outbox row of these cases (one per key: the key is unique) was sent; every message
    arrived once, but those in flight at the kill, which may have arrived twice (nobody can know
    they got through). A case is marked waiting before its wait's messages go: those still on
    their way (pending) are waited for, so the count is taken once every row is sent."""
    deadline = time.monotonic() + 120
    while True:
        outbox = outbox_of(cases_url, ids)
        if all(rows and {status for _, status in rows} == {"sent"} for rows in outbox.values()):
            break
        assert time.monotonic() < deadline, outbox
        time.sleep(0.5)
    counts = Counter(
        (r.path, r.body["title"]) for r in listener.records if isinstance(r.body, dict)
    )
    again = {k: n for k, n in counts.items() if n > 1}
    assert set(again) <= in_flight, again
