"""A police domestic abuse notification on the real stack (both case databases): the DSL records
it, reviews it before the next school day, chooses who needs to know and what; each is told
through a link of their own that shows only that, its opening recorded; the notice itself never
leaves the case database."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from harness import web
from harness.cases import (
    answer,
    answer_ok,
    cli,
    expire_notice_link,
    marker,
    notice_link,
    wait_for_status,
    wait_for_step,
)

from foundations.deadline_settings import setting_calendar
from foundations.settings import get_settings
from models.deadlines import DEFAULT_RULES, due_at
from tasks.views import show_case

pytestmark = pytest.mark.flow

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def test_staff_who_need_to_know_are_told_only_that_and_their_reading_is_recorded(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    mark = marker()
    received = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    result = cli(
        "notice", "record", "--child", "C-0001", "--source", "police-domestic-abuse",
        "--recorded-by", people["dsl"], "--received-at", received.isoformat(),
        "--details", f"{mark} police attended the home at 23:10", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    case_id = int(json.loads(result.stdout)["case_id"])

    waiting = wait_for_step(case_id, "notice-review")["waiting"]
    assert waiting["deadline"] == "notice-review-police"
    rule = DEFAULT_RULES["notice-review-police"]
    calendar = setting_calendar(get_settings(), received.date())  # with the bank holidays
    assert datetime.fromisoformat(waiting["due"]) == due_at(rule, received, calendar)
    assert set(waiting["who_may_answer"]) == {people["dsl"], people["deputy"]}

    decision = {
        "staff_to_tell": [people["teacher"], people["slt"]],
        "what_they_need_to_know": f"{mark} be alert to tiredness today",
        "reason": f"{mark} class teacher and head of year",
    }
    unknown = answer(case_id, "notice-review", people["dsl"], decision | {"staff_to_tell": ["x9"]})
    assert unknown.exit_code == 1 and "No active member of staff is x9" in unknown.stderr
    answer_ok(case_id, "notice-review", people["dsl"], decision)
    case = wait_for_status(case_id, "told")
    told = {n["staff_id"]: n for n in case["notices"]}
    assert set(told) == {people["teacher"], people["slt"]}
    assert all(n["sent_at"] and n["opened_at"] is None for n in told.values())

    link = notice_link(listener, stack.backend, case_id, people["teacher"])
    gate = web.get(link)
    assert gate.status_code == 200 and mark not in gate.text  # a scanner sees nothing
    assert web.head(link).status_code == 200
    assert show_case(case_id)["notices"][0]["opened_at"] is None  # opening is a choice
    assert web.post(link, data={"csrf": "forged"}).status_code == 403
    csrf = CSRF.search(gate.text)
    assert csrf
    shown = web.post(link, data={"csrf": csrf.group(1)})
    assert shown.status_code == 200
    assert f"{mark} be alert to tiredness today" in shown.text
    assert f"{mark} police attended" not in shown.text  # never the notice itself
    assert f"{mark} class teacher" not in shown.text  # nor why they were chosen
    assert "Do not tell the child" in shown.text  # the source is not for parents, by default
    opened = {n["staff_id"]: n["opened_at"] for n in show_case(case_id)["notices"]}
    assert opened[people["teacher"]] is not None and opened[people["slt"]] is None

    # someone else's link, altered: refused; an expired one: 410, nothing shown
    assert web.get(link[:-3] + "AAA").status_code == 403
    other = notice_link(listener, stack.backend, case_id, people["slt"])
    expire_notice_link(case_id, people["slt"])
    assert web.get(other).status_code == 410

    everything = json.dumps([r.body for r in listener.records if isinstance(r.body, dict)])
    assert mark not in everything
    steps = [e["step"] for e in show_case(case_id)["chronology"]]
    assert steps[:2] == ["record-notice", "notice-review"] and "staff-told" in steps


@pytest.mark.parametrize(
    ("user_argv", "words"),
    [
        (["--recorded-by", "teacher1"], "is not allowed to record notice"),
        (["--recorded-by", "dsl1", "--source", "rumour"], "'rumour' is not one of"),
        (["--recorded-by", "dsl1", "--child", "C-NOBODY"], "No child has the reference"),
    ],
)
def test_a_notice_that_cannot_be_recorded_changes_nothing(
    stack: Any, people: dict[str, str], user_argv: list[str], words: str
) -> None:
    argv = ["notice", "record", *user_argv, "--details", "d"]
    for option, value in (("--child", "C-0001"), ("--source", "other-agency")):
        if option not in argv:
            argv += [option, value]
    result = cli(*argv)
    assert result.exit_code != 0 and words in result.stderr, result.output
