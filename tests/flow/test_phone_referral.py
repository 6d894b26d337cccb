"""A referral made by phone is confirmed in writing within 24 hours of the call, on both case
databases: every wait before the agency's notification is due by then, the overdue check
chases it as the written confirmation's deadline, and the notification says what it confirms."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from harness import web
from harness.cases import (
    agency_link,
    answer,
    answer_ok,
    assessment,
    cli,
    marker,
    new_case,
    notifications_for,
    told_parents,
    wait_for_status,
    wait_for_step,
)

from tasks.views import show_case

pytestmark = pytest.mark.flow


def test_a_phone_referral_is_confirmed_in_writing_within_24_hours(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    mark, backend = marker(), stack.backend
    case_id = new_case(people, mark)
    called = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=23)
    by_phone = assessment(mark, phoned_at=called.isoformat(), phone_reference="MASH-77")

    # A call in the future is refused with a clear error; the refusal is recorded (nothing of
    # the answer itself), and the step is asked again.
    before = wait_for_step(case_id, "assess-criteria")["chronology"]
    tomorrow = called + timedelta(days=2)
    refused = answer(
        case_id,
        "assess-criteria",
        people["dsl"],
        by_phone | {"phoned_at": tomorrow.isoformat()},
    )
    assert refused.exit_code == 1 and "phoned_at cannot be in the future" in refused.stderr
    after = show_case(case_id)["chronology"]
    (refusal,) = after[len(before) :]
    assert after[: len(before)] == before
    assert not refusal["accepted"] and refusal["answer"] is None
    assert [p["code"] for p in refusal["problems"]] == ["time-in-future"], refusal

    # Recorded: the sign-off is due when the written confirmation is, an hour from now, not
    # under sign-off's own 24 hours.
    answer_ok(case_id, "assess-criteria", people["dsl"], by_phone)
    case = wait_for_step(case_id, "management-signoff")
    written_due = called + timedelta(hours=24)
    assert datetime.fromisoformat(case["written_confirmation_due"]) == written_due
    assert datetime.fromisoformat(case["waiting"]["due"]) == written_due
    assert case["waiting"]["deadline"] == "written-confirmation"

    # Past it, the check names the written confirmation and tells the management team.
    result = cli(
        "overdue", "--check-now", "--json", "--at", (written_due + timedelta(minutes=1)).isoformat()
    )
    assert result.exit_code == 0, result.output
    mine = [c for c in json.loads(result.stdout) if c["case_id"] == case_id]
    assert [c["deadline"] for c in mine] == ["written-confirmation"]
    chase = f"/staff/{people['slt']}"

    def chased(records: list[Any]) -> bool:
        return any(
            path == chase and "written confirmation of phone referral overdue" in title
            for path, title in notifications_for(listener, backend, case_id)
        )

    listener.wait_for(chased)

    # Signed off and the parents told: the agency's notification is the written confirmation.
    answer_ok(case_id, "management-signoff", people["slt"], {"decision": "approve"})
    answer_ok(case_id, "parents", people["dsl"], told_parents(people, mark))
    case = wait_for_step(case_id, "confirm-receipt")
    assert case["waiting"]["deadline"] == "confirm-receipt"  # the call no longer hurries it
    url = agency_link(listener, backend, case_id)
    (notice,) = [
        r.body
        for r in listener.records
        if r.path == f"/{backend}/tag/agency-csc"
        and isinstance(r.body, dict)
        and f"SS-{case_id:06d}" in r.body.get("title", "")
    ]
    assert "written confirmation of phone referral" in notice["title"]
    assert f"by phone at {called:%Y-%m-%d %H:%M} UTC" in notice["message"]
    assert "MASH-77" not in notice["message"]  # the reference is behind the link

    page = web.get(url)
    assert "Confirms in writing the phone referral made at" in page.text
    assert "MASH-77" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    fields = {"csrf": csrf, "name": "Duty worker", "role": "Team manager", "reference": "R-9"}
    assert web.post(url, data=fields).status_code == 200
    done = wait_for_status(case_id, "shared")
    assert done["written_confirmation_due"] == case["written_confirmation_due"]
    for record in listener.records:
        assert mark not in json.dumps(record.body), "personal data in a notification"
