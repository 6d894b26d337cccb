"""The audit trail's anchor on the real stack, on both case databases: served on a schedule, it
writes the trail's head to the anchor file and sends it to the DSL (an entry number and a code,
no content), once per head; `safeshare audit verify` then holds the trail to it."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from harness import web
from typer.testing import CliRunner

from foundations.audit_check import head_of
from foundations.db import session_scope
from foundations.settings import get_settings
from safeshare.cli.app import app

pytestmark = pytest.mark.flow


def test_the_head_is_anchored_in_the_file_and_sent_to_the_dsl(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    from flows.audit_anchor import audit_anchor

    path = f"/{stack.backend}/tag/dsl"
    start = len(listener.records)  # what arrived before this test is not its message

    def told(records: list[Any]) -> list[Any]:
        return [
            r
            for r in records[start:]
            if r.path == path
            and isinstance(r.body, dict)
            and "audit trail anchor" in r.body.get("title", "")
        ]

    outcome, _, entry = audit_anchor().partition(":")
    assert outcome in ("anchored", "unchanged")
    with session_scope() as session:
        seq, code = head_of(session)
    (message,) = told(listener.wait_for(told))
    assert f"entry {entry}, code {code}" in message.body["message"] and int(entry) == seq
    lines = get_settings().audit_anchor_path.read_text().splitlines()
    assert json.loads(lines[-1])["seq"] == seq and json.loads(lines[-1])["hash"] == code

    assert audit_anchor() == f"unchanged:{seq}"  # the same head: not written or sent again
    time.sleep(1)  # a second message would have arrived by now
    assert len(told(listener.records)) == 1 and len(
        get_settings().audit_anchor_path.read_text().splitlines()
    ) == len(lines)
    verified = CliRunner().invoke(app, ["--user", people["admin"], "audit", "verify"])
    assert verified.exit_code == 0 and "keyed from entry 1" in verified.stdout
    assert f"the last at entry {seq}" in verified.stdout, verified.stdout


def test_the_anchor_is_served_on_a_schedule(stack: Any, prefect_server: Any) -> None:
    name = stack.env["SAFESHARE_DEPLOYMENT"]
    deployment = web.get(f"{prefect_server.api_url}/deployments/name/audit-anchor/{name}").json()
    crons = [s["schedule"].get("cron") for s in deployment["schedules"]]
    assert crons == ["0 18 * * *"] and all(s["active"] for s in deployment["schedules"])
