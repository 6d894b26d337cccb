"""answer links and link attempts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 12:12:55.542868
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "answer_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("slot", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("flow_run_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_answer_links_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.staff_id"], name=op.f("fk_answer_links_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_answer_links_token_hash")),
    )
    with op.batch_alter_table("answer_links", schema=None) as batch_op:
        batch_op.create_index("ix_answer_links_case_key", ["case_id", "key"], unique=False)

    op.create_table(
        "link_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=True),
        sa.Column("token_fingerprint", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"], ["answer_links.id"], name=op.f("fk_link_attempts_link_id_answer_links")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_attempts")),
    )
    with op.batch_alter_table("link_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_link_attempts_address_at", ["address", "at"], unique=False)
        batch_op.create_index(
            "ix_link_attempts_fingerprint_at", ["token_fingerprint", "at"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("link_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_link_attempts_fingerprint_at")
        batch_op.drop_index("ix_link_attempts_address_at")

    op.drop_table("link_attempts")
    with op.batch_alter_table("answer_links", schema=None) as batch_op:
        batch_op.drop_index("ix_answer_links_case_key")

    op.drop_table("answer_links")
