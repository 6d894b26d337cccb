"""The agency confirms receipt through the link in its notification, against the real web app,
on both case databases: it reads exactly what is shared, GET and HEAD change nothing, the link
works once, and confirming moves the case on (or answers the receipt before the case asks)."""

from __future__ import annotations

from typing import Any

import pytest
from harness import web
from harness.cases import (
    agency_link,
    answer_ok,
    assessment,
    case_awaiting_receipt,
    marker,
    new_case,
    told_parents,
    wait_for_status,
    wait_for_step,
)
from harness.databases import on_sqlite_only
from sqlalchemy import ColumnElement, select, update

from foundations.db import session_scope
from models.links import LinkPurpose
from models.tables.base import utcnow
from models.tables.credentials import PersonalLink
from models.tables.disclosures import Receipt
from tasks.views import show_case

pytestmark = pytest.mark.flow


def receipt_links(case_id: int) -> list[ColumnElement[bool]]:
    """Which personal links are the case's receipt links."""
    return [PersonalLink.purpose == LinkPurpose.RECEIPT_LINK, PersonalLink.case_id == case_id]


def receipt_of(case_id: int) -> Receipt | None:
    from models.tables.disclosures import Disclosure

    with session_scope() as session:
        return session.scalar(select(Receipt).join(Disclosure).where(Disclosure.case_id == case_id))


@on_sqlite_only
def test_the_agency_reads_what_is_shared_and_confirms_once(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    case_id, mark, _ = case_awaiting_receipt(people)
    url = agency_link(listener, stack.backend, case_id)

    page = web.get(url)
    assert page.status_code == 200
    assert f"{mark} info" in page.text and f"{mark} purpose" in page.text
    assert "Children&#39;s Social Care" in page.text or "Children's Social Care" in page.text
    assert f"{mark} what happened" not in page.text and f"{mark} child" not in page.text
    assert web.head(url).status_code == 200
    assert receipt_of(case_id) is None  # reading never confirms
    assert show_case(case_id)["waiting"]["step"] == "confirm-receipt"

    assert (
        web.post(url, data={"csrf": "x", "name": "A", "role": "B", "reference": "C"}).status_code
        == 403
    )
    incomplete = web.submit(url, name="Duty social worker", role="", reference="CSC-9")
    assert incomplete.status_code == 422
    assert "Your role" in incomplete.text and 'value="Duty social worker"' in incomplete.text
    assert receipt_of(case_id) is None

    done = web.submit(url, name="Duty social worker", role="Team manager", reference="CSC-9")
    assert done.status_code == 200 and "Receipt confirmed" in done.text
    case = wait_for_status(case_id, "shared")
    assert case["receipt"]["agency_reference"] == "CSC-9"
    receipt = receipt_of(case_id)
    assert receipt is not None and receipt.channel == "agency-link" and receipt.recorded_by is None
    (step,) = [e for e in case["chronology"] if e["step"] == "confirm-receipt"]
    assert (step["by"], step["channel"]) == ("agency.csc", "agency-link")

    assert web.get(url).status_code == 409  # used
    assert web.get(url.rsplit("/", 1)[0] + "/not-a-token").status_code == 403
    # A sign-off link's token is not a receipt link, even though both are signed by us.
    assert web.get(url.replace("/receipt/", "/answer/")).status_code == 403


@on_sqlite_only
def test_the_agency_may_confirm_before_the_case_asks(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    """After an emergency share the agency is told at once; it confirms while the management
    team has not yet ratified, and the case later skips its receipt wait."""
    mark = marker()
    case_id = new_case(people, mark)
    answer_ok(
        case_id,
        "assess-criteria",
        people["dsl"],
        assessment(mark, emergency_reason=f"{mark} cannot wait"),
    )
    wait_for_step(case_id, "ratification")
    url = agency_link(listener, stack.backend, case_id)

    with session_scope() as session:  # an expired link says so, and changes nothing
        session.execute(
            update(PersonalLink).where(*receipt_links(case_id)).values(expires_at=utcnow())
        )
    assert web.get(url).status_code == 410
    with session_scope() as session:
        session.execute(
            update(PersonalLink)
            .where(*receipt_links(case_id))
            .values(expires_at=utcnow().replace(year=utcnow().year + 1))
        )

    assert (
        web.submit(url, name="Duty worker", role="Social worker", reference="MASH-7").status_code
        == 200
    )
    assert receipt_of(case_id) is not None
    assert show_case(case_id)["waiting"]["step"] == "ratification"

    answer_ok(case_id, "ratification", people["slt"], {"decision": "approve"})
    answer_ok(case_id, "parents", people["dsl"], told_parents(people, mark))
    case = wait_for_status(case_id, "shared")
    assert case["receipt"]["agency_reference"] == "MASH-7"
    assert not [
        e for e in case["chronology"] if e["step"] == "confirm-receipt" and e["by"] != "agency.csc"
    ]


def test_a_confirmation_racing_the_wait_is_picked_up_by_the_next_check(
    stack: Any, listener: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    """The agency confirms at the very moment the receipt wait begins: its transaction saw no
    wait, so it answered ahead of it, yet the run suspended. The next overdue check finds the
    wait answered in the case database and resumes the run."""
    from harness.cases import cli, wait_until_suspended

    from models.tables.cases import Case

    case_id, mark, case = case_awaiting_receipt(people)
    waiting = case["waiting"]
    wait_until_suspended(prefect_server.api_url, waiting["flow_run_id"])
    url = agency_link(listener, stack.backend, case_id)

    columns = ("waiting_step", "waiting_slot", "waiting_key", "waiting_since", "waiting_due")
    with session_scope() as session:  # what the agency's transaction saw: no wait yet
        case = session.get(Case, case_id)
        assert case is not None
        saved = {c: getattr(case, c) for c in columns}
        case.stop_waiting()
    assert web.submit(url, name="Duty worker", role="Manager", reference="R-77").status_code == 200
    with session_scope() as session:  # ... and what the flow's transaction then committed
        session.execute(update(Case).where(Case.id == case_id).values(**saved))

    state = web.get(f"{prefect_server.api_url}/flow_runs/{waiting['flow_run_id']}").json()
    assert state["state"]["type"] == "PAUSED"  # nobody resumed it
    assert show_case(case_id)["status"] == "open"

    result = cli("overdue", "--check-now", "--json")
    assert result.exit_code == 0, result.output
    case = wait_for_status(case_id, "shared")
    assert case["receipt"]["agency_reference"] == "R-77"
    assert case["waiting"] is None
