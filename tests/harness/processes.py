"""Which processes exist, read from Linux's /proc: a test that says "no process is left" scans
every process, and one that kills a run's process finds it by the connection it holds open."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


def without_suite_settings() -> dict[str, str]:
    """This process's environment without any Prefect or safeshare setting (the suite's own, or a
    developer's shell's): what a process the suite starts is given before its own settings."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PREFECT_", "SAFESHARE_")) and k != "DATABASE_URL"
    }


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    pgid: int
    state: str  # Z: a zombie, already dead
    cmdline: str


def _read(pid: int) -> Proc | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
        cmdline = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
    fields = stat[stat.rindex(")") + 2 :].split()
    return Proc(
        pid=pid,
        ppid=int(fields[1]),
        pgid=int(fields[2]),
        state=fields[0],
        cmdline=cmdline.replace(b"\0", b" ").decode(errors="replace").strip(),
    )


def living() -> list[Proc]:
    """Every process that is not a zombie."""
    found = (_read(int(p.name)) for p in PROC.iterdir() if p.name.isdigit())
    return [p for p in found if p is not None and p.state != "Z"]


def with_environment(key: str, value: str) -> list[Proc]:
    """Living processes started with `key=value` in their environment (all of a stack's
    processes inherit its SAFESHARE_HOME, whatever group or session they are in)."""
    wanted = f"{key}={value}".encode()
    found = []
    for proc in living():
        try:
            environ = (PROC / str(proc.pid) / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if wanted in environ:
            found.append(proc)
    return found


def descendants(pid: int) -> list[Proc]:
    """The living processes below `pid`, children first."""
    procs = living()
    below, frontier = [], [pid]
    while frontier:
        children = [p for p in procs if p.ppid in frontier]
        below.extend(children)
        frontier = [p.pid for p in children]
    return below


def owner_of_connection(local_port: int, remote_port: int) -> int | None:
    """The process holding the TCP socket from `local_port` to `remote_port` (a sender's
    connection to a listener). Both ends: an ephemeral port is unique only per destination, and
    the local port alone once named a process of another test's stack, connected elsewhere."""

    def ours(fields: list[str]) -> bool:
        local, remote = (int(fields[i].rsplit(":", 1)[1], 16) for i in (1, 2))
        return local == local_port and remote == remote_port

    owners = _owners(_sockets(ours))
    return owners[0] if owners else None


def connected_to(port: int) -> list[int]:
    """The processes with an open (established) TCP connection to `port` on this machine: who
    is sending to a listener right now."""
    established = "01"
    return _owners(
        _sockets(
            lambda fields: int(fields[2].rsplit(":", 1)[1], 16) == port and fields[3] == established
        )
    )


def _sockets(wanted: Callable[[list[str]], bool]) -> set[str]:
    """The inodes of the TCP sockets (IPv4 and 6) whose /proc/net line `wanted` picks."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if wanted(fields) and fields[9] != "0":
                inodes.add(fields[9])
    return inodes


def _owners(inodes: set[str]) -> list[int]:
    """The processes holding any of these sockets."""
    owners = []
    for proc in PROC.iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fds = list((proc / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                owners.append(int(proc.name))
                break
    return owners


def wait_until_gone(procs: list[Proc], timeout: float = 30) -> list[Proc]:
    """Those of `procs` still alive after `timeout` seconds (none, once all have gone)."""
    deadline = time.monotonic() + timeout
    watched = {(p.pid, p.cmdline) for p in procs}
    left = procs
    while time.monotonic() < deadline:
        left = [p for p in living() if (p.pid, p.cmdline) in watched]
        if not left:
            return []
        time.sleep(0.2)
    return left
