"""one personal link: answer links, answer codes, receipt links and notice links become rows of
one table, personal_links (its `purpose` says which), so that one service issues, supersedes,
verifies and spends them all; link attempts point at it

Every row moves with its hash, expiry and spent state. The moved rows get new ids, above every
id the four tables ever handed out, so an id the audit trail names from before never names
another link after; a token issued before still works, as links are found by their token's
hash, not by the id inside it. Attempts are repointed from the old ids to the new.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 09:00:00
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

#: The tables that held the kinds of link, and the purpose each kind now has.
KINDS = {
    "answer_links": "answer-link",
    "answer_codes": "answer-code",
    "receipt_links": "receipt-link",
    "notice_links": "notice-link",
}
COLUMNS = (
    "id",
    "purpose",
    "case_id",
    "holder",
    "agency_code",
    "step",
    "slot",
    "key",
    "disclosure_id",
    "flow_run_id",
    "secret_hash",
    "created_at",
    "expires_at",
    "sent_at",
    "opened_at",
    "used_at",
    "outcome",
)
AGENCY = "agency"  # a receipt link's recipient when it went to the agency's duty inbox
SUPERSEDED = "superseded"


def _at(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _insert(table: str, columns: Iterable[str], rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    names = list(columns)
    quoted = ", ".join(f'"{name}"' for name in names)
    values = ", ".join(f":{name}" for name in names)
    op.get_bind().execute(sa.text(f"INSERT INTO {table} ({quoted}) VALUES ({values})"), rows)


def _rows(table: str) -> list[dict[str, Any]]:
    # read and written as the database gives them (SQLite's times as their text), so each value
    # arrives unchanged
    found = op.get_bind().execute(sa.text(f"SELECT * FROM {table} ORDER BY id")).mappings()
    return [dict(row) for row in found]


def _highest_id(tables: Iterable[str]) -> int:
    """The highest id any of the tables ever handed out, destroyed rows' too."""
    bind = op.get_bind()
    highest = 0
    for table in tables:
        if bind.dialect.name == "sqlite":
            counter = "SELECT seq FROM sqlite_sequence WHERE name = :t"
        else:
            counter = "SELECT pg_sequence_last_value(pg_get_serial_sequence(:t, 'id'))"
        used = bind.execute(sa.text(counter), {"t": table}).scalar()
        largest = bind.execute(sa.text(f"SELECT MAX(id) FROM {table}")).scalar()
        highest = max(highest, int(used or 0), int(largest or 0))
    return highest


def _set_counter(table: str, highest: int) -> None:
    """Make the table's next id come after `highest` (ids written by hand do not move a
    PostgreSQL sequence; a SQLite table's counter only follows the rows it holds)."""
    if highest <= 0:
        return
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t").bindparams(t=table))
        op.execute(
            sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :n)").bindparams(
                t=table, n=highest
            )
        )
    else:
        bind.execute(
            sa.text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :n, true)"),
            {"t": table, "n": highest},
        )


def _repoint_attempts(old: str, new: str, moved: dict[int, int | None]) -> None:
    """Point link_attempts.link_id at another table, its ids rewritten (`moved`: old to new)."""
    highest = _highest_id(["link_attempts"])
    with op.batch_alter_table("link_attempts", table_kwargs={"sqlite_autoincrement": True}) as b:
        b.drop_constraint(f"fk_link_attempts_link_id_{old}", type_="foreignkey")
    updates = [{"old": was, "new": now} for was, now in moved.items() if was != now]
    if updates:
        op.get_bind().execute(
            sa.text("UPDATE link_attempts SET link_id = :new WHERE link_id = :old"), updates
        )
    with op.batch_alter_table("link_attempts", table_kwargs={"sqlite_autoincrement": True}) as b:
        b.create_foreign_key(f"fk_link_attempts_link_id_{new}", new, ["link_id"], ["id"])
    _set_counter("link_attempts", highest)  # SQLite's copy of the table would lower it


# ---------------------------------------------------------------------------------------------
# Upgrade: four tables into one.


def _answer(row: Mapping[str, Any]) -> dict[str, Any]:
    """An answer link's or code's row, as a personal link (without id and purpose)."""
    return {
        "case_id": row["case_id"],
        "holder": row["staff_id"],
        "step": row["step"],
        "slot": row["slot"],
        "key": row["key"],
        "flow_run_id": row["flow_run_id"],
        "secret_hash": row["token_hash"] if "token_hash" in row else row["code_hash"],
        "created_at": row["created_at"],
        "expires_at": row["expires_at"],
        "used_at": row["used_at"],
        "outcome": row["outcome"],
    }


def _receipt(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "case_id": row["case_id"],
        "holder": row["recipient"] or AGENCY,
        "agency_code": row["agency_code"],
        "slot": row["slot"],
        "disclosure_id": row["disclosure_id"],
        "flow_run_id": row["flow_run_id"],
        "secret_hash": row["token_hash"],
        "created_at": row["created_at"],
        "expires_at": row["expires_at"],
        "used_at": row["used_at"],
        "outcome": row["outcome"],
    }


def _notice(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "case_id": row["case_id"],
        "holder": row["staff_id"],
        "secret_hash": row["token_hash"],
        "created_at": row["created_at"],
        "expires_at": row["expires_at"],
        "sent_at": row["sent_at"],
        "opened_at": row["opened_at"],
        # a notice link was only ever superseded, never spent
        "used_at": row["superseded_at"],
        "outcome": SUPERSEDED if row["superseded_at"] is not None else None,
    }


AS_PERSONAL: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "answer_links": _answer,
    "answer_codes": _answer,
    "receipt_links": _receipt,
    "notice_links": _notice,
}


def upgrade() -> None:
    op.create_table(
        "personal_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("agency_code", sa.String(length=32), nullable=True),
        sa.Column("step", sa.String(length=32), nullable=True),
        sa.Column("slot", sa.String(length=64), nullable=True),
        sa.Column("key", sa.String(length=80), nullable=True),
        sa.Column("disclosure_id", sa.Integer(), nullable=True),
        sa.Column("flow_run_id", sa.String(length=36), nullable=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=True),
        _at("created_at", nullable=False),
        _at("expires_at", nullable=False),
        _at("sent_at"),
        _at("opened_at"),
        _at("used_at"),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_personal_links_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["disclosure_id"],
            ["disclosures.id"],
            name=op.f("fk_personal_links_disclosure_id_disclosures"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_links")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_personal_links_secret_hash", "personal_links", ["secret_hash"])
    op.create_index(
        "ix_personal_links_case_key_holder", "personal_links", ["case_id", "key", "holder"]
    )
    op.create_index(
        "ix_personal_links_disclosure_holder", "personal_links", ["disclosure_id", "holder"]
    )

    new_id = _highest_id(KINDS)
    moved: dict[str, dict[int, int | None]] = {table: {} for table in KINDS}
    rows = []
    for table, purpose in KINDS.items():
        for row in _rows(table):
            new_id += 1
            moved[table][row["id"]] = new_id
            rows.append(
                dict.fromkeys(COLUMNS)
                | AS_PERSONAL[table](row)
                | {
                    "id": new_id,
                    "purpose": purpose,
                }
            )
    _insert("personal_links", COLUMNS, rows)
    _set_counter("personal_links", new_id)

    _repoint_attempts("answer_links", "personal_links", moved["answer_links"])
    for table in KINDS:
        op.drop_table(table)


# ---------------------------------------------------------------------------------------------
# Downgrade: one table into four, each row keeping its id.


def _old_tables() -> None:
    def common(table: str) -> list[Any]:
        return [
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("case_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=f"fk_{table}_case_id_cases"),
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        ]

    def staff(table: str) -> list[Any]:
        return [
            sa.Column("staff_id", sa.String(length=64), nullable=False),
            sa.ForeignKeyConstraint(
                ["staff_id"], ["staff.staff_id"], name=f"fk_{table}_staff_id_staff"
            ),
        ]

    def wait() -> list[Any]:
        return [
            sa.Column("step", sa.String(length=32), nullable=False),
            sa.Column("slot", sa.String(length=64), nullable=False),
            sa.Column("key", sa.String(length=80), nullable=False),
            sa.Column("flow_run_id", sa.String(length=36), nullable=False),
        ]

    def spent() -> list[Any]:
        return [
            _at("created_at", nullable=False),
            _at("expires_at", nullable=False),
            _at("used_at"),
            sa.Column("outcome", sa.String(length=24), nullable=True),
        ]

    def token(table: str) -> list[Any]:
        return [
            sa.Column("token_hash", sa.String(length=64), nullable=True),
            sa.UniqueConstraint("token_hash", name=f"uq_{table}_token_hash"),
        ]

    autoincrement = {"sqlite_autoincrement": True}
    op.create_table(
        "answer_links",
        *common("answer_links"),
        *staff("answer_links"),
        *wait(),
        *token("answer_links"),
        *spent(),
        **autoincrement,
    )
    op.create_index("ix_answer_links_case_key", "answer_links", ["case_id", "key"])
    op.create_table(
        "answer_codes",
        *common("answer_codes"),
        *staff("answer_codes"),
        *wait(),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        *spent(),
        **autoincrement,
    )
    op.create_index(
        "ix_answer_codes_case_key_staff", "answer_codes", ["case_id", "key", "staff_id"]
    )
    op.create_table(
        "receipt_links",
        *common("receipt_links"),
        sa.Column("disclosure_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["disclosure_id"],
            ["disclosures.id"],
            name="fk_receipt_links_disclosure_id_disclosures",
        ),
        sa.Column("agency_code", sa.String(length=32), nullable=False),
        sa.Column("slot", sa.String(length=64), nullable=False),
        sa.Column("flow_run_id", sa.String(length=36), nullable=False),
        *token("receipt_links"),
        *spent(),
        sa.Column("recipient", sa.String(length=32), nullable=True),
        **autoincrement,
    )
    op.create_index("ix_receipt_links_case", "receipt_links", ["case_id"])
    op.create_table(
        "notice_links",
        *common("notice_links"),
        *staff("notice_links"),
        *token("notice_links"),
        _at("created_at", nullable=False),
        _at("expires_at", nullable=False),
        _at("sent_at"),
        _at("opened_at"),
        _at("superseded_at"),
        **autoincrement,
    )
    op.create_index("ix_notice_links_case_staff", "notice_links", ["case_id", "staff_id"])


def _as_old(purpose: str, row: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """A personal link's row as a row of the table its kind had (keeping its id)."""
    spent = {k: row[k] for k in ("id", "case_id", "created_at", "expires_at")}
    if purpose == "notice-link":
        superseded = row["used_at"] if row["outcome"] == SUPERSEDED else None
        return "notice_links", spent | {
            "staff_id": row["holder"],
            "token_hash": row["secret_hash"],
            "sent_at": row["sent_at"],
            "opened_at": row["opened_at"],
            "superseded_at": superseded,
        }
    spent |= {k: row[k] for k in ("slot", "flow_run_id", "used_at", "outcome")}
    if purpose == "receipt-link":
        return "receipt_links", spent | {
            "disclosure_id": row["disclosure_id"],
            "agency_code": row["agency_code"],
            "recipient": None if row["holder"] == AGENCY else row["holder"],
            "token_hash": row["secret_hash"],
        }
    spent |= {"staff_id": row["holder"], "step": row["step"], "key": row["key"]}
    if purpose == "answer-code":
        return "answer_codes", spent | {"code_hash": row["secret_hash"] or ""}
    return "answer_links", spent | {"token_hash": row["secret_hash"]}


def downgrade() -> None:
    _old_tables()
    highest = _highest_id(["personal_links"])
    by_table: dict[str, list[dict[str, Any]]] = {table: [] for table in KINDS}
    for row in _rows("personal_links"):
        table, old = _as_old(row["purpose"], row)
        by_table[table].append(old)
    for table, rows in by_table.items():
        if rows:
            _insert(table, rows[0], rows)
        _set_counter(table, highest)  # an id handed out once is not handed out again

    # attempts keep their link when it was an answer link (the only kind they named before)
    answer_links = {row["id"] for row in by_table["answer_links"]}
    attempted = op.get_bind().execute(
        sa.text("SELECT DISTINCT link_id FROM link_attempts WHERE link_id IS NOT NULL")
    )
    moved = {link_id: (link_id if link_id in answer_links else None) for (link_id,) in attempted}
    _repoint_attempts("personal_links", "answer_links", moved)
    op.drop_table("personal_links")
