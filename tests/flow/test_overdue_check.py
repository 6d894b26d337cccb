"""The overdue check on the real stack, on both case databases, with an injected clock: a receipt
goes overdue, the escalation messages reach the listener exactly once per rung (also when two
checks run at once), and the agency's confirmation through its link ends it. The check is
served on a schedule."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from harness import web
from harness.cases import (
    about_case,
    agency_link,
    case_awaiting_receipt,
    cli,
    marker,
    notifications_for,
    outbox,
    sent_once,
    wait_for_status,
    wait_for_step,
)
from harness.databases import on_sqlite_only

pytestmark = pytest.mark.flow

EVERY = timedelta(hours=4)  # SAFESHARE_ESCALATE_EVERY_HOURS's default


def overdue_messages(listener: Any, backend: str, case_id: int) -> Counter[tuple[str, str]]:
    return Counter(
        {
            k: n
            for k, n in notifications_for(listener, backend, case_id).items()
            if "overdue" in k[1]
        }
    )


def check(at: datetime) -> list[dict[str, Any]]:
    result = cli("overdue", "--check-now", "--json", "--at", at.isoformat())
    assert result.exit_code == 0, result.output
    return list(json.loads(result.stdout))


@on_sqlite_only
def test_an_overdue_receipt_climbs_its_ladder_once_per_rung(
    stack: Any, listener: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    case_id, mark, case = case_awaiting_receipt(people)
    due = datetime.fromisoformat(case["waiting"]["due"])
    backend = stack.backend
    about = about_case(backend, case_id)
    reminders: set[tuple[str, str, str]] = set()

    def remind(level: int, to: str, tag: str | None = None) -> None:
        """One more reminder expected: its outbox key, the tag it goes to, its kind."""
        key = f"case:{case_id}:{case['waiting']['key']}:overdue:{level}:{to}"
        reminders.add((key, tag or to, f"overdue:{level}"))

    def arrived() -> Counter[tuple[str, str]]:
        # The checks have returned: every reminder they decided on is in the outbox. Once
        # those rows are sent, each reached the listener once and none can go again.
        rows = sent_once(
            stack,
            listener,
            rows=len(reminders),
            case_id=case_id,
            pick=lambda row: row.kind.startswith("overdue:"),
            messages=lambda records: [r for r in about(records) if "overdue" in r.body["title"]],
        )
        assert {(row.key, row.tag, row.kind) for row in rows} == reminders, rows
        counts = overdue_messages(listener, backend, case_id)
        assert sum(counts.values()) == len(reminders), counts  # each to one address
        return counts

    # Not yet due: nothing, and the case is not listed.
    assert case_id not in [c["case_id"] for c in check(due - timedelta(minutes=1))]
    assert not [row for row in outbox(stack, case_id) if row.kind.startswith("overdue:")]
    assert not overdue_messages(listener, backend, case_id)

    # Due: the people who must act (dsl1 and dep1, each on their own address).
    listed = check(due + timedelta(minutes=1))
    assert case_id in [c["case_id"] for c in listed]
    remind(1, f"staff:{people['dsl']}")
    remind(1, f"staff:{people['deputy']}")
    counts = arrived()
    assert {path for path, _ in counts} == {f"/staff/{people['dsl']}", f"/staff/{people['deputy']}"}
    check(due + timedelta(minutes=2))  # a later check at the same rung sends nothing new
    arrived()

    # Two rungs later, two checks at once: the deputy DSLs (dep1's address), then the head and
    # senior leaders (the slt tag: the config file's address, head1, head2), once each.
    # Two processes, as a scheduled check and a person's --check-now would be.
    later = due + 2 * EVERY + timedelta(minutes=1)
    safeshare = str(Path(sys.executable).parent / "safeshare")
    argv = [safeshare, "overdue", "--check-now", "--json", "--at", later.isoformat()]
    both = [
        subprocess.Popen(argv, env=stack.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for process in both:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
        assert case_id in [c["case_id"] for c in json.loads(out)]
    remind(2, f"staff:{people['deputy']}")
    remind(3, f"staff:{people['slt']}")
    remind(3, f"staff:{people['slt2']}")
    remind(3, "slt", "shared:slt")  # the config file's address for the slt tag
    counts = arrived()
    titles = {title for _, title in counts}
    assert any("reminder 2: deputy DSLs" in t for t in titles)
    assert any("reminder 3: head and senior leaders" in t for t in titles)

    # The top rung for a receipt: the agency's duty line.
    check(due + 3 * EVERY + timedelta(minutes=1))
    remind(4, "agency:csc")
    counts = arrived()
    assert ("/tag/agency-csc", next(t for _, t in counts if "reminder 4" in t)) in counts
    for record in listener.records:
        assert mark not in json.dumps(record.body), "personal data in a notification"

    # The agency confirms through the link in its notification: the case completes, is no
    # longer overdue, and nothing more is sent.
    url = agency_link(listener, backend, case_id)
    page = web.get(url)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    fields = {"csrf": csrf, "name": "Duty worker", "role": "Team manager", "reference": "R-1"}
    assert web.post(url, data=fields).status_code == 200
    assert wait_for_status(case_id, "shared")["receipt"]["agency_reference"] == "R-1"
    assert case_id not in [c["case_id"] for c in check(due + 10 * EVERY)]
    arrived()


@on_sqlite_only
def test_a_case_recorded_while_prefect_was_away_is_started_by_the_next_check(
    stack: Any, listener: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    from models.sharing.concern import Category, ConcernFacts
    from tasks.concerns import record_concern
    from tasks.views import show_case

    # The form (or the CLI) recorded the concern, then could not reach Prefect: no run.
    case_id = record_concern(
        ConcernFacts(
            child_ref="C-0001",
            raised_by=people["teacher"],
            category=Category.NEGLECT,
            occurred_at=datetime.now(UTC) - timedelta(hours=1),
            what_happened=f"{marker()} what happened",
        )
    )
    assert show_case(case_id)["flow_run_id"] is None
    check(datetime.now(UTC))  # recorded a moment ago: its door may be starting it now
    assert show_case(case_id)["flow_run_id"] is None

    # A minute on, the check starts it; the DSL is told, and the case waits for the assessment.
    check(datetime.now(UTC) + timedelta(minutes=2))
    case = wait_for_step(case_id, "assess-criteria")
    run_id = case["flow_run_id"]
    assert run_id

    # this stack's deployment: the other stack on the same Prefect server has a case 7 too
    deployment = web.get(
        f"{prefect_server.api_url}/deployments/name/sharing-case/{stack.env['SAFESHARE_DEPLOYMENT']}"
    ).json()["id"]

    def runs_of_case() -> list[str]:
        runs = web.post(
            f"{prefect_server.api_url}/flow_runs/filter",
            json={"flow_runs": {"tags": {"all_": ["safeshare"]}}, "limit": 200,
                  # this stack's runs: the other stack's case of the same id is not this one
                  "deployments": {"name": {"any_": [stack.env["SAFESHARE_DEPLOYMENT"]]}},
                  "sort": "EXPECTED_START_TIME_DESC"},
        ).json()  # fmt: skip
        return [
            r["id"]
            for r in runs
            if r["parameters"].get("case_id") == case_id and r["deployment_id"] == deployment
        ]

    # Checked again: the case keeps its one run.
    check(datetime.now(UTC) + timedelta(minutes=3))
    assert show_case(case_id)["flow_run_id"] == run_id
    assert runs_of_case() == [run_id]
    told = [n for n in show_case(case_id)["notifications"] if n["tag"] == "dsl"]
    assert len(told) == 1 and told[0]["status"] == "sent", told


@on_sqlite_only
def test_the_check_is_served_on_a_schedule(stack: Any, prefect_server: Any) -> None:
    deployment = web.get(
        f"{prefect_server.api_url}/deployments/name/overdue-check/{stack.env['SAFESHARE_DEPLOYMENT']}"
    ).json()
    crons = [s["schedule"].get("cron") for s in deployment["schedules"]]
    assert crons == ["*/5 * * * *"] and all(s["active"] for s in deployment["schedules"])


def test_a_bad_time_changes_nothing(stack: Any, people: dict[str, str]) -> None:
    # (people: the CLI's user, dsl1, must exist for the command to get as far as --at)
    result = cli("overdue", "--check-now", "--at", "tomorrow")
    assert result.exit_code == 1 and "--at 'tomorrow'" in result.stderr
