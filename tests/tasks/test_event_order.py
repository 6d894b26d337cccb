"""A pupil's plan events go to children's social care in the order they were recorded, on both
case databases: an event waits for the same pupil's earlier events (recorded within the window,
still open) until their message to the agency is delivered, and not for another pupil's, an
older one's or a closed one's; it goes on its own once its patience runs out."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from harness.databases import DATA_KEYS, migrated_database
from sqlalchemy import update

from foundations.db import session_scope
from foundations.settings import Settings, settings_in_force
from models.kernel.roles import Role
from models.plan_event.policy import ORDER_WINDOW, PlanEventFacts, PlanEventKind
from models.tables.cases import Case
from models.tables.outbox import Notification
from tasks import event_order
from tasks.children import add_child
from tasks.event_order import after_earlier_events, earlier_undelivered
from tasks.plan_events import record_plan_events
from tasks.staff import add_staff

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(params=("sqlite", "postgresql"))
def setting(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    with (
        migrated_database(request.param, tmp_path) as url,
        settings_in_force(Settings(home=tmp_path, database_url=url, data_keys=DATA_KEYS)),
    ):
        add_staff("office1", name="O", role=Role.STAFF, notify_url=None)
        add_child("C-A", date_of_birth=date(2015, 3, 1), cp_plan=True)
        add_child("C-B", date_of_birth=date(2015, 3, 1), cp_plan=True)
        yield tmp_path


def events(*refs: str) -> list[int]:
    """One plan event per pupil reference, recorded in this order: their case ids."""
    facts = [
        PlanEventFacts(
            child_ref=ref,
            kind=PlanEventKind.UNEXPLAINED_ABSENCE,
            occurred_at=NOW - timedelta(hours=1, minutes=n),
            recorded_by="office1",
        )
        for n, ref in enumerate(refs)
    ]
    return [r.case_id for r in record_plan_events(list(enumerate(facts, 1)), now=NOW)]


def told(case_id: int, status: str = "sent") -> None:
    """The agency's message of this case, in the outbox with this status."""
    with session_scope() as session:
        session.add(
            Notification(
                key=f"case:{case_id}:notify-agency:agency:csc",
                case_id=case_id,
                tag="agency:csc",
                kind="disclosure",
                status=status,
            )
        )


def test_an_event_waits_for_the_same_pupils_earlier_events_only(setting: Path) -> None:
    first, other_pupil, second, third = events("C-A", "C-B", "C-A", "C-A")

    assert earlier_undelivered(first) == []
    assert earlier_undelivered(second) == [first]  # not the other pupil's
    assert earlier_undelivered(third) == [first, second]
    told(first, status="failed")  # tried, not delivered: still ahead of the rest
    assert earlier_undelivered(second) == [first]
    with session_scope() as session:
        session.execute(
            update(Notification).where(Notification.case_id == first).values(status="sent")
        )
    assert earlier_undelivered(third) == [second]
    with session_scope() as session:  # closed (the DSL recorded it another way): not awaited
        session.execute(update(Case).where(Case.id == second).values(status="shared"))
    assert earlier_undelivered(third) == []
    assert earlier_undelivered(other_pupil) == []


def test_an_event_recorded_long_before_is_not_waited_for(setting: Path) -> None:
    old, new = events("C-A", "C-A")
    with session_scope() as session:
        session.execute(
            update(Case)
            .where(Case.id == old)
            .values(opened_at=NOW - ORDER_WINDOW - timedelta(minutes=1))
        )
    assert earlier_undelivered(new) == []


def test_the_wait_ends_when_the_earlier_message_is_delivered(setting: Path) -> None:
    first, second = events("C-A", "C-A")
    delivered = threading.Timer(0.5, told, args=(first,))
    delivered.start()
    started = time.monotonic()
    try:
        assert after_earlier_events(second) == []
    finally:
        delivered.join()
    assert time.monotonic() - started >= 0.4  # it did wait for it


def test_an_event_goes_on_its_own_when_its_patience_runs_out(
    setting: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = events("C-A", "C-A")
    monkeypatch.setattr(event_order, "ORDER_PATIENCE", timedelta(seconds=0.5))
    assert after_earlier_events(second) == [first]


def test_a_pupils_runs_start_in_order_while_other_pupils_start_beside_them() -> None:
    """A feed's runs start several at once, but a pupil's later event never starts before their
    earlier one has: it could take a runner's last slot and wait there for an earlier run that
    no slot is left for. The first start of pupil A is held until pupil B's has begun (proof that
    other pupils start beside it); A's second must not begin meanwhile."""
    b_began = threading.Event()
    began: list[str] = []
    a_first_done = threading.Event()

    def start(name: str) -> str:
        began.append(name)
        if name == "A1":
            assert b_began.wait(10), "pupil B's start waited for pupil A's"
            time.sleep(0.2)  # long enough for A2 to begin, were it free to
            a_first_done.set()
        elif name == "A2":
            assert a_first_done.is_set(), "A2 began before A1 had returned"
        elif name == "B1":
            b_began.set()
        return name.lower()

    starts = [(pupil, lambda n=f"{pupil}{i}": start(n)) for i in (1, 2) for pupil in "AB"]
    starts += [("C", lambda: start("C1"))]
    assert event_order.start_in_order(starts, 4) == ["a1", "b1", "a2", "b2", "c1"]
    assert began.index("A2") > began.index("A1") and set(began) == {"A1", "A2", "B1", "B2", "C1"}


def test_a_start_that_fails_does_not_stop_the_pupils_next() -> None:
    """A start that raises is reported as it is; the same pupil's next start still runs."""

    ran: list[str] = []

    def broken() -> str:
        raise RuntimeError("Prefect is down")

    with pytest.raises(RuntimeError, match="Prefect is down"):
        event_order.start_in_order([("A", broken), ("A", lambda: ran.append("A2") or "a2")], 2)
    assert ran == ["A2"]
