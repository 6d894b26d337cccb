"""cases.written_due and cases.waiting_deadline: a phone referral's written confirmation is due
within 24 h of the call, and which deadline decided a wait's due time

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.add_column(sa.Column("waiting_deadline", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("written_due", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_column("written_due")
        batch_op.drop_column("waiting_deadline")
