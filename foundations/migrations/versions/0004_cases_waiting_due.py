"""cases.waiting_due: when the step a case waits for is due, indexed for the overdue check

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("waiting_due", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_cases_status_due", ["status", "waiting_due"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_status_due")
        batch_op.drop_column("waiting_due")
