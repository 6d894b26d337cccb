"""Where the figures Prometheus scrapes are read (the web app's /metrics): counts from the case
database at the moment of the scrape, so that every web process gives the same answer and none
keeps state of its own. Ids and counts only: no label holds anything a person typed."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from foundations.db import engine_for
from foundations.settings import Settings, get_settings
from models.kernel.steps import CaseStatus
from models.tables.base import utcnow
from models.tables.cases import Case
from tasks.health import check_all, undelivered
from tasks.views import overdue_at


class CaseMetrics(Collector):
    """safeshare_up by dependency; open cases by kind; cases waiting and waits overdue by step;
    undelivered messages by status and the oldest one's age."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings

    def collect(self) -> Iterator[Metric]:
        settings = self._settings or get_settings()
        up = GaugeMetricFamily(
            "safeshare_up", "1 when the dependency is up (safeshare health)", labels=["dependency"]
        )
        checks = check_all(settings)
        for check in checks:
            up.add_metric([check.name], 1.0 if check.ok else 0.0)
        yield up
        if not checks[0].ok:  # the case database: nothing more can be counted
            return
        yield from self._counts(settings)

    def _counts(self, settings: Settings) -> Iterator[Metric]:
        now = utcnow()
        open_cases = Case.status == CaseStatus.OPEN.value
        with engine_for(settings.case_database_url).connect() as connection:
            by_kind = connection.execute(
                select(Case.kind, func.count()).where(open_cases).group_by(Case.kind)
            ).all()
            waiting = connection.execute(
                select(Case.kind, Case.waiting_step, func.count())
                .where(open_cases, Case.waiting_step.is_not(None))
                .group_by(Case.kind, Case.waiting_step)
            ).all()
            overdue = connection.execute(
                select(Case.waiting_step, func.count())
                .where(overdue_at(now))
                .group_by(Case.waiting_step)
            ).all()
            by_status = undelivered(connection)
        family = GaugeMetricFamily("safeshare_cases_open", "Open cases", labels=["kind"])
        for kind, count in by_kind:
            family.add_metric([kind], count)
        yield family
        family = GaugeMetricFamily(
            "safeshare_cases_waiting", "Open cases waiting for a step", labels=["kind", "step"]
        )
        for kind, step, count in waiting:
            family.add_metric([kind, str(step)], count)
        yield family
        family = GaugeMetricFamily(
            "safeshare_waits_overdue", "Waits past their deadline", labels=["step"]
        )
        for step, count in overdue:
            family.add_metric([str(step)], count)
        yield family
        family = GaugeMetricFamily(
            "safeshare_messages_undelivered", "Outbox messages not delivered", labels=["status"]
        )
        for status, (count, _) in by_status.items():
            family.add_metric([status], count)
        yield family
        oldest = min((first for _, first in by_status.values()), default=None)
        yield GaugeMetricFamily(
            "safeshare_outbox_oldest_undelivered_seconds",
            "How long the oldest undelivered message has waited (0 when none)",
            value=(now - oldest).total_seconds() if oldest else 0.0,
        )
