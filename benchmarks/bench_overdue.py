"""Benchmark of the overdue query: a case database filled with N cases (10 step rows each), a
fixed number of them overdue, timed at 10,000 and 100,000 cases. Prints figures; asserts nothing.

    .venv/bin/python -m benchmarks.bench_overdue [--cases 10000 100000] [--overdue 100 1000]
                                                  [--database sqlite|postgresql]

The query is the one `safeshare overdue` and the scheduled check run (`views.overdue_cases`):
a range scan of the `waiting_due` index. If its cost follows the number of overdue waits and not
the number of cases, the time for the same number of overdue waits stays flat as cases grow.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
STEPS_PER_CASE = 10
BATCH = 5_000


def fill(url: str, cases: int, overdue: int) -> None:
    """`cases` closed-or-waiting cases with their concerns and step rows; `overdue` of them late.

    Most cases wait with a deadline in the future or are closed, as in a real database."""
    from sqlalchemy import insert

    from foundations.db import engine_for
    from models.tables.cases import Case, CaseStep, Concern
    from models.tables.directory import Child, Staff

    engine = engine_for(url)
    with engine.begin() as connection:
        connection.execute(
            insert(Staff),
            [{"staff_id": "dsl1", "name": "D", "role": "dsl", "active": True, "notify_url": None}],
        )
        connection.execute(
            insert(Child),
            [{"child_ref": "C-1", "date_of_birth": datetime(2016, 5, 1).date(), "cp_plan": False}],
        )
        child_id = connection.execute(Child.__table__.select()).first().id  # type: ignore[attr-defined]
    late = set(range(1, cases + 1, max(1, cases // max(overdue, 1))))
    late = set(sorted(late)[:overdue])
    for start in range(1, cases + 1, BATCH):
        ids = range(start, min(start + BATCH, cases + 1))
        concerns, rows, steps = [], [], []
        for i in ids:
            concerns.append(
                {
                    "id": i,
                    "child_id": child_id,
                    "raised_by": "dsl1",
                    "category": "neglect",
                    "occurred_at": NOW,
                    "what_happened": "x",
                }
            )
            closed = i % 3 == 0 and i not in late
            if i in late:
                due = NOW - timedelta(hours=1 + i % 48)
            elif closed:
                due = None
            else:
                due = NOW + timedelta(hours=1 + i % 500)
            rows.append(
                {
                    "id": i,
                    "concern_id": i,
                    "child_id": child_id,
                    "status": "shared" if closed else "open",
                    "waiting_step": None if closed else "confirm-receipt",
                    "waiting_slot": None if closed else "confirm-receipt-0",
                    "waiting_key": None if closed else "confirm-receipt-0-a0",
                    "waiting_since": None if due is None else due - timedelta(hours=24),
                    "waiting_due": due,
                    "opened_at": NOW - timedelta(days=30),
                }
            )
            for n in range(STEPS_PER_CASE):
                steps.append(
                    {
                        "case_id": i,
                        "step": "parents",
                        "slot": f"s{n}",
                        "key": f"s{n}-a0",
                        "accepted": True,
                        "actor": "dsl1",
                        "channel": "form",
                    }
                )
        with engine.begin() as connection:
            connection.execute(insert(Concern), concerns)
            connection.execute(insert(Case), rows)
            connection.execute(insert(CaseStep), steps)


def explain(connection, kind: str) -> str:  # noqa: ANN001
    """The database's plan for the overdue query, in one line."""
    from sqlalchemy import text

    where = "status = 'open' AND waiting_due <= :now ORDER BY waiting_due, id"
    sql = f"SELECT id FROM cases WHERE {where}"
    if kind == "sqlite":
        rows = connection.execute(text(f"EXPLAIN QUERY PLAN {sql}"), {"now": NOW}).all()
        return "; ".join(str(r[-1]) for r in rows)
    rows = connection.execute(text(f"EXPLAIN {sql}"), {"now": NOW}).all()
    return "; ".join(str(r[0]).strip() for r in rows[:4])


def timed(call, repeat: int = 7) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def measure(kind: str, cases: int, overdue: int) -> None:
    from harness.databases import case_database
    from sqlalchemy import func, select

    from foundations.db import engine_for, migrate
    from foundations.settings import Settings, settings_in_force
    from models.tables.cases import Case, CaseStep
    from tasks.views import overdue_cases

    with (
        tempfile.TemporaryDirectory() as tmp,
        case_database(kind, Path(tmp)) as url,
        # the data keys are made in the data directory, with the database
        settings_in_force(Settings(home=tmp, database_url=url, data_keys=None)),
    ):
        migrate(url)
        t = time.perf_counter()
        fill(url, cases, overdue)
        filled = time.perf_counter() - t
        engine = engine_for(url)
        with engine.connect() as connection:
            plan = explain(connection, kind)
            step_rows = connection.scalar(select(func.count()).select_from(CaseStep))
            query = (
                select(Case.id)
                .where(Case.waiting_due <= NOW, Case.status == "open")
                .order_by(Case.waiting_due, Case.id)
            )
            found = len(connection.execute(query).all())
            raw = timed(lambda: connection.execute(query).all())
        listing = timed(lambda: overdue_cases(NOW), repeat=3)
        print(
            f"{kind:10} {cases:>8,} cases {step_rows:>10,} step rows {found:>6,} overdue: "
            f"query {raw * 1000:7.1f} ms, full listing {listing * 1000:7.0f} ms "
            f"(filled in {filled:.0f} s)"
        )
        print(f"{'':10} plan: {plan}")
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--overdue", type=int, nargs="+", default=[100, 1_000])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    for overdue in args.overdue:
        for cases in args.cases:
            measure(args.database, cases, overdue)


if __name__ == "__main__":
    main()
