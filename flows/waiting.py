"""How a flow waits for a person: suspend with a typed form, check the answer, re-ask if needed.

A suspended run holds no process. When it is resumed, the flow re-runs from the top: steps already
answered are found in the case database and the wait is skipped. The CLI and every link record
their answer (or its refusal) in the case database themselves and only wake the run; the
dashboard's form alone brings its answer through Prefect, and it is copied into the case database
and deleted there. An answer that fails any check (the form's types, the policy's own
validators, who may answer, the code) is recorded as refused and the same slot is asked again
under a new key; it never fails the case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from pydantic import ValidationError

from foundations.settings import get_settings
from models.forms.base import AnswerForm, problems_from_validation
from models.forms.registry import FORMS
from models.kernel.steps import Step
from models.kernel.waits import Slot, StepSummary, Wait
from models.messages.disclosure import receipt_note
from models.messages.waits import code_help, form_description
from tasks.answers import record_answer, record_rejection
from tasks.asking import open_wait
from tasks.case_facts import answered_step, decision_basis
from tasks.closing import disclosed
from tasks.prefect_api import run_dashboard_link

#: The Apprise tag told when each kind of step waits.
WAITING_TAGS: dict[Step, str] = {
    Step.ASSESS_CRITERIA: "dsl",
    Step.MASH_ADVICE: "dsl",
    Step.MANAGEMENT_SIGNOFF: "slt",
    Step.RATIFICATION: "slt",
    Step.PARENTS: "dsl",
    Step.CONFIRM_RECEIPT: "dsl",
    Step.ACCESS_DECISION: "dsl",  # and each senior leader, on their own address, with a code
    Step.NOTICE_REVIEW: "dsl",
    Step.TRANSFER_REVIEW: "dsl",
}


#: The steps where a second person co-signs a decision to share: their form shows, in codes,
#: what the decision rests on.
CO_SIGNED = frozenset({Step.MANAGEMENT_SIGNOFF, Step.RATIFICATION})


def run_input(form: type[AnswerForm]) -> type[RunInput]:
    """The form as Prefect's run input, the type a suspended run waits on: the same name (an
    answer that fails it is known by it), fields, schema and checks, and the wait's description
    for the dashboard to show above it."""
    waited = cast(
        type[RunInput], type(form.__name__, (RunInput, form), {"__module__": form.__module__})
    )
    waited._description = form.wait_description  # what Prefect stores as the form's description
    return waited


def wait_for_answer(
    case_id: int,
    flow_run_id: str,
    wait: Wait,
    due: datetime | None = None,
    *,
    deadline: str | None = None,
    clock_from: datetime | None = None,
    note: str | None = None,
    **prefill: Any,
) -> StepSummary:
    """The accepted answer to `wait`, waiting (suspended) for a person until there is one.
    `deadline` names the deadline rule when it is not the step's own, counted from `clock_from`
    when that is not the wait's start; `note` opens the message that tells people the wait has
    begun."""
    answered = answered_step(case_id, wait)  # a replay: found without a task run
    if answered is not None:
        return answered
    step = wait.step
    while True:
        waiting: Slot = open_wait(
            case_id,
            wait,
            tag=WAITING_TAGS[step],
            flow_run_id=flow_run_id,
            dashboard=run_dashboard_link(flow_run_id),
            deadline=deadline,
            clock_from=clock_from,
            due=due,
            note=note,
        )
        if waiting.answered is not None:
            return waiting.answered
        case_page = f"{get_settings().web_url}/cases/{case_id}"
        form = FORMS[step].for_wait(
            description=form_description(
                case_id,
                step,
                who=waiting.who,
                previous_problems=waiting.previous_problems,
                case_page=case_page,
                basis=decision_basis(case_id) if step in CO_SIGNED else None,
            ),
            code_help=code_help(
                case_id,
                step,
                who=waiting.who,
                previous_problems=waiting.previous_problems,
                case_page=case_page,
            ),
            **prefill,
        )
        try:
            answer = suspend_flow_run(wait_for_input=run_input(form), key=waiting.key, timeout=None)
        except ValidationError as exc:
            if exc.title != FORMS[step].__name__:
                raise  # not the person's answer: a fault to see, not a question to re-ask
            record_rejection(waiting, problems_from_validation(exc))
            continue
        summary = record_answer(waiting, answer.model_dump(mode="json"))
        if summary is not None:
            return summary


def wait_for_receipts(case_id: int, flow_run_id: str) -> StepSummary:
    """The receipt of every disclosure of the case, awaited in turn (each agency's own wait,
    `confirm-receipt-<n>`); returns the last one's. Every agency got its link at once and the
    overdue check chases each that has not confirmed, so the order only decides which wait the
    case shows; a later agency's wait is due counted from when it was told."""
    told = disclosed(case_id)
    receipt: StepSummary | None = None
    for index, (agency, disclosed_at) in enumerate(told):
        several = len(told) > 1
        receipt = wait_for_answer(
            case_id,
            flow_run_id,
            Wait.receipt(index),
            clock_from=disclosed_at if index else None,
            note=receipt_note(agency, index, len(told)) if several else None,
        )
    if receipt is None:
        raise RuntimeError(f"case {case_id} has no disclosure to wait for a receipt of")
    return receipt
