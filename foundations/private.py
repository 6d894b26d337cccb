"""Files only their owner can read: the data directory is 0700 and everything in it 0600.

Every process that writes there (the CLI, `safeshare up` and each process it starts: the
Prefect server, the serving process and its runs, the web app) sets the owner-only umask as it
starts, so SQLite's databases and their -wal and -shm files, logs, results and keys are made
owner-only whoever creates them. A data directory made by an older version (0755, files 0644) is
tightened when `safeshare up` starts.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: Group and others get nothing: files are made 0600, directories 0700.
UMASK = 0o077


def owner_only() -> None:
    """From now on this process, and every process it starts, makes owner-only files."""
    os.umask(UMASK)


def private_home(home: Path) -> list[Path]:
    """Make the data directory (0700) or tighten it and everything in it to owner-only; the
    paths that were readable by others, for the caller to say so. Links are left alone: what
    they point to is not the data directory's."""
    owner_only()
    home.mkdir(parents=True, exist_ok=True)
    tightened = []
    for directory, subdirectories, files in os.walk(home):
        here = Path(directory)
        for path in (here, *(here / name for name in files)):
            if _tighten(path):
                tightened.append(path)
        subdirectories[:] = [d for d in subdirectories if not (here / d).is_symlink()]
    return tightened


def _tighten(path: Path) -> bool:
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode) or not mode & 0o077:
        return False
    path.chmod(stat.S_IMODE(mode) & 0o700)
    return True
