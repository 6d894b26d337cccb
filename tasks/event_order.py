"""Where a pupil's plan events are kept in order on their way out: several serving processes run
the events of one feed at once, so the message of a later event could reach children's social
care before an earlier one's. Before its message goes, an event's run waits, polling the case
database, until every earlier event of the same pupil (recorded within the policy's window) has
had its message to the agency delivered, or its patience runs out
(models/plan_event/policy.py). Each pupil's runs are started in the order their events were
recorded (`start_in_order`, even when a feed's runs start several at once) and Prefect's runners
take the earliest first, so the wait is short: the earlier run is already running, or done. A
later event created first could take a runner's last slot and wait there for an earlier one that
no slot is left for."""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

from sqlalchemy import and_, exists, select

from foundations.db import session_scope
from models.kernel.steps import CaseKind, CaseStatus
from models.plan_event.policy import ORDER_PATIENCE, ORDER_WINDOW
from models.tables.cases import Case
from models.tables.outbox import Notification

log = logging.getLogger("safeshare.plan-events")

T = TypeVar("T")

#: How often a waiting event looks again.
LOOK_EVERY_SECONDS = 0.2


def earlier_undelivered(case_id: int) -> list[int]:
    """The same pupil's plan events recorded before this one, within the window, still open,
    whose message to the agency has not been delivered yet: their case ids."""
    with session_scope() as session:
        case = session.get(Case, case_id)
        assert case is not None
        told = exists().where(
            and_(
                Notification.case_id == Case.id,
                Notification.kind == "disclosure",
                Notification.tag.like("agency:%"),
                Notification.status == "sent",
            )
        )
        return list(
            session.scalars(
                select(Case.id).where(
                    Case.kind == CaseKind.PLAN_EVENT.value,
                    Case.child_id == case.child_id,
                    Case.id < case_id,
                    Case.status == CaseStatus.OPEN.value,
                    Case.opened_at >= case.opened_at - ORDER_WINDOW,
                    ~told,
                )
            )
        )


def after_earlier_events(case_id: int) -> list[int]:
    """Wait until the pupil's earlier events have been passed on (or patience runs out); the
    case ids still waiting when it ran out (none when all went first)."""
    deadline = time.monotonic() + ORDER_PATIENCE.total_seconds()
    while True:
        waiting = earlier_undelivered(case_id)
        if not waiting or time.monotonic() >= deadline:
            break
        time.sleep(LOOK_EVERY_SECONDS)
    if waiting:
        log.warning(
            "case %s's plan event goes before case(s) %s: not passed on within %s",
            case_id,
            ", ".join(map(str, waiting)),
            ORDER_PATIENCE,
        )
    return waiting


def start_in_order(starts: Sequence[tuple[Hashable, Callable[[], T]]], at_once: int) -> list[T]:
    """Call each start, `at_once` at a time, in the given order, each one only once the one
    before it with the same key (the pupil) has returned; the results, in the given order. Each
    call runs in a copy of this context (the audit trail names who started it). A thread never
    waits for a start that has not begun: the one it waits for was handed out before it."""
    before: dict[Hashable, Future[T]] = {}

    def after(previous: Future[T] | None, start: Callable[[], T]) -> T:
        if previous is not None:
            wait([previous])  # its own failure is its own: this one starts all the same
        return start()

    with ThreadPoolExecutor(at_once) as pool:
        futures = []
        for key, start in starts:
            future = pool.submit(contextvars.copy_context().run, after, before.get(key), start)
            before[key] = future
            futures.append(future)
        return [future.result() for future in futures]
