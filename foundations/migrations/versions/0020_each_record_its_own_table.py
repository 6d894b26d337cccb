"""each record its own table: `concerns` keeps only concerns; a request to see records, a notice,
a leaver and a Child Protection Plan event, which were kept there under a category prefix, move
to tables of their own with typed columns, keyed by their case's id; every case says which child
it is about (cases.child_id), and only a sharing case has a concern

Sealed text is sealed under its column's name, so a text that moves is opened under its old name
and sealed again under its new one. The old prefixes are read here, once, and nowhere else.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 09:00:00
"""

import hashlib
import json
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

ENGLAND = ZoneInfo("Europe/London")
#: The category prefix each kind of case was kept under in `concerns` (a plan event's category
#: was its kind, with no prefix).
PREFIX = {"access-request": "request-", "notice": "notice-", "transfer": "leaver-"}
#: SQLite's copy of `cases` would set its id counter to the highest id left; an id handed out
#: before (and since destroyed) must stay used.
COUNTER = "SELECT seq FROM sqlite_sequence WHERE name = 'cases'"

UTC_TIME = sa.DateTime(timezone=True)
CASES = sa.table(
    "cases",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("child_id", sa.Integer),
    sa.column("concern_id", sa.Integer),
)
CONCERNS = sa.table(
    "concerns",
    sa.column("id", sa.Integer),
    sa.column("child_id", sa.Integer),
    sa.column("raised_by", sa.String),
    sa.column("category", sa.String),
    sa.column("occurred_at", UTC_TIME),
    sa.column("what_happened", sa.Text),
    sa.column("submission_key", sa.String),
    sa.column("recorded_at", UTC_TIME),
)
CHILDREN = sa.table("children", sa.column("id", sa.Integer), sa.column("child_ref", sa.String))
STEPS = sa.table(
    "case_steps",
    sa.column("case_id", sa.Integer),
    sa.column("step", sa.String),
    sa.column("data", sa.Text),
)


def _opening_table(name: str, *columns: Any) -> None:
    """A table of records that open a case: keyed by the case's id, with who recorded it."""
    op.create_table(
        name,
        sa.Column("case_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        *columns,
        sa.Column("recorded_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=f"fk_{name}_case_id_cases"),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["staff.staff_id"], name=f"fk_{name}_recorded_by_staff"
        ),
        sa.PrimaryKeyConstraint("case_id", name=f"pk_{name}"),
    )


def _record(name: str, *columns: sa.ColumnClause[Any]) -> sa.TableClause:
    return sa.table(
        name,
        sa.column("case_id", sa.Integer),
        sa.column("recorded_by", sa.String),
        sa.column("recorded_at", UTC_TIME),
        *columns,
    )


#: The new tables as this revision makes them, for moving rows in and out.
RECORDS = {
    "access_requests": _record(
        "access_requests",
        sa.column("requester", sa.String),
        sa.column("received_at", UTC_TIME),
        sa.column("request", sa.Text),
    ),
    "notices": _record(
        "notices",
        sa.column("source", sa.String),
        sa.column("received_at", UTC_TIME),
        sa.column("details", sa.Text),
    ),
    "leavers": _record(
        "leavers",
        sa.column("move", sa.String),
        sa.column("leaving_on", sa.Date),
        sa.column("destination", sa.Text),
        sa.column("new_term_starts", sa.Date),
    ),
    "plan_events": _record(
        "plan_events",
        sa.column("kind", sa.String),
        sa.column("occurred_at", UTC_TIME),
        sa.column("details", sa.Text),
        sa.column("event_key", sa.String),
    ),
}


def _utc(value: datetime) -> datetime:
    """A time as stored: in UTC (SQLite returns it without its offset)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ring() -> Any:
    from foundations.sealing import load_keyring
    from foundations.settings import get_settings

    return load_keyring(get_settings())


def upgrade() -> None:
    bind = op.get_bind()
    _opening_table(
        "access_requests",
        sa.Column("requester", sa.String(length=16), nullable=False),
        sa.Column("received_at", UTC_TIME, nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
    )
    _opening_table(
        "notices",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("received_at", UTC_TIME, nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
    )
    _opening_table(
        "leavers",
        sa.Column("move", sa.String(length=16), nullable=False),
        sa.Column("leaving_on", sa.Date(), nullable=False),
        sa.Column("destination", sa.Text(), nullable=True),
        sa.Column("new_term_starts", sa.Date(), nullable=True),
    )
    _opening_table(
        "plan_events",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", UTC_TIME, nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("event_key", sa.String(length=64), nullable=False),
        sa.UniqueConstraint("event_key", name="uq_plan_events_event_key"),
    )
    with op.batch_alter_table("cases") as batch_op:
        batch_op.add_column(sa.Column("child_id", sa.Integer(), nullable=True))
    bind.execute(
        CASES.update().values(
            child_id=sa.select(CONCERNS.c.child_id)
            .where(CONCERNS.c.id == CASES.c.concern_id)
            .scalar_subquery()
        )
    )
    moved = _move_out(bind)
    _alter_cases(upgrade=True)
    bind.execute(CASES.update().where(CASES.c.kind != "sharing").values(concern_id=None))
    for chunk in range(0, len(moved), 500):
        bind.execute(CONCERNS.delete().where(CONCERNS.c.id.in_(moved[chunk : chunk + 500])))


def _move_out(bind: sa.Connection) -> list[int]:
    """Write each non-concern's record into its own table; the ids of the concerns rows moved."""
    rows = bind.execute(
        sa.select(CASES.c.id.label("case_id"), CASES.c.kind, CHILDREN.c.child_ref, CONCERNS)
        .join(CONCERNS, CONCERNS.c.id == CASES.c.concern_id)
        .join(CHILDREN, CHILDREN.c.id == CONCERNS.c.child_id)
        .where(CASES.c.kind != "sharing")
        .order_by(CASES.c.id)
    ).all()
    if not rows:
        return []
    ring = _ring()
    tables = RECORDS
    leavers = {
        case_id: json.loads(ring.open(data, "case_steps.data"))
        for case_id, data in bind.execute(
            sa.select(STEPS.c.case_id, STEPS.c.data).where(
                STEPS.c.step == "record-leaver", STEPS.c.data.is_not(None)
            )
        )
    }
    for row in rows:
        label = row.category.removeprefix(PREFIX.get(row.kind, ""))
        common = {
            "case_id": row.case_id,
            "recorded_by": row.raised_by,
            "recorded_at": _utc(row.recorded_at),
        }
        text = ring.open(row.what_happened, "concerns.what_happened").decode()
        if row.kind == "access-request":
            bind.execute(
                tables["access_requests"].insert(),
                common
                | {
                    "requester": label,
                    "received_at": _utc(row.occurred_at),
                    "request": ring.seal(text.encode(), "access_requests.request"),
                },
            )
        elif row.kind == "notice":
            bind.execute(
                tables["notices"].insert(),
                common
                | {
                    "source": label,
                    "received_at": _utc(row.occurred_at),
                    "details": ring.seal(text.encode(), "notices.details"),
                },
            )
        elif row.kind == "transfer":
            recorded = leavers.get(row.case_id, {})
            on = recorded.get("leaving_on")
            bind.execute(
                tables["leavers"].insert(),
                common
                | {
                    "move": recorded.get("move", label),
                    "leaving_on": date.fromisoformat(on)
                    if on
                    else _utc(row.occurred_at).astimezone(ENGLAND).date(),
                    "destination": ring.seal(
                        recorded["destination"].encode(), "leavers.destination"
                    )
                    if recorded.get("destination")
                    else None,
                    "new_term_starts": date.fromisoformat(recorded["new_term_starts"])
                    if recorded.get("new_term_starts")
                    else None,
                },
            )
        elif row.kind == "plan-event":
            minute = int(_utc(row.occurred_at).timestamp() // 60)
            key = f"plan-event|{row.child_ref}|{label}|{minute}"
            bind.execute(
                tables["plan_events"].insert(),
                common
                | {
                    "kind": label,
                    "occurred_at": _utc(row.occurred_at),
                    "details": ring.seal(text.encode(), "plan_events.details") if text else None,
                    "event_key": row.submission_key or hashlib.sha256(key.encode()).hexdigest(),
                },
            )
        else:
            raise RuntimeError(f"case {row.case_id} is of an unknown kind {row.kind!r}")
    return [row.id for row in rows]


def _alter_cases(*, upgrade: bool) -> None:
    """cases.child_id required, indexed and a reference, and concern_id optional (upgrade); or
    back (downgrade). SQLite copies the table: its id counter is kept."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    counter = bind.execute(sa.text(COUNTER)).scalar() if sqlite else None
    with op.batch_alter_table("cases", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.alter_column("concern_id", existing_type=sa.Integer(), nullable=upgrade)
        if upgrade:
            batch_op.alter_column("child_id", existing_type=sa.Integer(), nullable=False)
            batch_op.create_foreign_key(
                "fk_cases_child_id_children", "children", ["child_id"], ["id"]
            )
            batch_op.create_index("ix_cases_child_id", ["child_id"])
        else:
            batch_op.drop_index("ix_cases_child_id")
            batch_op.drop_constraint("fk_cases_child_id_children", type_="foreignkey")
            batch_op.drop_column("child_id")
    if counter is not None:
        op.execute(
            sa.text(
                "UPDATE sqlite_sequence SET seq = MAX(seq, :n) WHERE name = 'cases'"
            ).bindparams(n=int(counter))
        )


def downgrade() -> None:
    bind = op.get_bind()
    tables = RECORDS
    held = any(bind.execute(sa.select(t).limit(1)).first() for t in tables.values())
    ring = _ring() if held else None
    for case_id, child_id, kind in bind.execute(
        sa.select(CASES.c.id, CASES.c.child_id, CASES.c.kind).where(CASES.c.kind != "sharing")
    ).all():
        concern = _back_to_a_concern(bind, tables, ring, case_id, kind)
        if concern is None:
            raise RuntimeError(f"case {case_id} ({kind}) holds no record of what opened it")
        concern_id = bind.execute(
            CONCERNS.insert().values(child_id=child_id, **concern).returning(CONCERNS.c.id)
        ).scalar_one()
        bind.execute(CASES.update().where(CASES.c.id == case_id).values(concern_id=concern_id))
    _alter_cases(upgrade=False)
    for name in ("plan_events", "leavers", "notices", "access_requests"):
        op.drop_table(name)


def _back_to_a_concern(
    bind: sa.Connection, tables: dict[str, sa.TableClause], ring: Any, case_id: int, kind: str
) -> dict[str, Any] | None:
    """The concerns row a case's record was kept as before this revision, prefix and all."""

    def one(name: str) -> Any:
        table = tables[name]
        return bind.execute(sa.select(table).where(table.c.case_id == case_id)).first()

    def sealed(value: str | None, label: str) -> str:
        text = ring.open(value, label).decode() if value is not None else ""
        return str(ring.seal(text.encode(), "concerns.what_happened"))

    if kind == "access-request" and (row := one("access_requests")) is not None:
        category, occurred_at = f"request-{row.requester}", row.received_at
        what_happened, key = sealed(row.request, "access_requests.request"), None
    elif kind == "notice" and (row := one("notices")) is not None:
        category, occurred_at = f"notice-{row.source}", row.received_at
        what_happened, key = sealed(row.details, "notices.details"), None
    elif kind == "transfer" and (row := one("leavers")) is not None:
        category = f"leaver-{row.move}"
        occurred_at = datetime.combine(row.leaving_on, time(0), tzinfo=ENGLAND)
        what_happened, key = sealed(None, ""), None
    elif kind == "plan-event" and (row := one("plan_events")) is not None:
        category, occurred_at = row.kind, row.occurred_at
        what_happened, key = sealed(row.details, "plan_events.details"), row.event_key
    else:
        return None
    return {
        "raised_by": row.recorded_by,
        "category": category,
        "occurred_at": _utc(occurred_at),
        "what_happened": what_happened,
        "submission_key": key,
        "recorded_at": _utc(row.recorded_at),
    }
