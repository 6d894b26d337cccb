"""Where the proofs of who answers are written and spent: each person who may answer a wait gets
their own one-time code, and for steps answered from a notification also their own link, in one
message on their own channel. A code is checked, and spent, in the transaction that records the
answer it came with."""

from __future__ import annotations

from datetime import datetime, timedelta

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models.codes import CodeFacts, CodeOutcome, judge_code, new_code, normalise_code
from models.domain import Slot, Step
from models.links import LINK_STEPS
from models.messages import personal_message
from models.rules import eligible_answerers
from models.tables import AnswerCode, AnswerLink, Case, utcnow
from safeshare.db import session_scope
from safeshare.settings import get_settings, secret_key
from safeshare.tokens import code_hash
from tasks.links import add_signed
from tasks.notify import already_sent, deliver
from tasks.records import allegation_against, first_signer, staff_directory


def link_url(token: str) -> str:
    return f"{get_settings().web_url}/answer/{token}"


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def issue_credentials(slot: Slot, flow_run_id: str, dashboard: str | None = None) -> list[str]:
    """Send each person who may answer this wait their own code (and link), once; returns the
    staff ids sent to. Codes and tokens exist only in the message: a credential whose message
    did not go is spent, and the next run of the step sends a new one."""
    return _send(slot, flow_run_id, dashboard, round_="")


class NotWaiting(LookupError):
    """The case waits for nobody now: there is nothing to send codes for."""


def resend_credentials(case_id: int, dashboard: str | None = None) -> list[str]:
    """New codes (and links) for the wait a case is in now, to everyone who may answer it; the
    ones sent before stop working. For a person whose code or link expired or went astray."""
    with session_scope() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise NotWaiting(f"No case has the id {case_id}.")
        if case.status != "open" or case.waiting_key is None or case.flow_run_id is None:
            raise NotWaiting(f"case {case_id} is not waiting for anyone right now.")
        step = Step(str(case.waiting_step))
        signer = first_signer(session, case_id)
        slot = Slot(
            case_id=case_id,
            step=step,
            slot=str(case.waiting_slot),
            key=case.waiting_key,
            who=tuple(
                eligible_answerers(
                    step,
                    staff_directory(session),
                    first_signer=signer,
                    subject=allegation_against(session, case_id),
                )
            ),
            first_signer=signer,
        )
        flow_run_id = case.flow_run_id
        issued = session.scalar(
            select(func.count())
            .select_from(AnswerCode)
            .where(AnswerCode.case_id == case_id, AnswerCode.key == case.waiting_key)
        )
    return _send(slot, flow_run_id, dashboard, round_=f":r{issued or 0}")


def _send(slot: Slot, flow_run_id: str, dashboard: str | None, *, round_: str) -> list[str]:
    settings = get_settings()
    key = secret_key(settings)
    now = utcnow()
    sent_to: list[str] = []
    for staff_id in slot.who:
        outbox_key = f"case:{slot.case_id}:{slot.key}:personal:{staff_id}{round_}"
        if already_sent(outbox_key):
            continue
        code, url = new_code(), None
        with session_scope() as session:
            _spend_unsent(session, slot, staff_id, now)
            row = AnswerCode(
                case_id=slot.case_id,
                step=slot.step.value,
                slot=slot.slot,
                key=slot.key,
                staff_id=staff_id,
                flow_run_id=flow_run_id,
                code_hash=code_hash(key, slot.case_id, slot.key, staff_id, normalise_code(code)),
                expires_at=now + timedelta(hours=settings.code_ttl_hours),
            )
            session.add(row)
            expires_at = row.expires_at
            if slot.step in LINK_STEPS:
                link = AnswerLink(
                    case_id=slot.case_id,
                    step=slot.step.value,
                    slot=slot.slot,
                    key=slot.key,
                    staff_id=staff_id,
                    flow_run_id=flow_run_id,
                    expires_at=now + timedelta(hours=settings.link_ttl_hours),
                )
                url = link_url(add_signed(session, link, key))
        title, body = personal_message(
            slot.case_id,
            slot.step,
            slot.key,
            code=code,
            expires_at=expires_at,
            link=url,
            dashboard=dashboard,
        )
        if deliver(
            outbox_key,
            case_id=slot.case_id,
            tag=f"staff:{staff_id}",
            kind=f"personal:{slot.step.value}",
            title=title,
            body=body,
        ):
            sent_to.append(staff_id)
    return sent_to


def _spend_unsent(session: Session, slot: Slot, staff_id: str, now: datetime) -> None:
    """Credentials sent before for this wait and person: replaced by the ones about to go (an
    earlier try whose message did not go, or a resend)."""
    for table in (AnswerCode, AnswerLink):
        session.execute(
            update(table)
            .where(
                table.case_id == slot.case_id,
                table.key == slot.key,
                table.staff_id == staff_id,
                table.used_at.is_(None),
            )
            .values(used_at=now, outcome="superseded")
            .execution_options(synchronize_session=False)
        )


def spend_code(
    session: Session, slot: Slot, staff_id: str, typed: str | None, *, now: datetime
) -> CodeOutcome:
    """Check the code given with an answer in `staff_id`'s name and, if it proves them, spend it
    (in the caller's transaction: the answer and the spending commit together)."""
    key = secret_key(get_settings())
    row = None
    if typed is not None:
        wanted = code_hash(key, slot.case_id, slot.key, staff_id, normalise_code(typed))
        row = session.scalar(
            select(AnswerCode)
            .where(
                AnswerCode.case_id == slot.case_id,
                AnswerCode.key == slot.key,
                AnswerCode.staff_id == staff_id,
                AnswerCode.code_hash == wanted,
            )
            .order_by(AnswerCode.id.desc())
        )
    facts = (
        CodeFacts(
            staff_id=row.staff_id,
            key=row.key,
            expires_at=row.expires_at,
            used_at=row.used_at,
            matches=True,
        )
        if row is not None
        else None
    )
    outcome = judge_code(typed, facts, now=now)
    if outcome is CodeOutcome.VALID and row is not None:
        spent = session.execute(
            update(AnswerCode)
            .where(AnswerCode.id == row.id, AnswerCode.used_at.is_(None))
            .values(used_at=now, outcome="answered")
            .execution_options(synchronize_session=False)
        )
        if spent.rowcount != 1:  # type: ignore[attr-defined]
            return CodeOutcome.USED
    return outcome
