"""The rule that judges a link, table-driven, and the signing of tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from foundations.tokens import (
    ExpiredToken,
    ForgedToken,
    csrf_token,
    csrf_valid,
    fingerprint,
    make_token,
    read_token,
    token_hash,
)
from models.kernel.roles import Role, StaffMember
from models.kernel.steps import Step
from models.links import (
    LINK_STATUS,
    LinkFacts,
    LinkOutcome,
    NoticeLinkFacts,
    ReceiptLinkFacts,
    WaitFacts,
    judge_link,
    judge_notice_link,
    judge_receipt_link,
    throttled,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
RUN = "6a1f6c1e-0000-4000-8000-000000000001"
LINK = LinkFacts(
    case_id=7,
    step=Step.MANAGEMENT_SIGNOFF,
    slot="management-signoff-0",
    staff_id="head1",
    flow_run_id=RUN,
    expires_at=NOW + timedelta(hours=1),
)
WAIT = WaitFacts(waiting_slot=LINK.slot, flow_run_id=RUN, first_signer="dsl1")
HEAD = StaffMember(staff_id="head1", role=Role.SLT)


@pytest.mark.parametrize(
    ("link", "wait", "person", "expected"),
    [
        (LINK, WAIT, HEAD, LinkOutcome.VALID),
        (None, WAIT, HEAD, LinkOutcome.FORGED),
        (LINK, None, HEAD, LinkOutcome.FORGED),
        (LINK.model_copy(update={"used_at": NOW}), WAIT, HEAD, LinkOutcome.USED),
        # spent by a newer link to the same person (a reminder, a resend): says so
        (
            LINK.model_copy(update={"used_at": NOW, "superseded": True}),
            WAIT,
            HEAD,
            LinkOutcome.SUPERSEDED,
        ),
        (LINK.model_copy(update={"expires_at": NOW}), WAIT, HEAD, LinkOutcome.EXPIRED),
        (LINK.model_copy(update={"expires_at": NOW - timedelta(days=1)}), WAIT, HEAD, "expired"),
        # used beats expired: the link did its work
        (
            LINK.model_copy(update={"used_at": NOW, "expires_at": NOW}),
            WAIT,
            HEAD,
            LinkOutcome.USED,
        ),
        (LINK, WAIT.model_copy(update={"answered_by": "head2"}), HEAD, LinkOutcome.ANSWERED),
        (LINK, WAIT.model_copy(update={"waiting_slot": None}), HEAD, LinkOutcome.WRONG_STEP),
        (
            LINK,
            WAIT.model_copy(update={"waiting_slot": "ratification-0"}),
            HEAD,
            LinkOutcome.WRONG_STEP,
        ),
        (LINK, WAIT.model_copy(update={"flow_run_id": "other"}), HEAD, LinkOutcome.WRONG_STEP),
        (LINK, WAIT, None, LinkOutcome.WRONG_PERSON),
        (LINK, WAIT, HEAD.model_copy(update={"staff_id": "head2"}), LinkOutcome.WRONG_PERSON),
        (LINK, WAIT, HEAD.model_copy(update={"active": False}), LinkOutcome.WRONG_PERSON),
        (LINK, WAIT, HEAD.model_copy(update={"role": Role.STAFF}), LinkOutcome.WRONG_PERSON),
        # the second signer must not be the DSL who assessed
        (
            LINK.model_copy(update={"staff_id": "dsl1"}),
            WAIT,
            StaffMember(staff_id="dsl1", role=Role.DSL),
            LinkOutcome.WRONG_PERSON,
        ),
        # nobody signs off a case about an allegation against themselves
        (LINK, WAIT.model_copy(update={"subject": "head1"}), HEAD, LinkOutcome.WRONG_PERSON),
        (LINK, WAIT.model_copy(update={"subject": "head2"}), HEAD, LinkOutcome.VALID),
    ],
)
def test_judge_link(
    link: LinkFacts | None, wait: WaitFacts | None, person: StaffMember | None, expected: str
) -> None:
    assert judge_link(link, wait, person, now=NOW) == expected


def test_every_outcome_has_a_status() -> None:
    assert set(LINK_STATUS) == set(LinkOutcome)
    assert LINK_STATUS[LinkOutcome.EXPIRED] == 410
    assert LINK_STATUS[LinkOutcome.FORGED] == 403
    assert {LINK_STATUS[o] for o in (LinkOutcome.USED, LinkOutcome.ANSWERED)} == {409}


@pytest.mark.parametrize(
    ("for_link", "from_address", "slowed"),
    [(0, 0, False), (4, 4, False), (5, 0, True), (0, 5, True), (9, 9, True)],
)
def test_throttled(for_link: int, from_address: int, slowed: bool) -> None:
    assert throttled(for_link, from_address, limit=5) is slowed


KEY = b"k" * 48


def test_token_round_trip_and_hashes() -> None:
    token = make_token(KEY, 42)
    assert read_token(KEY, token, max_age_seconds=60) == 42
    assert make_token(KEY, 42) != token  # a fresh nonce each time
    assert len(token_hash(token)) == 64 and token_hash(token).startswith(fingerprint(token))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("xx" if not t.endswith("xx") else "yy"),
        lambda t: "A" + t[1:] if not t.startswith("A") else "B" + t[1:],
        lambda t: t.split(".")[0],
        lambda t: "",
        lambda t: make_token(b"z" * 48, 42),
    ],
)
def test_altered_or_foreign_tokens_are_forged(mangle: object) -> None:
    token = make_token(KEY, 42)
    with pytest.raises(ForgedToken):
        read_token(KEY, mangle(token), max_age_seconds=60)  # type: ignore[operator]


def test_old_tokens_are_expired() -> None:
    token = make_token(KEY, 42)
    with pytest.raises(ExpiredToken):
        read_token(KEY, token, max_age_seconds=-1)


def test_csrf_is_bound_to_the_link() -> None:
    one, two = make_token(KEY, 1), make_token(KEY, 2)
    value = csrf_token(KEY, one)
    assert csrf_valid(KEY, one, value, max_age_seconds=60)
    assert not csrf_valid(KEY, two, value, max_age_seconds=60)
    assert not csrf_valid(KEY, one, "", max_age_seconds=60)
    assert not csrf_valid(b"z" * 48, one, value, max_age_seconds=60)


# ---------------------------------------------------------------------------------------------
# An agency's receipt link: bound to the disclosure, not to a wait.

_RNOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _receipt(**overrides: object) -> ReceiptLinkFacts:
    base: dict[str, object] = {
        "expires_at": _RNOW + timedelta(days=7),
        "used_at": None,
        "case_open": True,
        "receipt_recorded": False,
    }
    return ReceiptLinkFacts.model_validate(base | overrides)


@pytest.mark.parametrize(
    ("facts", "outcome"),
    [
        (_receipt(), LinkOutcome.VALID),
        (None, LinkOutcome.FORGED),
        (_receipt(used_at=_RNOW), LinkOutcome.USED),
        (_receipt(used_at=_RNOW, superseded=True), LinkOutcome.SUPERSEDED),
        (_receipt(expires_at=_RNOW), LinkOutcome.EXPIRED),
        (_receipt(receipt_recorded=True), LinkOutcome.ANSWERED),  # the DSL recorded it by phone
        (_receipt(case_open=False), LinkOutcome.WRONG_STEP),  # closed without a receipt
        # the other recipient confirmed and the case closed: this one still reads and confirms
        (_receipt(case_open=False, case_received=True), LinkOutcome.VALID),
        (_receipt(case_received=True, receipt_recorded=True), LinkOutcome.ANSWERED),
        (_receipt(case_open=False, case_received=True, expires_at=_RNOW), LinkOutcome.EXPIRED),
        (_receipt(used_at=_RNOW, expires_at=_RNOW), LinkOutcome.USED),
    ],
)
def test_every_outcome_of_a_receipt_link(
    facts: ReceiptLinkFacts | None, outcome: LinkOutcome
) -> None:
    assert judge_receipt_link(facts, now=_RNOW) is outcome


# ---------------------------------------------------------------------------------------------
# A member of staff's link to a notice: opened as often as they need, never spent by reading.


def _notice(**overrides: object) -> NoticeLinkFacts:
    base: dict[str, object] = {"expires_at": _RNOW + timedelta(days=7), "holder_active": True}
    return NoticeLinkFacts.model_validate(base | overrides)


@pytest.mark.parametrize(
    ("facts", "outcome"),
    [
        (_notice(), LinkOutcome.VALID),
        (None, LinkOutcome.FORGED),
        (_notice(superseded=True), LinkOutcome.SUPERSEDED),
        (_notice(expires_at=_RNOW), LinkOutcome.EXPIRED),
        (_notice(holder_active=False), LinkOutcome.WRONG_PERSON),  # left the school since
        (_notice(superseded=True, expires_at=_RNOW), LinkOutcome.SUPERSEDED),
        (_notice(expires_at=_RNOW, holder_active=False), LinkOutcome.EXPIRED),
    ],
)
def test_every_outcome_of_a_notice_link(
    facts: NoticeLinkFacts | None, outcome: LinkOutcome
) -> None:
    assert judge_notice_link(facts, now=_RNOW) is outcome
