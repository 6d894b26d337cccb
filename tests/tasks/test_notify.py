"""Notifications through real Apprise to real loopback listeners (HTTP and SMTP), on both case
databases: tags from a YAML or a text config file and from the staff directory, delivery once per
key, retries, and failures that are recorded rather than ignored."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness.databases import DATA_KEYS
from harness.listeners import HttpListener, SmtpListener
from sqlalchemy import select

from foundations.db import session_scope
from foundations.settings import Settings, settings_in_force
from models.kernel.roles import Role
from models.tables.outbox import Notification
from tasks.notify import deliver, notify
from tasks.staff import add_staff


@pytest.fixture
def http() -> Iterator[HttpListener]:
    with HttpListener() as listener:
        yield listener


@pytest.fixture
def configure(database: str, tmp_path: Path) -> Iterator[Any]:
    """Point safeshare at the database and an Apprise config file written by the test."""
    with contextlib.ExitStack() as in_force:

        def apply(config: str | None, suffix: str = ".yml", **settings: Any) -> None:
            apprise_config = None
            if config is not None:
                apprise_config = tmp_path / f"apprise{suffix}"
                apprise_config.write_text(config)
            in_force.enter_context(
                settings_in_force(
                    Settings(
                        home=tmp_path,
                        database_url=database,
                        data_keys=DATA_KEYS,
                        apprise_config=apprise_config,
                        notify_retry_delay_seconds=0,
                        **settings,
                    )
                )
            )

        yield apply


def outbox(key: str) -> Notification:
    with session_scope() as session:
        row = session.scalar(select(Notification).where(Notification.key == key))
        assert row is not None, f"no outbox row for {key}"
        session.expunge(row)
        return row


def send(key: str, tag: str) -> bool:
    return notify.fn(
        key, case_id=None, tag=tag, kind="test", title=f"t {key}", body="line one\nline two"
    )


def key() -> str:
    return f"test:{uuid.uuid4().hex}"


@pytest.mark.parametrize("suffix", [".yml", ".txt"])
def test_config_file_tags_pick_the_recipients(
    configure: Any, http: HttpListener, suffix: str
) -> None:
    if suffix == ".yml":
        config = (
            f"urls:\n  - {http.url('/dsl')}:\n      tag: dsl\n"
            f"  - {http.url('/slt')}:\n      tag: slt\n"
        )
    else:
        config = f"dsl={http.url('/dsl')}\nslt={http.url('/slt')}\n"
    configure(config, suffix)
    k = key()
    assert send(k, "dsl") is True
    records = http.wait_for(lambda rs: len(rs) >= 1)
    assert [r.path for r in records] == ["/dsl"]
    assert records[0].body["title"] == f"t {k}"
    row = outbox(k)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)


def test_a_key_is_delivered_once(configure: Any, http: HttpListener) -> None:
    configure(f"dsl={http.url('/dsl')}\n", ".txt")
    k = key()
    assert send(k, "dsl") and send(k, "dsl")
    http.wait_for(lambda rs: len(rs) >= 1)
    assert len(http.records) == 1
    assert outbox(k).attempts == 1


def test_a_failed_delivery_is_retried_then_recorded_as_sent(
    configure: Any, http: HttpListener
) -> None:
    configure(f"dsl={http.url('/dsl')}\n", ".txt", notify_retries=3)
    http.fail_next(2)
    k = key()
    assert send(k, "dsl") is True
    assert [r.status for r in http.records] == [500, 500, 200]
    row = outbox(k)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)


def test_delivery_that_never_succeeds_is_recorded_as_failed(
    configure: Any, http: HttpListener
) -> None:
    configure(f"dsl={http.url('/dsl')}\n", ".txt", notify_retries=2)
    http.fail_next(3)
    k = key()
    assert send(k, "dsl") is False
    assert len(http.records) == 3
    row = outbox(k)
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.last_error
    # A later run of the same step tries again rather than trusting the failure.
    assert send(k, "dsl") is True
    assert outbox(k).status == "sent"


def test_a_tag_nobody_has_is_a_recorded_failure(configure: Any, http: HttpListener) -> None:
    configure(f"dsl={http.url('/dsl')}\n", ".txt", notify_retries=1)
    k = key()
    assert send(k, "agency:police") is False
    row = outbox(k)
    assert (row.status, row.attempts) == ("failed", 1)  # nothing to retry: nobody has the tag
    assert "agency:police" in (row.last_error or "")
    assert http.records == []


def test_staff_are_reached_by_email_on_their_own_address(configure: Any, database: str) -> None:
    configure(None)
    with SmtpListener() as smtp:
        staff_id = f"d{uuid.uuid4().hex[:8]}"
        add_staff(
            staff_id,
            name="A Deputy",
            role=Role.DEPUTY_DSL,
            notify_url=smtp.url(f"{staff_id}@school.test"),
        )
        k = key()
        assert send(k, f"staff:{staff_id}") is True
        (message,) = smtp.wait_for(lambda rs: len(rs) >= 1)
        assert message.rcpt_tos == (f"{staff_id}@school.test",)
        assert message.subject == f"t {k}"
        assert message.text.strip().splitlines() == ["line one", "line two"]
        # A deputy DSL is told what the DSL is told.
        k2 = key()
        assert send(k2, "dsl") is True
        smtp.wait_for(lambda rs: any(r.subject == f"t {k2}" for r in rs))


def test_an_exclusive_message_goes_once_from_many_senders_at_once(
    configure: Any, http: HttpListener
) -> None:
    """Eight threads decide to send the same reminder at the same moment: one message."""
    import threading

    tag = f"x{uuid.uuid4().hex[:8]}"  # nobody else in this database has it
    configure(f"{tag}={http.url('/x')}\n", ".txt")
    k = key()
    barrier = threading.Barrier(8)
    results: list[bool] = []

    def sender() -> None:
        barrier.wait()
        results.append(
            deliver(k, case_id=None, tag=tag, kind="t", title="t", body="b", exclusive=True)
        )

    threads = [threading.Thread(target=sender) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Every sender has returned, and the listener records a message before it answers it:
    # whatever was delivered is here, and the row says it went once.
    row = outbox(k)
    assert (row.status, row.attempts) == ("sent", 1)
    assert len(http.records) == 1
    # Later senders see it delivered.
    assert deliver(k, case_id=None, tag=tag, kind="t", title="t", body="b", exclusive=True)


def test_a_message_made_on_delivery_is_made_once_by_the_one_sender_that_claims_it(
    configure: Any, http: HttpListener
) -> None:
    """Eight threads decide to send the same reminder, which carries a credential made as it
    goes: the credential is made once, by the sender that delivers it."""
    import threading

    tag = f"x{uuid.uuid4().hex[:8]}"
    configure(f"{tag}={http.url('/x')}\n", ".txt")
    k = key()
    barrier = threading.Barrier(8)
    made: list[int] = []
    lock = threading.Lock()

    def compose() -> tuple[str, str]:
        with lock:
            made.append(threading.get_ident())
            return "t", f"credential {len(made)}"

    def sender() -> None:
        barrier.wait()
        deliver(k, case_id=None, tag=tag, kind="t", compose=compose, exclusive=True)

    threads = [threading.Thread(target=sender) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # every sender has returned: whatever was delivered has reached the listener
    row = outbox(k)
    assert (row.status, row.attempts) == ("sent", 1)
    (record,) = http.records
    assert len(made) == 1
    assert "credential 1" in str(record.body)
    # later senders neither make nor send anything
    assert deliver(k, case_id=None, tag=tag, kind="t", compose=compose, exclusive=True)
    assert len(made) == 1


def test_a_message_no_longer_needed_leaves_nothing_and_can_be_decided_again(
    configure: Any, http: HttpListener
) -> None:
    tag = f"x{uuid.uuid4().hex[:8]}"
    configure(f"{tag}={http.url('/x')}\n", ".txt")
    k = key()
    assert not deliver(k, case_id=None, tag=tag, kind="t", compose=lambda: None, exclusive=True)
    with session_scope() as session:
        assert session.scalar(select(Notification).where(Notification.key == k)) is None
    assert deliver(k, case_id=None, tag=tag, kind="t", compose=lambda: ("t", "b"), exclusive=True)
    http.wait_for(lambda rs: len(rs) >= 1)
    assert outbox(k).status == "sent"


def test_a_shared_tag_reaches_the_config_files_addresses_and_not_the_staffs_own(
    configure: Any, http: HttpListener
) -> None:
    """A role's shared inbox in the config file hears what is for the role as a whole; the
    members of the role, told on their own addresses, do not get it twice."""
    from tasks.notify import has_address, shared_tag

    role_tag = "slt"
    configure(f"urls:\n  - {http.url('/shared')}:\n      tag: {role_tag}\n")
    head = f"h{uuid.uuid4().hex[:6]}"
    add_staff(head, name="Head", role=Role.SLT, notify_url=http.url(f"/{head}"))
    assert has_address(shared_tag(role_tag)) and not has_address(shared_tag(f"staff:{head}"))
    k = key()
    assert deliver(k, case_id=None, tag=shared_tag(role_tag), kind="t", title="t", body="b")
    # delivered before deliver() returned: everything it sent has reached the listener
    row = outbox(k)
    assert (row.tag, row.status, row.attempts) == (shared_tag(role_tag), "sent", 1)
    assert [r.path for r in http.records] == ["/shared"]
    # the role's own tag still reaches both, as before
    assert deliver(key(), case_id=None, tag=role_tag, kind="t", title="t", body="b")
    http.wait_for(lambda rs: len(rs) >= 3)
    assert sorted(r.path for r in http.records) == sorted(["/shared", "/shared", f"/{head}"])
