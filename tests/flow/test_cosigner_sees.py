"""What a second person sees before co-signing, on both case databases: everything the decision
rests on. The sign-off page (behind the senior leader's own link) shows the criteria answers, the
DSL's reasons, consent and why it is overridden or not sought, what would go to whom and why, the
lawful basis, and the outcome the rule computed with its reason codes; after an emergency share
the ratification page shows what was shared. The dashboard's form, which Prefect keeps, shows the
same decision in codes only, with the link to the case page for the rest. `case show` shows the
computed outcome and reason codes of every assessment."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from harness import web
from harness.cases import (
    answer_ok,
    assessment,
    cli,
    marker,
    new_case,
    personal_message,
    wait_for_step,
    wait_until_suspended,
)
from harness.databases import on_sqlite_only

pytestmark = pytest.mark.flow

LINK = re.compile(r"personal link \(works once\): (\S+)")
TAGS = re.compile(r"<[^>]+>")
CODES = (
    "criterion-1-evidence-of-significant-harm",
    "criterion-2-reasonable-cause-to-believe",
    "public-interest-met",
)


def page_text(url: str) -> str:
    """The page a link opens, as words (tags dropped, spaces squeezed)."""
    page = web.get(url)
    assert page.status_code == 200, page.text
    return " ".join(html.unescape(TAGS.sub(" ", page.text)).split())


def form_inputs(api: str, run_id: str) -> tuple[str, dict[str, Any]]:
    """The description and the JSON schema of the form a suspended run shows in the dashboard,
    as Prefect keeps them."""
    wait_until_suspended(api, run_id)
    keyset = web.get(f"{api}/flow_runs/{run_id}").json()["state"]["state_details"]
    keyset = keyset["run_input_keyset"]
    description = web.get(f"{api}/flow_runs/{run_id}/input/{keyset['description']}").json()
    schema = web.get(f"{api}/flow_runs/{run_id}/input/{keyset['schema']}").json()
    return description, schema


@on_sqlite_only
def test_the_signer_sees_everything_the_decision_rests_on(
    stack: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    mark = marker()
    case_id = new_case(people, mark)
    answer_ok(case_id, "assess-criteria", people["dsl"], assessment(mark))
    waiting = wait_for_step(case_id, "management-signoff")["waiting"]

    # The senior leader's own page: every reason, in words, and the computed outcome.
    url = LINK.search(personal_message(case_id, waiting["key"], people["slt"])).group(1)  # type: ignore[union-attr]
    page = page_text(url)
    for shown in (
        f"{mark} reasons",  # the DSL's reasons
        "Consent refused",
        f"Why consent is overridden {mark} override",
        "What would be shared",
        f"{mark} info",
        "Children's Social Care",
        f"Why {mark} purpose",
        "Lawful basis art6-1-e-public-task",
        "Evidence of significant harm yes",
        "To prevent significant harm or serious crime no",
        "Not sharing could be worse than sharing yes",
        "Outcome the policy's rule computed share-without-consent",
        "consent-refused-overridden",
        *CODES,
    ):
        assert shown in page, shown
    assert f"{mark} what happened" not in page  # the concern itself is not the signer's

    # The dashboard's form: the same decision in codes, the rest behind the case page's link.
    description, schema = form_inputs(prefect_server.api_url, waiting["flow_run_id"])
    case_page = f"{stack.web_url}/cases/{case_id}"
    for shown in (
        "`share-without-consent`",
        "`consent-refused-overridden`",
        *(f"`{code}`" for code in CODES),
        "evidence of significant harm **yes**",
        "to prevent significant harm or serious crime **no**",
        "Consent: refused, and overridden",
        "Share with: `csc`; lawful basis: `art6-1-e-public-task`",
        f"Assessed by: {people['dsl']}",
        f"[SS-{case_id:06d}]({case_page})",
    ):
        assert shown in description, shown
    assert mark not in description and mark not in json.dumps(schema)
    # The essentials stand under the form's first field too, the code it requires.
    assert list(schema["properties"])[0] == "one_time_code"
    assert "one_time_code" in schema["required"]
    code_help = schema["properties"]["one_time_code"]["description"]
    assert f"SS-{case_id:06d}: management sign-off" in code_help
    assert f"Read the case first: {case_page} " in code_help and people["slt"] in code_help

    # `case show`: the assessment with what the rule made of it.
    shown_json = json.loads(cli("case", "show", str(case_id), "--json").stdout)
    (assessed,) = [e for e in shown_json["chronology"] if e["step"] == "assess-criteria"]
    assert assessed["outcome"] == "share-without-consent"
    assert assessed["reasons"] == [*CODES, "consent-refused-overridden"]
    shown_text = cli("case", "show", str(case_id)).stdout
    # the chronology's last column, its wrapped lines joined
    cells = "".join(line.split("│")[4] for line in shown_text.splitlines() if line.count("│") == 5)
    computed = "computed: share-without-consent (" + ", ".join(assessed["reasons"]) + ")"
    assert computed.replace(" ", "") in cells.replace(" ", "")


@on_sqlite_only
def test_after_an_emergency_share_the_ratifier_sees_what_was_shared(
    stack: Any, prefect_server: Any, people: dict[str, str]
) -> None:
    mark = marker()
    case_id = new_case(people, mark)
    answer_ok(
        case_id,
        "assess-criteria",
        people["dsl"],
        assessment(
            mark,
            consent="not-sought",
            consent_override_reason=None,
            consent_not_sought_reason=f"{mark} not sought",
            emergency_reason=f"{mark} cannot wait",
        ),
    )
    case = wait_for_step(case_id, "ratification")
    url = LINK.search(personal_message(case_id, case["waiting"]["key"], people["slt"])).group(1)  # type: ignore[union-attr]
    page = page_text(url)
    assert "What was shared" in page and "What would be shared" not in page
    for shown in (
        f"Why consent was not sought {mark} not sought",
        f"Why it could not wait {mark} cannot wait",
        f"What {mark} info",
        f"Children's Social Care, at {case['disclosure']['disclosed_at']}",
        f"Decided by {people['dsl']}",
        "emergency-share-before-signoff",
        "consent-not-sought",
    ):
        assert shown in page, shown

    description, _ = form_inputs(prefect_server.api_url, case["waiting"]["flow_run_id"])
    assert "Consent: not sought" in description
    assert "`emergency-share-before-signoff`" in description
    assert "shared at once, as an emergency" in description
    assert mark not in description
