"""Where overdue waits are escalated: each rung of a wait's ladder is told once, through the
outbox, even when two checks run at once or a check is retried."""

from __future__ import annotations

from datetime import datetime, timedelta

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select

from models.domain import Step
from models.escalation import ladder, level_reached
from models.messages import overdue_message
from models.tables import Disclosure
from safeshare.db import session_scope
from safeshare.settings import get_settings
from safeshare.views import overdue_cases
from tasks.notify import deliver


@task(cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def escalate_overdue(now: datetime) -> int:
    """Climb every overdue wait's ladder as far as `now` says; returns how many waits were late."""
    settings = get_settings()
    every = timedelta(hours=settings.escalate_every_hours)
    late = overdue_cases(now)
    for case in late:
        step, due = Step(case["step"]), datetime.fromisoformat(case["due"])
        rungs = ladder(
            step,
            case["who_must_act"],
            agency=_agency(case["case_id"], step),
            rungs=settings.escalation_ladder,
        )
        if not rungs:
            continue
        reached = level_reached(due, now, every, top=rungs[-1].level)
        for rung in (r for r in rungs if r.level <= reached):
            title, body = overdue_message(
                case["case_id"],
                step,
                level=rung.level,
                rung=rung.who,
                due=due,
                deadline=case["deadline"],
            )
            for tag in rung.tags:
                deliver(
                    f"case:{case['case_id']}:{case['key']}:overdue:{rung.level}:{tag}",
                    case_id=case["case_id"],
                    tag=tag,
                    kind=f"overdue:{rung.level}",
                    title=title,
                    body=body,
                    exclusive=True,
                )
    return len(late)


def _agency(case_id: int, step: Step) -> str | None:
    if step is not Step.CONFIRM_RECEIPT:
        return None
    with session_scope() as session:
        return session.scalar(select(Disclosure.agency_code).where(Disclosure.case_id == case_id))
