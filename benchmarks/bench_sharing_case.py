"""Benchmark of the sharing case on a real stack: answer-to-next-step latency and the memory a
waiting case costs. Prints figures; asserts nothing (the machines are noisy).

    make bench            # or: .venv/bin/python -m benchmarks.bench_sharing_case --waiting 200
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from benchmarks.measures import (  # noqa: E402  (after the environment it needs)
    ASSESSMENT,
    bench_stack,
    burst,
    code_of,
    overhead,
    rss_mb,
    served,
    stop_cleanly_on_sigterm,
)


def main() -> None:

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--waiting", type=int, default=200, help="cases left waiting")
    parser.add_argument("--answers", type=int, default=10, help="answers timed through each door")
    parser.add_argument(
        "--run-start",
        choices=("forkserver", "spawn"),
        default="forkserver",
        help="how served runs start (SAFESHARE_RUN_START)",
    )
    parser.add_argument("--whole", type=int, default=3, help="whole cases against bare flows")
    parser.add_argument(
        "--burst", type=int, default=20, help="cases answered at the same moment, per door"
    )
    parser.add_argument(
        "--poll",
        type=float,
        default=5.0,
        help="the runner's safety-net poll, seconds (SAFESHARE_RUNNER_POLL_SECONDS); the events "
        "stream wakes it when a run is resumed",
    )
    args = parser.parse_args()
    stop_cleanly_on_sigterm()

    with bench_stack(runner_poll_seconds=args.poll, run_start=args.run_start) as stack:
        measure(stack.server, stack.env, stack.listener, args)


def measure(server, env: dict[str, str], listener, args: argparse.Namespace) -> None:  # noqa: ANN001
    """Serve the deployments on the settings in force, and time cases through them."""
    import subprocess

    import httpx

    from models.sharing.concern import Category, ConcernFacts
    from tasks.concerns import record_concern
    from tasks.starting import start_case_run
    from tasks.views import show_case

    serve = subprocess.Popen(
        [sys.executable, "-m", "deployments.serve"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        served(serve)
        time.sleep(3)  # let the serving process settle before it is measured idle
        idle = rss_mb([server.pid, serve.pid])
        print(f"runs start by {args.run_start}")
        print(f"stack memory, 0 waiting cases: {idle:.0f} MB (Prefect server + serving process)")

        def start() -> int:
            facts = ConcernFacts(
                child_ref="B-1",
                raised_by="dsl1",
                category=Category.NEGLECT,
                occurred_at=datetime.now(UTC),
                what_happened="bench",
            )
            case_id = record_concern(facts)
            _, problem = start_case_run(case_id)  # as every door starts a case: by its key
            if problem is not None:
                raise RuntimeError(problem)
            return case_id

        def suspended(run_id: str) -> bool:
            state = httpx.get(f"{server.api_url}/flow_runs/{run_id}").json()["state"]
            if not state or state["type"] != "PAUSED":
                return False
            # Prefect stores the form a moment after marking the run suspended.
            keyset = state["state_details"]["run_input_keyset"]
            if keyset is None:  # the bare flow waits without a form
                return True
            schema = keyset["schema"]
            return httpx.get(f"{server.api_url}/flow_runs/{run_id}/input/{schema}").is_success

        def waiting_step(case_id: int) -> str | None:
            return (show_case(case_id)["waiting"] or {}).get("step")

        def resume(run_id: str, answer: dict | None) -> None:
            for _attempt in range(60):  # a busy SQLite Prefect server may answer 503: again
                response = httpx.post(
                    f"{server.api_url}/flow_runs/{run_id}/resume",
                    json={} if answer is None else {"run_input": answer},
                )
                if response.status_code < 500:
                    break
                time.sleep(0.5)
            if response.json().get("status") != "ACCEPT":
                raise RuntimeError(f"resume refused: {response.text[:300]}")

        def wait(pred, timeout: float = 600) -> None:  # noqa: ANN001
            deadline = time.monotonic() + timeout
            while not pred():
                if time.monotonic() > deadline:
                    raise TimeoutError("benchmark step timed out")
                time.sleep(0.1)

        cases = [start() for _ in range(args.waiting)]
        t0 = time.monotonic()
        for case_id in cases:
            wait(lambda c=case_id: (show_case(c)["waiting"] or {}).get("step") == "assess-criteria")
            wait(lambda c=case_id: suspended(show_case(c)["flow_run_id"]))
        print(
            f"{args.waiting} cases suspended at their first step "
            f"({time.monotonic() - t0:.0f} s after the last was recorded)"
        )
        time.sleep(3)
        busy = rss_mb([server.pid, serve.pid])
        print(
            f"stack memory, {args.waiting} waiting cases: {busy:.0f} MB "
            f"({(busy - idle) * 1024 / max(args.waiting, 1):.0f} KB per waiting case)"
        )

        def with_code(case_id: int, answer: dict) -> dict:
            """The answer with the one-time code its person was sent for the current wait."""
            key = show_case(case_id)["waiting"]["key"]
            return answer | {
                "one_time_code": code_of(listener, case_id, key, answer["answered_by"])
            }

        def by_dashboard(case_id: int, answer: dict) -> None:
            resume(show_case(case_id)["flow_run_id"], answer)

        def by_cli(case_id: int, answer: dict) -> None:
            """What `safeshare answer` does: record the answer with its code, wake the run."""
            from models.kernel.steps import Step
            from tasks.answers import give_answer

            raw = dict(answer)
            code = raw.pop("one_time_code")
            if not give_answer(case_id, Step.ASSESS_CRITERIA, raw, code).accepted:
                raise RuntimeError("the benchmark's answer was refused")

        doors = {"dashboard (run input)": by_dashboard, "CLI and links (wake only)": by_cli}
        for n, (door, give) in enumerate(doors.items()):
            latencies = []
            for case_id in cases[n * args.answers : (n + 1) * args.answers]:
                answer = with_code(case_id, ASSESSMENT)
                t = time.monotonic()
                give(case_id, answer)
                wait(lambda c=case_id: waiting_step(c) == "management-signoff")
                latencies.append(time.monotonic() - t)
            if latencies:
                print(
                    f"answer -> next step waiting, {door}: median "
                    f"{statistics.median(latencies):.2f} s, min {min(latencies):.2f} s, "
                    f"max {max(latencies):.2f} s over {len(latencies)}"
                )

        def dashboard_once(case_id: int, answer: dict) -> str:
            """One press of the Resume button: its HTTP status (the dashboard does not retry)."""
            run_id = show_case(case_id)["flow_run_id"]
            url = f"{server.api_url}/flow_runs/{run_id}/resume"
            response = httpx.post(url, json={"run_input": answer}, timeout=120)
            accepted = response.status_code < 300 and response.json().get("status") == "ACCEPT"
            return "accepted" if accepted else f"HTTP {response.status_code}"

        def cli_once(case_id: int, answer: dict) -> str:
            """`safeshare answer`: recorded, and what became of waking the run."""
            from models.kernel.steps import Step
            from tasks.answers import give_answer

            raw = dict(answer)
            code = raw.pop("one_time_code")
            given = give_answer(case_id, Step.ASSESS_CRITERIA, raw, code)
            return f"recorded, run {given.woken.value}" if given.accepted else "refused"

        if args.burst:
            rest = cases[len(doors) * args.answers :]
            burst(server, rest[: args.burst], dashboard_once, with_code, "dashboard")
            burst(server, rest[args.burst : 2 * args.burst], cli_once, with_code, "CLI")
        if args.whole:
            overhead(server, env, start, resume, suspended, wait, with_code, args.whole)
    finally:
        serve.terminate()
        serve.wait(timeout=30)


if __name__ == "__main__":
    main()
