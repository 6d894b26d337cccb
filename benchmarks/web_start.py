"""What starting the web app costs: `python -m safeshare.web` (what `safeshare up` starts, once
per web app of the production topology) on a fresh data directory, the CPU it spends and the
memory it holds by the time its liveness page answers, which is what `up` waits for. Prints
figures; asserts nothing.

    .venv/bin/python -m benchmarks.web_start [--rounds 3] [--code DIR]

With `--code`, another checkout's code (a worktree of an earlier commit, say) is started in turn
with this one, each round, so that both meet the same machine.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from harness.prefect_server import free_port  # noqa: E402
from harness.processes import without_suite_settings  # noqa: E402

from benchmarks.measures import cpu_seconds, rss_mb  # noqa: E402

SAFESHARE = Path(sys.executable).parent / "safeshare"


def started(env: dict[str, str], timeout: float = 60) -> tuple[float, float, float]:
    """One start: seconds until /health/live answers, CPU-seconds and resident MB by then."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-W", "ignore", "-m", "safeshare.web"],
        env=env | {"SAFESHARE_WEB_PORT": str(port)},
        cwd=env["SAFESHARE_HOME"],  # not a checkout: `-m` puts the directory first on the path
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    began = time.monotonic()
    try:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the web app exited with code {process.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=1):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() - began > timeout:
                    raise SystemExit("the web app never answered") from None
                time.sleep(0.02)
        return time.monotonic() - began, cpu_seconds([process.pid]), rss_mb([process.pid])
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="starts of each code measured")
    parser.add_argument("--code", type=Path, help="another checkout, started in turn with this")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="safeshare-web-start-") as home:
        env = without_suite_settings() | {
            "SAFESHARE_HOME": home,
            "SAFESHARE_SECRET_KEY": secrets.token_urlsafe(48),
        }
        subprocess.run([str(SAFESHARE), "db", "migrate"], env=env, check=True, capture_output=True)
        codes = {"this checkout": env}
        if args.code is not None:
            codes = {str(args.code): env | {"PYTHONPATH": str(args.code.resolve())}} | codes
        figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name in codes}
        for _ in range(args.rounds):
            for name, code_env in codes.items():
                figures[name].append(started(code_env))
    for name, rounds in figures.items():
        wall, cpu, rss = (statistics.median(r[i] for r in rounds) for i in range(3))
        print(
            f"{name}: answering after {wall:.2f} s, {cpu:.2f} CPU-s, {rss:.0f} MB resident "
            f"(median of {len(rounds)} starts)"
        )


if __name__ == "__main__":
    main()
