"""Benchmark of the roster import: a school information system's export of N pupils (two
parents or carers each, the columns a SIMS export gives) imported into an empty case database,
then imported again (nothing changes), then once more with a tenth of the pupils moved up a year
and a hundred gone. Prints figures; asserts nothing.

    .venv/bin/python -m benchmarks.bench_roster [--pupils 2000] [--database sqlite|postgresql]

Goal (issue 16): a 2,000-pupil file imported in under 30 s, and imported again with no change.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

HEADER = (
    "UPN;Legal Surname;Legal Forename;Preferred Forename;DOB;Year;Admission Date;"
    "Contact 1 Name;Contact 1 Relationship;Contact 1 Parental Responsibility;"
    "Contact 1 Telephone;Contact 1 Email;Contact 2 Name;Contact 2 Relationship;"
    "Contact 2 Parental Responsibility;Contact 2 Telephone;Contact 2 Email\n"
)


def export(pupils: int, *, moved: int = 0, gone: int = 0) -> str:
    """A SIMS-like export of `pupils` pupils (the same ones each time, from one seed); the
    first `moved` a year group up, the last `gone` missing."""
    chance = random.Random(7)
    lines = [HEADER]
    for i in range(pupils - gone):
        born = date(2008, 9, 1) + timedelta(days=chance.randrange(0, 13 * 365))
        year = max(1, min(13, 2026 - born.year - 5)) + (1 if i < moved else 0)
        surname = chance.choice(["O'Brien", "Nguyễn", "Smith", "Kowalska", "Ahmed", "Müller"])
        lines.append(
            f"A{i:011d}1;{surname};Pupil{i};;{born:%d/%m/%Y};Year {min(year, 14)};"
            f"01/09/2020;Parent {i} One;Mother;Y;07700 900{i % 1000:03d};p{i}a@example.org;"
            f"Parent {i} Two;Father;Y;07700 901{i % 1000:03d};p{i}b@example.org\n"
        )
    return "".join(lines)


def measure(kind: str, pupils: int) -> None:
    from harness.databases import DATA_KEYS, migrated_database

    from foundations.settings import Settings, settings_in_force
    from tasks.roster import import_pupils

    today = date.today()
    with (
        tempfile.TemporaryDirectory() as tmp,
        migrated_database(kind, Path(tmp)) as url,
        settings_in_force(Settings(home=tmp, database_url=url, data_keys=DATA_KEYS)),
    ):
        first = export(pupils)
        print(f"{kind}: an export of {pupils} pupils, {len(first) / 1e6:.1f} MB", flush=True)
        for label, text, dry in (
            ("imported into an empty database", first, False),
            ("imported again (dry run)", first, True),
            ("imported again", first, False),
            (
                f"imported with {pupils // 10} moved up a year and 100 gone",
                export(pupils, moved=pupils // 10, gone=100),
                False,
            ),
        ):
            start = time.perf_counter()
            result = import_pupils(text, "csv", today=today, dry_run=dry)
            took = time.perf_counter() - start
            print(f"  {label}: {took:.2f} s ({result.counts})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pupils", type=int, default=2000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), nargs="+",
                        default=["sqlite", "postgresql"])  # fmt: skip
    args = parser.parse_args()
    for kind in args.database:
        measure(kind, args.pupils)


if __name__ == "__main__":
    main()
