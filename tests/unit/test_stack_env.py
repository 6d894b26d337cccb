"""The environment `safeshare up` gives every process of its stack (deployments/stack.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from deployments.prefect_server import LOOK_SETTING, background_work_looks_less_often
from deployments.stack import PREFECT_RETENTION, PREFECT_SERVICE_LOOPS, client_env, prefect_env
from foundations.settings import Settings


def test_clients_of_the_stacks_own_server_ask_for_no_csrf_token(tmp_path: Path) -> None:
    env = prefect_env(Settings(home=tmp_path))
    assert env["PREFECT_CLIENT_CSRF_SUPPORT_ENABLED"] == "false"
    assert env["PREFECT_API_URL"].startswith("http://127.0.0.1:")


@pytest.mark.parametrize("value", ["true", "True", "1", "yes", "on"])
def test_clients_of_a_server_with_csrf_protection_keep_asking(value: str) -> None:
    assert client_env({"PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED": value}) == {}


@pytest.mark.parametrize("value", ["", "false", "0", "off"])
def test_clients_of_a_server_without_it_skip_the_request(value: str) -> None:
    env = {"PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED": value}
    assert client_env(env) == {"PREFECT_CLIENT_CSRF_SUPPORT_ENABLED": "false"}


def test_prefects_database_forgets_ended_runs_after_30_days(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in PREFECT_RETENTION:
        monkeypatch.delenv(name, raising=False)
    env = prefect_env(Settings(home=tmp_path))
    assert env["PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED"] == "events,flow_runs"
    assert env["PREFECT_SERVER_SERVICES_DB_VACUUM_RETENTION_PERIOD"] == "2592000"
    monkeypatch.setenv("PREFECT_SERVER_SERVICES_DB_VACUUM_RETENTION_PERIOD", "86400")
    assert (
        prefect_env(Settings(home=tmp_path))["PREFECT_SERVER_SERVICES_DB_VACUUM_RETENTION_PERIOD"]
        == "86400"
    )  # the operator's own stands


def test_prefects_background_services_look_once_a_minute_unless_the_operator_says_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in PREFECT_SERVICE_LOOPS:
        monkeypatch.delenv(name, raising=False)
    env = prefect_env(Settings(home=tmp_path))
    assert {name: env[name] for name in PREFECT_SERVICE_LOOPS} == dict.fromkeys(
        PREFECT_SERVICE_LOOPS, "60"
    )
    monkeypatch.setenv("PREFECT_SERVER_SERVICES_LATE_RUNS_LOOP_SECONDS", "5")
    env = prefect_env(Settings(home=tmp_path))
    assert env["PREFECT_SERVER_SERVICES_LATE_RUNS_LOOP_SECONDS"] == "5"  # the operator's own
    assert env["PREFECT_SERVER_SERVICES_FOREMAN_LOOP_SECONDS"] == "60"


def test_prefect_reads_each_loop_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each name is one of Prefect's own settings, as its server reads it: a misspelt one would
    be ignored without a word."""
    from prefect.settings import Settings as PrefectSettings

    for name, value in PREFECT_SERVICE_LOOPS.items():
        monkeypatch.setenv(name, value)
    services = PrefectSettings().server.services
    for service in (
        services.late_runs,
        services.pause_expirations,
        services.cancellation_cleanup,
        services.foreman,
        services.repossessor,
        services.cleanup_reconciler,
    ):
        assert service.loop_seconds == 60, service


def test_the_runner_runs_as_many_at_once_as_the_settings_say(tmp_path: Path) -> None:
    from deployments.serve import new_runner

    assert new_runner(Settings(home=tmp_path)).limit == 5  # Prefect's own default
    served = new_runner(Settings(home=tmp_path, runner_limit=12, runner_poll_seconds=2))
    assert (served.limit, served.query_seconds) == (12, 2)


@pytest.fixture
def prefects_worker(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Prefect's module that names its server's background worker, naming docket's own `Worker`
    again after the test (background_work_looks_less_often replaces it)."""
    import prefect.server.api.background_workers as background
    from docket import Worker

    monkeypatch.setattr(background, "Worker", Worker)
    return background


def test_the_servers_background_worker_looks_once_a_second(
    prefects_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker Prefect's server builds (by the name `Worker`, with docket's defaults) looks
    for due and new work once a second; a worker given its own intervals keeps them; a Prefect
    that builds some other worker is left as it is."""
    from docket import Docket, Worker

    monkeypatch.delenv(LOOK_SETTING, raising=False)
    assert background_work_looks_less_often()
    docket = Docket(name="looks", url="memory://looks")
    built = prefects_worker.Worker(docket)
    assert isinstance(built, Worker)
    assert built.scheduling_resolution == built.minimum_check_interval == timedelta(seconds=1)
    own = prefects_worker.Worker(docket, scheduling_resolution=timedelta(seconds=3))
    assert own.scheduling_resolution == timedelta(seconds=3)

    other = type("OtherWorker", (), {})
    monkeypatch.setattr(prefects_worker, "Worker", other)
    assert not background_work_looks_less_often()
    assert prefects_worker.Worker is other


@pytest.mark.parametrize("given", ["0", "-1", "61", "soon", "nan"])
def test_a_look_interval_that_is_no_number_of_seconds_stops_the_server_at_once(
    given: str, prefects_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from docket import Worker

    monkeypatch.setenv(LOOK_SETTING, given)
    with pytest.raises(SystemExit, match=LOOK_SETTING):
        background_work_looks_less_often()
    assert prefects_worker.Worker is Worker  # nothing changed


def test_the_operator_sets_how_often_the_background_worker_looks(
    prefects_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from docket import Docket

    monkeypatch.setenv(LOOK_SETTING, "0.25")  # docket's own
    assert background_work_looks_less_often()
    built = prefects_worker.Worker(Docket(name="looks", url="memory://looks-own"))
    assert built.scheduling_resolution == built.minimum_check_interval == timedelta(seconds=0.25)
