"""Where the harness keeps what it builds once per machine (migrated template databases), and the
file lock that lets one process build each while concurrent workers and sessions wait for it.

Standard library only, so that any harness module may use it without importing the others.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

# Override with SAFESHARE_TEST_CACHE_DIR; it must survive between pytest sessions to be useful.
DEFAULT_CACHE_DIR = Path("/tmp/safeshare-test-cache")


def cache_dir() -> Path:
    return Path(os.environ.get("SAFESHARE_TEST_CACHE_DIR", DEFAULT_CACHE_DIR))


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (made if missing) for the block; others wait."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
