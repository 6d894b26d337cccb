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
