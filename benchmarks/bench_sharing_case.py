"""Benchmark of the sharing case on a real stack: answer-to-next-step latency and the memory a
waiting case costs. Prints figures; asserts nothing (the machines are noisy).

    make bench            # or: .venv/bin/python -m benchmarks.bench_sharing_case --waiting 200
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def rss_mb(pids: list[int]) -> float:
    """Resident memory of these processes and all their descendants, in MB."""
    total = 0
    seen: set[int] = set()
    stack = list(pids)
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        stack.extend(int(c) for c in children)
    return total / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--waiting", type=int, default=200, help="cases left waiting")
    parser.add_argument("--answers", type=int, default=10, help="answers timed")
    args = parser.parse_args()

    from harness.databases import case_database
    from harness.prefect_server import running_prefect_server, use_prefect_api

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "prefect").mkdir()
        with running_prefect_server(work / "prefect") as server, use_prefect_api(server.api_url):
            with case_database("sqlite", work) as url:
                run(server, url, work, args)


def run(server, url: str, work: Path, args: argparse.Namespace) -> None:  # noqa: ANN001
    import subprocess

    import httpx
    from prefect.deployments import run_deployment

    from models.domain import Category, ConcernFacts, Role
    from safeshare.db import migrate
    from safeshare.settings import get_settings
    from safeshare.views import show_case
    from tasks.directory import add_child, add_staff, record_concern, set_flow_run

    migrate(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SAFESHARE_"))}
    env |= dict(server.env) | {
        "PREFECT_LOCAL_STORAGE_PATH": str(work / "results"),
        "SAFESHARE_HOME": str(work),
        "DATABASE_URL": url,
        "SAFESHARE_DEPLOYMENT": "bench",
        "SAFESHARE_RUNNER_POLL_SECONDS": "0.5",
    }
    os.environ.update(
        {k: env[k] for k in ("SAFESHARE_HOME", "DATABASE_URL", "SAFESHARE_DEPLOYMENT")}
    )
    get_settings.cache_clear()
    add_staff("dsl1", name="D", role=Role.DSL, notify_url=None)
    add_staff("head1", name="H", role=Role.SLT, notify_url=None)
    add_child("B-1", date_of_birth=date(2015, 1, 1), cp_plan=False)
    serve = subprocess.Popen(
        [sys.executable, "-m", "deployments.serve"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(8)
        idle = rss_mb([server.pid, serve.pid])
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
            flow_run = run_deployment(
                "sharing-case/bench", parameters={"case_id": case_id}, timeout=0
            )
            set_flow_run(case_id, str(flow_run.id))
            return case_id

        def suspended(run_id: str) -> bool:
            state = httpx.get(f"{server.api_url}/flow_runs/{run_id}").json()["state"]
            return bool(state) and state["type"] == "PAUSED"

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

        answer = {
            "evidence_of_harm": "yes",
            "reasonable_cause": "no",
            "prevent_harm_or_crime": "no",
            "public_interest": "yes",
            "reasons": "r",
            "consent": "refused",
            "consent_override_reason": "o",
            "information_to_share": "i",
            "agency": "csc",
            "purpose": "p",
            "lawful_basis": "art6-1-e-public-task",
            "answered_by": "dsl1",
        }
        latencies = []
        for case_id in cases[: args.answers]:
            run_id = show_case(case_id)["flow_run_id"]
            t = time.monotonic()
            httpx.post(f"{server.api_url}/flow_runs/{run_id}/resume", json={"run_input": answer})
            wait(
                lambda c=case_id: (
                    (show_case(c)["waiting"] or {}).get("step") == "management-signoff"
                )
            )
            latencies.append(time.monotonic() - t)
        print(
            f"answer -> next step waiting: median {statistics.median(latencies):.2f} s, "
            f"min {min(latencies):.2f} s, max {max(latencies):.2f} s over {len(latencies)}"
        )
    finally:
        serve.terminate()
        serve.wait(timeout=30)


if __name__ == "__main__":
    main()
