"""Confirmations of receipt through links, on both case databases: a disclosure that went to two
recipients (a plan event's social care and social worker) keeps one receipt per recipient; the
first answers the wait, a later one is recorded beside it; one that meets an answer the case
refused that very moment keeps nothing and leaves its link usable. (The same on the real stack,
with the web app and the run: tests/flow/test_plan_event.py.)"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from harness.databases import DATA_KEYS, migrated_database
from sqlalchemy import select

from foundations.db import session_scope
from foundations.settings import Settings, settings_in_force
from models.kernel.roles import Role
from models.links import SOCIAL_WORKER, LinkOutcome, LinkPurpose
from models.sharing.concern import Category, ConcernFacts
from models.sharing.disclosure import AgencyReceipt
from models.tables.cases import Case, CaseStep
from models.tables.credentials import PersonalLink
from models.tables.disclosures import Disclosure, Receipt
from tasks.children import add_child
from tasks.concerns import record_concern
from tasks.receipts import confirm_receipt
from tasks.staff import add_staff

NOW = datetime.now(UTC).replace(microsecond=0)
RECEIPT_SLOT = "confirm-receipt-0"  # as the case database holds it: the wait for the first receipt
WAIT_KEY = f"{RECEIPT_SLOT}-a0"
GIVEN = AgencyReceipt(confirmed_by_name="N", confirmed_by_role="R", agency_reference="REF-1")


@pytest.fixture(params=("sqlite", "postgresql"))
def links(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, int]]:
    """A plan event's case waiting for receipt, and its two links: {"agency": id, ...}."""
    with (
        migrated_database(request.param, tmp_path) as url,
        settings_in_force(Settings(home=tmp_path, database_url=url, data_keys=DATA_KEYS)),
    ):
        add_staff("dsl1", name="D", role=Role.DSL, notify_url=None)
        add_child("C-1", date_of_birth=date(2015, 3, 1), cp_plan=True)
        case_id = record_concern(
            ConcernFacts(
                child_ref="C-1",
                raised_by="dsl1",
                category=Category.NEGLECT,
                occurred_at=NOW - timedelta(hours=1),
                what_happened="absent",
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
            session.add(disclosure)
            session.flush()
            ids = {}
            for recipient in ("agency", SOCIAL_WORKER):
                link = PersonalLink(
                    purpose=LinkPurpose.RECEIPT_LINK,
                    case_id=case_id,
                    disclosure_id=disclosure.id,
                    agency_code="csc",
                    holder=recipient,
                    slot=RECEIPT_SLOT,
                    flow_run_id="00000000-0000-0000-0000-000000000001",
                    secret_hash=secrets.token_hex(32),
                    expires_at=NOW + timedelta(days=7),
                )
                session.add(link)
                session.flush()
                ids[recipient] = link.id
            case = session.get(Case, case_id)
            assert case is not None
            case.waiting_step, case.waiting_slot, case.waiting_key = (
                "confirm-receipt",
                RECEIPT_SLOT,
                WAIT_KEY,
            )
            case.waiting_since = NOW
            case.flow_run_id = "00000000-0000-0000-0000-000000000001"
        yield ids | {"case": case_id}


def recorded(case_id: int) -> tuple[list[tuple[str, str, str | None]], list[str]]:
    """(slot, key, actor) of each accepted receipt step, and the recipients with a receipt."""
    with session_scope() as session:
        steps = session.execute(
            select(CaseStep.slot, CaseStep.key, CaseStep.actor)
            .where(CaseStep.case_id == case_id, CaseStep.accepted.is_(True))
            .where(CaseStep.step == "confirm-receipt")
            .order_by(CaseStep.id)
        ).all()
        receipts = session.scalars(select(Receipt.recipient).order_by(Receipt.id)).all()
    return [tuple(row) for row in steps], list(receipts)  # type: ignore[misc]


def dsl_answer(case_id: int, *, accepted: bool) -> CaseStep:
    """The DSL's answer to the receipt wait, under its key, accepted or refused."""
    return CaseStep(
        case_id=case_id,
        step="confirm-receipt",
        slot=RECEIPT_SLOT,
        key=WAIT_KEY,
        accepted=accepted,
        actor="dsl1",
        channel="cli",
        data={},
    )


def test_the_first_answers_the_wait_and_the_second_is_recorded_beside_it(
    links: dict[str, int],
) -> None:
    first = confirm_receipt(links[SOCIAL_WORKER], GIVEN, now=NOW)
    # the run is told which wait is answered, and nothing else: it reads the answer here
    assert first.outcome is LinkOutcome.VALID and first.key == WAIT_KEY and first.flow_run_id
    second = confirm_receipt(links["agency"], GIVEN, now=NOW)
    assert second.outcome is LinkOutcome.VALID and second.key is None
    steps, receipts = recorded(links["case"])
    assert steps == [
        (RECEIPT_SLOT, WAIT_KEY, "social-worker.csc"),
        (f"{RECEIPT_SLOT}:agency", f"{RECEIPT_SLOT}:agency", "agency.csc"),
    ]
    assert receipts == [SOCIAL_WORKER, "agency"]
    assert confirm_receipt(links["agency"], GIVEN, now=NOW).outcome is LinkOutcome.USED
    assert recorded(links["case"]) == (steps, receipts)


def test_before_the_wait_begins_a_confirmation_is_kept_for_it(links: dict[str, int]) -> None:
    with session_scope() as session:
        case = session.get(Case, links["case"])
        assert case is not None
        case.stop_waiting()
    claim = confirm_receipt(links[SOCIAL_WORKER], GIVEN, now=NOW)
    assert claim.outcome is LinkOutcome.VALID and claim.key is None
    steps, receipts = recorded(links["case"])
    assert steps == [(RECEIPT_SLOT, f"{RECEIPT_SLOT}-{SOCIAL_WORKER}", "social-worker.csc")]
    assert receipts == [SOCIAL_WORKER]


def test_after_the_dsl_recorded_the_agencys_receipt_only_the_social_worker_may_confirm(
    links: dict[str, int],
) -> None:
    with session_scope() as session:
        session.add(dsl_answer(links["case"], accepted=True))
        disclosure = session.scalar(select(Disclosure))
        assert disclosure is not None
        session.add(
            Receipt(
                disclosure_id=disclosure.id,
                recipient="agency",
                confirmed_by_name="Duty",
                confirmed_at=NOW,
                channel="phone",
                recorded_by="dsl1",
            )
        )
    assert confirm_receipt(links["agency"], GIVEN, now=NOW).outcome is LinkOutcome.ANSWERED
    claim = confirm_receipt(links[SOCIAL_WORKER], GIVEN, now=NOW)
    assert claim.outcome is LinkOutcome.VALID and claim.key is None
    assert recorded(links["case"])[1] == ["agency", SOCIAL_WORKER]


def test_a_confirmation_meeting_a_refused_answer_answers_the_wait_asked_again(
    links: dict[str, int],
) -> None:
    # The DSL's answer under the wait's key was refused at this very moment: the run is asking
    # again under the next key, and the link's confirmation answers that asking (it is not
    # lost as a side note while the case still waits, nor refused).
    with session_scope() as session:
        session.add(dsl_answer(links["case"], accepted=False))
    claim = confirm_receipt(links["agency"], GIVEN, now=NOW)
    assert claim.outcome is LinkOutcome.VALID and claim.key == f"{RECEIPT_SLOT}-a1"
    steps, receipts = recorded(links["case"])
    assert steps == [(RECEIPT_SLOT, f"{RECEIPT_SLOT}-a1", "agency.csc")]
    assert receipts == ["agency"]
    assert confirm_receipt(links["agency"], GIVEN, now=NOW).outcome is LinkOutcome.USED
