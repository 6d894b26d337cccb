"""`safeshare notify test`, on both case databases, through real Apprise to a real JSON HTTP
listener and a real SMTP server on 127.0.0.1: each address's answer said, a refusing address
named and the exit non-zero, a target that reaches nobody refused with nothing sent, the act in
the audit trail, no credential printed, and a member of staff without the right refused. And
the README's Microsoft 365 and Teams examples parse with the installed Apprise."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import apprise
import pytest
from harness.databases import DATA_KEYS, migrated_database
from harness.listeners import HttpListener, SmtpListener
from harness.prefect_server import free_port
from sqlalchemy import select
from typer.testing import CliRunner

from foundations.db import engine_for, session_scope
from foundations.settings import Settings, settings_in_force
from models.kernel.roles import Role
from models.tables.audit import AuditLog
from safeshare.cli.app import app
from tasks.agencies import update_agency
from tasks.notify_test import shown
from tasks.staff import add_staff

#: Nobody at the keyboard unless a command says who (whatever the shell's SAFESHARE_USER).
runner = CliRunner(env={"SAFESHARE_USER": None})
README = Path(__file__).resolve().parents[2] / "README.md"
#: In the Apprise URLs only: a test fails if it is ever printed.
PASSWORD = "Pw" + secrets.token_hex(8)


@dataclass
class Setting:
    http: HttpListener
    smtp: SmtpListener
    config: Path  # the Apprise config file (text), tags as the notifications use them
    dsl: str  # the DSL's staff id: their own address is the SMTP server
    teacher: str
    admin: str


@pytest.fixture(params=("sqlite", "postgresql"))
def setting(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Setting]:
    """A case database of its own (so the tags' addresses are this test's alone), the DSL's
    inbox in the Apprise config file (the JSON listener, behind a password) and the DSL's own
    address (the SMTP server, which takes no password)."""
    config = tmp_path / "apprise.txt"
    with (
        HttpListener() as http,
        SmtpListener() as smtp,
        migrated_database(request.param, tmp_path) as url,
        settings_in_force(
            Settings(home=tmp_path, database_url=url, data_keys=DATA_KEYS, apprise_config=config)
        ),
    ):
        config.write_text(f"dsl={with_password(http.url('/dsl-inbox'))}\n")
        s = Setting(http, smtp, config, dsl="dsl1", teacher="teacher1", admin="it1")
        add_staff(s.dsl, name="A DSL", role=Role.DSL, notify_url=smtp.url("d@s.test"))
        add_staff(s.teacher, name="A Teacher", role=Role.STAFF, notify_url=None)
        add_staff(s.admin, name="IT", role=Role.ADMIN, notify_url=None)
        yield s
        engine_for(url).dispose()


def with_password(url: str) -> str:
    """The Apprise URL with a user and password in it, as a real inbox's would have."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://safeshare:{PASSWORD}@{rest}"


def notify_test(user: str | None, *argv: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*(["--user", user] if user else []), "notify", "test", *argv])
    return result.exit_code, result.stdout, result.stderr


def entries(action: str) -> list[AuditLog]:
    with session_scope() as session:
        rows = list(session.scalars(select(AuditLog).where(AuditLog.action == action)))
        session.expunge_all()
        return rows


def reference_in(said: str) -> str:
    found = re.search(r"\bT-[0-9A-F]{8}\b", said)
    assert found, said
    return found.group(0)


def test_a_tag_reaches_the_config_inbox_and_the_staff_address_and_says_so(
    setting: Setting,
) -> None:
    code, out, err = notify_test(setting.dsl, "dsl")
    assert (code, err) == (0, ""), out + err
    reference = reference_in(out)
    # the command has returned: what it sent has arrived, and nothing else
    [posted] = setting.http.records
    [mailed] = setting.smtp.records
    assert posted.path == "/dsl-inbox" and reference in posted.body["title"]
    assert reference in mailed.subject and mailed.rcpt_tos == ("d@s.test",)
    # the whole message: what it is and its reference, nothing about any case
    expected = (
        f"safeshare test message {reference}",
        f"This is a test message from safeshare (reference {reference}): it checks that "
        "safeguarding notifications reach this address. Nothing needs to be done.",
    )
    assert (posted.body["title"], posted.body["message"]) == expected
    assert (mailed.subject, mailed.text.strip()) == expected
    assert "2 of 2 address(es) took it" in out
    assert f"json://127.0.0.1:{setting.http.port}" in out
    assert f"mailto://127.0.0.1:{setting.smtp.port}" in out
    assert PASSWORD not in out + err and "d@s.test" not in out


def test_the_result_as_json(setting: Setting) -> None:
    code, out, _ = notify_test(setting.admin, "dsl", "--json")
    assert code == 0
    said = json.loads(out)
    assert said["tag"] == "dsl" and said["delivered"] == 2
    assert {(a["address"], a["delivered"]) for a in said["addresses"]} == {
        (f"json://127.0.0.1:{setting.http.port}", True),
        (f"mailto://127.0.0.1:{setting.smtp.port}", True),
    }
    assert PASSWORD not in out


def test_an_address_that_refuses_is_named_and_the_exit_is_not_zero(setting: Setting) -> None:
    closed = free_port()  # nothing listens there: the connection is refused
    setting.config.write_text(
        setting.config.read_text() + f"dsl={with_password(f'json://127.0.0.1:{closed}/x')}\n"
    )
    code, out, err = notify_test(setting.dsl, "dsl", "--json")
    assert code == 1
    said = json.loads(out)
    assert said["delivered"] == 2 and len(said["addresses"]) == 3
    assert [a["delivered"] for a in said["addresses"] if str(closed) in a["address"]] == [False]
    assert "1 of 3 address(es) did not take test message" in err
    assert len(setting.http.records) == 1 and len(setting.smtp.records) == 1
    assert PASSWORD not in out + err
    [entry] = entries("notify:test")
    detail = json.loads(entry.detail)
    assert (detail["addresses"], detail["delivered"]) == (3, 2)


@pytest.mark.parametrize("target", ["nosuch", "agency:nowhere", "csc", "teacher1", "two words"])
def test_a_target_that_reaches_nobody_is_refused_and_nothing_is_sent(
    setting: Setting, target: str
) -> None:
    code, out, err = notify_test(setting.dsl, target)
    assert code == 1 and out == ""
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    # the command has returned: had it sent anything, it would be there
    assert setting.http.records == [] and setting.smtp.records == []
    assert entries("notify:test") == []
    if target == "nosuch":
        assert "the tags in use are dsl" in err
    if target == "csc":  # a seeded agency without an address
        assert "agency update csc --notify URL" in err


def test_a_staff_id_and_an_agency_code_reach_their_own_addresses(setting: Setting) -> None:
    code, out, _ = notify_test(setting.dsl, setting.dsl)
    assert code == 0 and "to staff:dsl1: 1 of 1" in out
    assert len(setting.smtp.records) == 1 and setting.http.records == []
    update_agency("csc", notify_url=setting.http.url("/csc-duty"))
    code, out, _ = notify_test(setting.dsl, "csc")
    assert code == 0 and "to agency:csc: 1 of 1" in out
    assert [r.path for r in setting.http.records] == ["/csc-duty"]


def test_the_test_is_in_the_audit_trail_with_counts_and_no_address(setting: Setting) -> None:
    code, out, _ = notify_test(setting.dsl, "dsl")
    assert code == 0
    [entry] = entries("notify:test")
    assert entry.actor == setting.dsl
    assert json.loads(entry.detail) == {
        "target": "dsl",
        "tag": "dsl",
        "reference": reference_in(out),
        "addresses": 2,
        "delivered": 2,
    }
    written = entry.detail + entry.reason
    assert "127.0.0.1" not in written and PASSWORD not in written


@pytest.mark.parametrize("who", ["teacher1", None, "ghost"])
def test_staff_without_the_right_are_refused_and_nothing_is_sent(
    setting: Setting, who: str | None
) -> None:
    code, out, err = notify_test(who, "dsl")
    assert code == 1 and out == ""
    assert (
        "teacher1 (staff) is not allowed to test notifications" in err
        if who == "teacher1"
        else "error: " in err
    )
    assert setting.http.records == [] and setting.smtp.records == []
    assert entries("notify:test") == []
    assert len(entries("denied:test-notifications")) == 1


# ---------------------------------------------------------------------------------------------
# The README's examples


def readme_examples() -> list[str]:
    """The Apprise URLs of the README's Microsoft 365 and Teams examples (not a bare scheme,
    nor one shortened to `o365://...`)."""
    return re.findall(r"\b(?:o365|workflows)://[A-Za-z0-9][^\s`'\"]*", README.read_text())


def readme_config() -> str:
    """The README's example of an Apprise config file: its `tags=URL` lines."""
    lines = re.findall(r"^ {4}([a-z,:-]+=(?:o365|workflows)://\S+)$", README.read_text(), re.M)
    return "\n".join(lines)


def test_the_readme_shows_microsoft_365_mail_and_teams_workflows() -> None:
    assert {url.split("://")[0] for url in readme_examples()} == {"o365", "workflows"}
    config = apprise.AppriseConfig()
    assert config.add_config(readme_config(), format="text")
    read = [(type(s).__name__, sorted(str(t) for t in s.tags)) for s in config.services()]
    assert read == [
        ("NotifyOffice365", ["dsl"]),
        ("NotifyOffice365", ["slt"]),
        ("NotifyWorkflows", ["dsl"]),
    ]


@pytest.mark.parametrize("url", readme_examples())
def test_each_readme_example_parses_with_the_installed_apprise(url: str) -> None:
    servers = apprise.Apprise()
    assert servers.add(url), f"Apprise {apprise.__version__} does not read {url}"
    [server] = servers
    expected = {"o365": "NotifyOffice365", "workflows": "NotifyWorkflows"}[url.split(":")[0]]
    assert type(server).__name__ == expected
    # what `notify test` shows of it: the scheme and host, no secret, signature or tenant
    address = shown(server)
    assert address.startswith(url.split("://")[0] + "://")
    for secret in ("CLIENT-SECRET", "SIGNATURE", "TENANT-ID", "CLIENT-ID", "WORKFLOW-ID"):
        assert secret.lower() not in address.lower(), address


def test_the_readme_shortens_a_teams_url_to_the_same_endpoint() -> None:
    """The README's rule for turning the URL Teams gives into a `workflows://` one."""
    given = {
        "https://prod-00.uksouth.logic.azure.com:443/workflows/WORKFLOW-ID/triggers/manual/"
        "paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SIGNATURE": "workflows://prod-00.uksouth.logic.azure.com:443/WORKFLOW-ID/SIGNATURE",
        "https://default0a1b.2c.environment.api.powerplatform.com:443/powerautomate/automations/"
        "direct/workflows/WORKFLOW-ID/triggers/manual/paths/invoke?api-version=1"
        "&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SIGNATURE": "workflows://default0a1b.2c.environment.api.powerplatform.com:443/WORKFLOW-ID/SIGNATURE"
        "?pa=yes&ver=1",
    }
    readme = " ".join(README.read_text().split())
    for teams, shortened in given.items():
        host = shortened.split("://")[1].split(":")[0]
        assert shortened.replace(host, "HOST") in readme  # the README's own example of the rule
        as_given, as_shortened = (
            apprise.Apprise.instantiate(teams),
            apprise.Apprise.instantiate(shortened),
        )
        assert as_given is not None and as_shortened is not None
        assert as_given.url(privacy=False) == as_shortened.url(privacy=False)
