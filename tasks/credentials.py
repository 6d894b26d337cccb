"""Where the proofs of who answers are written and spent: each person who may answer a wait gets
their own one-time code, and for steps answered from a notification also their own link, in one
message on their own channel. A code is checked, and spent, in the transaction that records the
answer it came with. Codes and links live at least until their wait's deadline plus its
escalation ladder (models/lifetimes.py); each reminder of an overdue wait carries fresh ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from foundations.db import session_scope
from foundations.settings import get_settings, secret_key
from foundations.tokens import LINK_SALT, RECEIPT_SALT, code_hash, make_token, token_hash
from models.codes import CodeFacts, CodeOutcome, judge_code, new_code, normalise_code
from models.escalation import ladder, ladder_span
from models.kernel.answerers import eligible_answerers
from models.kernel.steps import Step
from models.kernel.values import Frozen
from models.kernel.waits import Slot
from models.lifetimes import credential_expiry
from models.links import LINK_STEPS, SOCIAL_WORKER, social_worker_tag
from models.messages.disclosure import agency_message
from models.messages.waits import Credentials, personal_message
from models.tables.base import utcnow
from models.tables.cases import Case
from models.tables.credentials import AnswerCode, AnswerLink, NoticeLink, ReceiptLink
from models.tables.disclosures import AGENCY_RECIPIENT, Disclosure, Receipt
from tasks.notify import already_sent, deliver
from tasks.records import allegation_against, first_signer, plan_event_facts, staff_directory


def add_signed(
    session: Session,
    link: AnswerLink | ReceiptLink | NoticeLink,
    key: bytes,
    *,
    salt: str = LINK_SALT,
) -> str:
    """Add a new link and return its token. The token lives only in the message that carries
    it; the row keeps its hash, so a database copy opens nothing."""
    session.add(link)
    session.flush()
    token = make_token(key, link.id, salt=salt)
    link.token_hash = token_hash(token)
    return token


def link_url(token: str) -> str:
    return f"{get_settings().web_url}/answer/{token}"


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def issue_credentials(slot: Slot, flow_run_id: str, dashboard: str | None = None) -> list[str]:
    """Send each person who may answer this wait their own code (and link), once; returns the
    staff ids sent to. Codes and tokens exist only in the message: a credential whose message
    did not go is spent, and the next run of the step sends a new one. A receipt wait's links,
    sent with the disclosure, are made to last as long as its codes, first."""
    if slot.step is Step.CONFIRM_RECEIPT:
        _receipt_links_last(slot)
    return _send(slot, flow_run_id, dashboard, round_="")


class NotWaiting(LookupError):
    """The case does not wait for that (or for anybody) now: nothing was recorded or sent."""


def resend_credentials(case_id: int, dashboard: str | None = None) -> list[str]:
    """New codes (and links) for the wait a case is in now, to everyone who may answer it, and
    for a receipt wait new receipt links to each recipient that has not confirmed; the ones sent
    before stop working. For a person (or an agency) whose code or link expired or went astray.
    Returns the staff ids, and the recipients' tags, sent to."""
    with session_scope() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise NotWaiting(f"No case has the id {case_id}.")
        if case.status != "open" or case.waiting_key is None or case.flow_run_id is None:
            raise NotWaiting(f"case {case_id} is not waiting for anyone right now.")
        slot = current_slot(session, case)
        flow_run_id = case.flow_run_id
        issued = session.scalar(
            select(func.count())
            .select_from(AnswerCode)
            .where(AnswerCode.case_id == case_id, AnswerCode.key == case.waiting_key)
        )
    round_ = f":r{issued or 0}"
    sent_to = _send(slot, flow_run_id, dashboard, round_=round_)
    if slot.step is Step.CONFIRM_RECEIPT:
        sent_to += _resend_receipt_links(case_id, slot.key, round_)
    return sent_to


def current_slot(session: Session, case: Case) -> Slot:
    """The wait a case is in now, with who may answer it."""
    assert case.waiting_step is not None and case.waiting_key is not None
    step = Step(str(case.waiting_step))
    signer = first_signer(session, case.id)
    return Slot(
        case_id=case.id,
        step=step,
        slot=str(case.waiting_slot),
        key=case.waiting_key,
        who=tuple(
            eligible_answerers(
                step,
                staff_directory(session),
                first_signer=signer,
                subject=allegation_against(session, case.id),
            )
        ),
        first_signer=signer,
    )


def wait_lifetime(
    session: Session,
    case_id: int,
    step: Step,
    who: Sequence[str],
    ttl_hours: float,
    *,
    due: datetime | None,
    now: datetime,
) -> datetime:
    """Until when a credential for a wait of `step` due at `due` works: its own lifetime at
    least, and past the deadline until the wait's escalation ladder has run its course."""
    settings = get_settings()
    agency = session.scalar(
        select(Disclosure.agency_code).where(Disclosure.case_id == case_id).limit(1)
    )
    rungs = ladder(step, who, agency=agency, rungs=settings.escalation_ladder)
    return credential_expiry(
        now=now,
        ttl=timedelta(hours=ttl_hours),
        due=due,
        span=ladder_span(rungs, timedelta(hours=settings.escalate_every_hours)),
    )


def _send(slot: Slot, flow_run_id: str, dashboard: str | None, *, round_: str) -> list[str]:
    sent_to: list[str] = []
    for staff_id in slot.who:
        outbox_key = f"case:{slot.case_id}:{slot.key}:personal:{staff_id}{round_}"
        if already_sent(outbox_key):
            continue
        made = issue_one(slot, staff_id, flow_run_id, dashboard=dashboard)
        if made is None:
            continue  # the case waits for something else now: the next wait sends its own
        title, body = personal_message(
            slot.case_id,
            slot.step,
            slot.key,
            code=made.code,
            expires_at=made.expires_at,
            link=made.link,
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


def issue_one(
    slot: Slot,
    staff_id: str,
    flow_run_id: str,
    *,
    dashboard: str | None = None,
    whole_slot: bool = False,
) -> Credentials | None:
    """A new code (and, for a sign-off, a new link) for one person and one wait, replacing the
    ones they had for it (`whole_slot`: the links of its earlier askings too); None when the
    case no longer waits under the slot's key. The code and token exist only in what is
    returned: the caller's message is their one copy."""
    settings = get_settings()
    key = secret_key(settings)
    now = utcnow()
    url = None
    code = new_code()
    with session_scope() as session:
        case = session.get(Case, slot.case_id)
        if case is None or case.waiting_key != slot.key:
            return None
        _spend_unsent(session, slot, staff_id, now, whole_slot=whole_slot)

        def until(ttl_hours: float) -> datetime:
            return wait_lifetime(
                session, slot.case_id, slot.step, slot.who, ttl_hours, due=case.waiting_due, now=now
            )

        row = AnswerCode(
            case_id=slot.case_id,
            step=slot.step.value,
            slot=slot.slot,
            key=slot.key,
            staff_id=staff_id,
            flow_run_id=flow_run_id,
            code_hash=code_hash(key, slot.case_id, slot.key, staff_id, normalise_code(code)),
            expires_at=until(settings.code_ttl_hours),
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
                expires_at=until(settings.link_ttl_hours),
            )
            url = link_url(add_signed(session, link, key))
            expires_at = min(expires_at, link.expires_at)
    return Credentials(
        wait_key=slot.key, code=code, expires_at=expires_at, link=url, dashboard=dashboard
    )


def new_receipt_link(
    session: Session,
    *,
    case_id: int,
    disclosure_id: int,
    agency: str,
    recipient: str | None,
    slot: str,
    flow_run_id: str,
    expires_at: datetime,
    now: datetime,
) -> str:
    """A new receipt link for one recipient of a disclosure (its agency's duty inbox, or the
    pupil's social worker), replacing the ones it had that are still unused; returns the token,
    which exists only in the message that carries it."""
    same_recipient = (
        ReceiptLink.recipient.is_(None) if recipient is None else ReceiptLink.recipient == recipient
    )
    session.execute(
        update(ReceiptLink)
        .where(
            ReceiptLink.disclosure_id == disclosure_id,
            same_recipient,
            ReceiptLink.used_at.is_(None),
        )
        .values(used_at=now, outcome="superseded")
        .execution_options(synchronize_session=False)
    )
    link = ReceiptLink(
        case_id=case_id,
        disclosure_id=disclosure_id,
        agency_code=agency,
        recipient=recipient,
        slot=slot,
        flow_run_id=flow_run_id,
        expires_at=expires_at,
    )
    return add_signed(session, link, secret_key(get_settings()), salt=RECEIPT_SALT)


def receipt_url(token: str) -> str:
    return f"{get_settings().web_url}/receipt/{token}"


class ReceiptRecipient(Frozen):
    """One recipient of a disclosure's receipt link: codes and the Apprise tag it is told on."""

    disclosure_id: int
    agency: str
    recipient: str | None  # None: the agency's duty inbox; or the pupil's social worker
    tag: str
    slot: str  # the receipt wait of its disclosure


def unconfirmed_recipients(session: Session, case_id: int) -> list[ReceiptRecipient]:
    """Each recipient a receipt link of the case went to that has not confirmed receipt, in
    the order their links went out."""

    found: dict[tuple[int, str | None], ReceiptRecipient] = {}
    for link in session.scalars(
        select(ReceiptLink).where(ReceiptLink.case_id == case_id).order_by(ReceiptLink.id)
    ):
        if (link.disclosure_id, link.recipient) in found:
            continue
        if receipt_confirmed(session, link.disclosure_id, link.recipient):
            continue
        if link.recipient == SOCIAL_WORKER:
            tag = social_worker_tag(plan_event_facts(session, case_id).child_ref)
        else:
            tag = f"agency:{link.agency_code}"
        found[(link.disclosure_id, link.recipient)] = ReceiptRecipient(
            disclosure_id=link.disclosure_id,
            agency=link.agency_code,
            recipient=link.recipient,
            tag=tag,
            slot=link.slot,
        )
    return list(found.values())


def receipt_confirmed(session: Session, disclosure_id: int, recipient: str | None) -> bool:
    """Whether this recipient's receipt of the disclosure is recorded (by any door)."""
    confirmed = session.scalar(
        select(Receipt.id).where(
            Receipt.disclosure_id == disclosure_id,
            Receipt.recipient == (recipient or AGENCY_RECIPIENT),
        )
    )
    return confirmed is not None


def fresh_receipt_link(
    case_id: int, wait_key: str, recipient: ReceiptRecipient, *, due: datetime | None
) -> tuple[str, datetime] | None:
    """A new receipt link for a recipient that has not confirmed, replacing its old ones, for
    as long as the receipt wait (due at `due`) and its ladder last; its address and end. None
    when the case no longer waits under `wait_key` or the recipient has confirmed since."""
    settings = get_settings()
    now = utcnow()
    with session_scope() as session:
        case = session.get(Case, case_id)
        if case is None or case.waiting_key != wait_key or case.flow_run_id is None:
            return None
        if receipt_confirmed(session, recipient.disclosure_id, recipient.recipient):
            return None
        slot = current_slot(session, case)
        expires_at = wait_lifetime(
            session,
            case_id,
            slot.step,
            slot.who,
            settings.receipt_link_ttl_hours,
            due=due,
            now=now,
        )
        token = new_receipt_link(
            session,
            case_id=case_id,
            disclosure_id=recipient.disclosure_id,
            agency=recipient.agency,
            recipient=recipient.recipient,
            slot=recipient.slot,
            flow_run_id=case.flow_run_id,
            expires_at=expires_at,
            now=now,
        )
    return receipt_url(token), expires_at


def _resend_receipt_links(case_id: int, wait_key: str, round_: str) -> list[str]:
    """New receipt links, for a receipt wait, to each recipient that has not confirmed (the
    tags sent to): an agency whose link expired or went astray asks the DSL for another."""

    with session_scope() as session:
        case = session.get(Case, case_id)
        due = case.waiting_due if case is not None else None
        recipients = unconfirmed_recipients(session, case_id)
    sent_to = []
    for recipient in recipients:
        key = f"case:{case_id}:{wait_key}:receipt-link:{recipient.tag}{round_}"

        def compose(recipient: ReceiptRecipient = recipient) -> tuple[str, str] | None:
            fresh = fresh_receipt_link(case_id, wait_key, recipient, due=due)
            if fresh is None:
                return None
            url, expires_at = fresh
            return agency_message(
                case_id,
                recipient.agency,
                link=url,
                expires_at=expires_at,
                to_social_worker=recipient.recipient == SOCIAL_WORKER,
            )

        if already_sent(key) or deliver(
            key,
            case_id=case_id,
            tag=recipient.tag,
            kind="disclosure",
            compose=compose,
            exclusive=True,
        ):
            sent_to.append(recipient.tag)
    return sent_to


def _receipt_links_last(slot: Slot) -> None:
    """When a receipt wait opens (perhaps long after its links went out, as after an emergency
    share), the receipt links still unused and unexpired live as long as its credentials do."""
    settings = get_settings()
    now = utcnow()
    with session_scope() as session:
        case = session.get(Case, slot.case_id)
        if case is None or case.waiting_key != slot.key:
            return
        until = wait_lifetime(
            session,
            slot.case_id,
            slot.step,
            slot.who,
            settings.receipt_link_ttl_hours,
            due=case.waiting_due,
            now=now,
        )
        session.execute(
            update(ReceiptLink)
            .where(
                ReceiptLink.case_id == slot.case_id,
                ReceiptLink.slot == slot.slot,
                ReceiptLink.used_at.is_(None),
                ReceiptLink.expires_at > now,
                ReceiptLink.expires_at < until,
            )
            .values(expires_at=until)
            .execution_options(synchronize_session=False)
        )


def _spend_unsent(
    session: Session, slot: Slot, staff_id: str, now: datetime, *, whole_slot: bool = False
) -> None:
    """Credentials sent before for this wait and person: replaced by the ones about to go (an
    earlier try whose message did not go, or a resend). `whole_slot`: also the links sent for
    earlier askings of the wait, which answer it still (a reminder replaces them all)."""
    for table in (AnswerCode, AnswerLink):
        same_wait = (
            table.slot == slot.slot if whole_slot and table is AnswerLink else table.key == slot.key
        )
        session.execute(
            update(table)
            .where(
                table.case_id == slot.case_id,
                same_wait,
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
