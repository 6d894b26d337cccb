"""The README's first command, as a person runs it: `safeshare up` on a fresh data directory
starts the Prefect server, migrates the case database, serves both deployments and the web app,
says where they are, and stops everything cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from harness.prefect_server import free_port


def test_safeshare_up_starts_everything_and_stops_cleanly(tmp_path: Path) -> None:
    prefect_port, web_port = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PREFECT_", "SAFESHARE_")) and k != "DATABASE_URL"
    }
    env["SAFESHARE_HOME"] = str(tmp_path / "home")
    safeshare = Path(sys.executable).parent / "safeshare"
    process = subprocess.Popen(
        [str(safeshare), "up", "--prefect-port", str(prefect_port), "--web-port", str(web_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout], daemon=True
    ).start()  # type: ignore[union-attr]
    said: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while not any("safeshare is up" in line for line in said):
            assert time.monotonic() < deadline, "\n".join(said)
            assert process.poll() is None, "\n".join(said)
            try:
                said.append(lines.get(timeout=1))
            except queue.Empty:
                pass
        # the rest of what `up` says, up to its last line
        while not any(line.startswith("Data directory:") for line in said):
            assert time.monotonic() < deadline, "\n".join(said)
            try:
                said.append(lines.get(timeout=1))
            except queue.Empty:
                pass
        output = "".join(said)
        assert f"Dashboard: http://127.0.0.1:{prefect_port}" in output
        assert f"Sign-off links: http://127.0.0.1:{web_port}" in output
        assert f"http://127.0.0.1:{web_port}/sign-in" in output
        assert httpx.get(f"http://127.0.0.1:{web_port}/sign-in").status_code == 200

        api = f"http://127.0.0.1:{prefect_port}/api"
        assert httpx.get(f"{api}/health").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{web_port}/health").json() == {"status": "ok"}
        assert (tmp_path / "home" / "cases.db").exists()
        assert (tmp_path / "home" / "secret.key").stat().st_mode & 0o777 == 0o600
        keys = tmp_path / "home" / "data.keys"  # made with the new database, owner-only
        assert keys.stat().st_mode & 0o777 == 0o600
        assert f"sealed with data key {json.loads(keys.read_text())['primary']}" in output

        flows: set[str] = set()
        deadline = time.monotonic() + 90
        served = {
            "sharing-case",
            "plan-event",
            "access-request",
            "notice",
            "transfer",
            "overdue-check",
            "retention-review",
        }
        while flows != served and time.monotonic() < deadline:
            deployments = httpx.post(f"{api}/deployments/filter", json={}).json()
            names = {d["flow_id"]: d for d in deployments}
            found = httpx.post(
                f"{api}/flows/filter", json={"flows": {"id": {"any_": list(names)}}}
            ).json()
            flows = {f["name"] for f in found}
            time.sleep(1)
        assert flows == served
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        code = process.wait(timeout=90)
    assert code == 0
    for port in (prefect_port, web_port):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"
