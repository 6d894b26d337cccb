"""Which statements only the flow tests kept to SQLite would send to PostgreSQL.

`make statements` runs every PostgreSQL test, the flow tests kept to SQLite included
(`SAFESHARE_TEST_EVERY_DATABASE=1`), recording each shape of statement sent to PostgreSQL
(sitecustomize.py), then runs this report: each statement is put to the test running on the
worker that owns its database at the time; the shapes sent by tests kept to SQLite and by no
other PostgreSQL test are printed, with whether a served process (a run, the serving process,
the web app) or the test's own process sent them (the latter are mostly the tests' own checks;
the CLI also runs there). A product statement in that list means a test should run on
PostgreSQL again, or a test of tasks/ should send it. Exit status 1 when a served process sent
one.

    PYTHONPATH=tests python -m harness.statements DIR
"""

from __future__ import annotations

import bisect
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

#: IN lists and multi-row VALUES differ only in how many parameters they hold.
_LISTS = re.compile(r"(%\([a-z_0-9]+\)s(::[A-Z ]+)?)(, %\([a-z_0-9]+\)s(::[A-Z ]+)?)+")
_NUMBERED = re.compile(r"%\(([a-z_]+?)_\d+(_\d+)?\)s")
_NAMES = re.compile(r'"safeshare_(test|template)_[0-9a-z_]+"')


def shape(statement: str) -> str:
    text = " ".join(statement.split())
    text = _NUMBERED.sub(r"%(\1)s", text)
    text = _LISTS.sub(r"\1, ...", text)
    return _NAMES.sub('"safeshare_..."', text)


def report(directory: Path) -> int:
    tests = [json.loads(line) for p in directory.glob("tests-*.jsonl") for line in p.open()]
    workers = {t["worker"] for t in tests}
    sent: list[tuple[float, str, str, int]] = []
    for path in directory.glob("[0-9]*.jsonl"):
        pid = int(path.stem)
        for line in path.open():
            try:
                at, database, statement = json.loads(line)
            except ValueError:  # a process killed mid-line (the crash tests kill runs)
                continue
            sent.append((at, database, shape(statement), pid))
    sent.sort()
    owner: dict[str, int] = {}  # a database belongs to the worker that first used it
    for _, database, _, pid in sent:
        if pid in workers:
            owner.setdefault(database, pid)
    windows: dict[int, list[dict]] = defaultdict(list)
    for t in tests:
        windows[t["worker"]].append(t)
    for ts in windows.values():
        ts.sort(key=lambda t: t["start"])
    starts = {w: [t["start"] for t in ts] for w, ts in windows.items()}
    kept: set[str] = set()
    only_sqlite: dict[str, set[str]] = defaultdict(set)
    origin: dict[str, set[str]] = defaultdict(set)
    for at, database, text, pid in sent:
        worker = owner.get(database)
        if worker is None:
            continue
        i = bisect.bisect_right(starts[worker], at) - 1
        if i < 0 or at > windows[worker][i]["end"] + 3:
            continue
        test = windows[worker][i]
        origin[text].add("test process" if pid in workers else "served")
        if test["sqlite_only"]:
            only_sqlite[text].add(test["test"])
        else:
            kept.add(text)
    missing = {text: names for text, names in only_sqlite.items() if text not in kept}
    say = sys.stdout.write
    say(f"{len(tests)} tests, {len(kept)} shapes sent by the PostgreSQL tests,\n")
    say(f"{len(missing)} sent only by tests kept to SQLite:\n")
    for text, names in sorted(missing.items(), key=lambda kv: sorted(origin[kv[0]])):
        say(f"- [{', '.join(sorted(origin[text]))}] {text[:300]}\n")
        for name in sorted(names)[:3]:
            say(f"    {name}\n")
    return 1 if any("served" in origin[text] for text in missing) else 0


if __name__ == "__main__":
    sys.exit(report(Path(sys.argv[1])))
