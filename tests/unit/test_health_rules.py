"""Which rule decides whether safeshare is healthy (models/health.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import OperationalError

from models.health import Check, error_kind, outbox_check, verdict

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
LATE = timedelta(minutes=30)


def test_healthy_only_when_every_check_is() -> None:
    up = [Check("case database", True, "fine"), Check("prefect api", True, "answering")]
    assert verdict(up) == {
        "status": "ok",
        "down": [],
        "checks": {
            "case database": {"ok": True, "detail": "fine"},
            "prefect api": {"ok": True, "detail": "answering"},
        },
    }
    one_down = [*up[:1], Check("prefect api", False, "unreachable (ConnectError)")]
    found = verdict(one_down)
    assert found["status"] == "down" and found["down"] == ["prefect api"]


def test_the_outbox_is_down_only_past_its_lateness() -> None:
    assert outbox_check(None, 0, NOW, LATE) == Check("outbox", True, "every message delivered")
    on_time = outbox_check(NOW - LATE, 2, NOW, LATE)
    assert on_time.ok and on_time.detail == "2 undelivered, the oldest for 30 min"
    late = outbox_check(NOW - LATE - timedelta(seconds=1), 1, NOW, LATE)
    assert not late.ok and late.detail == "1 undelivered, the oldest for 30 min"


def test_an_error_is_said_by_its_kind_never_its_text() -> None:
    exc = OperationalError("connect", {}, Exception("postgresql://u:s3cret@db.example/x refused"))
    assert error_kind(exc) == "OperationalError"
