"""notice_links: each member of staff told of a need-to-know notice, and when they opened it

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 01:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_notice_links_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.staff_id"], name=op.f("fk_notice_links_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_notice_links_token_hash")),
    )
    op.create_index("ix_notice_links_case_staff", "notice_links", ["case_id", "staff_id"])


def downgrade() -> None:
    op.drop_index("ix_notice_links_case_staff", table_name="notice_links")
    op.drop_table("notice_links")
