"""Where safeshare's dependencies are looked at: the case database, Prefect's API, Redis when
the production topology uses it, the outbox (the rules over what is found: models/health.py).
Each check answers within a few seconds, whatever is down, and loads no Prefect (a plain HTTP
request to its /health), so that `safeshare health` starts fast and /health stays cheap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Connection, func, select, text

from foundations.db import alembic_config, engine_for
from foundations.settings import Settings
from models.health import Check, error_kind, outbox_check
from models.tables.base import utcnow
from models.tables.outbox import Notification
from tasks.prefect_api import PrefectApi

#: How long a dependency may take to answer before it counts as down.
TIMEOUT_SECONDS = 5.0


def check_case_database(settings: Settings) -> Check:
    """Reachable, and its schema at the version this code needs (`safeshare db migrate`)."""
    # here: Alembic is imported only to read or change the schema (a web app's start need not)
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    url = settings.case_database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return Check("case database", False, "no database yet: run `safeshare db migrate`")
    try:
        with engine_for(url).connect() as connection:
            connection.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(connection).get_current_heads())
    except Exception as exc:  # any failure to reach it is the answer, said by its kind
        return Check("case database", False, f"unreachable ({error_kind(exc)})")
    needed = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    if current != needed:
        return Check("case database", False, "schema not current: run `safeshare db migrate`")
    return Check("case database", True, "reachable, schema current")


def check_prefect_api(settings: Settings) -> Check:
    """Prefect's API answers its /health."""
    try:  # as the doors ask it: Prefect's client settings for TLS, its shared TLS context
        with PrefectApi(timeout=TIMEOUT_SECONDS, settings=settings) as api:
            status = api.health()
    except httpx.HTTPError as exc:
        return Check("prefect api", False, f"unreachable ({error_kind(exc)})")
    if status != 200:
        return Check("prefect api", False, f"answered {status}")
    return Check("prefect api", True, "answering")


def check_redis(settings: Settings) -> Check:
    """Redis answers a PING (the production topology's messaging: models/health.py)."""
    import redis  # only where Redis is used

    assert settings.redis_url is not None
    client = redis.Redis.from_url(
        settings.redis_url.get_secret_value(),
        socket_timeout=TIMEOUT_SECONDS,
        socket_connect_timeout=TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        return Check("redis", False, f"unreachable ({error_kind(exc)})")
    finally:
        client.close()
    return Check("redis", True, "answering")


def undelivered(connection: Connection) -> dict[str, tuple[int, datetime]]:
    """The outbox's messages not yet delivered, by status: how many, and when the oldest of
    them was made (UTC)."""
    rows = connection.execute(
        select(Notification.status, func.count(), func.min(Notification.created_at))
        .where(Notification.status != "sent")
        .group_by(Notification.status)
    ).all()
    return {
        # SQLite's min() gives back naive UTC
        status: (int(count), first if first.tzinfo else first.replace(tzinfo=UTC))
        for status, count, first in rows
    }


def check_outbox(settings: Settings) -> Check:
    """How long the oldest message not yet delivered has waited."""
    try:
        with engine_for(settings.case_database_url).connect() as connection:
            by_status = undelivered(connection)
    except Exception as exc:  # said by its kind; the case database's own check says more
        return Check("outbox", False, f"unreadable ({error_kind(exc)})")
    count = sum(count for count, _ in by_status.values())
    oldest = min((first for _, first in by_status.values()), default=None)
    late_after = timedelta(minutes=settings.outbox_late_minutes)
    return outbox_check(oldest, count, utcnow(), late_after)


def check_all(settings: Settings) -> list[Check]:
    """Every dependency, in the order an operator would look: the database first."""
    database = check_case_database(settings)
    checks = [database, check_prefect_api(settings)]
    if settings.redis_url is not None:
        checks.append(check_redis(settings))
    if database.ok:
        checks.append(check_outbox(settings))
    else:
        checks.append(Check("outbox", False, "not read: the case database is down"))
    return checks
