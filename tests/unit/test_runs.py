"""What an open case's run state means: moving, too soon to tell, restart, or stranded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.runs import CaseRun, Verdict, judge_run, taken_for_dead

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
GRACE = timedelta(minutes=2)
OLD = NOW - timedelta(hours=1)


def run(**facts: object) -> CaseRun:
    base: dict[str, object] = {
        "case_id": 7,
        "opened_at": OLD,
        "run_id": "r",
        "found": True,
        "state": "PAUSED",
        "state_at": OLD,
    }
    return CaseRun.model_validate(base | facts)


@pytest.mark.parametrize(
    ("facts", "verdict", "why"),
    [
        ({}, Verdict.MOVING, None),
        ({"state": "SCHEDULED"}, Verdict.MOVING, None),
        ({"state": "PENDING"}, Verdict.MOVING, None),
        ({"state": "RUNNING"}, Verdict.MOVING, None),
        ({"state": "CANCELLING"}, Verdict.MOVING, None),
        ({"opened_at": NOW - timedelta(minutes=1), "run_id": None}, Verdict.TOO_SOON, None),
        ({"run_id": None, "found": False, "state": None}, Verdict.STRANDED, "never started"),
        ({"found": False, "state": None}, Verdict.STRANDED, "not in Prefect"),
        ({"state": "COMPLETED"}, Verdict.STRANDED, "is completed"),
        ({"state": "CANCELLED"}, Verdict.STRANDED, "is cancelled"),
        ({"state": "COMPLETED", "state_at": NOW - timedelta(minutes=1)}, Verdict.TOO_SOON, None),
        ({"state": "CRASHED"}, Verdict.RESTART, None),
        ({"state": "FAILED", "restarts_in_a_row": 2}, Verdict.RESTART, None),
        # stopped a moment ago, in a case opened a moment ago: nothing will move it, restart now
        ({"state": "FAILED", "state_at": NOW - timedelta(seconds=10)}, Verdict.RESTART, None),
        ({"state": "CRASHED", "opened_at": NOW - timedelta(seconds=20)}, Verdict.RESTART, None),
        (
            {"state": "CRASHED", "opened_at": NOW, "restarts_in_a_row": 3},
            Verdict.STRANDED,
            "crashed again after 3 restarts",
        ),
        (
            {"state": "FAILED", "restarts_in_a_row": 3},
            Verdict.STRANDED,
            "failed again after 3 restarts",
        ),
    ],
)
def test_what_a_run_state_means(
    facts: dict[str, object], verdict: Verdict, why: str | None
) -> None:
    judged = judge_run(run(**facts), now=NOW, grace=GRACE, max_restarts=3)
    assert judged.verdict is verdict
    if why is None:
        assert judged.why is None
    else:
        assert judged.why is not None and why in judged.why


@pytest.mark.parametrize(
    ("facts", "verdict"),
    [
        ({"state": "RUNNING"}, Verdict.LOOK),  # unchanged in its process an hour: alive?
        ({"state": "PENDING"}, Verdict.LOOK),
        ({"state": "RUNNING", "state_at": NOW - timedelta(seconds=30)}, Verdict.MOVING),
        ({"state": "PAUSED"}, Verdict.MOVING),  # at its wait: no process to die
        ({"state": "SCHEDULED"}, Verdict.MOVING),
        ({"state": "CRASHED"}, Verdict.RESTART),
    ],
)
def test_a_run_unchanged_in_its_process_past_the_silence_is_looked_at(
    facts: dict[str, object], verdict: Verdict
) -> None:
    judged = judge_run(
        run(**facts), now=NOW, grace=GRACE, max_restarts=3, silence=timedelta(seconds=90)
    )
    assert judged.verdict is verdict


@pytest.mark.parametrize(
    ("state", "heard_lately", "dead"),
    [
        ("RUNNING", False, True),
        ("PENDING", False, True),  # its serving process died between Pending and its start
        ("RUNNING", True, False),  # a heartbeat came late: alive after all
        ("PAUSED", False, False),  # suspended at its wait after its last heartbeat
        ("SCHEDULED", False, False),  # restarted already
        ("CRASHED", False, False),  # the runner said so already: restarted, not crashed again
        ("COMPLETED", False, False),
        (None, False, False),  # Prefect does not know it
    ],
)
def test_which_silent_run_is_taken_for_dead(
    state: str | None, heard_lately: bool, dead: bool
) -> None:
    assert taken_for_dead(state, heard_lately) is dead
