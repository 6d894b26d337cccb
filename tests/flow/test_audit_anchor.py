"""The audit trail's anchor on the real stack, on both case databases: served on a schedule, it
writes the trail's head to the anchor file and sends it to the DSL (an entry number and a code,
no content), once per head; `safeshare audit verify` then holds the trail to it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from harness import web
from harness.cases import sent_once
from harness.databases import on_sqlite_only
from typer.testing import CliRunner

from foundations.audit_check import head_of
from foundations.db import session_scope
from foundations.settings import get_settings
from safeshare.cli.app import app

pytestmark = pytest.mark.flow


@on_sqlite_only
def test_the_head_is_anchored_in_the_file_and_sent_to_the_dsl(
    stack: Any, listener: Any, people: dict[str, str]
) -> None:
    from flows.audit_anchor import audit_anchor

    start = len(listener.records)  # what arrived before this test is not its message

    def told(records: list[Any]) -> list[Any]:
        """The anchor's messages to the dsl tag: the config file's address, dsl1, dep1."""
        return [
            r
            for r in records[start:]
            if r.path.startswith(f"/{stack.backend}/")
            and isinstance(r.body, dict)
            and "audit trail anchor" in r.body.get("title", "")
        ]

    def told_once() -> None:
        """The head's one message, sent once; the anchor has returned, so nothing more comes."""
        (row,) = sent_once(
            stack,
            listener,
            rows=1,
            pick=lambda row: row.key == f"audit-anchor:{seq}:{code[:16]}",
            messages=told,
        )
        assert (row.tag, row.kind, row.case_id) == ("dsl", "audit-anchor", None), row

    outcome, _, entry = audit_anchor().partition(":")
    assert outcome in ("anchored", "unchanged")
    with session_scope() as session:
        seq, code = head_of(session)
    told_once()
    (message,) = [r for r in told(listener.records) if r.path == f"/{stack.backend}/tag/dsl"]
    assert f"entry {entry}, code {code}" in message.body["message"] and int(entry) == seq
    lines = get_settings().audit_anchor_path.read_text().splitlines()
    assert json.loads(lines[-1])["seq"] == seq and json.loads(lines[-1])["hash"] == code

    assert audit_anchor() == f"unchanged:{seq}"  # the same head: not written or sent again
    told_once()
    assert len(get_settings().audit_anchor_path.read_text().splitlines()) == len(lines)
    verified = CliRunner().invoke(app, ["--user", people["admin"], "audit", "verify"])
    assert verified.exit_code == 0 and "keyed from entry 1" in verified.stdout
    assert f"the last at entry {seq}" in verified.stdout, verified.stdout


def test_the_anchor_is_served_on_a_schedule(stack: Any, prefect_server: Any) -> None:
    name = stack.env["SAFESHARE_DEPLOYMENT"]
    deployment = web.get(f"{prefect_server.api_url}/deployments/name/audit-anchor/{name}").json()
    crons = [s["schedule"].get("cron") for s in deployment["schedules"]]
    assert crons == ["0 18 * * *"] and all(s["active"] for s in deployment["schedules"])
