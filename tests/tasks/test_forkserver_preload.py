"""What the forkserver loads once so that each forked run does not: the flows, Apprise's
plugins, and the case database's driver when it is not SQLite's."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from deployments.forkserver import PRELOAD, preload_for


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("sqlite:////srv/safeshare/cases.db", None),
        ("postgresql+psycopg://postgres@127.0.0.1:5432/test", "psycopg"),
        ("postgresql+psycopg2://postgres@127.0.0.1:5432/test", "psycopg2"),
    ],
)
def test_the_case_database_driver_is_preloaded_unless_it_is_sqlite(
    url: str, driver: str | None
) -> None:
    preload = preload_for(url)
    assert preload[: len(PRELOAD)] == PRELOAD
    assert preload[len(PRELOAD) :] == (() if driver is None else (driver,))


def in_fresh_interpreter(probe: str) -> list[str]:
    """The words `probe` prints, run by a new Python process (nothing imported before it, and
    no Prefect API: importing `deployments.warm` with one would make a client of it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_preload_holds_every_served_flow() -> None:
    """In a fresh interpreter, importing PRELOAD imports the module of every flow served."""
    probe = (
        "import importlib, sys\n"
        "from deployments.forkserver import PRELOAD\n"
        "[importlib.import_module(m) for m in PRELOAD]\n"
        "loaded = set(sys.modules)\n"
        "import deployments.serve as s\n"
        "served = {f.__module__ for f in (s.sharing_case, s.plan_event, s.access_request,"
        " s.notice, s.transfer, s.overdue_check, s.retention_review, s.audit_anchor)}\n"
        "print(len(served), served <= loaded, 'deployments.warm' in loaded)\n"
    )
    assert in_fresh_interpreter(probe) == ["8", "True", "True"]


def test_importing_warm_loads_every_apprise_plugin_before_any_notification() -> None:
    """In a fresh interpreter: before the import Apprise has loaded no plugin, after it all of
    them, so a run forked afterwards sends its first notification without loading any."""
    probe = (
        "from apprise.manager_plugins import NotificationManager as N\n"
        "from apprise.manager_config import ConfigurationManager as C\n"
        "before = bool(N()._module_map) or bool(C()._module_map)\n"
        "import deployments.warm\n"
        "print(before, len(N()._schema_map) > 50, 'json' in N()._schema_map,"
        " 'file' in C()._schema_map)\n"
    )
    assert in_fresh_interpreter(probe) == ["False", "True", "True", "True"]


def test_importing_warm_loads_what_a_run_would_import_and_this_years_bank_holidays() -> None:
    """In a fresh interpreter: after the import, every module a served run imported after the
    fork is loaded, and this year's bank holidays are worked out (a run finds them cached)."""
    probe = (
        "import sys\n"
        "import deployments.warm as w\n"
        "from models.deadlines import _bank_holidays\n"
        "print(all(m in sys.modules for m in w.RUN_IMPORTS), 'holidays' in sys.modules,"
        " _bank_holidays.cache_info().currsize)\n"
    )
    assert in_fresh_interpreter(probe) == ["True", "True", "1"]


def test_importing_warm_makes_prefects_clients_share_one_verified_tls_context() -> None:
    """In a fresh interpreter: before the import each Prefect client reads the CA bundle into a
    context of its own; after it, three clients build one, which they share, and an unverified
    context (skip-verify) is still a new one of the stdlib's."""
    probe = (
        "import ssl\n"
        "from prefect.client.orchestration import SyncPrefectClient\n"
        "real, built = ssl.create_default_context, []\n"
        "def counting(*a, **k):\n"
        "    built.append(k)\n"
        "    return real(*a, **k)\n"
        "ssl.create_default_context = counting\n"
        "SyncPrefectClient('http://127.0.0.1:9/api'); SyncPrefectClient('http://127.0.0.1:9/api')\n"
        "before = len(built)\n"
        "import deployments.warm as w\n"
        "built.clear()\n"
        "clients = [SyncPrefectClient('http://127.0.0.1:9/api') for _ in range(3)]\n"
        "after = len(built)\n"
        "shared = {id(c._client._transport._pool._ssl_context) for c in clients}\n"
        "import certifi\n"
        "loose = w.OneVerifiedContext().create_default_context()\n"
        "print(before, after, len(shared), loose is not w.verified_context(certifi.where()))\n"
    )
    assert in_fresh_interpreter(probe) == ["2", "1", "1", "True"]


def test_importing_warm_builds_prefects_deferred_models_and_keeps_its_settings() -> None:
    """In a fresh interpreter: after the import no Prefect model waits for its first use to be
    built, and the settings a forked run takes are this process's, kept with the PREFECT_
    settings of a run's environment (its own PREFECT__ variables left out)."""
    probe = (
        "import os\n"
        "os.environ['PREFECT__FLOW_RUN_ID'] = 'x'\n"
        "import pydantic\n"
        "import deployments.warm\n"
        "from deployments import forkserver as f\n"
        "from prefect.settings import get_current_settings\n"
        "seen, todo = set(), [pydantic.BaseModel]\n"
        "while todo:\n"
        "    for m in todo.pop().__subclasses__():\n"
        "        if m not in seen: seen.add(m); todo.append(m)\n"
        "deferred = [m for m in seen if m.__module__.startswith('prefect')"
        " and not m.__pydantic_complete__]\n"
        "env, settings = f._forkserver_settings\n"
        "names = {name for name, _ in env}\n"
        "print(len(deferred), settings is get_current_settings(),"
        " all(n.startswith('PREFECT_') for n in names), 'PREFECT__FLOW_RUN_ID' in names)\n"
    )
    assert in_fresh_interpreter(probe) == ["0", "True", "True", "False"]


def test_a_forked_runs_context_is_prefects_without_the_settings() -> None:
    """What the serving process hands a forked run is Prefect's own serialized context, but for
    the settings, which the run's process takes from the forkserver."""
    probe = (
        "from prefect.context import serialize_context\n"
        "from deployments.forkserver import _run_context\n"
        "theirs = serialize_context()\n"
        "ours = _run_context() == theirs | {'settings_context': {}}\n"
        "print(bool(theirs['settings_context']), ours)\n"
    )
    assert in_fresh_interpreter(probe) == ["True", "True"]


def test_this_prefect_has_what_a_forked_run_is_started_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A forked run follows Prefect's private `run_flow_in_subprocess`: an upgrade that renames
    what it uses fails here, not by every run quietly building its own settings again."""
    import prefect.flow_engine

    from deployments.forkserver import prefect_has_what_forked_runs_use

    assert prefect_has_what_forked_runs_use()
    monkeypatch.delattr(prefect.flow_engine, "_runtime_subprocess_env")
    assert not prefect_has_what_forked_runs_use()
