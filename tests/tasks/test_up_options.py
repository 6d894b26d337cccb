"""`safeshare up` as the README runs it, with no options: its defaults are accepted, and a port
already in use is one clear sentence (checked before anything starts)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from foundations.settings import Settings, settings_in_force
from safeshare.cli.app import app


def test_up_without_options_takes_its_ports_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("SAFESHARE_HOME", str(tmp_path))
        monkeypatch.setenv("SAFESHARE_PREFECT_PORT", str(port))
        with settings_in_force(Settings()):  # as the environment gives them
            result = CliRunner().invoke(app, ["up"])
    assert result.exit_code == 1, result.output
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr
    assert "--prefect-port" in result.stderr and "Invalid value" not in result.output


def test_up_beyond_this_machine_needs_an_https_address_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFESHARE_HOME", str(tmp_path))
    monkeypatch.delenv("SAFESHARE_WEB_BASE_URL", raising=False)
    with settings_in_force(Settings()):
        result = CliRunner().invoke(app, ["up", "--host", "0.0.0.0"])
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines() == [
        "error: the web app listens on 0.0.0.0: set SAFESHARE_WEB_BASE_URL to the https address "
        "people reach it at (its links are built on it)"
    ]
    assert not (tmp_path / "cases.db").exists()  # refused before anything started


def test_the_web_app_listens_where_it_is_told(tmp_path: Path) -> None:
    """127.0.0.2 is this machine too, but not 127.0.0.1: only the address given answers."""
    import contextlib
    import os
    import secrets
    import signal
    import subprocess
    import sys
    import time

    import httpx
    from harness.prefect_server import free_port
    from harness.web import TLS

    from foundations.settings import settings_env

    port = free_port()
    settings = Settings(
        home=tmp_path, web_host="127.0.0.2", web_port=port, secret_key=secrets.token_urlsafe(48)
    )
    web = subprocess.Popen(
        [sys.executable, "-m", "safeshare.web"],
        env=os.environ | settings_env(settings),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert web.poll() is None, web.stderr.read() if web.stderr else web.returncode
            assert time.monotonic() < deadline, "the web app did not answer within 60 s"
            try:
                answer = httpx.get(f"http://127.0.0.2:{port}/health/live", timeout=2, verify=TLS)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert answer.json() == {"status": "ok"}
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=2, verify=TLS)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=20)
