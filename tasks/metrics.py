"""Where the figures Prometheus scrapes are read (the web app's /metrics): counts from the case
database at the moment of the scrape, so that every web process gives the same answer and none
keeps state of its own. Ids and counts only: no label holds anything a person typed."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from datetime import UTC, timedelta

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from foundations.db import engine_for
from foundations.settings import Settings, get_settings
from models.kernel.steps import CaseStatus
from models.runs import RUN_CRASHED, RUN_RESTARTED
from models.tables.audit import AuditLog
from models.tables.base import utcnow
from models.tables.cases import Case, CaseStep
from tasks.health import check_all, undelivered
from tasks.views import overdue_at

#: The answers whose time to the next wait /metrics reports: those of waits opened this lately.
LATELY = timedelta(hours=1)
#: Rows of case_steps that are not a person's answer to a wait.
NOT_ANSWERS = ("system", "note")


class CaseMetrics(Collector):
    """safeshare_up by dependency; open cases by kind; cases waiting and waits overdue by step;
    undelivered messages by status and the oldest one's age; runs crashed and restarted; the
    time from an answer to the next wait, lately."""

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
            recovered = dict(
                connection.execute(
                    select(AuditLog.action, func.count())
                    .where(AuditLog.action.in_((RUN_CRASHED, RUN_RESTARTED)))
                    .group_by(AuditLog.action)
                ).all()
            )
            answered = connection.execute(
                select(Case.waiting_since, func.max(CaseStep.recorded_at))
                .join(CaseStep, CaseStep.case_id == Case.id)
                .where(
                    open_cases,
                    Case.waiting_since >= now - LATELY,
                    CaseStep.accepted.is_(True),
                    CaseStep.channel.not_in(NOT_ANSWERS),
                    CaseStep.recorded_at <= Case.waiting_since,
                )
                .group_by(Case.id, Case.waiting_since)
            ).all()
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
        runs = CounterMetricFamily(
            "safeshare_runs_recovered",
            "Case runs found dead and marked Crashed, and runs restarted (the audit trail's count)",
            labels=["what"],
        )
        runs.add_metric(["crashed"], recovered.get(RUN_CRASHED, 0))
        runs.add_metric(["restarted"], recovered.get(RUN_RESTARTED, 0))
        yield runs
        yield from answer_to_next_wait(
            [
                # SQLite's max() gives back naive UTC
                (opened - (at if at.tzinfo else at.replace(tzinfo=UTC))).total_seconds()
                for opened, at in answered
                if opened is not None and at is not None
            ]
        )


def answer_to_next_wait(seconds: list[float]) -> Iterator[Metric]:
    """The time from an answer to the case's next wait, for the open cases whose wait opened
    within the last hour: its median and 90th percentile, and how many there were."""
    family = GaugeMetricFamily(
        "safeshare_answer_to_next_wait_seconds",
        "From an answer to the case's next wait, for waits opened in the last hour",
        labels=["quantile"],
    )
    if seconds:
        ordered = sorted(seconds)
        family.add_metric(["0.5"], statistics.median(ordered))
        family.add_metric(["0.9"], ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))])
    yield family
    yield GaugeMetricFamily(
        "safeshare_answer_to_next_wait_count",
        "How many answers the quantiles of safeshare_answer_to_next_wait_seconds are over",
        value=len(seconds),
    )
