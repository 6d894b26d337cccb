"""A decision may share with several agencies at once (a child at immediate risk is reported to
the police and children's social care together): each agency gets a disclosure, a link and a
receipt of its own, the case waits until every one has confirmed (through its link, or recorded
by the DSL), and the overdue check chases each that has not. On both case databases."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from harness import web
from harness.cases import (
    RECEIPT,
    RECEIPT_LINK,
    agency_link,
    answer_ok,
    assessment,
    cli,
    marker,
    new_case,
    told_parents,
    wait_for_status,
    wait_for_step,
)
from harness.databases import on_sqlite_only

from tasks.views import show_case

pytestmark = pytest.mark.flow

POLICE = "/tag/agency-police"


def confirm(url: str, reference: str) -> None:
    fields = {"name": "Duty officer", "role": "Sergeant", "reference": reference}
    done = web.submit(url, **fields)
    assert done.status_code == 200, done.text


def shared_with_csc_and_police(
    stack: Any, listener: Any, people: dict[str, str]
) -> tuple[int, str]:
    """A case that decided to share with children's social care and the police, signed off,
    parents told: it waits for the receipts."""
    from tasks.agencies import update_agency

    update_agency("police", notify_url=listener.url(f"/{stack.backend}{POLICE}"))
    mark = marker()
    case_id = new_case(people, mark)
    answer_ok(
        case_id, "assess-criteria", people["dsl"], assessment(mark, other_agencies=["police"])
    )
    answer_ok(case_id, "management-signoff", people["slt"], {"decision": "approve"})
    answer_ok(case_id, "parents", people["dsl"], told_parents(people, mark))
    return case_id, mark


def test_each_agency_reads_its_own_disclosure_and_the_case_waits_for_every_receipt(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    case_id, mark = shared_with_csc_and_police(stack, listener, people)
    waiting = wait_for_step(case_id, "confirm-receipt")["waiting"]
    assert (waiting["slot"], waiting["agency"]) == ("confirm-receipt-0", "csc")

    case = show_case(case_id)
    assert [d["agency"] for d in case["disclosures"]] == ["csc", "police"]
    assert {d["information"] for d in case["disclosures"]} == {f"{mark} info"}
    csc = agency_link(listener, stack.backend, case_id)
    police = agency_link(listener, stack.backend, case_id, POLICE)
    assert csc != police
    page = web.get(police).text
    assert "Police" in page and "Children" not in page  # its own disclosure, no other's
    assert f"{mark} info" in page and f"{mark} what happened" not in page

    # The police confirm first, ahead of their wait: the case still waits for social care.
    confirm(police, "POL-1")
    case = show_case(case_id)
    assert case["status"] == "open" and case["waiting"]["agency"] == "csc"
    assert [(r["agency"], r["agency_reference"]) for r in case["receipts"]] == [("police", "POL-1")]

    # Social care's confirmation is the last one: the police's wait is found answered.
    confirm(csc, "CSC-1")
    case = wait_for_status(case_id, "shared")
    receipts = {r["agency"]: r["agency_reference"] for r in case["receipts"]}
    assert receipts == {"police": "POL-1", "csc": "CSC-1"}
    answered = [e["slot"] for e in case["chronology"] if e["step"] == "confirm-receipt"]
    assert sorted(answered) == ["confirm-receipt-0", "confirm-receipt-1"]
    assert web.get(police).status_code == 409 and web.get(csc).status_code == 409


@on_sqlite_only
def test_the_dsl_records_a_receipt_for_the_agency_still_awaited_and_the_ladder_chases_it(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    case_id, _ = shared_with_csc_and_police(stack, listener, people)
    wait_for_step(case_id, "confirm-receipt")
    first_police_link = agency_link(listener, stack.backend, case_id, POLICE)
    confirm(agency_link(listener, stack.backend, case_id), "CSC-2")

    # Social care confirmed: the case now waits for the police.
    case = wait_for_step(case_id, "confirm-receipt", slot="confirm-receipt-1")
    assert case["waiting"]["agency"] == "police"

    # Overdue: the top rung gives the police (only: social care has confirmed) a new link.
    due = datetime.fromisoformat(case["waiting"]["due"])
    result = cli("overdue", "--check-now", "--json", "--at", (due + timedelta(days=2)).isoformat())
    assert result.exit_code == 0, result.output
    fresh = agency_link(listener, stack.backend, case_id, POLICE)
    assert fresh != first_police_link and RECEIPT_LINK.search(fresh)
    assert web.get(first_police_link).status_code != 200
    chased = {
        r.path
        for r in listener.records
        if isinstance(r.body, dict)
        and f"SS-{case_id:06d}" in r.body.get("title", "")
        and "overdue" in r.body.get("title", "")
    }
    assert f"/{stack.backend}{POLICE}" in chased
    assert f"/{stack.backend}/tag/agency-csc" not in chased

    # The police confirm by phone; the DSL records it, and it is theirs.
    answer_ok(case_id, "confirm-receipt", people["dsl"], RECEIPT | {"agency_reference": "POL-2"})
    case = wait_for_status(case_id, "shared")
    receipts = {r["agency"]: (r["agency_reference"], r["channel"]) for r in case["receipts"]}
    assert receipts == {"csc": ("CSC-2", "agency-link"), "police": ("POL-2", "phone")}
