"""Sign-in on both case databases: only an argon2id hash is kept, a reset ends sessions, a
session ends when idle, failures are recorded and slow further attempts, and the CLI that sets
passwords refuses bad input clearly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from harness.databases import DATA_KEYS, migrated_database
from sqlalchemy import select
from typer.testing import CliRunner

from foundations.db import engine_for, session_scope
from foundations.settings import Settings, settings_in_force
from models.kernel.roles import Role
from models.tables.base import utcnow
from models.tables.directory import Staff
from safeshare.cli.app import app
from tasks import accounts
from tasks.staff import add_staff

runner = CliRunner()
PASSWORD = "correct horse battery staple"


@pytest.fixture(params=("sqlite", "postgresql"))
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with (
        migrated_database(request.param, tmp_path) as url,
        settings_in_force(
            Settings(home=tmp_path, database_url=url, data_keys=DATA_KEYS, sign_in_failure_limit=3)
        ),
    ):
        add_staff("dsl1", name="Alice", role=Role.DSL, notify_url=None)
        add_staff("admin1", name="Ada", role=Role.ADMIN, notify_url=None)
        yield url
        engine_for(url).dispose()


def test_only_a_hash_is_kept_and_a_reset_ends_sessions(database: str) -> None:
    set_ = runner.invoke(
        app,
        ["--user", "admin1", "staff", "password", "dsl1", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert set_.exit_code == 0, set_.output
    with session_scope() as session:
        stored = session.scalar(select(Staff.password_hash).where(Staff.staff_id == "dsl1"))
    assert stored and stored.startswith("$argon2id$") and PASSWORD not in stored
    assert accounts.check_password("dsl1", PASSWORD) is not None
    assert accounts.check_password("dsl1", PASSWORD + "!") is None
    assert accounts.check_password("nobody", PASSWORD) is None

    token = accounts.start_session("dsl1")
    assert accounts.session_for(token) is not None
    accounts.set_password("dsl1", "another good passphrase")
    assert accounts.session_for(token) is None  # the reset ended it
    assert accounts.check_password("dsl1", PASSWORD) is None


def test_a_session_ends_when_idle_or_signed_out(database: str) -> None:
    token = accounts.start_session("dsl1")
    later = utcnow() + timedelta(minutes=31)
    assert accounts.session_for(token, now=later) is None
    assert accounts.session_for(token) is None  # and stays ended
    other = accounts.start_session("dsl1")
    accounts.end_session(other)
    assert accounts.session_for(other) is None
    assert accounts.session_for("made-up") is None


def test_failures_are_recorded_and_slow_further_attempts(database: str) -> None:
    for _ in range(3):
        accounts.record_sign_in("dsl1", "10.0.0.1", "password", "wrong")
    assert accounts.slowed("dsl1", "10.0.0.9")  # for that id, from anywhere
    assert accounts.slowed("admin1", "10.0.0.1")  # from that address, for anyone
    assert not accounts.slowed("admin1", "10.0.0.9")
    assert not accounts.slowed("dsl1", "10.0.0.9", now=utcnow() + timedelta(minutes=16))


@pytest.mark.parametrize(
    ("argv", "stdin", "says"),
    [
        (["staff", "password", "dsl1", "--password-stdin"], "short\n", "at least 12"),
        (["staff", "password", "dsl1", "--password-stdin"], "\n", "no password"),
        (["staff", "password", "dsl1"], "", "--password-stdin"),
        (["staff", "password", "ghost", "--password-stdin"], PASSWORD + "\n", "ghost"),
    ],
)
def test_setting_a_password_refuses_bad_input_clearly(
    database: str, argv: list[str], stdin: str, says: str
) -> None:
    result = runner.invoke(app, ["--user", "admin1", *argv], input=stdin)
    assert result.exit_code == 1 and says in result.stderr, result.output
    with session_scope() as session:
        assert session.scalar(select(Staff.password_hash).where(Staff.staff_id == "dsl1")) is None
    denied = runner.invoke(app, ["--user", "dsl1", *argv], input=stdin)
    assert denied.exit_code == 1 and "not allowed" in denied.stderr


def test_staff_add_can_set_the_password_too_or_adds_nobody(database: str) -> None:
    argv = ["--user", "admin1", "staff", "add", "t2", "--name", "T", "--role", "staff"]
    short = runner.invoke(app, [*argv, "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 12" in short.stderr
    with session_scope() as session:
        assert session.get(Staff, "t2") is None
    added = runner.invoke(app, [*argv, "--password-stdin"], input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert accounts.check_password("t2", PASSWORD) is not None


def test_a_code_works_once(database: str) -> None:
    import pyotp

    secret = accounts.new_totp_secret()
    accounts.set_second_factor("dsl1", secret, step=0)
    code = pyotp.TOTP(secret).now()
    assert accounts.check_code("dsl1", code)
    assert not accounts.check_code("dsl1", code)  # the same code again: refused
    assert not accounts.check_code("dsl1", pyotp.TOTP(secret).at(0))  # an old one: refused
    assert not accounts.check_code("dsl1", "12345")  # not six digits


def test_a_lost_authenticator_is_forgotten_and_its_sessions_end(database: str) -> None:
    accounts.set_second_factor("dsl1", accounts.new_totp_secret(), step=0)
    token = accounts.start_session("dsl1")
    reset = runner.invoke(app, ["--user", "admin1", "staff", "reset-second-factor", "dsl1"])
    assert reset.exit_code == 0, reset.output
    assert accounts.session_for(token) is None
    with session_scope() as session:
        assert session.scalar(select(Staff.totp_secret).where(Staff.staff_id == "dsl1")) is None
    unknown = runner.invoke(app, ["--user", "admin1", "staff", "reset-second-factor", "ghost"])
    assert unknown.exit_code == 1 and "ghost" in unknown.stderr
    denied = runner.invoke(app, ["--user", "dsl1", "staff", "reset-second-factor", "dsl1"])
    assert denied.exit_code == 1 and "not allowed" in denied.stderr
