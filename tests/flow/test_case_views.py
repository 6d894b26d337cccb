"""What `safeshare case list --json`, `case show --json` and `case note` print and record, run as
the DSL would run them on the real stack (both case databases): the case id, its status, what
it waits for (step, flow run, who may answer) and its chronology, with notes in their place."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from harness.cases import cli, marker, new_case, wait_for_step
from harness.databases import on_sqlite_only

pytestmark = pytest.mark.flow


@on_sqlite_only
def test_the_dsl_lists_reads_and_annotates_a_waiting_case(
    stack: Any, people: dict[str, str]
) -> None:
    mark = marker()
    case_id = new_case(people, mark)
    waiting = wait_for_step(case_id, "assess-criteria")["waiting"]

    listed = cli("case", "list", "--json")
    assert listed.exit_code == 0, listed.output
    (mine,) = [c for c in json.loads(listed.stdout) if c["case_id"] == case_id]
    assert mine["reference"] == f"SS-{case_id:06d}" and mine["kind"] == "sharing"
    assert mine["waiting"]["step"] == "assess-criteria"
    assert mine["waiting"]["flow_run_id"] == waiting["flow_run_id"]
    assert set(mine["waiting"]["who_may_answer"]) == {people["dsl"], people["deputy"]}
    assert mark not in listed.stdout  # the list holds no content

    noted = cli("case", "note", str(case_id), "--text", f"{mark} spoke to the class teacher")
    assert noted.exit_code == 0, noted.output
    assert f"Note added to case {case_id} as note-0, by {people['dsl']}" in noted.stdout

    shown = cli("case", "show", str(case_id), "--json")
    assert shown.exit_code == 0, shown.output
    case = json.loads(shown.stdout)
    assert (case["case_id"], case["status"], case["kind"]) == (case_id, "open", "sharing")
    assert case["waiting"]["step"] == "assess-criteria"
    assert case["waiting"]["flow_run_id"] == waiting["flow_run_id"]
    assert set(case["waiting"]["who_may_answer"]) == {people["dsl"], people["deputy"]}
    assert case["concern"]["what_happened"] == f"{mark} what happened"
    steps = [(e["step"], e["by"], e["channel"]) for e in case["chronology"]]
    assert steps == [("record-concern", None, "system"), ("note", people["dsl"], "note")]
    assert case["chronology"][-1]["answer"] == {"text": f"{mark} spoke to the class teacher"}

    text = cli("case", "show", str(case_id))
    assert text.exit_code == 0 and "Concern about C-0001 (physical)" in text.stdout


@pytest.mark.parametrize(
    ("user", "argv", "words"),
    [
        ("teacher1", ["--text", "x"], "is not allowed to act on case"),
        ("dsl1", ["--text", "   "], "a note needs 1 to 20,000 characters"),
        ("dsl1", [], "Missing option '--text'"),
    ],
)
def test_a_note_that_cannot_be_added_changes_nothing(
    stack: Any, people: dict[str, str], user: str, argv: list[str], words: str
) -> None:
    case_id = new_case(people, marker())
    wait_for_step(case_id, "assess-criteria")
    before = json.loads(cli("case", "show", str(case_id), "--json").stdout)["chronology"]
    refused = cli("--user", user, "case", "note", str(case_id), *argv)
    assert refused.exit_code != 0 and words in refused.stderr, refused.output
    after = json.loads(cli("case", "show", str(case_id), "--json").stdout)["chronology"]
    assert after == before
    unknown = cli("case", "note", "999999", "--text", "x")
    assert unknown.exit_code == 1 and "No case has the id 999999" in unknown.stderr


#: Text a terminal would act on: a colour, a window title (OSC, ended by BEL), a one-byte CSI
#: that clears the screen, a right-to-left override, and rich's own link markup.
HOSTILE = (
    "X\x1b[31mRED\x1b]0;owned\x07 \x9b2J \u202eevil\u202c [link=http://127.0.0.1:9/x]click[/link]"
)
#: What a terminal must never be handed raw: every control character but newline, and the
#: bidirectional formatting characters.
_RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@on_sqlite_only
def test_stored_text_reaches_the_terminal_shown_never_obeyed(
    stack: Any, people: dict[str, str]
) -> None:
    """A concern and a note typed with escape sequences: every command that prints stored text
    shows the sequences as escapes, and no control character reaches the terminal."""
    mark = marker()
    case_id = new_case(people, f"{mark} {HOSTILE}")
    wait_for_step(case_id, "assess-criteria")
    noted = cli("case", "note", str(case_id), "--text", f"{mark} {HOSTILE}")
    assert noted.exit_code == 0, noted.output

    staff_id = f"x{mark.lower()}"
    added = cli(
        "--user", people["admin"], "staff", "add", staff_id, "--name", HOSTILE, "--role", "staff"
    )
    assert added.exit_code == 0, added.output

    for argv in (
        ["case", "show", str(case_id)],
        ["case", "list"],
        ["audit", "show", "--case", str(case_id)],
        ["case", "show", str(case_id), "--json"],
        ["--user", people["admin"], "staff", "list"],  # a name, stored text too
    ):
        printed = cli(*argv)
        assert printed.exit_code == 0, printed.output
        assert not _RAW.findall(printed.stdout), (argv, printed.stdout)
    shown = cli("case", "show", str(case_id)).stdout
    what = next(line for line in shown.splitlines() if line.startswith("  what happened:"))
    assert what == (
        f"  what happened: {mark} X\\x1b[31mRED\\x1b]0;owned\\x07 \\x9b2J \\u202eevil\\u202c "
        "[link=http://127.0.0.1:9/x]click[/link] what happened"
    )
    as_json = json.loads(cli("case", "show", str(case_id), "--json").stdout)
    assert as_json["concern"]["what_happened"] == f"{mark} {HOSTILE} what happened"


@on_sqlite_only
def test_runs_are_named_after_their_case_and_checks_after_their_time(
    stack: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    """In the dashboard a case's run is `SS-000016 sharing-case`, from its start from the
    deployment and after each resume; the overdue check's runs say when they ran."""
    from harness import web
    from harness.cases import answer_ok, assessment

    api = prefect_server.api_url
    mark = marker()
    case_id = new_case(people, mark)
    run_id = wait_for_step(case_id, "assess-criteria")["waiting"]["flow_run_id"]
    assert web.get(f"{api}/flow_runs/{run_id}").json()["name"] == f"SS-{case_id:06d} sharing-case"
    answer_ok(case_id, "assess-criteria", people["dsl"], assessment(mark))
    wait_for_step(case_id, "management-signoff")  # resumed, run again, suspended again
    assert web.get(f"{api}/flow_runs/{run_id}").json()["name"] == f"SS-{case_id:06d} sharing-case"

    checked = cli("overdue", "--check-now", "--json")
    assert checked.exit_code == 0, checked.output
    (latest,) = web.post(
        f"{api}/flow_runs/filter",
        json={
            "flows": {"name": {"any_": ["overdue-check"]}},
            # those run, not those scheduled for later (named once they start)
            "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}},
            "sort": "EXPECTED_START_TIME_DESC",
            "limit": 1,
        },
    ).json()
    assert re.fullmatch(r"overdue-check \d{4}-\d\d-\d\d \d\d:\d\d UTC", latest["name"]), latest
