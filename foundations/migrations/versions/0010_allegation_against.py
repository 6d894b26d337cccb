"""concerns.allegation_against: the member of staff an allegation is about (sealed), kept from
them by the need-to-know rules

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("concerns") as batch_op:
        batch_op.add_column(sa.Column("allegation_against", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("concerns") as batch_op:
        batch_op.drop_column("allegation_against")
