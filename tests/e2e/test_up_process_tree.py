"""`safeshare up` takes its whole process tree down, as a person would find it: when the
serving process alone is killed (kill -9) while a run is sending a message, `up` stops the
Prefect server and the web app too and no process of the stack is left (the run's, the
forkserver's included); and when `up` itself is killed (kill -9), its parts follow it. Nothing
is left answering on its ports in either case. (SIGHUP to `up` alone, as a closed terminal
sends it, stops test_up.py's `up` on PostgreSQL, checked the same way.)"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from harness.listeners import HttpListener
from harness.prefect_server import free_port, prefect_template_database
from harness.processes import descendants, with_environment
from harness.up import clean_env, nothing_left, start_up

SAFESHARE = Path(sys.executable).parent / "safeshare"


def _home(tmp_path: Path) -> Path:
    """A data directory whose Prefect database is already migrated (copied from the suite's
    template, as a second start of `up` finds it): these tests are about how the stack stops,
    and the first start's migrations (test_up.py) cost each of them ~8 CPU-seconds more."""
    home = tmp_path / "home"
    (home / "prefect").mkdir(parents=True, mode=0o700)
    home.chmod(0o700)
    shutil.copyfile(prefect_template_database(), home / "prefect" / "prefect.db")
    (home / "prefect" / "prefect.db").chmod(0o600)
    return home


class Up:
    """A running `safeshare up`: its process and every line it has said so far."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def said(self) -> list[str]:
        found = []
        while not self.lines.empty():
            found.append(self.lines.get())
        return found


@contextlib.contextmanager
def _up(env: dict[str, str], prefect_port: int, web_port: int) -> Iterator[Up]:
    """`safeshare up`, once it says it is up; killed with its group if a test leaves it."""
    up = Up(start_up(env, prefect_port, web_port))
    said: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while not any(line.startswith("Data directory:") for line in said):
            assert time.monotonic() < deadline, "".join(said)
            assert up.process.poll() is None or not up.lines.empty(), "".join(said)
            with contextlib.suppress(queue.Empty):
                said.append(up.lines.get(timeout=1))
        yield up
    finally:  # a test that failed half-way leaves nothing running either
        if up.process.poll() is None:
            up.process.terminate()
            up.process.wait(timeout=120)
        for proc in with_environment("SAFESHARE_HOME", env["SAFESHARE_HOME"]):
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)


def test_killing_the_serving_process_alone_stops_the_whole_stack(tmp_path: Path) -> None:
    prefect_port, web_port = free_port(), free_port()
    home = _home(tmp_path)
    env = clean_env(home)
    with HttpListener() as listener:
        config = tmp_path / "apprise.yml"
        config.write_text(f"urls:\n  - {listener.url('/dsl')}:\n      tag: dsl\n")
        env["SAFESHARE_APPRISE_CONFIG"] = str(config)
        with listener.hold("/dsl"), _up(env, prefect_port, web_port) as up:
            shell = {**env, "SAFESHARE_PREFECT_PORT": str(prefect_port)}

            def safeshare(*argv: str) -> str:
                done = subprocess.run(
                    [str(SAFESHARE), *argv], env=shell, capture_output=True, text=True,
                    stdin=subprocess.DEVNULL, timeout=120,
                )  # fmt: skip
                assert done.returncode == 0, done.stderr
                return done.stdout

            safeshare("staff", "add", "it1", "--name", "IT", "--role", "admin")
            shell["SAFESHARE_USER"] = "it1"
            safeshare("staff", "add", "teacher1", "--name", "T", "--role", "staff")
            safeshare("child", "add", "C-0001", "--dob", "2016-05-01")
            recorded = json.loads(
                safeshare(
                    "concern", "record", "--child", "C-0001", "--raised-by", "teacher1",
                    "--category", "physical", "--what", "bruise on the arm", "--json",
                    "--user", "teacher1",
                )
            )  # fmt: skip
            assert recorded["started"] is True
            listener.wait_for(lambda records: any(r.path == "/dsl" for r in records), 180)
            (serving,) = [
                p for p in descendants(up.process.pid) if p.cmdline.endswith("-m deployments.serve")
            ]
            assert len(descendants(serving.pid)) >= 2  # its forkserver, and the run sending

            os.kill(serving.pid, signal.SIGKILL)

            assert up.process.wait(timeout=120) == 1
    nothing_left(home, (prefect_port, web_port))
    said = up.said()
    assert any("The serving process stopped" in line for line in said), said


def test_killing_up_itself_takes_its_parts_down(tmp_path: Path) -> None:
    prefect_port, web_port = free_port(), free_port()
    home = _home(tmp_path)
    with _up(clean_env(home), prefect_port, web_port) as up:
        deadline = time.monotonic() + 90  # the serving process starts its forkserver at once
        while not any("forkserver" in p.cmdline for p in descendants(up.process.pid)):
            assert time.monotonic() < deadline, descendants(up.process.pid)
            time.sleep(0.5)

        os.kill(up.process.pid, signal.SIGKILL)  # no handler of its own runs

        up.process.wait()
        nothing_left(home, (prefect_port, web_port))
