"""run claims: each state of a case's run that a process woke, crashed or restarted, keyed by
the state's id, so two that read the same state act once: a door and the overdue check waking
one answered wait; two recoveries of one run (recover-run no longer runs one at a time under a
deployment concurrency limit, whose lease a killed recovery held for five minutes)

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_id", sa.String(length=36), nullable=False),
        sa.Column("flow_run_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_claims")),
        sa.UniqueConstraint("state_id", name=op.f("uq_run_claims_state_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_run_claims_flow_run_id"), "run_claims", ["flow_run_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_run_claims_flow_run_id"), table_name="run_claims")
    op.drop_table("run_claims")
