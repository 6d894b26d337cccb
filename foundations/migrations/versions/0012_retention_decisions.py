"""retention_decisions: a person's decision on records past their retention date, kept after
the records are gone (the reason sealed)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 19:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retention_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("child_ref", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("kept_until", sa.Date(), nullable=True),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_decisions")),
    )
    op.create_index("ix_retention_decisions_child", "retention_decisions", ["child_ref", "id"])


def downgrade() -> None:
    op.drop_index("ix_retention_decisions_child", table_name="retention_decisions")
    op.drop_table("retention_decisions")
