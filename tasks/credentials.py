"""Where the proofs of who answers are issued: each person who may answer a wait gets their own
one-time code, and for steps answered from a notification also their own link, in one message on
their own channel; asked again, everyone gets new ones and the old ones stop working. Codes and
links live at least until their wait's deadline plus its escalation ladder (tasks/lifetimes.py);
each reminder of an overdue wait carries fresh ones. Each is a personal link
(tasks/personal_links.py), which also spends a code."""

from __future__ import annotations

from foundations.db import session_scope
from foundations.settings import get_settings
from models.kernel.steps import Step
from models.kernel.waits import Slot
from models.links import LINK_STEPS, LinkPurpose
from models.messages.waits import Credentials, personal_message
from models.tables.base import utcnow
from models.tables.cases import Case
from models.tables.credentials import PersonalLink
from tasks.case_facts import NotWaiting, current_slot
from tasks.lifetimes import wait_lifetime
from tasks.notify import already_sent, deliver
from tasks.personal_links import count_issued, issue_code, issue_link
from tasks.receipt_links import receipt_links_last, resend_receipt_links
from tasks.signed_links import link_url


def issue_credentials(slot: Slot, flow_run_id: str, dashboard: str | None = None) -> list[str]:
    """Send each person who may answer this wait their own code (and link), once; returns the
    staff ids sent to. Codes and tokens exist only in the message: a credential whose message
    did not go is spent, and the next run of the step sends a new one. A receipt wait's links,
    sent with the disclosure, are made to last as long as its codes, first."""
    if slot.wait.step is Step.CONFIRM_RECEIPT:
        receipt_links_last(slot)
    return _send(slot, flow_run_id, dashboard, round_="")


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
        issued = count_issued(
            session, LinkPurpose.ANSWER_CODE, case_id=case_id, key=case.waiting_key
        )
    round_ = f":r{issued}"
    sent_to = _send(slot, flow_run_id, dashboard, round_=round_)
    if slot.wait.step is Step.CONFIRM_RECEIPT:
        sent_to += resend_receipt_links(case_id, slot.key, round_)
    return sent_to


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
            slot.wait.step,
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
            kind=f"personal:{slot.wait.step.value}",
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
    now = utcnow()
    url = None
    with session_scope() as session:
        case = session.get(Case, slot.case_id)
        if case is None or case.waiting_key != slot.key:
            return None

        def credential(purpose: LinkPurpose, ttl_hours: float) -> PersonalLink:
            return PersonalLink(
                purpose=purpose.value,
                case_id=slot.case_id,
                holder=staff_id,
                step=slot.wait.step.value,
                slot=slot.wait.slot,
                key=slot.key,
                flow_run_id=flow_run_id,
                expires_at=wait_lifetime(
                    session,
                    slot.case_id,
                    slot.wait.step,
                    slot.who,
                    ttl_hours,
                    due=case.waiting_due,
                    now=now,
                ),
            )

        row = credential(LinkPurpose.ANSWER_CODE, settings.code_ttl_hours)
        code = issue_code(session, row, same=("key",), now=now)
        expires_at = row.expires_at
        if slot.wait.step in LINK_STEPS:
            link = credential(LinkPurpose.ANSWER_LINK, settings.link_ttl_hours)
            # a reminder replaces the links of the wait's earlier askings too: they answer it
            same = ("slot",) if whole_slot else ("key",)
            url = link_url(issue_link(session, link, same=same, now=now))
            expires_at = min(expires_at, link.expires_at)
    return Credentials(
        wait_key=slot.key, code=code, expires_at=expires_at, link=url, dashboard=dashboard
    )
