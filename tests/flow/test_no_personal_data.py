"""Nothing a person typed reaches Prefect, whatever door it came through: the CLI, the dashboard,
a sign-off link, a ratification link, an agency's receipt link, a plan event's social worker
and social care links, a new school's receipt link, a need-to-know notice and its link, and a
request to see records with its decision (a refused one too). Every free-text field carries a
marker; once every case has ended and Prefect has every run's last log, every table of
Prefect's database, its result storage and every log file are read for it. On both case
databases."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from harness import web
from harness.cases import (
    NOW,
    RECEIPT,
    RECEIPT_LINK,
    answer,
    answer_ok,
    assessment,
    cli,
    code_for,
    link_in,
    marker,
    new_case,
    refs_by_upn,
    resume_via_api,
    told_parents,
    wait_until_suspended,
)

from models.kernel.directory import AgencyKind
from tasks.agencies import add_agency
from tasks.children import update_child
from tasks.views import show_case

pytestmark = pytest.mark.flow

SIGNOFF_LINK = re.compile(r"personal link \(works once\): (\S+)")
NOTICE_LINK = re.compile(r"(http://127\.0\.0\.1:\d+/notice/\S+)")

#: What a door's script waits for next: (case id, a step it waits for, or "=<status>").
Want = tuple[int, str]
Script = Iterator[Want]


def ready(want: Want) -> bool:
    """Whether the case waits for that step under a key nothing is recorded against yet (or has
    ended with that status)."""
    case_id, what = want
    case = show_case(case_id)
    if what.startswith("="):
        return bool(case["status"] == what[1:])
    waiting = case["waiting"]
    return bool(
        waiting
        and waiting["step"] == what
        and not any(e.get("key") == waiting["key"] for e in case["chronology"])
    )


def drive(scripts: list[Script], timeout: float = 600) -> None:
    """Run the doors' scripts side by side: each moves on as soon as its case waits for what
    it waits for, so the cases' runs overlap as a school's would."""
    pending = {i: next(script) for i, script in enumerate(scripts)}
    deadline = time.monotonic() + timeout
    while pending:
        assert time.monotonic() < deadline, f"never came: {list(pending.values())}"
        for i, want in list(pending.items()):
            if ready(want):
                try:
                    pending[i] = next(scripts[i])
                except StopIteration:
                    del pending[i]
        time.sleep(0.3)


def post_form(url: str, **fields: str) -> str:
    done = web.submit(url, **fields)
    assert done.status_code == 200, done.text
    return str(done.text)


def dashboard(api: str, case_id: int, staff: str, form: dict[str, Any]) -> None:
    """Answer the case's wait as the dashboard's Resume button does, with the person's code."""
    waiting = show_case(case_id)["waiting"]
    wait_until_suspended(api, waiting["flow_run_id"])
    code = code_for(case_id, waiting["key"], staff)
    given = form | {"answered_by": staff, "one_time_code": code}
    assert resume_via_api(api, waiting["flow_run_id"], given)["status"] == "ACCEPT"


def test_no_personal_data_reaches_prefect(
    stack: Any, listener: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    mark = marker()
    backend, api = stack.backend, prefect_server.api_url
    dsl, head, head2 = people["dsl"], people["slt"], people["slt2"]
    cases: list[int] = []
    # who the children are, from the school information system: their names carry the marker,
    # so every scan below looks for them too; each outside page shows its reader's part
    pupils = imported_pupils(mark, ("event", "leaver", "notice"))
    pages: dict[str, str] = {}

    def opened(case_id: int) -> int:
        cases.append(case_id)
        return case_id

    def agency_receipt(case_id: int, path: str = "/tag/agency-csc", page: str = "") -> None:
        url = link_in(listener, backend, case_id, path, RECEIPT_LINK)
        if page:  # what the reader sees before confirming, and the file it may download
            pages[page] = web.get(url).text
            if page == "school":
                pages["pdf"] = pdf_text(web.get(f"{url}/file").content)
        post_form(url, name=f"{mark} name", role=f"{mark} role", reference=f"{mark} ref")

    def by_cli() -> Script:
        case_id = opened(new_case(people, mark))
        yield case_id, "assess-criteria"
        answer_ok(case_id, "assess-criteria", dsl, assessment(mark))
        yield case_id, "management-signoff"
        answer_ok(case_id, "management-signoff", head, {"decision": "approve", "reason": mark})
        yield case_id, "parents"
        answer_ok(case_id, "parents", dsl, told_parents(people, mark))
        yield case_id, "confirm-receipt"
        receipt = RECEIPT | {"confirmed_by_name": mark, "agency_reference": f"{mark} r"}
        answer_ok(case_id, "confirm-receipt", dsl, receipt)
        yield case_id, "=shared"

    def by_dashboard() -> Script:
        case_id = opened(new_case(people, mark))
        yield case_id, "assess-criteria"
        dashboard(api, case_id, dsl, assessment(mark))
        yield case_id, "management-signoff"
        dashboard(api, case_id, head, {"decision": "approve", "reason": f"{mark} ok"})
        yield case_id, "parents"
        risk = {"choice": "not-told-risk", "risk_reason": f"{mark} risk"}
        dashboard(api, case_id, dsl, risk)
        yield case_id, "mash-advice"
        advice = {
            "context": "parents-risk",
            "sought_at": NOW,
            "mash_contact": f"{mark} contact",
            "mash_reference": f"{mark} mref",
            "advice": f"{mark} advice",
            "proceed": True,
        }
        dashboard(api, case_id, dsl, advice)
        yield case_id, "confirm-receipt"
        agency_receipt(case_id)
        yield case_id, "=shared"

    def declined_by_link() -> Script:
        case_id = opened(new_case(people, mark))
        yield case_id, "assess-criteria"
        answer_ok(case_id, "assess-criteria", dsl, assessment(mark))
        yield case_id, "management-signoff"
        waiting = show_case(case_id)["waiting"]
        body = _personal(listener, backend, case_id, waiting["key"], head2)
        post_form(_found(SIGNOFF_LINK, body), decision="decline", reason=f"{mark} decline")
        yield case_id, "=not-shared"

    def ratified_by_link() -> Script:
        case_id = opened(new_case(people, mark))
        yield case_id, "assess-criteria"
        urgent = assessment(mark, emergency_reason=f"{mark} cannot wait")
        answer_ok(case_id, "assess-criteria", dsl, urgent)
        yield case_id, "ratification"
        waiting = show_case(case_id)["waiting"]
        body = _personal(listener, backend, case_id, waiting["key"], head)
        post_form(_found(SIGNOFF_LINK, body), decision="approve", reason=f"{mark} ratified")
        yield case_id, "parents"
        answer_ok(case_id, "parents", dsl, told_parents(people, mark))
        yield case_id, "confirm-receipt"
        agency_receipt(case_id)
        yield case_id, "=shared"

    def plan_event() -> Script:
        ref = pupils["event"]
        worker = f"/social-worker/{ref}"
        url = listener.url(f"/{backend}{worker}")
        update_child(ref, cp_plan=True, social_worker_notify=url)
        argv = ("events", "record", "--child", ref, "--kind", "unexplained-absence")
        result = cli(*argv, "--recorded-by", dsl, "--when", NOW, "--details", f"{mark} d", "--json")
        assert result.exit_code == 0, result.output
        case_id = opened(int(json.loads(result.stdout)["case_id"]))
        yield case_id, "confirm-receipt"
        agency_receipt(case_id, worker, page="social-worker")
        yield case_id, "=shared"
        agency_receipt(case_id, page="agency")  # social care's own confirmation, after the close

    def transfer() -> Script:
        ref = pupils["leaver"]
        school = f"hs{uuid.uuid4().hex[:6]}"
        inbox = f"/school/{school}"
        notify = listener.url(f"/{backend}{inbox}")
        add_agency(school, name=f"School {school}", kind=AgencyKind.SCHOOL, notify_url=notify)
        leaving = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        result = cli(
            "leaver", "record", "--child", ref, "--leaving-on", leaving, "--destination",
            school, "--move", "in-year", "--recorded-by", dsl, "--json",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        case_id = opened(int(json.loads(result.stdout)["case_id"]))
        yield case_id, "transfer-review"
        review = {"early_sharing": "shared-in-advance", "note": f"{mark} note"}
        answer_ok(case_id, "transfer-review", dsl, review)
        yield case_id, "confirm-receipt"
        agency_receipt(case_id, inbox, page="school")
        yield case_id, "=shared"

    def notice() -> Script:
        received = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0).isoformat()
        result = cli(
            "notice", "record", "--child", pupils["notice"], "--source", "police-domestic-abuse",
            "--recorded-by", dsl, "--received-at", received, "--details", f"{mark} n",
            "--json",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        case_id = opened(int(json.loads(result.stdout)["case_id"]))
        yield case_id, "notice-review"
        review = {
            "staff_to_tell": [people["teacher"]],
            "what_they_need_to_know": f"{mark} know",
            "reason": f"{mark} why",
        }
        answer_ok(case_id, "notice-review", dsl, review)
        yield case_id, "=told"
        url = link_in(listener, backend, case_id, f"/staff/{people['teacher']}", NOTICE_LINK)
        pages["staff"] = post_form(url)  # the notice, once opened

    def access_request() -> Script:
        received = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0).isoformat()
        result = cli(
            "access-request", "record", "--child", "C-0001", "--from", "pupil",
            "--received-by", head, "--received-at", received, "--request", f"{mark} req",
            "--json",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        case_id = opened(int(json.loads(result.stdout)["case_id"]))
        none = {
            "serious_harm": "does-not-apply",
            "child_abuse_data": "does-not-apply",
            "third_parties": "does-not-apply",
        }
        yield case_id, "access-decision"
        # refused (nothing withheld without an exemption): the refusal keeps no text either
        bare = none | {"outcome": "release-redacted", "released": mark, "withheld": mark}
        assert answer(case_id, "access-decision", dsl, bare).exit_code == 1
        yield case_id, "access-decision"
        decided = none | {
            "third_parties": "applies",
            "third_parties_reason": f"{mark} tp",
            "outcome": "release-redacted",
            "released": f"{mark} released",
            "withheld": f"{mark} withheld",
        }
        answer_ok(case_id, "access-decision", head2, decided)
        yield case_id, "=decided"

    drive(
        [
            by_cli(),
            by_dashboard(),
            declined_by_link(),
            ratified_by_link(),
            plan_event(),
            transfer(),
            notice(),
            access_request(),
        ]
    )

    # each outside reader sees who the child is, as much as they need and no more
    for page, shown in PAGE_SHOWS.items():
        text = pages[page]
        for field, expected in shown.items():
            value = identity_value(mark, pupils, field, page)
            assert (value in text) is expected, f"{field} on the {page} page: {expected}"

    runs = {show_case(case_id)["flow_run_id"] for case_id in cases}
    assert None not in runs and len(runs) == len(cases)
    for run_id in runs:
        finished(api, str(run_id))

    hits = prefect_database_hits(prefect_server.log_path.parent / "prefect.db", mark)
    assert hits == [], f"typed text in Prefect's database: {hits}"
    results = [p for p in (stack.home / "results").rglob("*") if p.is_file()]
    assert results, "no persisted results to inspect"
    logs = [
        prefect_server.log_path,
        stack.serve_log,
        stack.home / "web.log",
        *(p for p in (stack.home / "logs").rglob("*") if p.is_file()),
    ]
    for path in [*results, *logs]:
        if path.exists():
            assert mark.encode() not in path.read_bytes(), f"typed text in {path}"
    bodies = json.dumps([r.body for r in listener.records if isinstance(r.body, dict)])
    assert mark not in bodies


def prefect_database_hits(path: Path, mark: str) -> list[str]:
    """Every table and column of Prefect's database (its live rows) holding the marker."""
    hits = []
    with sqlite3.connect(path) as db:
        tables = [t for (t,) in db.execute("select name from sqlite_master where type='table'")]
        assert "flow_run_input" in tables and "log" in tables
        for table in tables:
            for row in db.execute(f'pragma table_info("{table}")').fetchall():
                column = row[1]
                found = db.execute(
                    f'select count(*) from "{table}" where cast("{column}" as text) like ?',
                    (f"%{mark}%",),
                ).fetchone()[0]
                if found:
                    hits.append(f"{table}.{column} ({found})")
    return hits


def finished(api: str, run_id: str) -> None:
    """Wait until the run is Completed and Prefect holds its engine's last log line: nothing
    more of it is still on its way."""

    def done() -> bool:
        state = web.get(f"{api}/flow_runs/{run_id}").json()["state"]
        if not state or state["type"] != "COMPLETED":
            return False
        query = {"logs": {"flow_run_id": {"any_": [run_id]}}, "sort": "TIMESTAMP_DESC"}
        logs = web.post(f"{api}/logs/filter", json=query | {"limit": 200}).json()
        return any("Finished in state Completed" in log["message"] for log in logs)

    _eventually(done)


def _eventually(check: Callable[[], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "did not come in time"
        time.sleep(0.3)


def _personal(listener: Any, backend: str, case_id: int, key: str, staff: str) -> str:
    from harness.cases import MAILBOX, personal_message

    assert MAILBOX["backend"] == backend
    return personal_message(case_id, key, staff)


def _found(pattern: re.Pattern[str], text: str) -> str:
    found = pattern.search(text)
    assert found, text
    return found.group(1)


def test_a_roster_picked_up_by_its_scheduled_flow_leaves_no_name_in_prefect(
    stack: Any, prefect_server: Any
) -> None:
    """The roster pickup runs as a flow: its parameters, result, task results and logs hold
    file names and counts; no pupil's or carer's name, UPN or email reaches Prefect."""
    import os

    from flows.roster_pickup import roster_pickup
    from foundations.settings import get_settings

    mark = marker()
    inbox = get_settings().roster_inbox_path
    inbox.mkdir(parents=True, exist_ok=True)
    export = inbox / f"pupils-{stack.backend}.csv"
    export.write_text(
        "UPN,Legal Surname,Legal Forename,DOB,Contact 1 Name,Contact 1 Email\n"
        f"A{uuid.uuid4().int % 10**11:011d}1,{mark}Surname,{mark}Forename,2014-09-01,"
        f"{mark} Carer,{mark}@example.org\n"
        f"B{uuid.uuid4().int % 10**11:011d}1,Lee,Sam,2014-09-01,,\n"
    )
    settled = time.time() - 120
    os.utime(export, (settled, settled))
    state = roster_pickup(return_state=True)
    picked = state.result()
    assert [(p["file"], p["outcome"], p["added"]) for p in picked] == [(export.name, "imported", 2)]
    run_id = str(state.state_details.flow_run_id)
    finished(prefect_server.api_url, run_id)
    hits = prefect_database_hits(prefect_server.log_path.parent / "prefect.db", mark)
    assert hits == [], f"a pupil's name in Prefect's database: {hits}"
    for path in (prefect_server.log_path, *(p for p in (stack.home / "results").rglob("*"))):
        if path.is_file():
            assert mark.encode() not in path.read_bytes(), f"a pupil's name in {path}"


#: Which part of who the child is each outside page shows (True) or must not (False).
PAGE_SHOWS: dict[str, dict[str, bool]] = {
    "agency": {"name": True, "dob": True, "identifier": True, "upn": False, "carer": False},
    "social-worker": {"name": True, "dob": True, "identifier": True, "upn": False, "carer": False},
    "school": {"name": True, "dob": True, "upn": True, "year": True, "carer": False},
    "staff": {"name": True, "year": True, "dob": False, "upn": False, "carer": False},
    "pdf": {"name": True, "dob": True, "upn": True, "identifier": True, "carer": True},
}
#: The pupils' dates of birth and year group, as the pages write them.
BORN, SHOWN_BORN, YEAR = "01/09/2014", "1 September 2014", "Year 7"


def imported_pupils(mark: str, roles: tuple[str, ...]) -> dict[str, str]:
    """Pupils imported as the school information system gives them, one per role, each named
    with the marker; their references by role."""
    from tasks.roster import import_pupils

    rows = "".join(
        f"{_upn(mark, role)},{mark}{role}Surname,{mark}Forename,{BORN},7,"
        f"CCI-{mark[-6:]}-{role},{mark}Carer {role},Y\n"
        for role in roles
    )
    header = (
        "UPN,Legal Surname,Legal Forename,DOB,Year,Child Identifier,Contact 1 Name,Contact 1 PR\n"
    )
    result = import_pupils(header + rows, "csv", today=datetime.now(UTC).date())
    assert result.counts["added"] == len(roles), result.counts
    by_upn = refs_by_upn()
    return {role: by_upn[_upn(mark, role)] for role in roles}


def _upn(mark: str, role: str) -> str:
    digits = int(hashlib.sha256(f"{mark}{role}".encode()).hexdigest(), 16) % 10**11
    return f"A{digits:011d}1"


def identity_value(mark: str, pupils: dict[str, str], field: str, page: str) -> str:
    """What a page would show of `field` for the pupil of that page."""
    role = {"agency": "event", "social-worker": "event", "school": "leaver", "pdf": "leaver",
            "staff": "notice"}[page]  # fmt: skip
    return {
        "name": f"{mark}Forename {mark}{role}Surname",
        "dob": SHOWN_BORN,
        "identifier": f"CCI-{mark[-6:]}-{role}",
        "upn": _upn(mark, role),
        "year": YEAR,
        "carer": f"{mark}Carer {role}",
    }[field]


def pdf_text(document: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(document)).pages)
