"""who decided a disclosure may be a rule of the policy (a Child Protection Plan event goes out
at once: `policy:cp-plan-event`), not only a member of staff; who recorded what led to it is
kept beside it

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("disclosures") as batch_op:
        batch_op.drop_constraint("fk_disclosures_decided_by_staff", type_="foreignkey")
        batch_op.add_column(sa.Column("recorded_by", sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(
            "fk_disclosures_recorded_by_staff", "staff", ["recorded_by"], ["staff_id"]
        )
    # Disclosures of plan events written before this kept their recorder as who decided: the
    # recorder is now also kept as such. What was recorded as decided is left as written.
    op.execute(
        "UPDATE disclosures SET recorded_by = decided_by WHERE case_id IN "
        "(SELECT id FROM cases WHERE kind = 'plan-event')"
    )


def downgrade() -> None:
    # The older schema names a member of staff as who decided: a rule gives way to who recorded.
    op.execute(
        "UPDATE disclosures SET decided_by = recorded_by "
        "WHERE decided_by LIKE 'policy:%' AND recorded_by IS NOT NULL"
    )
    with op.batch_alter_table("disclosures") as batch_op:
        batch_op.drop_constraint("fk_disclosures_recorded_by_staff", type_="foreignkey")
        batch_op.drop_column("recorded_by")
        batch_op.create_foreign_key(
            "fk_disclosures_decided_by_staff", "staff", ["decided_by"], ["staff_id"]
        )
