"""the audit trail by action: /metrics counts the runs recovered (entries `run:crashed` and
`run:restarted`) at every scrape, from an index rather than a scan of the whole trail

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 09:00:00
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_log_action", "audit_log", ["action", "seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_action", table_name="audit_log")
