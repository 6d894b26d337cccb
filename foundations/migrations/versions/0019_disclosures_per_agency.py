"""disclosures per agency: a decision may name several agencies (the police and children's social
care at once); each gets a disclosure of its own, so a case holds one per agency it told (was one
per case)

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

#: SQLite's table copy would set the id counter to the highest id left; an id handed out
#: before (and since destroyed) must stay used.
COUNTER = "SELECT seq FROM sqlite_sequence WHERE name = 'disclosures'"


def _recreate(drop: str, create: str, columns: list[str]) -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    counter = bind.execute(sa.text(COUNTER)).scalar() if sqlite else None
    # (only SQLite's copy of the table reads the table options)
    with op.batch_alter_table(
        "disclosures", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.drop_constraint(drop, type_="unique")
        batch_op.create_unique_constraint(create, columns)
    if counter is not None:
        op.execute(
            sa.text(
                "UPDATE sqlite_sequence SET seq = MAX(seq, :n) WHERE name = 'disclosures'"
            ).bindparams(n=int(counter))
        )


def upgrade() -> None:
    _recreate("uq_disclosures_case_id", "uq_disclosures_case_agency", ["case_id", "agency_code"])


def downgrade() -> None:
    several = (
        op.get_bind()
        .execute(
            sa.text("SELECT case_id FROM disclosures GROUP BY case_id HAVING COUNT(*) > 1 LIMIT 1")
        )
        .scalar()
    )
    if several is not None:
        raise RuntimeError(
            f"case {several} shared with several agencies: the older schema holds one disclosure "
            "per case, and none of these records is to be dropped"
        )
    _recreate("uq_disclosures_case_agency", "uq_disclosures_case_id", ["case_id"])
