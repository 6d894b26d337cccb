"""A real OpenID provider on 127.0.0.1 for the tests of signing in with a school account: the npm
package `oidc-provider`, pinned in tests/oidc/package-lock.json, installed once per machine
with the machine's npm into the tests' cache (npm uses its own configured registry), and run
by the machine's Node.js with tests/oidc/provider.mjs, which reads the clients and accounts a
test gives (see the script's top)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from .cache import cache_dir, locked
from .web import TLS

SOURCE = Path(__file__).resolve().parents[1] / "oidc"
FILES = ("package.json", "package-lock.json", "provider.mjs")


def installed() -> Path:
    """The folder holding the provider's packages and script, installed on first use (`npm
    ci`, under a lock: concurrent workers wait for one install)."""
    for tool in ("node", "npm"):
        assert shutil.which(tool), f"{tool} is missing: the sign-in tests run Node.js"
    digest = hashlib.sha256(b"".join((SOURCE / name).read_bytes() for name in FILES))
    home = cache_dir() / f"oidc-provider-{digest.hexdigest()[:16]}"
    with locked(cache_dir() / "oidc-provider.lock"):
        if not (home / "node_modules" / "oidc-provider").is_dir():
            building = Path(tempfile.mkdtemp(prefix="oidc-provider-", dir=cache_dir()))
            for name in FILES:
                shutil.copy(SOURCE / name, building / name)
            done = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                cwd=building,
                capture_output=True,
                text=True,
                timeout=300,
            )
            if done.returncode != 0:
                shutil.rmtree(building, ignore_errors=True)
                raise RuntimeError(f"npm ci failed:\n{done.stdout}\n{done.stderr}")
            shutil.rmtree(home, ignore_errors=True)
            building.rename(home)
    return home


@dataclass
class OidcProvider:
    issuer: str
    log: Path

    @property
    def discovery(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"


@contextlib.contextmanager
def running_oidc_provider(
    workdir: Path,
    *,
    clients: list[dict[str, Any]],
    accounts: dict[str, dict[str, Any]],
) -> Iterator[OidcProvider]:
    """The provider, listening on a free port of 127.0.0.1, until the block ends."""
    home = installed()
    config = workdir / "oidc-provider.json"
    config.write_text(json.dumps({"port": 0, "clients": clients, "accounts": accounts}))
    log = workdir / "oidc-provider.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["node", str(home / "provider.mjs"), str(config)],
            cwd=home,
            stdout=subprocess.PIPE,
            stderr=out,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("SAFESHARE_")},
        )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().decode().strip()  # the script says where it listens
        if not first.startswith("listening "):
            process.wait(timeout=10)
            raise RuntimeError(f"the OpenID provider did not start: {log.read_text()[-2000:]}")
        provider = OidcProvider(issuer=first.removeprefix("listening "), log=log)
        deadline = time.monotonic() + 30
        while httpx.get(provider.discovery, timeout=5, verify=TLS).status_code != 200:
            assert time.monotonic() < deadline, "the OpenID provider did not answer"
            time.sleep(0.2)
        yield provider
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
