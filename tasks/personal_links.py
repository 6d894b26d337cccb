"""One personal link: every link and code a person or an agency receives (an answer link, a
one-time code, a receipt link, a notice link) is a row of one table, and here it is issued
(replacing its holder's unused ones for the same thing), found by its secret, judged by the
rules in models/links.py and models/codes.py over what the case database holds now, spent
once, and made to last longer. The secret (token or code) exists only in what is returned:
the caller's message is its one copy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from foundations.secret_key import secret_key
from foundations.settings import get_settings
from foundations.tokens import LINK_SALT, NOTICE_SALT, RECEIPT_SALT, code_hash, make_token
from foundations.tokens import token_hash as hash_of_token
from models.codes import CodeFacts, CodeOutcome, judge_code, new_code, normalise_code
from models.kernel.steps import Step
from models.kernel.waits import Slot
from models.links import (
    LinkFacts,
    LinkOutcome,
    LinkPurpose,
    NoticeLinkFacts,
    ReceiptLinkFacts,
    WaitFacts,
    judge_link,
    judge_notice_link,
    judge_receipt_link,
)
from models.tables.cases import Case, CaseStep
from models.tables.credentials import PersonalLink
from models.tables.directory import Staff
from models.tables.disclosures import Receipt
from tasks.case_facts import allegation_against, first_signer, staff_directory

#: How each kind of link's token is signed: a token of one kind is never accepted as another.
SALTS = {
    LinkPurpose.ANSWER_LINK: LINK_SALT,
    LinkPurpose.RECEIPT_LINK: RECEIPT_SALT,
    LinkPurpose.NOTICE_LINK: NOTICE_SALT,
}

# ---------------------------------------------------------------------------------------------
# Issued, replacing the holder's earlier ones.


def supersede(session: Session, new: PersonalLink, *, same: Sequence[str], now: datetime) -> None:
    """Spend the holder's unused links of the new one's kind for the same thing of its case
    (the columns named in `same` equal the new one's): an earlier try whose message did not
    go, or what a resend or reminder replaces."""
    alike = {column: getattr(new, column) for column in ("holder", "case_id", *same)}
    session.execute(
        update(PersonalLink)
        .where(*_of(LinkPurpose(new.purpose), **alike), PersonalLink.used_at.is_(None))
        .values(used_at=now, outcome="superseded")
        .execution_options(synchronize_session=False)
    )


def issue_link(session: Session, link: PersonalLink, *, same: Sequence[str], now: datetime) -> str:
    """Add a new link, replacing its holder's unused ones for the same thing (`supersede`), and
    return its token; the row keeps the token's hash."""
    supersede(session, link, same=same, now=now)
    session.add(link)
    session.flush()
    purpose = LinkPurpose(link.purpose)
    token = make_token(secret_key(get_settings()), link.id, salt=SALTS[purpose])
    link.secret_hash = hash_of_token(token)
    return token


def issue_code(session: Session, row: PersonalLink, *, same: Sequence[str], now: datetime) -> str:
    """Add a new one-time code, replacing its holder's unused ones for the same thing, and
    return it; the row keeps a keyed hash bound to its case, wait and holder."""
    supersede(session, row, same=same, now=now)
    code = new_code()
    row.secret_hash = _code_hash(row.case_id, str(row.key), row.holder, code)
    session.add(row)
    return code


def _code_hash(case_id: int, wait_key: str, holder: str, code: str) -> str:
    return code_hash(secret_key(get_settings()), case_id, wait_key, holder, normalise_code(code))


def _of(purpose: LinkPurpose, **same: Any) -> list[ColumnElement[bool]]:
    """The conditions of the links of a kind for a thing (the columns given, by their value)."""
    alike = [getattr(PersonalLink, column) == value for column, value in same.items()]
    return [PersonalLink.purpose == purpose.value, *alike]


def count_issued(session: Session, purpose: LinkPurpose, **same: Any) -> int:
    """How many links or codes of a kind were issued for a thing (by the columns given)."""
    counted = session.scalar(
        select(func.count()).select_from(PersonalLink).where(*_of(purpose, **same))
    )
    return counted or 0


def links_of(session: Session, purpose: LinkPurpose, case_id: int) -> Sequence[PersonalLink]:
    """A case's links of one kind, in the order they were issued."""
    return session.scalars(
        select(PersonalLink).where(*_of(purpose, case_id=case_id)).order_by(PersonalLink.id)
    ).all()


def mark_sent(
    session: Session, purpose: LinkPurpose, holder: str, case_id: int, *, now: datetime
) -> None:
    """Record when the holder's current link of this kind for the case went (its message)."""
    session.execute(
        update(PersonalLink)
        .where(
            *_of(purpose, case_id=case_id, holder=holder),
            PersonalLink.used_at.is_(None),
            PersonalLink.sent_at.is_(None),
        )
        .values(sent_at=now)
        .execution_options(synchronize_session=False)
    )


def extend(
    session: Session, purpose: LinkPurpose, *, until: datetime, now: datetime, **same: Any
) -> None:
    """Make the unused, unexpired links of a kind for a thing (by the columns given) last
    until `until`, if they would end sooner."""
    session.execute(
        update(PersonalLink)
        .where(
            *_of(purpose, **same),
            PersonalLink.used_at.is_(None),
            PersonalLink.expires_at > now,
            PersonalLink.expires_at < until,
        )
        .values(expires_at=until)
        .execution_options(synchronize_session=False)
    )


# ---------------------------------------------------------------------------------------------
# Verified and spent.


@dataclass(frozen=True)
class LinkCheck:
    """A link as judged: its outcome, and its row when the token found one."""

    outcome: LinkOutcome
    link: PersonalLink | None = None


def find_link(session: Session, purpose: LinkPurpose, token: str) -> PersonalLink | None:
    """The link a token is for, found by the token's hash (never by the id inside it: a token
    issued before the links became one table carries an id of the table it came from)."""
    return session.scalar(
        select(PersonalLink).where(*_of(purpose), PersonalLink.secret_hash == hash_of_token(token))
    )


def verify_link(session: Session, purpose: LinkPurpose, token: str, *, now: datetime) -> LinkCheck:
    """Judge a link as it stands: the row its token's hash finds, by the rule for its kind."""
    link = find_link(session, purpose, token)
    if link is None:
        return LinkCheck(LinkOutcome.FORGED)
    return LinkCheck(judge(session, link, now=now), link)


def judge(session: Session, link: PersonalLink, *, now: datetime) -> LinkOutcome:
    """Whether this link may be used now, by the rule for its kind over the facts as they are."""
    superseded = link.outcome == "superseded"
    purpose = LinkPurpose(link.purpose)
    if purpose is LinkPurpose.ANSWER_LINK:
        facts, wait = _answer_facts(session, link)
        person = staff_directory(session).get(link.holder)
        return judge_link(facts, wait, person, now=now)
    if purpose is LinkPurpose.RECEIPT_LINK:
        case = session.get(Case, link.case_id)
        assert case is not None and link.disclosure_id is not None
        received = received_by(session, link.disclosure_id)
        return judge_receipt_link(
            ReceiptLinkFacts(
                expires_at=link.expires_at,
                used_at=link.used_at,
                superseded=superseded,
                case_open=case.status == "open",
                receipt_recorded=link.holder in received,
                case_received=bool(received),
            ),
            now=now,
        )
    if purpose is LinkPurpose.NOTICE_LINK:
        holder = session.get(Staff, link.holder)
        active = holder is not None and holder.active
        notice = NoticeLinkFacts(
            expires_at=link.expires_at, superseded=superseded, holder_active=active
        )
        return judge_notice_link(notice, now=now)
    return LinkOutcome.FORGED  # a code is no link: it is typed, never followed


def _answer_facts(session: Session, link: PersonalLink) -> tuple[LinkFacts, WaitFacts]:
    case = session.get(Case, link.case_id)
    assert case is not None and link.step is not None and link.slot is not None
    answered = session.scalar(
        select(CaseStep.actor).where(
            CaseStep.case_id == link.case_id,
            CaseStep.slot == link.slot,
            CaseStep.accepted.is_(True),
        )
    )
    facts = LinkFacts(
        case_id=link.case_id,
        step=Step(link.step),
        slot=link.slot,
        staff_id=link.holder,
        flow_run_id=link.flow_run_id or "",
        expires_at=link.expires_at,
        used_at=link.used_at,
        superseded=link.outcome == "superseded",
    )
    wait = WaitFacts(
        waiting_slot=case.waiting_slot if case.waiting_key is not None else None,
        flow_run_id=case.flow_run_id,
        answered_by=answered,
        first_signer=first_signer(session, link.case_id),
        subject=allegation_against(session, link.case_id),
    )
    return facts, wait


def received_by(session: Session, disclosure_id: int) -> set[str]:
    """The recipients whose receipt of a disclosure is recorded (by any door)."""
    return set(
        session.scalars(select(Receipt.recipient).where(Receipt.disclosure_id == disclosure_id))
    )


def spend(session: Session, link_id: int, *, outcome: str, now: datetime) -> bool:
    """Spend a link or code once, in the caller's transaction: of any number of simultaneous
    claims, exactly one is told True (one conditional UPDATE)."""
    spent: int = session.execute(
        update(PersonalLink)
        .where(PersonalLink.id == link_id, PersonalLink.used_at.is_(None))
        .values(used_at=now, outcome=outcome)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return spent == 1


def spend_code(
    session: Session, slot: Slot, staff_id: str, typed: str | None, *, now: datetime
) -> CodeOutcome:
    """Check the code given with an answer in `staff_id`'s name and, if it proves them, spend it
    (in the caller's transaction: the answer and the spending commit together)."""
    row = None
    if typed is not None:
        row = session.scalar(
            select(PersonalLink)
            .where(
                *_of(LinkPurpose.ANSWER_CODE, case_id=slot.case_id, key=slot.key, holder=staff_id),
                PersonalLink.secret_hash == _code_hash(slot.case_id, slot.key, staff_id, typed),
            )
            .order_by(PersonalLink.id.desc())
        )
    facts = (
        CodeFacts(
            staff_id=row.holder,
            key=str(row.key),
            expires_at=row.expires_at,
            used_at=row.used_at,
            matches=True,
        )
        if row is not None
        else None
    )
    outcome = judge_code(typed, facts, now=now)
    if outcome is CodeOutcome.VALID and row is not None:
        if not spend(session, row.id, outcome="answered", now=now):
            return CodeOutcome.USED
    return outcome


def holder_of(link: PersonalLink) -> str:
    """Who acts through a link, in the record: a member of staff's id; for a receipt link
    `agency.<code>` (the agency's duty inbox) or `social-worker.<code>` (the pupil's social
    worker at that agency)."""
    if link.agency_code is not None:
        return f"{link.holder}.{link.agency_code}"
    return link.holder
