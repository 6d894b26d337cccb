"""The retention review on the real stack, on both case databases: served on a schedule, it tells
the DSL once a day how many files await a decision (a count, no references or content)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from harness import web
from harness.cases import sent_once
from harness.databases import on_sqlite_only

from models.sharing.concern import Category, ConcernFacts

pytestmark = pytest.mark.flow


@on_sqlite_only
def test_the_dsl_is_told_once_a_day_how_many_files_await_a_decision(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    from flows.retention_review import retention_review
    from tasks.children import add_child
    from tasks.concerns import record_concern

    ref = f"R-{uuid.uuid4().hex[:8]}"
    add_child(ref, date_of_birth=date(1990, 1, 1), cp_plan=False)
    record_concern(
        ConcernFacts(
            child_ref=ref,
            raised_by=people["teacher"],
            category=Category.NEGLECT,
            occurred_at=datetime(2006, 1, 1, tzinfo=UTC),
            what_happened=f"{ref} what happened",
        )
    )
    on = f"2031-0{1 if stack.backend == 'sqlite' else 2}-06"  # a day of this test's own
    start = len(listener.records)  # what arrived before this test is not its message

    def told(records: list[Any]) -> list[Any]:
        """The messages of the review to the dsl tag: the config file's address, dsl1, dep1."""
        return [
            r
            for r in records[start:]
            if r.path.startswith(f"/{stack.backend}/")
            and isinstance(r.body, dict)
            and "retention decision" in r.body.get("title", "")
        ]

    def told_once() -> None:
        """The day's one message, sent once; the review has returned, so nothing more comes."""
        (row,) = sent_once(
            stack,
            listener,
            rows=1,
            pick=lambda row: row.key == f"retention-review:{on}",
            messages=told,
        )
        assert (row.tag, row.kind, row.case_id) == ("dsl", "retention", None), row

    assert retention_review(on=on) >= 1
    told_once()
    (message,) = [r for r in told(listener.records) if r.path == f"/{stack.backend}/tag/dsl"]
    assert ref not in json.dumps(message.body)  # a count, not who
    assert retention_review(on=on) >= 1  # the same day again: not told twice
    told_once()


@on_sqlite_only
def test_the_review_is_served_on_a_schedule(stack: Any, prefect_server: Any) -> None:
    name = stack.env["SAFESHARE_DEPLOYMENT"]
    deployment = web.get(
        f"{prefect_server.api_url}/deployments/name/retention-review/{name}"
    ).json()
    crons = [s["schedule"].get("cron") for s in deployment["schedules"]]
    assert crons == ["0 6 * * 1"] and all(s["active"] for s in deployment["schedules"])
