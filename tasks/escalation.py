"""Where overdue waits are escalated: each rung of a wait's ladder is told once, through the
outbox, even when two checks run at once or a check is retried.

Each person a rung reaches gets a message of their own, with what they can act on: a fresh
code (and, for a sign-off, a fresh link) of their own when they may answer, the case's page
when they may read it, the sign-in page for a senior leader. A rung that names a role also
tells that role's shared inboxes (the config file's addresses), with nothing they cannot use.
An agency, and a pupil's social worker, that has not confirmed receipt gets a fresh link. A
credential is issued only by the process that sends its message, just before it goes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from foundations.db import session_scope
from foundations.settings import get_settings
from models.access import CaseView
from models.escalation import (
    RUNG_ROLES,
    ReminderKit,
    Rung,
    ladder,
    level_reached,
    reminder_kit,
    shared_inbox_kit,
)
from models.kernel.roles import Role, StaffMember
from models.kernel.steps import Step
from models.kernel.waits import Slot
from models.messages.disclosure import receipt_reminder_message
from models.messages.waits import overdue_message
from models.tables.cases import Case
from tasks.case_facts import allegation_against, current_slot, staff_directory
from tasks.credentials import issue_one
from tasks.notify import already_sent, deliver, has_address, shared_tag
from tasks.prefect_task import run_logger, task
from tasks.receipt_links import ReceiptRecipient, fresh_receipt_link, unconfirmed_recipients
from tasks.views import overdue_cases


@task(retries=1, retry_delay_seconds=5)
def escalate_overdue(now: datetime) -> int:
    """Climb every overdue wait's ladder as far as `now` says; returns how many waits were late.
    A case whose reminders fail does not stop the others' (the task fails after trying them
    all, and the next check tries again)."""
    settings = get_settings()
    every = timedelta(hours=settings.escalate_every_hours)
    late = overdue_cases(now)
    if not late:
        return 0
    with session_scope() as session:
        staff = staff_directory(session)
    # the roles with a shared inbox of their own (the config file's addresses), looked up once
    inboxes = {tag for tag in RUNG_ROLES if has_address(shared_tag(tag))}
    failed: Exception | None = None
    for case in late:
        try:
            _climb(case, now, every, staff, inboxes)
        except Exception as exc:  # raised below, once the other cases had their reminders
            run_logger("safeshare.escalation").error(
                "reminders of case %s failed: %s", case["case_id"], type(exc).__name__
            )
            failed = failed or exc
    if failed is not None:
        raise failed
    return len(late)


class _Wait:
    """One overdue wait as the reminders need it: ids, codes and times only."""

    def __init__(self, case: dict[str, Any]) -> None:
        self.case_id: int = case["case_id"]
        self.key: str = case["key"]
        self.step = Step(case["step"])
        self.due = datetime.fromisoformat(case["due"])
        self.deadline: str | None = case["deadline"]
        self.must_act: tuple[str, ...] = tuple(case["who_must_act"])


def _climb(
    case: dict[str, Any],
    now: datetime,
    every: timedelta,
    staff: Mapping[str, StaffMember],
    inboxes: set[str],
) -> None:
    settings = get_settings()
    wait = _Wait(case)
    with session_scope() as session:
        subject = allegation_against(session, wait.case_id)
        receipt = wait.step is Step.CONFIRM_RECEIPT
        unconfirmed = unconfirmed_recipients(session, wait.case_id) if receipt else []
    rungs = ladder(
        wait.step,
        wait.must_act,
        agency=unconfirmed[0].agency if unconfirmed else None,
        rungs=settings.escalation_ladder,
        staff=staff,
        subject=subject,
    )
    if not rungs:
        return
    reached = level_reached(wait.due, now, every, top=rungs[-1].level)
    view = CaseView(case_id=wait.case_id, allegation_against=subject, waiting_step=wait.step.value)
    accused = staff.get(subject) if subject is not None else None
    subject_role = accused.role if accused is not None else None
    for rung in (r for r in rungs if r.level <= reached):
        base = f"case:{wait.case_id}:{wait.key}:overdue:{rung.level}"
        if rung.name == "agency":
            for recipient in unconfirmed:
                _remind_recipient(f"{base}:{recipient.tag}", wait, rung, recipient)
            continue
        for staff_id in rung.people:
            member = staff.get(staff_id)
            if member is None:
                continue
            kit = reminder_kit(member, eligible=staff_id in wait.must_act, case=view)
            _remind_person(f"{base}:staff:{staff_id}", wait, rung, staff_id, kit)
        if rung.name in RUNG_ROLES:
            _tell_shared_inboxes(base, wait, rung, subject_role, inboxes)


def _remind_person(key: str, wait: _Wait, rung: Rung, staff_id: str, kit: ReminderKit) -> None:
    """One person's reminder, on their own address: a fresh code (and link) of their own when
    they may answer, made only once this process is the one sending it."""
    if already_sent(key):
        return
    web = get_settings().web_url

    def compose() -> tuple[str, str] | None:
        credentials = None
        if kit.credentials:
            with session_scope() as session:
                case = session.get(Case, wait.case_id)
                if case is None or case.waiting_key != wait.key or case.flow_run_id is None:
                    return None  # answered, or asked again, since the check looked
                slot: Slot = current_slot(session, case)
                flow_run_id = case.flow_run_id
            credentials = issue_one(slot, staff_id, flow_run_id, whole_slot=True)
            if credentials is None:
                return None
        return overdue_message(
            wait.case_id,
            wait.step,
            level=rung.level,
            rung=rung.who,
            due=wait.due,
            deadline=wait.deadline,
            must_act=wait.must_act,
            credentials=credentials,
            case_page=f"{web}/cases/{wait.case_id}" if kit.case_page else None,
            sign_in=f"{web}/sign-in" if kit.sign_in else None,
        )

    deliver(
        key,
        case_id=wait.case_id,
        tag=f"staff:{staff_id}",
        kind=f"overdue:{rung.level}",
        compose=compose,
        exclusive=True,
    )


def _tell_shared_inboxes(
    base: str, wait: _Wait, rung: Rung, subject_role: Role | None, inboxes: set[str]
) -> None:
    """A role's shared inboxes (the config file's addresses with its tag) hear of the overdue
    wait too, with only what anyone with that role can use: the case's page for the DSLs, the
    sign-in page for the management team. Never when the case's allegation is about someone
    with that role (who may read the inbox). With nobody of the role to tell at all, the
    message is recorded as failed: nobody has that role."""
    roles = RUNG_ROLES[rung.name]
    if subject_role in roles:
        return
    kit = shared_inbox_kit(roles)
    web = get_settings().web_url
    for tag in rung.tags:
        key = f"{base}:{tag}"
        if rung.people and tag not in inboxes:
            continue  # each member was told on their own address, and there is no shared inbox
        if already_sent(key):
            continue
        title, body = overdue_message(
            wait.case_id,
            wait.step,
            level=rung.level,
            rung=rung.who,
            due=wait.due,
            deadline=wait.deadline,
            must_act=wait.must_act,
            case_page=f"{web}/cases/{wait.case_id}" if kit.case_page else None,
            sign_in=f"{web}/sign-in" if kit.sign_in else None,
        )
        deliver(
            key,
            case_id=wait.case_id,
            tag=shared_tag(tag),
            kind=f"overdue:{rung.level}",
            title=title,
            body=body,
            exclusive=True,
        )


def _remind_recipient(key: str, wait: _Wait, rung: Rung, recipient: ReceiptRecipient) -> None:
    """A recipient that has not confirmed receipt gets a fresh link of its own (the one it had
    may have expired, gone astray or been spent), replacing the ones it had."""
    if already_sent(key):
        return

    def compose() -> tuple[str, str] | None:
        fresh = fresh_receipt_link(wait.case_id, wait.key, recipient, due=wait.due)
        if fresh is None:
            return None
        url, expires_at = fresh
        return receipt_reminder_message(
            wait.case_id,
            level=rung.level,
            rung=rung.who,
            due=wait.due,
            link=url,
            expires_at=expires_at,
        )

    deliver(
        key,
        case_id=wait.case_id,
        tag=recipient.tag,
        kind=f"overdue:{rung.level}",
        compose=compose,
        exclusive=True,
    )
