"""a case's run is keyed by a random token of its own (cases.run_key), not by its id: no other
case, in this database or one that replaces it, can find its run; cases opened before keep the
key they were started under (their id)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-27 09:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.add_column(sa.Column("run_key", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_column("run_key")
