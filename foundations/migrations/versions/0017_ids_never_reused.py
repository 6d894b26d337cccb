"""ids never reused: every table whose ids leave the database hands out each id once, even after
its newest rows are destroyed (SQLite AUTOINCREMENT; PostgreSQL's sequences already never go
back), and the highest case id counts the destroyed cases the audit trail still names

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

#: Every table with a surrogate id: a case's id is its reference; the others' ids are in links,
#: messages, audit entries and Prefect parameters, or point at rows that are.
TABLES = (
    "children",
    "concerns",
    "cases",
    "case_steps",
    "disclosures",
    "receipts",
    "notifications",
    "answer_links",
    "link_attempts",
    "answer_codes",
    "receipt_links",
    "notice_links",
    "web_sessions",
    "sign_in_attempts",
    "retention_decisions",
)

#: The highest case id ever used, as far as the database can still tell: destroyed cases leave
#: their ids in the audit trail.
HIGHEST_CASE_ID = (
    "SELECT MAX(id) FROM (SELECT MAX(id) AS id FROM cases "
    "UNION ALL SELECT MAX(case_id) FROM audit_log) AS used"
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        # a sequence never goes back, but a restore used to set it to the highest id left
        highest = bind.execute(sa.text(HIGHEST_CASE_ID)).scalar()
        sequence = bind.execute(sa.text("SELECT pg_get_serial_sequence('cases', 'id')")).scalar()
        if highest is not None and sequence is not None:
            bind.execute(
                sa.text(
                    f"SELECT setval(:s, GREATEST(:n, (SELECT last_value FROM {sequence})), true)"
                ),
                {"s": sequence, "n": int(highest)},
            )
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass
    # the copies set each table's counter to its highest id; a case's also counts the audit trail
    highest = bind.execute(sa.text(HIGHEST_CASE_ID)).scalar()
    if highest is not None:
        op.execute("DELETE FROM sqlite_sequence WHERE name = 'cases'")
        op.execute(f"INSERT INTO sqlite_sequence (name, seq) VALUES ('cases', {int(highest)})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": False}
        ):
            pass
