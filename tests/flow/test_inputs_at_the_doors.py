"""Inputs a person gets wrong, and the subject of an allegation, at every door of the real stack
on both databases: nothing about a case reaches the member of staff its allegation is about, by
any tag; the concern form refuses a time to come and a subject nobody is; a case number no case
can have is "no such case" on the web as at the command line."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from harness.cases import NOW, answer_ok, assessment, cli, marker, personal_message, wait_for_step
from harness.databases import on_sqlite_only
from harness.web import sign_in
from sqlalchemy import func, select

from foundations.db import session_scope
from models.tables.cases import Concern
from models.tables.outbox import Notification

pytestmark = pytest.mark.flow

SUBMISSION = re.compile(r'name="submission" value="([^"]+)"')


def about(records: list[Any], path: str, case_id: int) -> list[Any]:
    """Every message about this case that reached `path` (an address of the listener)."""
    ref = f"SS-{case_id:06d}"
    return [
        r
        for r in records
        if r.path == path
        and isinstance(r.body, dict)
        and ref in r.body.get("title", "") + r.body.get("message", "")
    ]


def all_sent(case_id: int, at_least: int, timeout: float = 60) -> list[tuple[str, str]]:
    """The case's outbox once every message in it has gone (so anything sent to anyone has
    reached the listener): (tag, kind) of each."""
    deadline = time.monotonic() + timeout
    while True:
        with session_scope() as session:
            rows = session.execute(
                select(Notification.tag, Notification.kind, Notification.status).where(
                    Notification.case_id == case_id
                )
            ).all()
        if len(rows) >= at_least and all(status == "sent" for _, _, status in rows):
            return sorted((tag, kind) for tag, kind, _ in rows)
        assert time.monotonic() < deadline, f"case {case_id}'s outbox never emptied: {rows}"
        time.sleep(0.3)


def record_allegation(people: dict[str, str], mark: str, subject: str) -> int:
    """A teacher records, in their own name (`--user` after the command), an allegation."""
    result = cli(
        "concern", "record", "--child", "C-0001", "--raised-by", people["teacher"],
        "--category", "physical", "--what", f"{mark} what happened", "--when", NOW,
        "--allegation-against", subject, "--json", "--user", people["teacher"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return int(json.loads(result.stdout)["case_id"])


@on_sqlite_only
def test_the_subject_of_an_allegation_receives_nothing_about_it_by_any_tag(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    backend = stack.backend
    # the deputy's own address carries the tags deputy-dsl and dsl: the role-wide "assessment
    # needed" goes to every dsl address but theirs
    mark = marker()
    case_id = record_allegation(people, mark, people["deputy"])
    waiting = wait_for_step(case_id, "assess-criteria")["waiting"]
    assert people["deputy"] not in waiting["who_may_answer"]
    personal_message(case_id, waiting["key"], people["dsl"])  # the DSL's code: sent last
    outbox = all_sent(case_id, at_least=2)
    assert ("dsl", "waiting:assess-criteria") in outbox
    records = listener.records
    assert about(records, f"/{backend}/tag/dsl", case_id)  # the config file's dsl address
    assert about(records, f"/{backend}/staff/{people['dsl']}", case_id)  # the DSL's own
    assert about(records, f"/{backend}/staff/{people['deputy']}", case_id) == []

    # a senior leader's own address carries slt: the sign-off request goes to the others
    mark = marker()
    case_id = record_allegation(people, mark, people["slt"])
    answer_ok(case_id, "assess-criteria", people["dsl"], assessment(mark))
    waiting = wait_for_step(case_id, "management-signoff")["waiting"]
    assert waiting["who_may_answer"] == [people["slt2"]]
    personal_message(case_id, waiting["key"], people["slt2"])
    outbox = all_sent(case_id, at_least=4)
    assert ("slt", "waiting:management-signoff") in outbox
    records = listener.records
    assert about(records, f"/{backend}/tag/slt", case_id)
    assert about(records, f"/{backend}/staff/{people['slt2']}", case_id)
    assert about(records, f"/{backend}/staff/{people['slt']}", case_id) == []
    assert mark not in json.dumps([r.body for r in records if isinstance(r.body, dict)])


def concern_form(client: Any) -> dict[str, str]:
    form = client.get("/concerns/new")
    assert form.status_code == 200, form.text[:500]
    return {
        "csrf": re.search(r'name="csrf" value="([^"]+)"', form.text).group(1),  # type: ignore[union-attr]
        "submission": SUBMISSION.search(form.text).group(1),  # type: ignore[union-attr]
        "child": "C-0001",
        "category": "physical",
        "when": "2026-11-25T09:30",
        "what": f"{marker()} what happened",
    }


def concerns() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Concern)) or 0


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"when": "2099-01-01T09:30"}, "When it happened must be now or in the past"),
        ({"allegation_against": "dep11"}, "Choose the member of staff from the list"),
        ({"allegation_against": "../x"}, "Choose the member of staff from the list"),
    ],
)
def test_the_concern_form_refuses_a_time_to_come_and_a_subject_nobody_is(
    stack: Any, people: dict[str, str], extra: dict[str, str], words: str
) -> None:
    teacher = sign_in(stack.web_url, people["teacher"])
    before = concerns()
    refused = teacher.post("/concerns/new", data=concern_form(teacher) | extra)
    assert refused.status_code == 422 and words in refused.text, refused.text[-2000:]
    assert concerns() == before


@on_sqlite_only
def test_a_case_number_no_case_can_have_is_no_such_case(stack: Any, people: dict[str, str]) -> None:
    dsl = sign_in(stack.web_url, people["dsl"])
    for number in ("99999999999999999999999", str(2**31), "0"):
        got = dsl.get(f"/cases/{number}")
        assert got.status_code == 404 and "No such case" in got.text, (number, got.text[:300])
    admin = sign_in(stack.web_url, people["admin"])
    assert admin.get("/cases/99999999999999999999999").status_code == 403
    result = cli("case", "show", "99999999999999999999999")
    assert result.exit_code == 1 and "No case has the id" in result.stderr
