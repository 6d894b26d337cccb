"""receipt links: an agency confirms receipt of a disclosure through its own link

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 16:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "receipt_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("disclosure_id", sa.Integer(), nullable=False),
        sa.Column("agency_code", sa.String(length=32), nullable=False),
        sa.Column("slot", sa.String(length=64), nullable=False),
        sa.Column("flow_run_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_receipt_links_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["disclosure_id"],
            ["disclosures.id"],
            name=op.f("fk_receipt_links_disclosure_id_disclosures"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_receipt_links_token_hash")),
    )
    with op.batch_alter_table("receipt_links", schema=None) as batch_op:
        batch_op.create_index("ix_receipt_links_case", ["case_id"], unique=False)
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.alter_column("recorded_by", existing_type=sa.String(length=64), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.alter_column("recorded_by", existing_type=sa.String(length=64), nullable=False)
    with op.batch_alter_table("receipt_links", schema=None) as batch_op:
        batch_op.drop_index("ix_receipt_links_case")
    op.drop_table("receipt_links")
