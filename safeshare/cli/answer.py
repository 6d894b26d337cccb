"""`safeshare answer`: the step a case waits for, answered with the same checks as the
dashboard; and `safeshare answer-fields`, what each step's answer holds."""

from __future__ import annotations

import getpass
import json
import time
from datetime import UTC, datetime
from typing import Annotated

import typer
from typer.core import TyperCommand

from foundations.settings import get_settings, prefect_settings
from models.kernel.steps import Step
from safeshare.cli.output import UserError, emit_json, err, fail, friendly, out
from safeshare.cli.user import at_keyboard
from safeshare.terminal import Table

# each command imports inside itself what it alone needs, so that every command starts fast

answer_commands = typer.Typer()  # commands of safeshare itself, not of a group


class AnswerHelp(TyperCommand):
    """`safeshare answer`, whose help ends with the fields of every step's answer (read from the
    forms only when help is asked for: the forms load Prefect)."""

    @property
    def epilog(self) -> str:
        from models.forms.fields import fields_help
        from models.forms.registry import FORMS

        lines = [
            "The fields of --input for each step (* must be given; `safeshare answer-fields "
            "STEP` says what each means and gives an example; `safeshare case show CASE_ID` "
            "gives one for the step the case waits for):"
        ]
        lines += [f"{step.value}: {fields_help(step)}" for step in FORMS]
        return "\n\n".join(lines)

    @epilog.setter
    def epilog(self, _value: str | None) -> None:
        """Click sets it when the command is made: the property above is what it is."""


@answer_commands.command(cls=AnswerHelp)
@friendly
def answer(
    case_id: int,
    step: Annotated[Step, typer.Argument(help="The step the case waits for.")],
    as_: Annotated[str, typer.Option("--as", help="Your staff id.")],
    input_: Annotated[str, typer.Option("--input", help="The answer as a JSON object.")],
    code: Annotated[
        str, typer.Option("--code", help="The one-time code sent to you for this step.")
    ],
    wait: Annotated[
        bool, typer.Option(help="Wait until the case has moved on to its next step.")
    ] = False,
) -> None:
    """Answer the step a case waits for, with the same checks as the dashboard.

    The answer counts only with the one-time code sent to you (--as) for this wait. An answer
    the policy refuses (a wrong code too) is recorded with its reasons and the step is asked
    again, with new codes sent; one that is not a filled-in form of the step (a field missing,
    a value not allowed) changes nothing."""
    from foundations.audit import act_as
    from models.codes import normalise_code
    from tasks.answers import give_answer
    from tasks.case_facts import NotWaiting
    from tasks.run_input import Woken

    keyboard = at_keyboard()
    if keyboard is not None and keyboard != as_:
        raise UserError(
            f"you are {keyboard} (--user or SAFESHARE_USER) and cannot answer as {as_}; "
            f"answer as yourself, or give --user {as_} if that is who you are."
        )

    try:
        raw = json.loads(input_)
    except json.JSONDecodeError as exc:
        raise UserError(f"--input is not valid JSON ({exc.msg} at position {exc.pos}).") from None
    if not isinstance(raw, dict):
        raise UserError('--input must be a JSON object, such as {"decision": "approve"}.')
    if "answered_by" in raw and raw["answered_by"] != as_:
        raise UserError("answered_by in --input differs from --as.")
    raw["answered_by"] = as_
    if "one_time_code" in raw:
        raise UserError("give the one-time code with --code, not in --input.")
    if not normalise_code(code):
        raise UserError("--code is empty: give the one-time code sent to you for this step.")
    prefect_settings(get_settings())
    # the trail names who answered: the person the code proves, at this machine's account
    act_as(as_, f"safeshare answer (os:{getpass.getuser()})")
    try:
        given = give_answer(case_id, step, raw, code)
    except NotWaiting as exc:
        raise UserError(str(exc).rstrip(".") + ".") from None
    if not given.accepted:
        problems = "; ".join(p.message for p in given.problems)
        fail(
            f"the answer was not accepted: {problems}. The refusal is recorded in case "
            f"{case_id}, and the step is asked again: new one-time codes are sent."
        )
    out.print(f"Answer recorded on case {case_id} ({given.slot}).", markup=False)
    if given.woken in (Woken.UNREACHABLE, Woken.SUSPENDING):
        err.print(
            f"note: the workflow could not be told yet ({given.woken.value}); the answer is "
            "safe in the case database and the case moves on at the next overdue check.",
            markup=False,
        )
    if wait:
        _await_next(case_id, given.key)


def _await_next(case_id: int, key: str, timeout: float = 120) -> None:
    """Wait until the case has moved past the wait just answered (--wait)."""
    from tasks.views import show_case

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        case = show_case(case_id)
        waiting = case["waiting"]
        if case["status"] != "open" or (waiting is not None and waiting["key"] != key):
            now_at = waiting["step"] if case["status"] == "open" else case["status"]
            out.print(f"Case {case_id} is now: {now_at}.", markup=False)
            return
        time.sleep(0.3)
    fail(
        f"the answer is recorded but case {case_id} has not moved on within {timeout:.0f} s; "
        "is `safeshare up` running?"
    )


@answer_commands.command("answer-fields")
@friendly
def answer_fields(
    step: Annotated[
        Step | None, typer.Argument(help="The step (every step people answer, when unset).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """What the answer to each step holds (`safeshare answer CASE_ID STEP --input JSON`): every
    field, the values it takes, whether it must be given and what it means, and an example."""
    from models.forms.fields import example_input, step_fields
    from models.forms.registry import FORMS
    from models.kernel.steps import HUMAN_STEPS

    if step is not None and step not in FORMS:
        raise UserError(
            f"{step.value} is not answered by a person; the steps people answer are "
            f"{', '.join(s.value for s in FORMS)}."
        )
    steps = [step] if step is not None else list(FORMS)
    now = datetime.now(UTC)
    if as_json:
        emit_json(
            {
                s.value: {
                    "answered_by_roles": sorted(r.value for r in HUMAN_STEPS[s]),
                    "fields": [f.model_dump() for f in step_fields(s)],
                    "example_input": example_input(s, now=now),
                }
                for s in steps
            }
        )
        return
    for s in steps:
        roles = ", ".join(sorted(r.value for r in HUMAN_STEPS[s]))
        table = Table("field", "must be given", "takes", "what it is", title=f"{s.value} ({roles})")
        for f in step_fields(s):
            takes = " | ".join(f.allowed) if f.allowed else f.kind
            given = f"given by {f.given_by}" if f.given_by else ("yes" if f.required else "no")
            table.add_row(f.name, given, takes, f.description)
        out.print(table)
        example = json.dumps(example_input(s, now=now))
        out.print(f"Example: --input '{example}'", markup=False)
    out.print(
        "Some fields are needed because of another's value (a reason when consent was not "
        "sought and the decision shares, when parents were told...): an answer without them "
        "is refused, saying which.",
        markup=False,
    )
