"""What the task tests share: a case database of each kind for a module's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from harness.databases import migrated_database

from foundations.db import engine_for


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated case database, SQLite then PostgreSQL, shared by the module's tests (each
    keeps its rows apart); a module that needs another kind defines its own."""
    with migrated_database(request.param, tmp_path_factory.mktemp(request.param)) as url:
        yield url
        engine_for(url).dispose()
