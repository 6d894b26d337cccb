"""Where the school information system's exports are picked up from a folder (the roster inbox)
and imported, as `safeshare roster import` would: a file named pupils*.csv|json or
staff*.csv|json that has not changed for a minute (the system has finished writing it) is
imported, then moved to done/ (or, when it cannot be imported, to refused/ with a .problems.txt
beside it listing each problem with its line: nothing from it is written). Other files are left
alone. What a pickup returns and logs is file names and counts, never a value from a file.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from foundations.settings import get_settings
from models.kernel.exports import FeedError, RowProblem, decode_export, export_format
from models.roster import MOST_BYTES
from tasks.prefect_task import task
from tasks.roster import (
    RosterRefused,
    RosterResult,
    import_pupils,
    import_staff,
    prompt_for_leavers,
)

log = logging.getLogger("safeshare.roster")

#: A file younger than this may still be being written: it waits for the next pickup.
SETTLED_SECONDS = 60


@dataclass(frozen=True)
class PickedUp:
    """One file picked up: its name, what it held, and what became of it."""

    name: str
    what: str  # "pupils" or "staff"
    outcome: str  # "imported", "unchanged" or "refused"
    counts: dict[str, int]
    problems: int = 0
    moved_to: str = ""


def _kind(path: Path) -> tuple[str, str] | None:
    """(pupils|staff, csv|json) for a file the inbox imports; None for any other."""
    name = path.name.lower()
    fmt = export_format(path.suffix)
    if fmt is None or name.startswith("."):
        return None
    for what in ("pupils", "staff"):
        if name.startswith(what):
            return what, fmt
    return None


def waiting_files(inbox: Path, now: float) -> list[tuple[Path, str, str]]:
    """The inbox's files ready to import, oldest name first: (path, what, format)."""
    if not inbox.is_dir():
        return []
    found = []
    for path in sorted(inbox.iterdir()):
        kind = _kind(path)
        if kind is None or path.is_symlink() or not path.is_file():
            continue
        if now - path.stat().st_mtime < SETTLED_SECONDS:
            continue
        found.append((path, *kind))
    return found


def _read(path: Path) -> str:
    """A file's text, as `safeshare roster import` reads it; RosterRefused when it cannot be."""
    if path.stat().st_size > MOST_BYTES:
        raise RosterRefused([RowProblem(0, f"the file is over {MOST_BYTES} bytes")])
    try:
        return decode_export(path.read_bytes())
    except FeedError as exc:
        raise RosterRefused([RowProblem(0, f"the file {exc.message}")]) from None


def _move(path: Path, folder: str, stamp: str) -> Path:
    target = path.parent / folder
    target.mkdir(mode=0o700, exist_ok=True)
    moved = target / f"{stamp}-{path.name}"
    os.replace(path, moved)
    return moved


def pick_up(inbox: Path, *, today: date, now: datetime) -> list[PickedUp]:
    """Import every settled export in the inbox, one after another, pupils' and staff's in the
    order of their names; each moved out of the inbox once done with."""
    picked = []
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    for path, what, fmt in waiting_files(inbox, now.timestamp()):
        result: RosterResult | None = None
        problems: list[str] = []
        try:
            text = _read(path)
            if what == "pupils":
                result = import_pupils(text, fmt, today=today)
            else:
                result = import_staff(text, fmt, today=today)
        except RosterRefused as exc:
            problems = [str(p) for p in exc.problems]
        if result is None:
            moved = _move(path, "refused", stamp)
            report = moved.with_name(moved.name + ".problems.txt")
            report.write_text("".join(f"{p}\n" for p in problems), encoding="utf-8")
            os.chmod(report, 0o600)
            log.warning("roster file %s refused: %d problem(s)", path.name, len(problems))
            picked.append(PickedUp(path.name, what, "refused", {}, len(problems), moved.name))
            continue
        moved = _move(path, "done", stamp)
        if result.leavers_with_records:
            prompt_for_leavers(result.leavers_with_records, today)
        outcome = "unchanged" if result.nothing else "imported"
        log.info("roster file %s %s: %s", path.name, outcome, result.counts)
        picked.append(PickedUp(path.name, what, outcome, result.counts, 0, moved.name))
    return picked


@task(name="pick-up-rosters", retries=0)
def pick_up_rosters(at: str) -> list[dict[str, object]]:
    """The scheduled pickup's one step: each file's name, kind, outcome and counts."""
    moment = datetime.fromisoformat(at)
    inbox = get_settings().roster_inbox_path
    return [
        {
            "file": p.name,
            "what": p.what,
            "outcome": p.outcome,
            **p.counts,
            "problems": p.problems,
        }
        for p in pick_up(inbox, today=moment.date(), now=moment)
    ]
