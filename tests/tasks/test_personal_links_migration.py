"""The upgrade that made the four tables of links and codes one (personal_links), on both case
databases: a database at 0019 holding answer links, codes, receipt links and notice links (used,
superseded and unused) and attempts at a link upgrades with every row arrived, its kind, holder,
hash, expiry and spent state kept; the attempts point at the same link; a token or code issued
before the upgrade still works after it (through the web app: the token carries the id of the
table it came from, and is found by its hash); a link issued after gets an id never used; and a
downgrade gives the four tables back, each row in its own."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from harness.cases import assessment_record
from harness.databases import DATA_KEYS, migrated_database
from pydantic import SecretStr
from sqlalchemy import MetaData, Table, func, select, text, update

from foundations.db import alembic_config, engine_for, session_scope
from foundations.secret_key import secret_key
from foundations.settings import Settings, get_settings, settings_in_force
from foundations.tokens import LINK_SALT, NOTICE_SALT, RECEIPT_SALT, code_hash, make_token
from foundations.tokens import token_hash as hash_of
from models.codes import CodeOutcome
from models.kernel.roles import Role
from models.kernel.steps import Step
from models.kernel.waits import Slot, Wait
from models.links import LinkPurpose
from models.sharing.concern import Category, ConcernFacts
from models.tables.cases import Case, CaseStep
from models.tables.credentials import LinkAttempt, PersonalLink
from models.tables.disclosures import Disclosure
from safeshare.web.app import create_app
from tasks.children import add_child
from tasks.concerns import record_concern
from tasks.personal_links import issue_link, spend_code
from tasks.staff import add_staff

NOW = datetime.now(UTC).replace(microsecond=0)
LATER = NOW + timedelta(days=3)
RUN = str(uuid.uuid4())
SLOT = "management-signoff-0"
KEY = f"{SLOT}-a0"
CODE = "ABCD-EFGH"


@dataclass(frozen=True)
class Old:
    """A database upgraded from 0019, and what was issued in it before."""

    url: str
    case_id: int
    tokens: dict[str, str]  # by name: answer, answer-superseded, receipt, ...
    hashes: dict[str, str]  # every row's secret hash, by name


def insert(connection: Any, table: str, rows: list[dict[str, Any]]) -> None:
    """Rows as the code before the upgrade wrote them (times through the column's own type)."""
    connection.execute(Table(table, MetaData(), autoload_with=connection).insert(), rows)


def issue_before(
    connection: Any, case_id: int, disclosure_id: int
) -> tuple[dict[str, str], dict[str, str]]:
    """Links and codes of every kind, as 0019 held them; ids repeat across the four tables,
    as they did. Their tokens and every row's hash, by name."""
    key = secret_key(get_settings())
    tokens = {
        "answer": make_token(key, 2, salt=LINK_SALT),
        "answer-superseded": make_token(key, 1, salt=LINK_SALT),
        "receipt": make_token(key, 1, salt=RECEIPT_SALT),
        "receipt-confirmed": make_token(key, 2, salt=RECEIPT_SALT),
        "notice-superseded": make_token(key, 1, salt=NOTICE_SALT),
        "notice": make_token(key, 2, salt=NOTICE_SALT),
    }
    hashes = {name: hash_of(token) for name, token in tokens.items()}
    hashes["code"] = code_hash(key, case_id, KEY, "head1", CODE.replace("-", ""))
    hashes["code-answered"] = code_hash(key, case_id, "assess-criteria-0-a0", "dsl1", "X")
    wait = {"case_id": case_id, "step": "management-signoff", "slot": SLOT, "key": KEY}
    spent = {"used_at": NOW, "outcome": "superseded"}
    unused = {"used_at": None, "outcome": None}
    insert(
        connection,
        "answer_links",
        [
            wait
            | {"id": 1, "staff_id": "head1", "token_hash": hashes["answer-superseded"]}
            | {"flow_run_id": RUN, "created_at": NOW, "expires_at": LATER}
            | spent,
            wait
            | {"id": 2, "staff_id": "head1", "token_hash": hashes["answer"]}
            | {"flow_run_id": RUN, "created_at": NOW, "expires_at": LATER}
            | unused,
        ],
    )
    insert(
        connection,
        "answer_codes",
        [
            wait
            | {"id": 1, "staff_id": "head1", "code_hash": hashes["code"], "flow_run_id": RUN}
            | {"created_at": NOW, "expires_at": LATER}
            | unused,
            {"id": 2, "case_id": case_id, "step": "assess-criteria", "flow_run_id": RUN}
            | {"slot": "assess-criteria-0", "key": "assess-criteria-0-a0", "staff_id": "dsl1"}
            | {"code_hash": hashes["code-answered"], "created_at": NOW, "expires_at": LATER}
            | {"used_at": NOW, "outcome": "answered"},
        ],
    )
    receipt = {"case_id": case_id, "disclosure_id": disclosure_id, "agency_code": "csc"}
    receipt |= {"slot": "confirm-receipt-0", "flow_run_id": RUN, "created_at": NOW}
    insert(
        connection,
        "receipt_links",
        [
            receipt
            | {"id": 1, "recipient": None, "token_hash": hashes["receipt"]}
            | {"expires_at": LATER}
            | unused,
            receipt
            | {"id": 2, "recipient": "social-worker"}
            | {"token_hash": hashes["receipt-confirmed"], "expires_at": NOW}
            | {"used_at": NOW, "outcome": "confirmed"},
        ],
    )
    notice = {"case_id": case_id, "staff_id": "t1", "created_at": NOW, "expires_at": LATER}
    insert(
        connection,
        "notice_links",
        [
            notice
            | {"id": 1, "token_hash": hashes["notice-superseded"], "sent_at": None}
            | {"opened_at": None, "superseded_at": NOW},
            notice
            | {"id": 2, "token_hash": hashes["notice"], "sent_at": NOW}
            | {"opened_at": NOW, "superseded_at": None},
        ],
    )
    insert(
        connection,
        "link_attempts",
        [
            {"id": n, "link_id": link_id, "token_fingerprint": f"f{n}", "address": "127.0.0.1"}
            | {"method": "GET", "outcome": "shown", "status": 200, "at": NOW}
            for n, link_id in ((1, 1), (2, 2), (3, None))
        ],
    )
    return tokens, hashes


@pytest.fixture(params=("sqlite", "postgresql"))
def old(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Old]:
    with (
        migrated_database(request.param, tmp_path) as url,
        settings_in_force(
            Settings(
                home=tmp_path,
                database_url=url,
                data_keys=DATA_KEYS,
                secret_key=SecretStr(secrets.token_urlsafe(48)),
            )
        ),
    ):
        for staff_id, role in (("dsl1", Role.DSL), ("head1", Role.SLT), ("t1", Role.STAFF)):
            add_staff(staff_id, name=staff_id, role=role, notify_url=None)
        add_child("C-1", date_of_birth=date(2015, 3, 1), cp_plan=False)
        case_id = record_concern(
            ConcernFacts(
                child_ref="C-1",
                raised_by="t1",
                category=Category.NEGLECT,
                occurred_at=NOW - timedelta(hours=1),
                what_happened="what happened",
            )
        )
        with session_scope() as session:
            disclosure = Disclosure(
                case_id=case_id,
                agency_code="csc",
                information="i",
                purpose="p",
                lawful_basis="art6-1-e-public-task",
                consent="not-sought",
                decided_by="dsl1",
            )
            assessed = CaseStep(
                case_id=case_id,
                step="assess-criteria",
                slot="assess-criteria-0",
                key="assess-criteria-0-a0",
                accepted=True,
                actor="dsl1",
                channel="form",
                data=assessment_record("x", agency="csc"),
            )
            session.add_all([disclosure, assessed])  # what a sign-off page shows
            session.flush()
            disclosure_id = disclosure.id
            session.execute(
                update(Case)
                .where(Case.id == case_id)
                .values(
                    waiting_step="management-signoff",
                    waiting_slot=SLOT,
                    waiting_key=KEY,
                    waiting_since=NOW,
                    flow_run_id=RUN,
                )
            )
        config = alembic_config(url)
        command.downgrade(config, "0019")
        with engine_for(url).begin() as connection:
            tokens, hashes = issue_before(connection, case_id, disclosure_id)
        command.upgrade(config, "head")
        yield Old(url, case_id, tokens, hashes)
        engine_for(url).dispose()


def rows_by_name(hashes: dict[str, str]) -> dict[str, PersonalLink]:
    with session_scope() as session:
        rows = {
            name: session.scalar(select(PersonalLink).where(PersonalLink.secret_hash == h))
            for name, h in hashes.items()
        }
        for row in rows.values():
            if row is not None:
                session.expunge(row)
    return {name: row for name, row in rows.items() if row is not None}


def test_every_link_and_code_arrives_with_its_kind_holder_expiry_and_spent_state(
    old: Old,
) -> None:
    rows = rows_by_name(old.hashes)
    assert rows.keys() == old.hashes.keys()
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(PersonalLink)) == 8
    kept = {
        name: (row.purpose, row.holder, row.agency_code, row.expires_at, row.used_at, row.outcome)
        for name, row in rows.items()
    }
    assert kept == {
        "answer": ("answer-link", "head1", None, LATER, None, None),
        "answer-superseded": ("answer-link", "head1", None, LATER, NOW, "superseded"),
        "code": ("answer-code", "head1", None, LATER, None, None),
        "code-answered": ("answer-code", "dsl1", None, LATER, NOW, "answered"),
        "receipt": ("receipt-link", "agency", "csc", LATER, None, None),
        "receipt-confirmed": ("receipt-link", "social-worker", "csc", NOW, NOW, "confirmed"),
        "notice": ("notice-link", "t1", None, LATER, None, None),
        "notice-superseded": ("notice-link", "t1", None, LATER, NOW, "superseded"),
    }
    answer, receipt, notice = rows["answer"], rows["receipt"], rows["notice"]
    assert (answer.step, answer.slot, answer.key, answer.flow_run_id) == (
        "management-signoff",
        SLOT,
        KEY,
        RUN,
    )
    assert receipt.disclosure_id is not None and receipt.slot == "confirm-receipt-0"
    assert (notice.sent_at, notice.opened_at) == (NOW, NOW)
    # new ids, above every id the four tables handed out: none names another link than before
    assert len({row.id for row in rows.values()}) == 8 and min(r.id for r in rows.values()) > 2


def test_attempts_point_at_the_same_link(old: Old) -> None:
    rows = rows_by_name(old.hashes)
    with session_scope() as session:
        pointed = dict(session.execute(select(LinkAttempt.id, LinkAttempt.link_id)).all())
    assert pointed == {1: rows["answer-superseded"].id, 2: rows["answer"].id, 3: None}


def test_tokens_and_codes_issued_before_still_work(old: Old) -> None:
    client = TestClient(create_app())
    assert client.get(f"/answer/{old.tokens['answer']}").status_code == 200
    assert client.get(f"/answer/{old.tokens['answer-superseded']}").status_code == 409
    assert client.get(f"/receipt/{old.tokens['receipt']}").status_code == 200
    assert client.get(f"/receipt/{old.tokens['receipt-confirmed']}").status_code == 409
    assert client.get(f"/notice/{old.tokens['notice']}").status_code == 200
    assert client.get(f"/notice/{old.tokens['notice-superseded']}").status_code == 409
    # a token of one kind is still no token of another
    assert client.get(f"/answer/{old.tokens['receipt']}").status_code == 403

    slot = Slot(case_id=old.case_id, wait=Wait(step=Step.MANAGEMENT_SIGNOFF), key=KEY)
    with session_scope() as session:
        assert spend_code(session, slot, "head1", CODE, now=NOW) is CodeOutcome.VALID
    with session_scope() as session:
        assert spend_code(session, slot, "head1", CODE, now=NOW) is CodeOutcome.USED


def test_a_link_issued_after_gets_an_id_never_used(old: Old) -> None:
    highest = max(row.id for row in rows_by_name(old.hashes).values())
    with session_scope() as session:
        link = PersonalLink(
            purpose=LinkPurpose.NOTICE_LINK, case_id=old.case_id, holder="t1", expires_at=LATER
        )
        issue_link(session, link, same=(), now=NOW)
        assert link.id > highest
    assert rows_by_name({"notice": old.hashes["notice"]})["notice"].outcome == "superseded"


def test_a_downgrade_gives_each_kind_its_table_back(old: Old) -> None:
    moved = {name: row.id for name, row in rows_by_name(old.hashes).items()}
    command.downgrade(alembic_config(old.url), "0019")
    with engine_for(old.url).connect() as connection:

        def rows(sql: str) -> set[tuple[Any, ...]]:
            return {tuple(row) for row in connection.execute(text(sql))}

        assert rows("SELECT id, staff_id, token_hash, outcome FROM answer_links") == {
            (moved["answer"], "head1", old.hashes["answer"], None),
            (moved["answer-superseded"], "head1", old.hashes["answer-superseded"], "superseded"),
        }
        assert rows("SELECT id, code_hash, outcome FROM answer_codes") == {
            (moved["code"], old.hashes["code"], None),
            (moved["code-answered"], old.hashes["code-answered"], "answered"),
        }
        assert rows("SELECT id, recipient, agency_code, outcome FROM receipt_links") == {
            (moved["receipt"], None, "csc", None),
            (moved["receipt-confirmed"], "social-worker", "csc", "confirmed"),
        }
        notices = rows(
            "SELECT id, superseded_at IS NOT NULL, sent_at IS NOT NULL FROM notice_links"
        )
        assert notices == {
            (moved["notice"], False, True),
            (moved["notice-superseded"], True, False),
        }
        assert rows("SELECT id, link_id FROM link_attempts") == {
            (1, moved["answer-superseded"]),
            (2, moved["answer"]),
            (3, None),
        }
    command.upgrade(alembic_config(old.url), "head")  # and back: the tokens still work
    assert TestClient(create_app()).get(f"/answer/{old.tokens['answer']}").status_code == 200
