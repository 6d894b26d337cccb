"""A wait's slot and keys: the strings the case database and Prefect hold stay exactly as they
are, are read back as the same wait, and a string that names no wait is refused."""

from __future__ import annotations

import pytest

from models.kernel.steps import HUMAN_STEPS, Step
from models.kernel.waits import Wait, unwaited
from models.sharing.mash import MashContext

#: Every wait the flows name, and its slot as the case database holds it.
SLOTS = [
    (Wait(Step.ASSESS_CRITERIA), "assess-criteria-0"),
    (Wait(Step.ASSESS_CRITERIA, 2), "assess-criteria-2"),
    (
        Wait(Step.MASH_ADVICE, 0, MashContext.INSUFFICIENT_INFORMATION),
        "mash-advice-insufficient-information-0",
    ),
    (
        Wait(Step.MASH_ADVICE, 1, MashContext.INSUFFICIENT_INFORMATION),
        "mash-advice-insufficient-information-1",
    ),
    (Wait(Step.MASH_ADVICE, 0, MashContext.PARENTS_RISK), "mash-advice-parents-risk-0"),
    (Wait(Step.MANAGEMENT_SIGNOFF), "management-signoff-0"),
    (Wait(Step.RATIFICATION), "ratification-0"),
    (Wait(Step.PARENTS), "parents-0"),
    (Wait.receipt(0), "confirm-receipt-0"),
    (Wait.receipt(3), "confirm-receipt-3"),
    (Wait(Step.ACCESS_DECISION), "access-decision-0"),
    (Wait(Step.NOTICE_REVIEW), "notice-review-0"),
    (Wait(Step.TRANSFER_REVIEW), "transfer-review-0"),
    (Wait(Step.ASSESS_CRITERIA, 10), "assess-criteria-10"),
]


@pytest.mark.parametrize(("wait", "slot"), SLOTS, ids=[slot for _, slot in SLOTS])
def test_a_slot_is_spelled_as_stored_and_read_back_as_its_wait(wait: Wait, slot: str) -> None:
    assert wait.slot == slot
    assert Wait.parse(slot) == wait


@pytest.mark.parametrize(("wait", "slot"), SLOTS, ids=[slot for _, slot in SLOTS])
def test_a_key_is_the_slot_and_its_attempt(wait: Wait, slot: str) -> None:
    for attempt in (0, 1, 12):
        key = wait.key(attempt)
        assert key == f"{slot}-a{attempt}"
        assert Wait.parse_key(key) == (wait, attempt)


def test_what_a_wait_tells_its_readers() -> None:
    advice = Wait.parse("mash-advice-parents-risk-0")
    assert (advice.step, advice.round, advice.context) == (Step.MASH_ADVICE, 0, "parents-risk")
    assessment = Wait.parse("assess-criteria-2")
    assert (assessment.step, assessment.round, assessment.context) == (
        Step.ASSESS_CRITERIA,
        2,
        None,
    )
    receipt = Wait.parse("confirm-receipt-2")
    assert (receipt.step, receipt.disclosure) == (Step.CONFIRM_RECEIPT, 2)
    assert Wait.parse("parents-0").disclosure is None


def test_every_waiting_step_has_a_slot_that_reads_back() -> None:
    for step in HUMAN_STEPS:
        if step is Step.MASH_ADVICE:
            wait = Wait(step, 1, "some-context")
        elif step is Step.CONFIRM_RECEIPT:
            wait = Wait.receipt(1)
        else:
            wait = Wait(step, 1)
        assert Wait.parse(wait.slot) == wait


def test_a_receipt_recorded_ahead_or_beside_keeps_its_spelling() -> None:
    receipt = Wait.receipt(0)
    assert receipt.ahead_key("social-worker") == "confirm-receipt-0-social-worker"
    assert receipt.beside("agency") == "confirm-receipt-0:agency"


def test_a_step_no_one_waits_for_keeps_its_spelling() -> None:
    assert unwaited(Step.RECORD_CONCERN) == ("record-concern", "record-concern-a0")
    assert unwaited(Step.NOTIFY_AGENCY) == ("notify-agency", "notify-agency-a0")


@pytest.mark.parametrize(
    "slot",
    [
        "",
        "parents",  # no round
        "parents-",
        "parents-x",
        "parents-01",  # a leading zero: not how round 1 is spelled
        "parents--1",
        "parents-0-a0",  # a key, not a slot
        "assess-criteria-x-0",  # a context where the step has none
        "mash-advice-0",  # MASH advice without its context
        "mash-advice--0",
        "mash-advice-Parents-Risk-0",
        "confirm-receipt-1-0",  # a receipt has one round
        "confirm-receipt-x-0",
        "confirm-receipt-",
        "assess-criteria-\u00b2",  # a digit, but not one a slot is spelled with
        "record-concern",  # a step no one answers
        "record-concern-0",
        "note-0",
        "closed-0",
        "unknown-step-0",
        " parents-0",
        "parents-0 ",
    ],
)
def test_a_malformed_slot_is_refused(slot: str) -> None:
    with pytest.raises(ValueError):
        Wait.parse(slot)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "parents-0",  # a slot, not a key
        "parents-0-a",
        "parents-0-ax",
        "parents-0-a01",
        "parents-0-a-1",
        "confirm-receipt-0-social-worker",  # a receipt recorded ahead of its wait
        "confirm-receipt-0-agency",
        "confirm-receipt-0:agency",
        "record-concern-a0",  # a step the pipeline itself took: no one waits for it
        "note-0-a0",
        "mash-advice-0-a0",
    ],
)
def test_a_malformed_key_is_refused(key: str) -> None:
    with pytest.raises(ValueError):
        Wait.parse_key(key)


@pytest.mark.parametrize(
    "fields",
    [
        {"step": Step.RECORD_CONCERN},
        {"step": Step.MASH_ADVICE},
        {"step": Step.PARENTS, "context": "parents-risk"},
        {"step": Step.MASH_ADVICE, "context": "two words"},
        {"step": Step.MASH_ADVICE, "context": ""},
        {"step": Step.PARENTS, "round": -1},
        {"step": Step.CONFIRM_RECEIPT},
        {"step": Step.CONFIRM_RECEIPT, "disclosure": -1},
        {"step": Step.CONFIRM_RECEIPT, "disclosure": 0, "round": 1},
        {"step": Step.PARENTS, "disclosure": 0},
    ],
)
def test_a_wait_no_slot_can_spell_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Wait.model_validate(fields)


def test_a_negative_attempt_has_no_key() -> None:
    with pytest.raises(ValueError):
        Wait(Step.PARENTS).key(-1)
