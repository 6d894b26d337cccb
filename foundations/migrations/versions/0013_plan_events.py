"""Child Protection Plan events: cases.kind, the pupil's social worker's address (sealed), and
which recipient a receipt link went to

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 00:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="sharing")
        )
    with op.batch_alter_table("children") as batch_op:
        batch_op.add_column(sa.Column("social_worker_notify", sa.Text(), nullable=True))
    with op.batch_alter_table("receipt_links") as batch_op:
        batch_op.add_column(sa.Column("recipient", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("receipt_links") as batch_op:
        batch_op.drop_column("recipient")
    with op.batch_alter_table("children") as batch_op:
        batch_op.drop_column("social_worker_notify")
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_column("kind")
