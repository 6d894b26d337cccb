"""The upgrade that gives each record that opens a case a table of its own, on both databases: a
database at 0019 with one case of each kind (the four that were kept in `concerns` under a
category prefix, and a concern), upgraded, holds each record in its own table with its values,
its text sealed under its new column's name; every case reads the same through the one reader;
a plan event imported again keeps its case; and a downgrade gives the old rows back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from alembic import command
from harness.databases import DATA_KEYS, case_database, directory_as_of_0019
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from foundations.db import alembic_config, engine_for, session_scope
from foundations.settings import Settings, settings_in_force
from models.deadlines import ENGLAND
from models.kernel.opening import Opening
from models.kernel.roles import Role
from models.kernel.steps import CaseKind
from models.plan_event.policy import PlanEventFacts, PlanEventKind, event_key
from models.tables.cases import Case, CaseStep, Concern
from models.tables.openings import AccessRequest, Leaver, Notice, PlanEvent
from models.transfer import LeaverFacts, MoveKind
from tasks.openings import opening
from tasks.plan_events import record_plan_events

HAPPENED = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
RECORDED = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
LEAVER = LeaverFacts(
    child_ref="C-1",
    leaving_on=date(2026, 12, 18),
    destination="northfield",
    move=MoveKind.NEW_TERM,
    new_term_starts=date(2027, 1, 5),
    recorded_by="office1",
)
EVENT = PlanEventFacts(
    child_ref="C-1",
    kind=PlanEventKind.EXCLUSION_PERMANENT,
    occurred_at=HAPPENED,
    details="excluded after the incident",
    recorded_by="office1",
)


@dataclass
class Old:
    """A case as a 0019 database held it: kind, category, recorder and text of its concern."""

    kind: CaseKind
    category: str
    raised_by: str
    what_happened: str
    submission_key: str | None = None
    occurred_at: datetime = HAPPENED


OLD = {
    "sharing": Old(CaseKind.SHARING, "neglect", "t1", "no coat in the snow", "form-1"),
    "request": Old(CaseKind.ACCESS_REQUEST, "request-parent", "slt1", "every record since 2024"),
    "notice": Old(CaseKind.NOTICE, "notice-police-domestic-abuse", "dsl1", "police call at 2am"),
    "leaver": Old(
        CaseKind.TRANSFER,
        "leaver-new-term",
        "office1",
        "",
        occurred_at=datetime.combine(LEAVER.leaving_on, time(0), tzinfo=ENGLAND),
    ),
    "event": Old(
        CaseKind.PLAN_EVENT,
        "exclusion-permanent",
        "office1",
        "excluded after the incident",
        event_key(EVENT),
    ),
}


@pytest.fixture(params=("sqlite", "postgresql"))
def at_0019(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, dict[str, int]]]:
    """A database at revision 0019 holding one case of each kind, as 0019's code wrote them."""
    with (
        case_database(request.param, tmp_path) as url,
        settings_in_force(Settings(home=tmp_path, database_url=url, data_keys=DATA_KEYS)),
    ):
        command.upgrade(alembic_config(url), "0019")
        directory_as_of_0019(
            [("dsl1", Role.DSL), ("slt1", Role.SLT), ("t1", Role.STAFF), ("office1", Role.STAFF)],
            [("C-1", date(2015, 3, 1), True)],
        )
        with session_scope() as session:
            cases = {name: _old_case(session, old) for name, old in OLD.items()}
            leaver_concern = session.execute(
                text("SELECT concern_id FROM cases WHERE id = :c"), {"c": cases["leaver"]}
            ).scalar_one()
            session.add(
                CaseStep(
                    case_id=cases["leaver"],
                    step="record-leaver",
                    slot="record-leaver",
                    key="record-leaver-a0",
                    accepted=True,
                    actor="office1",
                    channel="cli",
                    data={"concern_id": leaver_concern, **LEAVER.model_dump(mode="json")},
                )
            )
        yield url, cases
        engine_for(url).dispose()


def _old_case(session: Session, old: Old) -> int:
    """A concerns row (sealed under its old names) and its case, as 0019 kept every kind."""
    concern = Concern(
        child_id=1,
        raised_by=old.raised_by,
        category=old.category,
        occurred_at=old.occurred_at,
        what_happened=old.what_happened,
        submission_key=old.submission_key,
        recorded_at=RECORDED,
        place="the gate" if old.kind is CaseKind.SHARING else None,
    )
    session.add(concern)
    session.flush()
    return int(
        session.execute(
            text(
                "INSERT INTO cases (kind, concern_id, status, opened_at) "
                "VALUES (:k, :c, 'open', :t) RETURNING id"
            ),
            {"k": old.kind.value, "c": concern.id, "t": RECORDED},
        ).scalar_one()
    )


def expected(name: str) -> Opening:
    """What the case's opening reads as after the upgrade."""
    old = OLD[name]
    label = {
        "request": "parent",
        "notice": "police-domestic-abuse",
        "leaver": "new-term",
    }.get(name, old.category)
    return Opening(
        kind=old.kind,
        child_ref="C-1",
        label=label,
        occurred_at=old.occurred_at,
        text=old.what_happened or None,
        recorded_by=old.raised_by,
        recorded_at=RECORDED,
        place="the gate" if name == "sharing" else None,
    )


def test_each_record_moves_to_its_own_table_and_reads_the_same(
    at_0019: tuple[str, dict[str, int]],
) -> None:
    url, cases = at_0019
    command.upgrade(alembic_config(url), "head")

    with session_scope() as session:
        (concern,) = session.scalars(select(Concern)).all()  # only the concern stays
        assert concern.category == "neglect" and concern.submission_key == "form-1"
        for name, case_id in cases.items():
            case = session.get(Case, case_id)
            assert case is not None and case.child_id == 1
            assert (case.concern_id is not None) == (name == "sharing")
            assert opening(session, case_id) == expected(name)

        request = session.get(AccessRequest, cases["request"])
        assert request is not None
        assert (request.requester, request.recorded_by) == ("parent", "slt1")
        assert (request.received_at, request.request) == (HAPPENED, "every record since 2024")
        notice = session.get(Notice, cases["notice"])
        assert notice is not None
        assert (notice.source, notice.received_at) == ("police-domestic-abuse", HAPPENED)
        assert notice.details == "police call at 2am"
        leaver = session.get(Leaver, cases["leaver"])
        assert leaver is not None
        assert (leaver.move, leaver.leaving_on) == ("new-term", LEAVER.leaving_on)
        assert (leaver.destination, leaver.new_term_starts) == ("northfield", date(2027, 1, 5))
        event = session.get(PlanEvent, cases["event"])
        assert event is not None
        assert (event.kind, event.occurred_at) == ("exclusion-permanent", HAPPENED)
        assert (event.details, event.event_key) == (EVENT.details, event_key(EVENT))
        assert event.recorded_at == RECORDED

    # moved text is sealed under its new column's name: no plaintext, and not the old seal
    with engine_for(url).connect() as connection:
        for column in ("access_requests.request", "notices.details", "plan_events.details"):
            table, name = column.split(".")
            value = connection.execute(text(f"SELECT {name} FROM {table}")).scalar_one()
            assert value.startswith("s1:"), column

    # the event imported again is the event already recorded: it keeps its case
    (again,) = record_plan_events([(1, EVENT)], now=datetime.now(UTC))
    assert (again.case_id, again.new) == (cases["event"], False)


def test_a_downgrade_gives_the_old_rows_back(at_0019: tuple[str, dict[str, int]]) -> None:
    url, cases = at_0019
    config = alembic_config(url)
    command.upgrade(config, "head")
    command.downgrade(config, "0019")

    with session_scope() as session:  # the concerns table is unchanged by 0020: its model reads it
        back = {c.category: c for c in session.scalars(select(Concern))}
        assert set(back) == {old.category for old in OLD.values()}
        for old in OLD.values():
            concern = back[old.category]
            assert (concern.raised_by, concern.what_happened) == (old.raised_by, old.what_happened)
            assert concern.occurred_at == old.occurred_at
            assert concern.submission_key == old.submission_key
        each = session.scalar(text("SELECT count(*) FROM cases WHERE concern_id IS NOT NULL"))
        assert each == len(cases)

    command.upgrade(config, "head")  # and up again, to the same openings
    with session_scope() as session:
        for name, case_id in cases.items():
            assert opening(session, case_id) == expected(name)
        assert session.scalar(select(func.count()).select_from(Concern)) == 1
