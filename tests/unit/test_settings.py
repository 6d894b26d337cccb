"""Settings put in force for a process, in place of the environment's, until the block ends (in
every thread); and handed on to a child process as the environment it reads them from."""

from __future__ import annotations

import os
import threading
from datetime import time
from pathlib import Path

import pytest

from foundations.settings import Settings, get_settings, settings_env, settings_in_force


def test_settings_in_force_are_the_process_s_until_the_block_ends(tmp_path: Path) -> None:
    before = get_settings()
    first, second = Settings(home=tmp_path / "first"), Settings(home=tmp_path / "second")
    with settings_in_force(first) as given:
        assert given is first and get_settings() is first
        with settings_in_force(second):
            seen: list[Settings] = []
            thread = threading.Thread(target=lambda: seen.append(get_settings()))
            thread.start()
            thread.join()
            assert get_settings() is second and seen == [second]
        assert get_settings() is first
    assert get_settings() is before


def test_what_was_in_force_comes_back_after_an_error(tmp_path: Path) -> None:
    before = get_settings()
    with pytest.raises(RuntimeError), settings_in_force(Settings(home=tmp_path)):
        raise RuntimeError("the block failed")
    assert get_settings() is before


def test_a_child_reads_the_same_settings_from_the_environment_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        home=tmp_path,
        database_url="postgresql://safeshare@db.example/cases",
        secret_key="k" * 40,
        data_keys='{"primary": "a", "keys": {"a": "AAAA"}}',
        apprise_config=tmp_path / "apprise.yml",
        deadlines={"parents": "2 working days (setting)"},
        escalation_ladder=["who-must-act", "slt"],
        school_day_starts=time(9, 15),
        runner_poll_seconds=0.5,
        link_failure_limit=1000,
        trusted_proxies="10.0.0.0/8, 127.0.0.1",
        run_start="spawn",
    )
    env = settings_env(settings)
    assert env["DATABASE_URL"] == "postgresql://safeshare@db.example/cases"  # the secrets too
    assert env["SAFESHARE_SECRET_KEY"] == "k" * 40
    assert "SAFESHARE_WEB_BASE_URL" not in env  # unset: left out

    for key in os.environ:  # the child's environment: nothing but what it is given
        if key.startswith("SAFESHARE_") or key == "DATABASE_URL":
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert Settings() == settings
