"""Which rule decides whether safeshare is healthy (pure: what was found is passed in).

Each dependency is checked on its own and said by name, so that whoever is on call knows which
is down: the case database (reachable, its schema at the version this code needs), Prefect's
API, and the outbox (a message not yet delivered for longer than `outbox_late_minutes` means
notifications are not getting through: a mail server or a webhook refusing, or nothing left to
send them). What a check says is for a public page too (the web app's /health): the kind of
error, never its text (which may hold an address or a password), no path, no personal data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Check:
    """One dependency's state: `ok`, and a short detail saying what was found."""

    name: str
    ok: bool
    detail: str


def verdict(checks: Sequence[Check]) -> dict[str, Any]:
    """The whole: ok only when every check is; the names of those that are not."""
    down = [check.name for check in checks if not check.ok]
    return {
        "status": "down" if down else "ok",
        "down": down,
        "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks},
    }


def outbox_check(
    oldest_undelivered: datetime | None, undelivered: int, now: datetime, late_after: timedelta
) -> Check:
    """The outbox is down when its oldest undelivered message has waited longer than
    `late_after`; messages still within it are the ordinary traffic of delivery and retries."""
    if oldest_undelivered is None:
        return Check("outbox", True, "every message delivered")
    waited = now - oldest_undelivered
    minutes = int(waited.total_seconds() // 60)
    detail = f"{undelivered} undelivered, the oldest for {minutes} min"
    return Check("outbox", waited <= late_after, detail)


def error_kind(exc: BaseException) -> str:
    """What a check may say of an error: its kind, not its text."""
    return type(exc).__name__
