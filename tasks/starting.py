"""Where a recorded case's workflow is started: one flow run per case, keyed by the case's own
random run key, from whichever door recorded it (the CLI or the web form), and, for a case whose
door could not reach Prefect, by the next overdue check or serving start.

The run's key (Prefect's idempotency key) names the stack, the flow, the case's id and its run
key: a random token kept on the case row. The id alone could recur (a database replaced while
Prefect's is kept, a restore of an older backup); the token cannot, so no case ever finds
another case's run, and a run acts only on the case whose key it carries (`begun`). A new
token is drawn only when the case is open and its run is over (Completed or Cancelled): starting
it again then makes a new run instead of finding the old one."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from foundations.db import session_scope
from foundations.settings import get_settings, prefect_settings
from models.kernel.steps import FIRST_STEP, CaseKind
from models.runs import deployment_name, start_key
from models.tables.cases import Case, CaseStep, new_run_key
from tasks.concerns import set_flow_run
from tasks.directory import DirectoryError
from tasks.prefect_api import PrefectApi
from tasks.prefect_task import task
from tasks.run_claims import claimed

logger = logging.getLogger("safeshare.starting")

#: A case recorded this long ago without a run was not started: its door could not reach Prefect
#: (or died between recording and starting). A younger one may be starting now.
UNSTARTED_AFTER = timedelta(minutes=1)


class NotTheCaseRun(RuntimeError):
    """A flow run carries a case id but not that case's run key: it must not touch the case."""


def _case_row(session: Session, case_id: int) -> Row[str, str | None, str, str | None]:
    """A case's kind, run key, status and run; DirectoryError when there is no such case."""
    found = session.execute(
        select(Case.kind, Case.run_key, Case.status, Case.flow_run_id).where(Case.id == case_id)
    ).one_or_none()
    if found is None:
        raise DirectoryError(f"No case has the id {case_id}.")
    return found


def _case_key(case_id: int) -> tuple[CaseKind, str | None, str]:
    """(kind, run key, status) of a case."""
    with session_scope() as session:
        found = _case_row(session, case_id)
    return CaseKind(found.kind), found.run_key, found.status


def _renew_run_key(case_id: int, old: str | None) -> str | None:
    """Draw the case a new run key, unless someone else just did; the key now in force."""
    with session_scope() as session:
        session.execute(
            update(Case)
            .where(
                Case.id == case_id, Case.run_key.is_(None) if old is None else Case.run_key == old
            )
            .values(run_key=new_run_key())
            .execution_options(synchronize_session=False)
        )
        return session.scalar(select(Case.run_key).where(Case.id == case_id))


def start_case_run(case_id: int) -> tuple[str | None, str | None]:
    """Create the case's flow run, or find it (it is keyed by the case); (run id, problem).

    A run of an open case that a crash or a failure stopped is restarted under its own id; one
    that is over (Completed, Cancelled) while the case is still open is replaced by a new run."""
    settings = get_settings()
    prefect_settings(settings)
    kind, run_key, status = _case_key(case_id)
    try:
        with PrefectApi() as api:
            for _attempt in range(2):
                # what Prefect's run_deployment(timeout=0, as_subflow=False) does: started from
                # the overdue check too, the case's run is its own, not a child
                run = api.start_run(
                    deployment_name(settings.deployment, kind),
                    {"case_id": case_id},
                    idempotency_key=start_key(settings.deployment, kind, case_id, run_key),
                    tags=["safeshare"],
                )
                state = run.state.type if run.state is not None else None
                if status != "open" or state not in ("COMPLETED", "CANCELLED"):
                    break
                logger.warning(
                    "case %s is open but its run %s is %s: a new run", case_id, run.id, state
                )
                run_key = _renew_run_key(case_id, run_key)
            stop = run.state if state in ("FAILED", "CRASHED") else None
            # restarted once per stop, whoever else restarts it at this moment (recover-run)
            if status == "open" and stop is not None:
                with claimed(run.id, stop.id, "restart") as mine:
                    if mine:
                        api.restart(run.id)
                        logger.warning("case %s's run %s was %s: restarted", case_id, run.id, state)
    except Exception as exc:  # the Prefect API is down or the deployment is not served
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    if run.parameters.get("case_id") != case_id:  # a key names one case: never another's run
        return None, f"flow run {run.id} is not case {case_id}'s"
    set_flow_run(case_id, run.id)
    return run.id, None


def begun(case_id: int, flow_run_id: str, carried_key: str | None) -> bool:
    """Whether run `flow_run_id` has begun its case already (a resume then replays the
    beginning without a task run), once the run is known to be the case's own: NotTheCaseRun
    unless it carries the case's start key (`carried_key`, the run's idempotency key as the
    engine read it), for a run left by a case database that was replaced, or started by hand,
    touches nothing. One read of the case database on every attempt, no request to Prefect."""
    with session_scope() as session:
        found = _case_row(session, case_id)
        kind = CaseKind(found.kind)
        if carried_key != start_key(get_settings().deployment, kind, case_id, found.run_key):
            raise NotTheCaseRun(
                f"flow run {flow_run_id} was not started for case {case_id} as it is now (its "
                "key differs): it does nothing; start the case with `safeshare case start`"
            )
        if found.flow_run_id != flow_run_id:
            return False
        first = session.scalar(
            select(CaseStep.id)
            .where(CaseStep.case_id == case_id, CaseStep.step == FIRST_STEP[kind].value)
            .limit(1)
        )
    return first is not None


def unstarted_cases(now: datetime) -> list[int]:
    """Open cases recorded before `now - UNSTARTED_AFTER` that have no flow run."""
    with session_scope() as session:
        return list(
            session.scalars(
                select(Case.id)
                .where(
                    Case.status == "open",
                    Case.flow_run_id.is_(None),
                    Case.opened_at <= now - UNSTARTED_AFTER,
                )
                .order_by(Case.id)
            )
        )


def start_unstarted(now: datetime) -> list[int]:
    """Start the run of every open case recorded without one; the ids of those started. A run
    is keyed by its case, so one started meanwhile by `case start` is found, not doubled."""
    started = []
    for case_id in unstarted_cases(now):
        run_id, problem = start_case_run(case_id)
        if problem is None:
            logger.warning("case %s was recorded without a run: started as %s", case_id, run_id)
            started.append(case_id)
        else:
            logger.warning("case %s has no run and did not start: %s", case_id, problem)
    return started


@task(name="start-unstarted-cases", retries=1, retry_delay_seconds=5)
def start_unstarted_cases(at: str) -> list[int]:
    """The overdue check's other safety net: a case recorded while Prefect was unreachable is
    started at the next check, so it never sits open with nobody told."""
    return start_unstarted(datetime.fromisoformat(at))
