"""receipts per recipient: the agency and, for a Child Protection Plan event, the pupil's social
worker each confirm receipt once (was one receipt per disclosure)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("receipts") as batch_op:
        batch_op.add_column(
            sa.Column("recipient", sa.String(length=32), nullable=False, server_default="agency")
        )
        batch_op.drop_constraint("uq_receipts_disclosure_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_receipts_disclosure_recipient", ["disclosure_id", "recipient"]
        )


def downgrade() -> None:
    # The older schema holds one receipt per disclosure: the first one recorded is kept.
    op.execute(
        "DELETE FROM receipts WHERE id NOT IN (SELECT MIN(id) FROM receipts GROUP BY disclosure_id)"
    )
    with op.batch_alter_table("receipts") as batch_op:
        batch_op.drop_constraint("uq_receipts_disclosure_recipient", type_="unique")
        batch_op.create_unique_constraint("uq_receipts_disclosure_id", ["disclosure_id"])
        batch_op.drop_column("recipient")
