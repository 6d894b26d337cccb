"""Acting as the people of a setting would on a served stack: record a concern, wait for a
step, answer it through the CLI or the dashboard's API, and read what reached the listener."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from typer.testing import CliRunner

from foundations.db import engine_for, session_scope
from harness import web
from models.links import LinkPurpose
from models.tables.base import utcnow
from models.tables.cases import Case, CaseStep
from models.tables.credentials import PersonalLink
from models.tables.directory import Child
from models.tables.outbox import Notification
from safeshare.cli.app import app
from tasks.notify import recipients, subject_of
from tasks.roster import import_pupils
from tasks.views import show_case

#: Who runs the CLI's reading commands, as in the stack's processes: the people's DSL.
runner = CliRunner(env={"SAFESHARE_USER": "dsl1"})
#: "When it happened" in answers: an hour ago (answers refuse times in the future).
NOW = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0).isoformat()


def cli(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    return result


def new_case(people: dict[str, str], marker: str) -> int:
    """A teacher records a concern; its workflow starts."""
    result = cli(
        "concern",
        "record",
        "--child",
        "C-0001",
        "--raised-by",
        people["teacher"],
        "--category",
        "physical",
        "--what",
        f"{marker} what happened",
        "--child-words",
        f"{marker} child's words",
        "--when",
        NOW,
        "--json",
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["started"] is True
    return int(payload["case_id"])


def on_roll(*pupils: tuple[str, str, int]) -> dict[str, str]:
    """Pupils (forename, surname, year group) imported as the school information system's
    export gives them, so that pages show them by name and year group; their references by
    "forename surname". An export is the whole school: pupils an earlier import brought and
    this one leaves out become leavers (children added by reference are not touched)."""
    upns = {f"{f} {s}": f"A{uuid.uuid4().int % 10**11:011d}1" for f, s, _ in pupils}
    rows = "".join(f"{upns[f'{f} {s}']},{s},{f},01/09/2014,{year}\n" for f, s, year in pupils)
    result = import_pupils("UPN,Legal Surname,Legal Forename,DOB,Year\n" + rows, "csv",
                           today=datetime.now(UTC).date())  # fmt: skip
    assert result.counts["added"] == len(pupils), result.counts
    by_upn = refs_by_upn()
    return {name: by_upn[upn] for name, upn in upns.items()}


def refs_by_upn() -> dict[str, str]:
    """Each pupil's reference by their UPN, for every pupil a roster import brought."""
    with session_scope() as session:
        found = session.execute(
            select(Child.child_ref, Child.identity).where(Child.identity.is_not(None))
        ).all()
    return {identity["upn"]: ref for ref, identity in found}


def waiting_for(case_id: int) -> tuple[str | None, str | None]:
    """The step and slot the case waits for now: two columns of one row, all a wait needs to
    poll (the whole case view decrypts every step, several times a second per waiting test)."""
    with session_scope() as session:
        row = session.execute(
            select(Case.waiting_step, Case.waiting_slot).where(Case.id == case_id)
        ).one_or_none()
    return (row[0], row[1]) if row else (None, None)


def wait_for_step(
    case_id: int, step: str, timeout: float = 90, *, slot: str | None = None
) -> dict[str, Any]:
    """The case once it waits for `step` (and for that `slot`, when one is given)."""
    deadline = time.monotonic() + timeout
    case: dict[str, Any] = {}
    while time.monotonic() < deadline:
        now_step, now_slot = waiting_for(case_id)
        if now_step == step and slot in (None, now_slot):
            case = show_case(case_id)  # the view of it, if it still waits there
            waiting = case["waiting"]
            if waiting and waiting["step"] == step and slot in (None, waiting["slot"]):
                return case
        time.sleep(0.3)
    case = show_case(case_id)
    raise AssertionError(
        f"case {case_id} never waited for {slot or step}: {json.dumps(case, default=str)[:2000]}"
    )


def fresh_wait(case_id: int) -> str | None:
    """The step the case waits for now, if nothing has been recorded against its wait's key yet
    (three columns and one lookup: what `open_wait` polls, instead of the whole case view)."""
    with session_scope() as session:
        row = session.execute(
            select(Case.waiting_step, Case.waiting_key).where(Case.id == case_id)
        ).one_or_none()
        if row is None or row.waiting_key is None:
            return None
        answered = session.scalar(
            select(CaseStep.id)
            .where(CaseStep.case_id == case_id, CaseStep.key == row.waiting_key)
            .limit(1)
        )
    return None if answered is not None else row.waiting_step


def open_wait(case_id: int, step: str, timeout: float = 90) -> dict[str, Any]:
    """The case once it waits for `step` under a key nothing has been recorded against yet.

    After a refused answer the case still shows the refused wait until the flow asks again
    (with new codes): answering in that gap would use a spent wait's code."""
    deadline = time.monotonic() + timeout
    case: dict[str, Any] = {}
    while time.monotonic() < deadline:
        if fresh_wait(case_id) == step:
            case = show_case(case_id)  # the view of it, if it still waits there
            waiting = case["waiting"]
            if waiting and waiting["step"] == step:
                if not any(e.get("key") == waiting["key"] for e in case["chronology"]):
                    return case
        time.sleep(0.3)
    case = show_case(case_id)
    raise AssertionError(
        f"case {case_id} never newly waited for {step}: {json.dumps(case, default=str)[:2000]}"
    )


def wait_until_suspended(api: str, run_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = web.get(f"{api}/flow_runs/{run_id}").json()["state"]
        keyset = state and state["type"] == "PAUSED" and state["state_details"]["run_input_keyset"]
        # Prefect marks the run suspended a moment before it stores the form: wait for both,
        # as the dashboard shows the Resume form only then.
        if keyset and web.get(f"{api}/flow_runs/{run_id}/input/{keyset['schema']}").is_success:
            return
        time.sleep(0.2)
    raise AssertionError(f"flow run {run_id} never suspended")


def resume_via_api(api: str, run_id: str, run_input: dict[str, Any]) -> dict[str, Any]:
    """What the dashboard's Resume button does. A busy SQLite server may answer 5xx: try again."""
    deadline = time.monotonic() + 30
    while True:
        response = web.post(f"{api}/flow_runs/{run_id}/resume", json={"run_input": run_input})
        body = response.json()
        if "status" in body or time.monotonic() > deadline:
            return body
        time.sleep(0.5)


def wait_for_status(case_id: int, status: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    case: dict[str, Any] = {}
    while time.monotonic() < deadline:
        with session_scope() as session:
            now = session.scalar(select(Case.status).where(Case.id == case_id))
        if now == status:
            case = show_case(case_id)  # the view of it, read once
            if case["status"] == status:
                return case
        time.sleep(0.3)
    case = show_case(case_id)
    raise AssertionError(
        f"case {case_id} never became {status}: {json.dumps(case, default=str)[:2000]}"
    )


#: Where people's own messages arrive on the current stack: set by tests/flow/conftest.py.
MAILBOX: dict[str, Any] = {}

CODE_LINE = re.compile(r"one-time code: ([A-Z0-9]{4}-[A-Z0-9]{4})")
LINK_LINE = re.compile(r"personal link \(works once\): (\S+)")


def personal_message(case_id: int, wait_key: str, staff: str, timeout: float = 60) -> str:
    """The body of the message `staff` got on their own address for this wait of this case."""
    listener, backend = MAILBOX["listener"], MAILBOX["backend"]
    path, ref, wait = f"/{backend}/staff/{staff}", f"SS-{case_id:06d}", f"({wait_key})"

    def mine(records: list[Any]) -> list[Any]:
        return [
            r
            for r in records
            if r.path == path
            and isinstance(r.body, dict)
            and ref in r.body.get("title", "")
            and wait in r.body.get("title", "")
        ]

    records = listener.wait_for(lambda rs: mine(rs), timeout=timeout)
    return str(mine(records)[-1].body["message"])


def code_for(case_id: int, wait_key: str, staff: str) -> str:
    """The one-time code `staff` was sent for this wait, read off their message."""
    found = CODE_LINE.search(personal_message(case_id, wait_key, staff))
    assert found, f"no one-time code for {staff} in their message for {wait_key}"
    return found.group(1)


def answer(
    case_id: int, step: str, staff: str, payload: dict[str, Any], code: str | None = None
) -> Any:
    """Answer through the CLI as `staff`, with the code sent to them (or the one given)."""
    waiting = open_wait(case_id, step)["waiting"]
    if code is None:
        code = code_for(case_id, waiting["key"], staff)
    argv = ["answer", str(case_id), step, "--as", staff, "--input", json.dumps(payload)]
    return cli("--user", staff, *argv, "--code", code)


def answer_ok(case_id: int, step: str, staff: str, payload: dict[str, Any]) -> None:
    result = answer(case_id, step, staff, payload)
    assert result.exit_code == 0, result.output


def assessment(marker: str, **overrides: Any) -> dict[str, Any]:
    base = {
        "evidence_of_harm": "yes",
        "reasonable_cause": "yes",
        "prevent_harm_or_crime": "no",
        "public_interest": "yes",
        "reasons": f"{marker} reasons",
        "consent": "refused",
        "consent_override_reason": f"{marker} override",
        "information_to_share": f"{marker} info",
        "agency": "csc",
        "purpose": f"{marker} purpose",
        "lawful_basis": "art6-1-e-public-task",
    }
    return base | overrides


def assessment_record(marker: str, by: str = "dsl1", **overrides: Any) -> dict[str, Any]:
    """An accepted assessment as the case database keeps it (for rows written directly)."""
    from models.sharing.criteria import CriteriaAnswers

    answer = {"answered_by": by, **assessment(marker, **overrides)}
    return CriteriaAnswers.model_validate(answer).model_dump(mode="json")


def case_awaiting_receipt(people: dict[str, str]) -> tuple[int, str, dict[str, Any]]:
    """A case shared the ordinary way (assessed, signed off, parents told): its id, its marker,
    and the case once it waits for the agency's confirmation of receipt."""
    mark = marker()
    case_id = new_case(people, mark)
    answer_ok(case_id, "assess-criteria", people["dsl"], assessment(mark))
    answer_ok(case_id, "management-signoff", people["slt"], {"decision": "approve"})
    answer_ok(case_id, "parents", people["dsl"], told_parents(people, mark))
    return case_id, mark, wait_for_step(case_id, "confirm-receipt")


def told_parents(people: dict[str, str], marker: str) -> dict[str, Any]:
    return {
        "choice": "told",
        "told_at": NOW,
        "told_by": people["dsl"],
        "response": f"{marker} parents' response",
    }


RECEIPT = {
    "confirmed_by_name": "Duty social worker",
    "confirmed_at": NOW,
    "channel": "phone",
    "agency_reference": "CSC-123",
}


def notifications_for(listener: Any, backend: str, case_id: int) -> Counter[tuple[str, str]]:
    """(path, title) of every message about this stack's case that reached the listener."""
    about = about_case(backend, case_id)(listener.records)
    return Counter(
        (r.path.removeprefix(f"/{backend}"), r.body["title"]) for r in about if r.status == 200
    )


@dataclass(frozen=True)
class Outgoing:
    """One row of the case database's outbox: a message that goes out once, under its key."""

    key: str
    case_id: int | None
    tag: str
    kind: str
    status: str
    attempts: int


def outbox(stack: Any, case_id: int | None = None) -> list[Outgoing]:
    """The stack's outbox (only `case_id`'s rows, when one is given), oldest first."""
    columns = (Notification.key, Notification.case_id, Notification.tag, Notification.kind)
    query = select(*columns, Notification.status, Notification.attempts).order_by(Notification.id)
    if case_id is not None:
        query = query.where(Notification.case_id == case_id)
    with engine_for(stack.database_url).connect() as connection:
        return [Outgoing(*row) for row in connection.execute(query)]


def about_case(backend: str, case_id: int) -> Callable[[list[Any]], list[Any]]:
    """Picks, from what reached the listener, the messages about this stack's case."""
    ref, prefix = f"SS-{case_id:06d}", f"/{backend}/"

    def pick(records: list[Any]) -> list[Any]:
        return [
            r
            for r in records
            if isinstance(r.body, dict)
            and r.path.startswith(prefix)
            and ref in r.body.get("title", "")
        ]

    return pick


def sent_once(
    stack: Any,
    listener: Any,
    *,
    rows: int,
    case_id: int | None = None,
    pick: Callable[[Outgoing], bool] = lambda row: True,
    messages: Callable[[list[Any]], list[Any]] | None = None,
    timeout: float = 90,
) -> list[Outgoing]:
    """The outbox rows `pick` chooses (of `case_id`, when one is given) once the work that
    writes them is done: all `rows` of them exist and are sent, and no row of the case is still
    to go or going. Each went in one attempt, and the listener holds exactly one of the
    `messages` (by default: those about the case) for each address each row's tag reaches.

    Nothing more can arrive after this: a message goes out only under a row of the outbox, a
    sent row never goes again, and the listener records a message before it answers it (so a
    row is sent only once its messages are recorded)."""
    deadline = time.monotonic() + timeout
    while True:
        every = outbox(stack, case_id)
        chosen = [row for row in every if pick(row)]
        going = [row for row in (every if case_id is not None else chosen) if row.status != "sent"]
        if len(chosen) >= rows and not going:
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"not {rows} rows sent within {timeout} s: {every}")
        time.sleep(0.3)
    assert len(chosen) == rows, chosen
    assert all(row.attempts == 1 for row in chosen), chosen
    if messages is None:
        assert case_id is not None, "rows of no case: say which messages are theirs"
        messages = about_case(stack.backend, case_id)
    picked = messages

    def delivered(records: list[Any]) -> list[Any]:
        return [r for r in picked(records) if r.status == 200]

    expected = sum(_addresses(row) for row in chosen)
    records = listener.wait_for(lambda records: len(delivered(records)) >= expected)
    arrived = Counter((r.path, r.body["title"]) for r in delivered(records))
    assert sum(arrived.values()) == expected, (expected, arrived)
    assert all(n == 1 for n in arrived.values()), f"messages repeated: {arrived}"
    return chosen


def _addresses(row: Outgoing) -> int:
    """How many addresses the row's tag reaches (never the subject of the case's allegation)."""
    return sum(1 for _ in recipients(excluding=subject_of(row.case_id)).find(row.tag))


def assert_once_each(listener: Any, backend: str, case_id: int) -> Counter[tuple[str, str]]:
    # The DSL is told of the outcome just after the case closes: wait for that last message.
    closing = f"SS-{case_id:06d}: "
    listener.wait_for(
        lambda records: any(
            isinstance(r.body, dict)
            and r.path == f"/{backend}/tag/dsl"
            and r.body.get("title", "").endswith(("shared", "not-shared"))
            and closing in r.body.get("title", "")
            for r in records
        )
    )
    counts = notifications_for(listener, backend, case_id)
    repeated = {k: v for k, v in counts.items() if v != 1}
    assert not repeated, f"notifications repeated: {repeated}"
    return counts


def marker() -> str:
    return f"PD{uuid.uuid4().hex[:12]}"


RECEIPT_LINK = re.compile(r"(http://127\.0\.0\.1:\d+/receipt/\S+)")


def agency_link(listener: Any, backend: str, case_id: int, path: str = "/tag/agency-csc") -> str:
    """The receipt link in the latest notification about this case that reached `path` (the
    agency's duty inbox, unless another is given)."""
    return link_in(listener, backend, case_id, path, RECEIPT_LINK)


NOTICE_LINK = re.compile(r"(http://127\.0\.0\.1:\d+/notice/\S+)")


def notice_link(listener: Any, backend: str, case_id: int, staff_id: str) -> str:
    """The link to the need-to-know notice of this case that reached `staff_id`'s address."""
    return link_in(listener, backend, case_id, f"/staff/{staff_id}", NOTICE_LINK)


def expire_notice_link(case_id: int, staff_id: str) -> None:
    """Let the time of `staff_id`'s link to this case's notice run out (a minute ago)."""
    expire_link(LinkPurpose.NOTICE_LINK, case_id, staff_id)


def expire_link(purpose: LinkPurpose, case_id: int, holder: str) -> None:
    """Let the time of `holder`'s personal links of this purpose to this case run out (a minute
    ago), as the link's own expiry would."""
    with session_scope() as session:
        session.execute(
            update(PersonalLink)
            .where(
                PersonalLink.purpose == purpose,
                PersonalLink.case_id == case_id,
                PersonalLink.holder == holder,
            )
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )


def link_in(listener: Any, backend: str, case_id: int, path: str, pattern: re.Pattern[str]) -> str:
    """The link matching `pattern` in the latest message about this case that reached `path`,
    once there is one."""
    ref = f"SS-{case_id:06d}"

    def found(records: list[Any]) -> list[str]:
        return [
            m.group(1)
            for r in records
            if r.path == f"/{backend}{path}"
            and isinstance(r.body, dict)
            and ref in r.body.get("title", "")
            and (m := pattern.search(r.body.get("message", "")))
        ]

    return found(listener.wait_for(lambda rs: found(rs)))[-1]


def run_state(api: str, run_id: str, states: set[str], timeout: float = 90) -> dict[str, Any]:
    """The flow run's state once its type is one of `states` (PAUSED, RUNNING, ...)."""
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = web.get(f"{api}/flow_runs/{run_id}").json()["state"] or {}
        if state.get("type") in states:
            return state
        time.sleep(0.3)
    raise AssertionError(f"flow run {run_id} never became {states}: {state}")
