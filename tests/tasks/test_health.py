"""`safeshare health` and the web app's /health, on both case databases: each dependency said
by name, which is down and why in a few words, nothing of its address or password; exit status
1 (503 on the web) when one is down. Prefect's API here is a port nothing listens on; the API
up is checked on a real stack (tests/flow/test_health_of_a_served_stack.py) and under `safeshare up`
(tests/e2e/test_up.py)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from harness.databases import DATA_KEYS, case_database, migrated_database
from harness.prefect_server import free_port
from pydantic import SecretStr
from typer.testing import CliRunner

from foundations.db import engine_for, session_scope
from foundations.settings import Settings, settings_in_force
from models.tables.base import utcnow
from models.tables.outbox import Notification
from safeshare.cli.app import app
from safeshare.web.app import create_app

runner = CliRunner(env={"SAFESHARE_USER": None, "PREFECT_API_URL": None})


def settings_for(url: str, home: Path) -> Settings:
    """Prefect's API on a port nothing listens on."""
    return Settings(
        home=home,
        database_url=url,
        data_keys=DATA_KEYS,
        secret_key=secrets.token_urlsafe(48),
        prefect_port=free_port(),
    )


@pytest.fixture(autouse=True)
def _prefect_api_of_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prefect's API is the settings' own port, not one a shell or the suite set."""
    monkeypatch.delenv("PREFECT_API_URL", raising=False)


@pytest.fixture(params=("sqlite", "postgresql"))
def migrated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    with migrated_database(request.param, tmp_path) as url:
        with settings_in_force(settings_for(url, tmp_path)) as settings:
            yield settings
        engine_for(url).dispose()


def health(*argv: str) -> tuple[int, str]:
    result = runner.invoke(app, ["health", *argv])
    return result.exit_code, result.stdout


def outbox(*messages: tuple[str, str, timedelta]) -> None:
    with session_scope() as session:
        for key, status, age in messages:
            session.add(
                Notification(key=key, tag="dsl", kind="test", status=status,
                             created_at=utcnow() - age)
            )  # fmt: skip


def test_each_dependency_is_said_by_name_and_a_down_one_fails(migrated: Settings) -> None:
    code, said = health()
    assert code == 1, said
    assert said.splitlines() == [
        "ok    case database: reachable, schema current",
        "DOWN  prefect api: unreachable (ConnectError)",
        "ok    outbox: every message delivered",
        "Down: prefect api.",
    ]
    code, said = health("--json")
    found = json.loads(said)
    assert code == 1 and found["status"] == "down" and found["down"] == ["prefect api"]
    assert found["checks"]["case database"] == {"ok": True, "detail": "reachable, schema current"}


def test_the_outbox_is_down_when_a_message_has_waited_too_long(migrated: Settings) -> None:
    outbox(
        ("sent-long-ago", "sent", timedelta(days=2)),
        ("on-its-way", "pending", timedelta(minutes=5)),
    )
    found = json.loads(health("--json")[1])["checks"]["outbox"]
    assert found == {"ok": True, "detail": "1 undelivered, the oldest for 5 min"}
    outbox(("refused-by-the-mail-server", "failed", timedelta(minutes=31)))
    found = json.loads(health("--json")[1])["checks"]["outbox"]
    assert found == {"ok": False, "detail": "2 undelivered, the oldest for 31 min"}


def test_the_web_app_says_the_same_and_answers_503(migrated: Settings) -> None:
    client = TestClient(create_app())
    assert client.get("/health/live").json() == {"status": "ok"}
    answer = client.get("/health")
    assert answer.status_code == 503
    assert answer.json() == json.loads(health("--json")[1])


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_database_not_migrated_is_down_and_its_outbox_not_read(kind: str, tmp_path: Path) -> None:
    with case_database(kind, tmp_path) as url:
        if kind == "sqlite":  # an empty file, as a failed first start would leave
            engine_for(url).connect().close()
        with settings_in_force(settings_for(url, tmp_path)):
            code, said = health()
        engine_for(url).dispose()
    assert code == 1
    assert said.splitlines()[0] == (
        "DOWN  case database: schema not current: run `safeshare db migrate`"
    )
    assert "DOWN  outbox: not read: the case database is down" in said


def test_no_case_database_yet_is_said_and_none_is_made(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cases.db"
    with settings_in_force(settings_for(url, tmp_path)):
        code, said = health()
    assert code == 1
    assert (
        said.splitlines()[0] == "DOWN  case database: no database yet: run `safeshare db migrate`"
    )
    assert not (tmp_path / "cases.db").exists()


def test_an_unreachable_database_is_said_without_its_address_or_password(tmp_path: Path) -> None:
    url = f"postgresql://postgres:s3cret@127.0.0.1:{free_port()}/cases"
    with settings_in_force(settings_for(url, tmp_path)):
        code, said = health()
        web = TestClient(create_app()).get("/health").text
    assert code == 1
    assert said.splitlines()[0] == "DOWN  case database: unreachable (OperationalError)"
    for shown in (said, web):
        assert "s3cret" not in shown and "127.0.0.1" not in shown


# ---------------------------------------------------------------------------------------------
# Prometheus's figures: counted from the case database at each scrape


def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    text = TestClient(create_app()).get("/metrics").text
    assert "what happened" not in text  # counts and ages, never what a person typed
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("safeshare_")
    }


def test_metrics_count_open_waiting_and_overdue_cases_and_the_outbox(migrated: Settings) -> None:
    from datetime import UTC, date, datetime

    from sqlalchemy import update

    from foundations.audit import append
    from models.kernel.roles import Role
    from models.sharing.concern import Category, ConcernFacts
    from models.tables.cases import Case, CaseStep
    from tasks.children import add_child
    from tasks.concerns import record_concern
    from tasks.staff import add_staff

    add_staff(
        "teacher1", name="Person teacher1", role=Role.STAFF, notify_url="json://127.0.0.1:9/t"
    )
    add_child("C-1", date_of_birth=date(2016, 5, 1), cp_plan=False)
    facts = ConcernFacts(
        child_ref="C-1",
        raised_by="teacher1",
        category=Category.PHYSICAL,
        occurred_at=datetime.now(UTC) - timedelta(hours=1),
        what_happened="what happened",
    )
    ids = [record_concern(facts) for _ in range(3)]
    now = utcnow()
    with session_scope() as session:
        for case_id, step, due in (
            (ids[0], "assess-criteria", now - timedelta(hours=2)),  # overdue
            (ids[1], "assess-criteria", now + timedelta(hours=2)),
        ):
            session.execute(
                update(Case).where(Case.id == case_id).values(waiting_step=step, waiting_due=due)
            )
        session.execute(update(Case).where(Case.id == ids[2]).values(status="shared"))
        # each wait opened a few seconds after the answer before it (ids[0]: 3 s, ids[1]: 1 s);
        # the flow's own row just before ids[0]'s wait is no one's answer
        for case_id, opened, rows in (
            (ids[0], now - timedelta(minutes=10), (("cli", 3.0), ("system", 0.5))),
            (ids[1], now - timedelta(minutes=5), (("link", 1.0),)),
        ):
            session.execute(update(Case).where(Case.id == case_id).values(waiting_since=opened))
            for n, (channel, before) in enumerate(rows):
                session.add(
                    CaseStep(
                        case_id=case_id, step="triage", slot=f"s{n}", key=f"k{n}", accepted=True,
                        actor="dsl1", channel=channel,
                        recorded_at=opened - timedelta(seconds=before),
                    )
                )  # fmt: skip
        for action in ("run:crashed", "run:restarted", "run:restarted"):
            append(session.connection(), action, case_id=ids[0], detail={"run": "r"})
    outbox(("refused", "failed", timedelta(minutes=10)), ("sent", "sent", timedelta(days=1)))
    found = scrape()
    assert found[("safeshare_up", (("dependency", "case database"),))] == 1
    assert found[("safeshare_up", (("dependency", "prefect api"),))] == 0
    assert found[("safeshare_cases_open", (("kind", "sharing"),))] == 2
    waiting = (("kind", "sharing"), ("step", "assess-criteria"))
    assert found[("safeshare_cases_waiting", waiting)] == 2
    assert found[("safeshare_waits_overdue", (("step", "assess-criteria"),))] == 1
    assert found[("safeshare_messages_undelivered", (("status", "failed"),))] == 1
    assert ("safeshare_messages_undelivered", (("status", "sent"),)) not in found
    age = found[("safeshare_outbox_oldest_undelivered_seconds", ())]
    assert 600 <= age < 900, age
    assert found[("safeshare_runs_recovered_total", (("what", "crashed"),))] == 1
    assert found[("safeshare_runs_recovered_total", (("what", "restarted"),))] == 2
    assert found[("safeshare_answer_to_next_wait_seconds", (("quantile", "0.5"),))] == 2.0
    assert found[("safeshare_answer_to_next_wait_seconds", (("quantile", "0.9"),))] == 3.0
    assert found[("safeshare_answer_to_next_wait_count", ())] == 2


def test_metrics_of_a_database_that_is_down_say_only_that(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cases.db"
    with settings_in_force(settings_for(url, tmp_path)):
        found = scrape()
    assert found == {
        ("safeshare_up", (("dependency", "case database"),)): 0,
        ("safeshare_up", (("dependency", "prefect api"),)): 0,
        ("safeshare_up", (("dependency", "outbox"),)): 0,
    }


def test_redis_is_checked_where_it_is_used(migrated: Settings, tmp_path: Path) -> None:
    """A port nothing listens on, then the machine's own Redis."""
    down = migrated.model_copy(
        update={"redis_url": SecretStr(f"redis://127.0.0.1:{free_port()}/0")}
    )
    with settings_in_force(down):
        found = json.loads(health("--json")[1])
    assert found["checks"]["redis"] == {"ok": False, "detail": "unreachable (ConnectionError)"}
    assert "redis" in found["down"]
    up = migrated.model_copy(update={"redis_url": SecretStr("redis://127.0.0.1:6379/0")})
    with settings_in_force(up):
        found = json.loads(health("--json")[1])
    assert found["checks"]["redis"] == {"ok": True, "detail": "answering"}
    assert list(found["checks"]) == ["case database", "prefect api", "redis", "outbox"]


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (a school's own CA, as far as a client can tell)
    and its key, as PEM files."""
    from datetime import UTC, datetime
    from ipaddress import IPv4Address

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "prefect.trust.test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "prefect.pem", folder / "prefect.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def prefect_api_over_tls(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTPS server on 127.0.0.1 that answers Prefect's /api/health as Prefect does, with a
    certificate no public CA signed: its address and the certificate."""
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            healthy = self.path == "/api/health"
            self.send_response(200 if healthy else 404)
            self.end_headers()
            self.wfile.write(b"true" if healthy else b"")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    cert_file, key_file = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_port}/api", cert_file
    finally:
        server.shutdown()
        server.server_close()


def test_prefect_behind_tls_is_checked_with_prefects_own_certificate_settings(
    migrated: Settings, prefect_api_over_tls: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API's address and certificate are Prefect's client settings, as every door asks it
    (tasks/prefect_api.py): without the school's CA the API is unreachable, with it answering."""
    api, cert_file = prefect_api_over_tls
    monkeypatch.setenv("PREFECT_API_URL", api)  # for the web app, in this process

    def check() -> tuple[int, str]:
        result = runner.invoke(app, ["health"], env={"PREFECT_API_URL": api})
        return result.exit_code, result.stdout

    code, said = check()  # a certificate of an issuer it does not know: no answer
    assert "DOWN  prefect api: unreachable (ConnectError)" in said.splitlines(), said
    monkeypatch.setenv("PREFECT_API_SSL_CERT_FILE", str(cert_file))
    code, said = check()
    assert "ok    prefect api: answering" in said.splitlines(), said
    assert code == 0, said
    client = TestClient(create_app())
    assert client.get("/health").json()["checks"]["prefect api"]["ok"] is True
