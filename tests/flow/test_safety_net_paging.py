"""The overdue check's and serving start's resumption of answered waits looks at every waiting
run, not only the first page Prefect answers with: asked to read 10 runs at a time, it resumes all
25 suspended runs, each of a case whose wait is answered in the case database, though no read of
Prefect answered with more than 10.

A page of 10 rather than the real server's 200 keeps this to 25 runs instead of 205 on each
database; that the reader pages the same way at the real server's page, and at any page size, is
tests/tasks/test_flow_run_paging.py's (205 runs against the real server, and pages of 1 to 12).

The runs are real flow runs of the sharing-case flow, created suspended, under a deployment of
their own that nothing serves."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from harness.databases import on_sqlite_only
from prefect import get_client
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.objects import StateType
from prefect.states import Suspended
from sqlalchemy import select, update

from foundations.db import session_scope
from models.kernel.steps import Step
from models.kernel.waits import Wait
from models.runs import CASE_FLOWS
from models.tables.cases import Case, CaseStep, Concern
from models.tables.directory import Child
from tasks.flow_runs import case_runs
from tasks.stranded import resume_answered_runs

pytestmark = pytest.mark.flow

#: The page the runs are read in, and more runs than two and a half such pages.
PAGE = 10
MORE_THAN_A_PAGE = 25


def _answered_cases(count: int, people: dict[str, str], slot: str) -> list[int]:
    """Open cases whose `slot` is answered in the case database, written at once. Each names a
    run of its own for now (none yet in Prefect), so the stack's scheduled checks leave them
    alone while their runs are made."""
    ids = []
    with session_scope() as session:
        child = session.scalar(select(Child.id).where(Child.child_ref == "C-0001"))
        assert child is not None
        for _ in range(count):
            concern = Concern(
                child_id=child,
                raised_by=people["teacher"],
                category="neglect",
                occurred_at=datetime.now(UTC) - timedelta(hours=1),
                what_happened="paging",
            )
            session.add(concern)
            session.flush()
            case = Case(
                concern_id=concern.id,
                child_id=child,
                status="open",
                flow_run_id=str(uuid.uuid4()),
            )
            session.add(case)
            session.flush()
            session.add(
                CaseStep(
                    case_id=case.id,
                    step="mash-advice",
                    slot=slot,
                    key=Wait.parse(slot).key(0),
                    accepted=True,
                    actor=people["dsl"],
                    channel="cli",
                    data={"answered_by": people["dsl"]},
                )
            )
            ids.append(case.id)
    return ids


async def _suspended_runs(deployment: str, slot: str, cases: list[int]) -> dict[int, str]:
    """A real run of each case, suspended at `slot`, under a deployment nothing serves (made
    ten at a time): {case id: run id}."""
    async with get_client() as client:
        flow_id = await client.create_flow_from_name(CASE_FLOWS[0])
        deployment_id = await client.create_deployment(flow_id=flow_id, name=deployment)
        at_once = asyncio.Semaphore(10)

        async def suspended(case_id: int) -> str:
            async with at_once:
                run = await client.create_flow_run_from_deployment(
                    deployment_id,
                    parameters={"case_id": case_id},
                    state=Suspended(pause_key=Wait.parse(slot).key(0), timeout_seconds=None),
                )
            return str(run.id)

        runs = await asyncio.gather(*(suspended(case_id) for case_id in cases))
    return dict(zip(cases, runs, strict=True))


@on_sqlite_only
def test_every_answered_wait_is_resumed_past_a_page(
    stack: Any, people: dict[str, str], prefect_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"paging-{uuid.uuid4().hex[:8]}"
    # a wait of its own, spelt as every wait is (a MASH advice wait in a context nobody else uses)
    slot = Wait(Step.MASH_ADVICE, 0, f"paging-{uuid.uuid4().hex[:6]}").slot
    cases = _answered_cases(MORE_THAN_A_PAGE, people, slot)
    # how many runs each read of this deployment's runs answered with (the reads are real)
    answered: list[int] = []
    read_flow_runs = SyncPrefectClient.read_flow_runs

    def counted(client: SyncPrefectClient, **filters: Any) -> Any:
        runs = read_flow_runs(client, **filters)
        named = filters.get("deployment_filter")
        if named is not None and named.name is not None and named.name.any_ == [name]:
            answered.append(len(runs))
        return runs

    try:
        waiting = asyncio.run(_suspended_runs(name, slot, cases))
        with session_scope() as session:
            for case_id, run_id in waiting.items():
                session.execute(update(Case).where(Case.id == case_id).values(flow_run_id=run_id))

        monkeypatch.setattr(SyncPrefectClient, "read_flow_runs", counted)
        resumed = resume_answered_runs(CASE_FLOWS, name, page=PAGE)
        monkeypatch.undo()

        assert sorted(resumed) == sorted(waiting.values())
        # no read answered with more than a page, and more than a page was resumed
        assert answered and max(answered) <= PAGE < len(resumed)
        with get_client(sync_client=True) as client:
            assert not case_runs(client, CASE_FLOWS, name, [StateType.PAUSED])
    finally:  # these cases are not for the stack's own checks
        with session_scope() as session:
            session.execute(update(Case).where(Case.id.in_(cases)).values(status="closed"))
