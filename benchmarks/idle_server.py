"""Benchmark of what Prefect's server costs doing nothing: started as `safeshare up` starts it
(deployments.prefect_server, the stack's environment, SQLite in a fresh data directory), left to
settle, then the CPU time of its processes over a stretch of idleness, as CPU-seconds a minute.
Prints figures; asserts nothing.

    .venv/bin/python -m benchmarks.idle_server [--seconds 120] [--settle 30] [--rounds 1]
                                               [--env NAME=VALUE ...] [--prefect-defaults]
                                               [--together] [--stack]

With `--env`, a second server is measured right after the first, its environment changed by
each NAME=VALUE (NAME= gives it Prefect's own default), and both figures are printed;
`--prefect-defaults` is `--env NAME=` for each of the stack's own loop settings
(deployments/stack.py::PREFECT_SERVICE_LOOPS) and docket's own look interval for the server's
background worker (`--env SAFESHARE_PREFECT_BACKGROUND_LOOK_SECONDS=0.25`): the server as it
was before them. With
`--rounds`, the two take turns that many times; with `--together`, both run at the same time
instead, each its own server, so that both meet the same machine (an idle server's figure
measured alone moved by up to a third from one run to the next on a machine shared with other
work; two measured together stayed within 0.03 of each other). With `--stack`, the server is
the one of a whole idle `safeshare up` (its deployments served, its automations in place, the
serving process asking for runs), and the whole stack's figure is printed beside it.
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from benchmarks.measures import cpu_seconds, machine_busy, stop_cleanly_on_sigterm  # noqa: E402

SAFESHARE = Path(sys.executable).parent / "safeshare"


def prefect_default(name: str) -> str:
    """Prefect's own default for the setting `name`, as its environment variable says it."""
    import prefect.settings

    value = getattr(prefect.settings, name).default()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, timedelta):
        return f"PT{value.total_seconds():g}S"
    if isinstance(value, (set, list, tuple)):
        return ",".join(sorted(str(item) for item in value))
    return str(value)


def changes(pairs: list[str]) -> dict[str, str]:
    """The --env options as {name: value}, Prefect's own default where no value is given."""
    found: dict[str, str] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not name or not equals:
            raise SystemExit(f"--env {pair!r}: give NAME=VALUE, or NAME= for Prefect's default")
        found[name] = value or prefect_default(name)
    return found


@dataclass(frozen=True)
class Idle:
    """What one server used, left alone: CPU-seconds a minute, the whole stack's (with
    `--stack`), and how busy the machine was meanwhile."""

    server: float
    stack: float | None
    busy: float


def measured(pids: list[int], server: int, seconds: float) -> Idle:
    """The CPU time of `server`, and of the processes `pids` and theirs, over `seconds`."""
    before, whole, (busy, ticks) = cpu_seconds([server]), cpu_seconds(pids), machine_busy()
    time.sleep(seconds)
    server_used = cpu_seconds([server]) - before
    stack_used = cpu_seconds(pids) - whole
    busy_after, ticks_after = machine_busy()
    return Idle(
        server_used * 60 / seconds,
        stack_used * 60 / seconds if pids != [server] else None,
        (busy_after - busy) / max(ticks_after - ticks, 1e-9),
    )


def migrated(home: Path) -> None:
    """Prefect's database already migrated, as a second start of `up` finds it: the minute of
    migrations on a fresh database is start-up, not idleness."""
    from harness.prefect_server import prefect_template_database

    prefect_home = home / "prefect"
    (prefect_home / "storage").mkdir(parents=True)
    shutil.copyfile(prefect_template_database(), prefect_home / "prefect.db")


def idle_server(changed: dict[str, str], seconds: float, settle: float) -> Idle:
    """One Prefect server alone, its environment the stack's changed by `changed`."""
    from harness.prefect_server import free_port

    from deployments.stack import prefect_env, stop, wait_healthy
    from foundations.settings import Settings

    with tempfile.TemporaryDirectory(prefix="idle-server-") as scratch:
        home, port = Path(scratch), free_port()
        env = prefect_env(Settings(home=home, prefect_port=port)) | changed
        if "PREFECT_SERVER_DATABASE_CONNECTION_URL" not in os.environ:
            migrated(home)
        with (home / "prefect-server.log").open("ab") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "deployments.prefect_server"]
                + ["server", "start", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                cwd=home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_healthy(f"http://127.0.0.1:{port}/api/health", server, timeout=180)
            time.sleep(settle)
            idle = measured([server.pid], server.pid, seconds)
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with {server.returncode} meanwhile")
        finally:
            stop(server)
    return idle


def idle_stack(changed: dict[str, str], seconds: float, settle: float) -> Idle:
    """A whole `safeshare up`, in a shell without the suite's or a developer's Prefect and
    safeshare settings, with `changed` set as an operator would set it."""
    from harness.prefect_server import free_port
    from harness.processes import descendants
    from harness.up import clean_env

    with tempfile.TemporaryDirectory(prefix="idle-stack-") as scratch:
        home = Path(scratch)
        migrated(home)
        env = clean_env(home)
        up = subprocess.Popen(
            [str(SAFESHARE), "up", "--prefect-port", str(free_port())]
            + ["--web-port", str(free_port())],
            env=env | changed,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            text=True,
        )
        said: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [said.put(line) for line in up.stdout], daemon=True).start()  # type: ignore[union-attr]
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    if said.get(timeout=1).startswith("safeshare is up"):
                        break
                except queue.Empty:
                    pass
                if up.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"`safeshare up` did not come up (exit {up.returncode})")
            time.sleep(settle)
            (server,) = [
                p.pid for p in descendants(up.pid) if "deployments.prefect_server" in p.cmdline
            ]
            idle = measured([up.pid], server, seconds)
        finally:
            if up.poll() is None:
                up.send_signal(signal.SIGTERM)
            try:
                up.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(up.pid, signal.SIGKILL)
                up.wait()
    return idle


def main() -> None:

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120, help="idle time measured")
    parser.add_argument("--settle", type=float, default=30, help="idle time before measuring")
    parser.add_argument("--rounds", type=int, default=1, help="turns each variant takes")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="the second variant's setting (NAME= gives it Prefect's own default)",
    )
    parser.add_argument(
        "--prefect-defaults",
        action="store_true",
        help="the second variant with Prefect's and docket's own loops",
    )
    parser.add_argument("--together", action="store_true", help="the variants at one time")
    parser.add_argument("--stack", action="store_true", help="the server of a whole `up`")
    args = parser.parse_args()
    stop_cleanly_on_sigterm()
    own: dict[str, str] = {}
    if args.prefect_defaults:
        from deployments.prefect_server import LOOK_SETTING
        from deployments.stack import PREFECT_SERVICE_LOOPS

        own = changes([f"{name}=" for name in PREFECT_SERVICE_LOOPS])
        own[LOOK_SETTING] = "0.25"  # docket's own: its worker looks four times a second
    changed = changes(args.env)
    variants: list[tuple[str, dict[str, str]]] = [("as `safeshare up` starts it", {})]
    if own or changed:
        shown = ["Prefect's and docket's own loops"] if own else []
        shown += [f"{name}={value}" for name, value in changed.items()]
        variants.append((f"with {', '.join(shown)}", own | changed))
    idle = idle_stack if args.stack else idle_server
    figures: dict[str, list[float]] = {name: [] for name, _ in variants}
    for _ in range(args.rounds):
        if args.together:
            with ThreadPoolExecutor(len(variants)) as pool:
                found_all = list(
                    pool.map(lambda v: idle(v[1], args.seconds, args.settle), variants)
                )
        else:
            found_all = [idle(variant, args.seconds, args.settle) for _, variant in variants]
        for (name, _), found in zip(variants, found_all, strict=True):
            figures[name].append(found.server)
            stack = "" if found.stack is None else f", the whole stack {found.stack:.2f}"
            print(
                f"Prefect server {name}: {found.server:.2f} CPU-s a minute idle{stack} "
                f"(over {args.seconds:g} s after {args.settle:g} s; machine {found.busy:.0%} "
                "busy)",
                flush=True,
            )
    if args.rounds > 1:
        for name, values in figures.items():
            print(f"Prefect server {name}: {min(values):.2f} CPU-s a minute idle at least")


if __name__ == "__main__":
    main()
