"""Seal personal data at rest: names, addresses, dates of birth, the concern's words, every answer
and what was shared, under the data keys (foundations/sealing.py). Existing values are sealed in
place; a new database gets its data keys here.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 18:30:00
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: (table, primary key, column, type before) of every sealed column, as of this revision.
SEALED = [
    ("agencies", "code", "notify_url", sa.Text()),
    ("children", "id", "date_of_birth", sa.Date()),
    ("staff", "staff_id", "name", sa.String(200)),
    ("staff", "staff_id", "notify_url", sa.Text()),
    ("concerns", "id", "place", sa.Text()),
    ("concerns", "id", "what_happened", sa.Text()),
    ("concerns", "id", "child_words", sa.Text()),
    ("concerns", "id", "action_taken", sa.Text()),
    ("case_steps", "id", "data", sa.JSON()),
    ("disclosures", "id", "information", sa.Text()),
    ("disclosures", "id", "purpose", sa.Text()),
    ("receipts", "id", "confirmed_by_name", sa.String(200)),
    ("receipts", "id", "confirmed_by_role", sa.String(200)),
    ("receipts", "id", "agency_reference", sa.String(200)),
]
_PG_CAST = {sa.Date: "date", sa.JSON: "json"}


def _tables() -> dict[str, list[tuple[str, Any]]]:
    tables: dict[str, list[tuple[str, Any]]] = {}
    for table, _, column, before in SEALED:
        tables.setdefault(table, []).append((column, before))
    return tables


def _rewrite(change) -> None:  # type: ignore[no-untyped-def]
    """Rewrite every non-null value of every sealed column through `change(label, value)`."""
    bind = op.get_bind()
    for table, key, column, _ in SEALED:
        rows = bind.execute(
            sa.text(f"SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL")
        ).all()
        for row_key, value in rows:
            new = change(f"{table}.{column}", value)
            if new is not None:
                bind.execute(
                    sa.text(f"UPDATE {table} SET {column} = :value WHERE {key} = :key"),
                    {"value": new, "key": row_key},
                )


def upgrade() -> None:
    from foundations.sealing import PREFIX, ensure_keyring
    from foundations.settings import get_settings

    for table, columns in _tables().items():
        with op.batch_alter_table(table) as batch_op:
            for column, before in columns:
                batch_op.alter_column(
                    column,
                    existing_type=before,
                    type_=sa.Text(),
                    postgresql_using=f"{column}::text",
                )
    ring = ensure_keyring(get_settings())

    def seal(label: str, value: object) -> str | None:
        text = value.isoformat() if hasattr(value, "isoformat") else str(value)
        if text.startswith(f"{PREFIX}:"):
            return None
        return ring.seal(text.encode(), label)

    _rewrite(seal)


def downgrade() -> None:
    from foundations.sealing import load_keyring
    from foundations.settings import get_settings

    ring = load_keyring(get_settings())
    _rewrite(lambda label, value: ring.open(str(value), label).decode())
    if op.get_bind().dialect.name == "sqlite":
        # SQLite's copy would CAST the text to DATE or JSON (numeric affinity) and lose it;
        # its types are nominal, and the plain text reads back as before
        return
    for table, columns in _tables().items():
        with op.batch_alter_table(table) as batch_op:
            for column, before in columns:
                cast = _PG_CAST.get(type(before))
                batch_op.alter_column(
                    column,
                    existing_type=sa.Text(),
                    type_=before,
                    postgresql_using=f"{column}::{cast}" if cast else None,
                )
