"""roster: who a pupil is (sealed whole) and the day they left; a member of staff's work email
and job title (sealed) and the day a roster import found them gone; where each row came from

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("children") as batch_op:
        batch_op.add_column(sa.Column("identity", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("left_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("source", sa.String(length=16), nullable=True))
    with op.batch_alter_table("staff") as batch_op:
        batch_op.add_column(sa.Column("email", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("job_title", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("left_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("source", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch_op:
        for column in ("source", "left_on", "job_title", "email"):
            batch_op.drop_column(column)
    with op.batch_alter_table("children") as batch_op:
        for column in ("source", "left_on", "identity"):
            batch_op.drop_column(column)
