"""Where notifications are sent: Apprise, through an outbox so each message goes out once.

Recipients come from the Apprise config file (tags such as dsl, slt, agency:csc) and from the
staff, agency and children's directories (each address tagged with its role, its agency, or
social-worker:<child reference> for a pupil's social worker). Messages carry
references, step names and links only. Nothing about a case reaches the member of staff its
allegation is about, by any tag.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from foundations.db import session_scope
from foundations.settings import get_settings
from models.tables.base import utcnow
from models.tables.cases import Case, Concern
from models.tables.directory import Agency, Child, Staff
from models.tables.outbox import Notification
from tasks.prefect_task import run_logger, task

if TYPE_CHECKING:  # imported where a message is sent: the pages and commands that only read
    import apprise  # a case's outbox need none of Apprise's plugins (a twentieth of a second)


def recipients(excluding: str | None = None) -> apprise.Apprise:
    """Every configured address, tagged: the config file's entries and the directories'.

    `excluding`: the member of staff a case's allegation is about. Their own address carries
    their role's tag, so a message to the role would reach them: it is left out, and so is any
    entry of the config file at the same address, whatever its tag."""
    import apprise

    settings = get_settings()
    apobj = apprise.Apprise()
    if settings.apprise_config is not None:
        config = apprise.AppriseConfig()
        if not config.add(str(settings.apprise_config)):
            raise RuntimeError(f"cannot read the Apprise config {settings.apprise_config}")
        for service in config.services():
            # the config file's addresses are shared inboxes (a role's, an agency's duty line):
            # `shared:<tag>` reaches them without the personal addresses that share <tag>
            service.tags = set(service.tags) | {shared_tag(str(t)) for t in service.tags}
            apobj.add(service)
    with session_scope() as session:
        withheld = None
        if excluding is not None:
            subject = session.get(Staff, excluding)
            withheld = subject.notify_url if subject is not None else None
        for member in session.scalars(select(Staff).where(Staff.active.is_(True))):
            if member.staff_id == excluding:
                continue
            if member.notify_url:
                tags = [member.role, f"staff:{member.staff_id}"]
                if member.role == "deputy-dsl":
                    tags.append("dsl")
                apobj.add(member.notify_url, tag=tags)
        for agency in session.scalars(select(Agency)):
            if agency.notify_url:
                apobj.add(agency.notify_url, tag=[f"agency:{agency.code}"])
        for child in session.scalars(select(Child).where(Child.social_worker_notify.is_not(None))):
            assert child.social_worker_notify is not None
            apobj.add(child.social_worker_notify, tag=[f"social-worker:{child.child_ref}"])
    return _without(apobj, withheld) if withheld else apobj


def _without(apobj: apprise.Apprise, url: str) -> apprise.Apprise:
    """The same recipients but any at `url` (compared as Apprise reads them)."""
    import apprise

    server = apprise.Apprise.instantiate(url)
    if server is None:
        return apobj
    withheld = server.url(privacy=False)  # type: ignore[no-untyped-call]
    kept = apprise.Apprise()
    for entry in apobj:
        if entry.url(privacy=False) != withheld:  # type: ignore[no-untyped-call]
            kept.add(entry)
    return kept


def subject_of(case_id: int | None) -> str | None:
    """The member of staff a case's allegation is about: nothing about the case reaches them."""
    if case_id is None:
        return None
    with session_scope() as session:
        subject = session.scalar(
            select(Concern.allegation_against)
            .join(Case, Case.concern_id == Concern.id)
            .where(Case.id == case_id)
        )
        return str(subject) if subject else None


#: The prefix that names a tag's shared inboxes (the config file's addresses) only.
SHARED = "shared:"


def shared_tag(tag: str) -> str:
    """The tag that reaches only the config file's addresses with `tag`, not the staff's own."""
    return f"{SHARED}{tag}"


def has_address(tag: str) -> bool:
    """Whether any configured address has `tag`."""
    apobj = recipients()
    return len(apobj) > 0 and any(True for _ in apobj.find(tag))


def _claim(key: str, case_id: int | None, tag: str, kind: str) -> bool:
    """Register the message in the outbox; False when it has already been delivered."""
    with session_scope() as session:
        row = session.scalar(select(Notification).where(Notification.key == key))
        if row is None:
            try:
                with session.begin_nested():
                    session.add(Notification(key=key, case_id=case_id, tag=tag, kind=kind))
            except IntegrityError:
                row = session.scalar(select(Notification).where(Notification.key == key))
        return row is None or row.status != "sent"


def _record(key: str, *, sent: bool, error: str | None) -> None:
    with session_scope() as session:
        row = session.scalar(select(Notification).where(Notification.key == key))
        assert row is not None
        row.attempts += 1
        if sent:
            row.status, row.sent_at, row.last_error = "sent", utcnow(), None
        else:
            row.status, row.last_error = "failed", error


@task(retries=0)  # delivery retries are counted in the outbox, below
def notify(key: str, *, case_id: int | None, tag: str, kind: str, title: str, body: str) -> bool:
    """Deliver one message to everyone with `tag`, once per key; retried, recorded, never silent."""
    return deliver(key, case_id=case_id, tag=tag, kind=kind, title=title, body=body)


def already_sent(key: str) -> bool:
    with session_scope() as session:
        row = session.scalar(select(Notification).where(Notification.key == key))
        return row is not None and row.status == "sent"


def _claim_exclusively(key: str, stale_after: timedelta) -> bool:
    """Take the right to deliver `key` now: one process at a time; a claim older than
    `stale_after` (its deliverer died) can be taken over."""
    now = utcnow()
    with session_scope() as session:
        taken = session.execute(
            update(Notification)
            .where(
                Notification.key == key,
                Notification.status != "sent",
                (Notification.claimed_at.is_(None)) | (Notification.claimed_at < now - stale_after),
            )
            .values(claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


def deliver(
    key: str,
    *,
    case_id: int | None,
    tag: str,
    kind: str,
    title: str = "",
    body: str = "",
    exclusive: bool = False,
    compose: Callable[[], tuple[str, str] | None] | None = None,
) -> bool:
    """The delivery itself, for callers that are not a flow (the web app) or that must not let a
    message's text become a task result (a message carrying a link's token).

    `exclusive`: for messages that two processes may both decide to send at once (two overdue
    checks): only the one that claims the key delivers; the other returns False at once.
    `compose`: the title and body are made only once this process may deliver them (a message
    that carries a fresh credential issues it then, so no other sender's credential replaces
    it); None when the message is no longer needed, which then never goes."""
    logger = run_logger("safeshare.notify")
    if not _claim(key, case_id, tag, kind):
        logger.info("notification %s already delivered", key)
        return True
    if exclusive and not _claim_exclusively(key, timedelta(minutes=2)):
        logger.info("notification %s is being delivered by another process", key)
        return False
    if compose is not None:
        try:
            made = compose()
        except BaseException:
            if exclusive:
                _release(key)
            raise
        if made is None:
            _drop(key)
            logger.info("notification %s is no longer needed", key)
            return False
        title, body = made
    settings = get_settings()
    attempts = settings.notify_retries + 1
    subject = subject_of(case_id)
    for attempt in range(1, attempts + 1):
        apobj = recipients(excluding=subject)
        error: str | None
        if len(apobj) == 0 or not any(True for _ in apobj.find(tag)):
            # Nobody to deliver to is a gap in the configuration, not a passing fault:
            # recorded at once (and tried again by the step's next run), not retried now.
            error = f"no Apprise address has the tag '{tag}'"
            _record(key, sent=False, error=error)
            logger.error("notification %s FAILED: %s", key, error)
            if exclusive:
                _release(key)
            return False
        result = apobj.notify(title=title, body=body, tag=tag, body_format="text")
        error = None if bool(result) else "Apprise reported a failed delivery"
        _record(key, sent=error is None, error=error)
        if error is None:
            logger.info("notification %s delivered to tag %s", key, tag)
            return True
        logger.warning("notification %s attempt %d/%d failed: %s", key, attempt, attempts, error)
        if attempt < attempts:
            time.sleep(settings.notify_retry_delay_seconds * attempt)
    logger.error("notification %s to tag %s FAILED after %d attempts", key, tag, attempts)
    if exclusive:
        _release(key)
    return False


def _drop(key: str) -> None:
    """Forget a message that was claimed but is no longer needed (its wait moved on)."""
    with session_scope() as session:
        session.execute(
            delete(Notification).where(Notification.key == key, Notification.status != "sent")
        )


def _release(key: str) -> None:
    """Give up the claim on a message that could not be delivered: the next try may claim it."""
    with session_scope() as session:
        session.execute(update(Notification).where(Notification.key == key).values(claimed_at=None))
