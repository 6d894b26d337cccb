"""answer codes: one-time codes that prove who answers a wait in the dashboard or the CLI

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 15:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "answer_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("slot", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("flow_run_id", sa.String(length=36), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_answer_codes_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.staff_id"], name=op.f("fk_answer_codes_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_codes")),
    )
    with op.batch_alter_table("answer_codes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_answer_codes_case_key_staff", ["case_id", "key", "staff_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("answer_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_answer_codes_case_key_staff")
    op.drop_table("answer_codes")
