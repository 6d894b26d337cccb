"""A leaver's child protection file on the real stack (both case databases): the DSL looks at it
first, the new school's DSL gets a link of their own to the whole file as one PDF and confirms
receipt (the link then spent); an unknown destination tells the local authority and keeps the
file; `case export` writes the same document for a conference."""

from __future__ import annotations

import hashlib
import io
import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from harness import web
from harness.cases import (
    NOW,
    agency_link,
    answer_ok,
    cli,
    marker,
    wait_for_status,
    wait_for_step,
)
from harness.databases import on_sqlite_only
from pypdf import PdfReader

from models.kernel.directory import AgencyKind
from tasks.agencies import add_agency
from tasks.children import add_child

pytestmark = pytest.mark.flow

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def pdf_text(document: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(document)).pages)


def child_with_a_concern(people: dict[str, str], mark: str) -> tuple[str, int]:
    ref = f"LV-{uuid.uuid4().hex[:8]}"
    add_child(ref, date_of_birth=date(2015, 2, 1), cp_plan=False)
    result = cli(
        "concern", "record", "--child", ref, "--raised-by", people["teacher"],
        "--category", "neglect", "--what", f"{mark} came in hungry again, Zoë’s friend said",
        "--when", NOW, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return ref, int(json.loads(result.stdout)["case_id"])


def test_the_file_goes_to_the_next_school_and_its_receipt_is_confirmed(
    stack: Any, listener: Any, people: dict[str, str], tmp_path: Path
) -> None:
    mark = marker()
    ref, concern_case = child_with_a_concern(people, mark)
    school = f"hs{uuid.uuid4().hex[:6]}"
    path = f"/school/{school}"
    add_agency(
        school,
        name="Hillside Primary",
        kind=AgencyKind.SCHOOL,
        notify_url=listener.url(f"/{stack.backend}{path}"),
    )
    leaving = (datetime.now(UTC) - timedelta(days=1)).date()
    result = cli(
        "leaver", "record", "--child", ref, "--leaving-on", leaving.isoformat(),
        "--destination", school, "--move", "in-year", "--recorded-by", people["dsl"], "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    case_id = int(json.loads(result.stdout)["case_id"])

    case = wait_for_step(case_id, "transfer-review")
    assert case["kind"] == "transfer" and case["leaver"]["destination"] == school
    answer_ok(
        case_id,
        "transfer-review",
        people["dsl"],
        {"early_sharing": "shared-in-advance", "note": f"{mark} support plan sent ahead"},
    )
    case = wait_for_step(case_id, "confirm-receipt")
    assert case["waiting"]["deadline"] == "transfer-receipt"
    assert case["disclosure"]["agency"] == school
    assert case["disclosure"]["decided_by"] == people["dsl"]
    assert "1 record(s)" in case["disclosure"]["information"]

    link = agency_link(listener, stack.backend, case_id, path=path)
    page = web.get(link)
    assert page.status_code == 200 and "Download the child protection file" in page.text
    download = web.get(f"{link}/file")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    text = pdf_text(download.content)
    assert f"Child protection file: {ref}" in text
    assert f"SS-{concern_case:06d}" in text and mark in text and "Zoë’s" in text
    assert f"SS-{case_id:06d}" not in text  # the transfer itself is not part of the file
    # the record keeps the digest of exactly what the new school downloaded
    entries = json.loads(cli("audit", "show", "--case", str(case_id), "--json").stdout)
    (read,) = [e for e in entries if e["action"] == "read:cp-file"]
    assert read["detail"]["sha256"] == hashlib.sha256(download.content).hexdigest()

    csrf = CSRF.search(page.text)
    assert csrf
    done = web.post(
        link,
        data={"csrf": csrf.group(1), "name": "New DSL", "role": "DSL", "reference": "HS-1"},
    )
    assert done.status_code == 200, done.text
    closed = wait_for_status(case_id, "shared")
    assert closed["receipt"]["confirmed_by_name"] == "New DSL"
    assert web.get(f"{link}/file").status_code == 409  # the link is spent
    everything = json.dumps([r.body for r in listener.records if isinstance(r.body, dict)])
    assert mark not in everything and ref not in everything


@on_sqlite_only
def test_an_unknown_destination_keeps_the_file_and_tells_the_local_authority(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    mark = marker()
    ref, _ = child_with_a_concern(people, mark)
    result = cli(
        "leaver", "record", "--child", ref, "--leaving-on", date.today().isoformat(),
        "--destination", "unknown", "--move", "in-year", "--recorded-by", people["dsl"], "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    case_id = int(json.loads(result.stdout)["case_id"])
    wait_for_step(case_id, "transfer-review")
    answer_ok(case_id, "transfer-review", people["dsl"], {"early_sharing": "not-needed"})
    case = wait_for_step(case_id, "confirm-receipt")
    assert case["disclosure"]["agency"] == "csc"
    assert "not known" in case["disclosure"]["information"]
    link = agency_link(listener, stack.backend, case_id)  # the local authority's duty inbox
    page = web.get(link)
    assert page.status_code == 200 and "Download the child protection file" not in page.text
    assert web.get(f"{link}/file").status_code == 403  # the file stays with the school


@on_sqlite_only
def test_the_file_is_exported_for_a_conference_by_those_who_may_read_it(
    stack: Any, people: dict[str, str], tmp_path: Path
) -> None:
    mark = marker()
    ref, case_id = child_with_a_concern(people, mark)
    out = tmp_path / "conference.pdf"
    refused = cli("--user", people["teacher"], "case", "export", ref, "--out", str(out))
    assert refused.exit_code == 1 and "is not allowed to read case" in refused.stderr
    assert not out.exists()
    done = cli("case", "export", str(case_id), "--out", str(out))
    assert done.exit_code == 0, done.output
    assert f"Wrote the child protection file of {ref} (1 case(s))" in done.stdout
    assert out.stat().st_mode & 0o777 == 0o600
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert f"(SHA-256 {digest})" in " ".join(done.stdout.split())  # said, and recorded
    entries = json.loads(cli("audit", "show", "--case", str(case_id), "--json").stdout)
    assert [e["detail"]["sha256"] for e in entries if e["action"] == "read:cp-file"] == [digest]
    assert mark in pdf_text(out.read_bytes())
    again = cli("case", "export", ref, "--out", str(out))
    assert again.exit_code == 1 and "exists" in again.stderr
    unknown = cli("case", "export", "NOBODY-1", "--out", str(tmp_path / "x.pdf"))
    assert unknown.exit_code == 1 and "No child has the reference 'NOBODY-1'" in unknown.stderr


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--destination", "nowhere-school"], "No school is in the agency directory"),
        (["--move", "new-term"], "Give the new term's first day"),
        (["--leaving-on", "18/12/2026"], "--leaving-on '18/12/2026' is not a date"),
        (["--destination", "Big School"], "destination"),
    ],
)
def test_a_leaver_that_cannot_be_recorded_changes_nothing(
    stack: Any, people: dict[str, str], argv: list[str], words: str
) -> None:
    base = {"--child": "C-0001", "--leaving-on": "2026-12-18", "--destination": "unknown",
            "--move": "in-year", "--recorded-by": people["dsl"]}  # fmt: skip
    given = dict(zip(argv[::2], argv[1::2], strict=True))
    flat = [part for option, value in (base | given).items() for part in (option, value)]
    result = cli("leaver", "record", *flat)
    assert result.exit_code == 1 and words in result.stderr, result.output
