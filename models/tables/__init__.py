"""The case database: safeshare's record of every fact about every case (SQLAlchemy 2).

Facts are append-only: a correction is a new row. Only `cases` carries a small projection
(status, what the case waits for) that is rewritten as the case moves, for listing and
deadlines. base.py holds `Base`, the column types and the naming convention; each other module
declares one group of tables. This package loads every group, so whichever of its modules is
imported, `Base.metadata` holds every table (Alembic's environment imports it once).
"""

from models.tables import (
    accounts,
    audit,
    cases,
    credentials,
    directory,
    disclosures,
    openings,
    outbox,
    retention,
    runs,
)

__all__ = [
    "accounts",
    "audit",
    "cases",
    "credentials",
    "directory",
    "disclosures",
    "openings",
    "outbox",
    "retention",
    "runs",
]
