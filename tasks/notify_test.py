"""A harmless test message to a tag or a person, sent at once with Apprise (not through a case's
outbox: it belongs to no case), with each address's answer, and one audit entry with the counts.

The target is a tag as the notifications use them (dsl, deputy-dsl, slt, agency:<code>, a tag
of the Apprise config file), a staff id (their own address, tagged staff:<id>) or an agency code
(agency:<code>). An address is shown by its scheme and host only: never a password, a token or
a recipient from its URL.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

import apprise
from sqlalchemy import select

from foundations.audit import append
from foundations.db import session_scope
from models.messages.notify_test import message_of_test, reference_of_test
from models.tables.directory import Agency, Staff
from tasks.notify import SHARED, recipients

#: What a target may be written with: a tag, a staff id or an agency code (no spaces or commas,
#: which Apprise would read as several tags).
_TARGET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,99}$")
#: Tags that name one person or one child's social worker: not offered as examples.
_PERSONAL = ("staff:", "social-worker:", SHARED)


class NoRecipients(ValueError):
    """The target reaches no address: nothing was sent."""


@dataclass(frozen=True)
class AddressOutcome:
    address: str  # scheme and host only
    tags: tuple[str, ...]  # the address's tags, ids and codes only
    delivered: bool


@dataclass(frozen=True)
class TestSent:
    __test__ = False  # not a test case, whatever its name

    reference: str
    target: str
    tag: str  # the Apprise tag the target was read as
    outcomes: tuple[AddressOutcome, ...]

    @property
    def delivered(self) -> int:
        return sum(o.delivered for o in self.outcomes)

    @property
    def all_delivered(self) -> bool:
        return self.delivered == len(self.outcomes)


def shown(service: apprise.plugins.NotifyBase) -> str:
    """An address as a person may see it: the scheme it was written with and its host (as
    Apprise's privacy mode shows it, so a host that is itself a token is masked) and port."""
    private = urlsplit(service.url(privacy=True))  # type: ignore[no-untyped-call]
    scheme = str(getattr(service, "schema", "") or private.scheme)
    host = private.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{private.port}" if private.port else ""
    except ValueError:
        port = ""
    return f"{scheme}://{host}{port}"


def send_test(target: str) -> TestSent:
    """Send one test message to every address `target` reaches and say which took it; entered
    in the audit trail (the target, how many addresses, how many delivered). A target that
    reaches no address is NoRecipients, and nothing is sent or entered."""
    target = target.strip()
    if not _TARGET.match(target):
        raise NoRecipients(
            "say whom to test: a tag (dsl, slt, agency:csc ...), a staff id or an agency code, "
            "written with letters, digits and . _ : @ + - only"
        )
    try:
        everyone = recipients()
    except RuntimeError as exc:  # the Apprise config file cannot be read
        raise NoRecipients(str(exc)) from None
    tag = _tag_for(target, everyone)
    services = list(everyone.find(tag))
    if not services:
        raise NoRecipients(_nobody(target, tag, everyone))
    reference = reference_of_test(secrets.token_hex(4))
    title, body = message_of_test(reference)
    outcomes = []
    for service in services:
        one = apprise.Apprise()
        one.add(service)
        delivered = bool(
            one.notify(title=title, body=body, tag=tag, body_format=apprise.NotifyFormat.TEXT)
        )
        outcomes.append(AddressOutcome(shown(service), _tags(service), delivered))
    sent = TestSent(reference=reference, target=target, tag=tag, outcomes=tuple(outcomes))
    with session_scope() as session:
        append(
            session.connection(),
            "notify:test",
            detail={
                "target": target,
                "tag": tag,
                "reference": reference,
                "addresses": len(outcomes),
                "delivered": sent.delivered,
            },
        )
    return sent


def _tags(service: apprise.plugins.NotifyBase) -> tuple[str, ...]:
    return tuple(sorted(str(t) for t in service.tags))


def _tag_for(target: str, everyone: apprise.Apprise) -> str:
    """The tag `target` means: a tag some address has, a staff id or an agency code; refused
    when a bare word could mean more than one of them."""
    if ":" in target:
        return target
    with session_scope() as session:
        staff = session.scalar(select(Staff.staff_id).where(Staff.staff_id == target))
        agency = session.scalar(select(Agency.code).where(Agency.code == target))
    meanings = [
        *([target] if any(True for _ in everyone.find(target)) else []),
        *([f"staff:{staff}"] if staff else []),
        *([f"agency:{agency}"] if agency else []),
    ]
    if len(meanings) > 1:
        raise NoRecipients(
            f"'{target}' could be {' or '.join(meanings)}: give the one you mean as a tag"
        )
    return meanings[0] if meanings else target


def _nobody(target: str, tag: str, everyone: apprise.Apprise) -> str:
    """Why `target` reaches nobody, and what it could have been."""
    kind, _, key = tag.partition(":")
    with session_scope() as session:
        if kind == "staff":
            active = session.scalar(select(Staff.active).where(Staff.staff_id == key))
            if active is False:
                return f"{key} is no longer active: nothing is sent to them"
            if active:
                return f"{key} has no address of their own in the staff directory"
        if kind == "agency" and session.get(Agency, key) is not None:
            return (
                f"the agency {key} has no address: `safeshare agency update {key} --notify "
                f"URL`, or an entry of the Apprise config file tagged {tag}"
            )
    tags = sorted({str(t) for s in everyone for t in s.tags if not str(t).startswith(_PERSONAL)})
    known = f"the tags in use are {', '.join(tags)}" if tags else "no address is configured"
    return (
        f"no address has the tag '{target}', and it is no staff id or agency code ({known}); "
        "nothing was sent"
    )
