"""The concern form: any member of staff records a concern, with the policy's guidance beside
each field; a recorded concern starts its case's run."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from foundations.audit import acting
from models.access import Action
from models.kernel.problems import time_in_future
from models.messages.cases import case_reference
from models.sharing.concern import CATEGORY_LABELS, ConcernFacts
from models.tables.base import utcnow
from safeshare.web.sessions import allowed_to, csrf_for, csrf_ok
from safeshare.web.site import SigningKey, message, page
from tasks.accounts import SignedIn
from tasks.children import pupils_to_choose
from tasks.concerns import record_concern
from tasks.directory import DirectoryError
from tasks.staff import StaffEntry, list_staff
from tasks.starting import start_case_run

ENGLAND = ZoneInfo("Europe/London")
#: Guidance shown beside the concern form's fields (the policy and DOMAIN.md).
GUIDANCE = {
    "what": "Facts, apart from opinion: what you saw and heard. Use full names, not initials.",
    "child_words": "The child's own words, exactly as said. Never promise a child to keep a "
    "secret: tell them you have to pass it on to keep them safe.",
    "action_taken": "What you did: who you spoke to, what you said.",
    "who_told": "Who you have told so far (names and roles). Tell the DSL at once.",
    "when": "Now, unless it happened earlier: change it to when it happened.",
    "allegation_against": "Only if the concern is about something a member of staff did. An "
    "allegation about the head teacher goes to the chair of governors, not here.",
}
#: The form's fields, in the order shown, each with what the concern calls it.
FIELDS = {
    "child": "child_ref",
    "category": "category",
    "when": "occurred_at",
    "where": "place",
    "what": "what_happened",
    "child_words": "child_words",
    "action_taken": "action_taken",
    "who_told": "who_told",
    "allegation_against": "allegation_against",
}
#: What a field left empty, or given a value it cannot take, is told (GOV.UK's error style).
MISSING = {
    "child": "Choose the pupil",
    "category": "Choose the category of concern",
    "when": "Enter when it happened, as a date and a time",
    "what": "Enter what happened",
    "allegation_against": "Choose the member of staff from the list",
}
TOO_LONG = "{} must be 20,000 characters or fewer"
NAMES = {
    "where": "Where it happened",
    "what": "What happened",
    "child_words": "The child's words",
    "action_taken": "Action taken",
    "who_told": "Who you have told",
}
IN_FUTURE = "When it happened must be now or in the past"

router = APIRouter()
may_record = allowed_to(Action.RECORD_CONCERN)


def _concern_page(
    request: Request,
    who: SignedIn,
    key: bytes,
    status: int,
    values: dict[str, str],
    errors: dict[str, str],
) -> HTMLResponse:
    children = pupils_to_choose()
    colleagues = _colleagues(who)
    now = datetime.now(ENGLAND).strftime("%Y-%m-%dT%H:%M")
    return page(
        request,
        "concern.html",
        status,
        children=children,
        categories=list(CATEGORY_LABELS.items()),
        colleagues=colleagues,
        guidance=GUIDANCE,
        values={"when": now} | values,
        latest=now,
        errors=errors,
        csrf=csrf_for(request, key),
        # one value per form shown, kept through corrections: sending it twice records once
        submission=values.get("submission") or secrets.token_urlsafe(16),
    )


@router.get("/concerns/new")
def concern_form(
    request: Request, who: Annotated[SignedIn, Depends(may_record)], key: SigningKey
) -> Response:
    return _concern_page(request, who, key, 200, {}, {})


@router.post("/concerns/new")
def record(
    request: Request,
    who: Annotated[SignedIn, Depends(may_record)],
    key: SigningKey,
    csrf: str = Form(default=""),
    child: str = Form(default=""),
    category: str = Form(default=""),
    when: str = Form(default=""),
    where: str = Form(default=""),
    what: str = Form(default=""),
    child_words: str = Form(default=""),
    action_taken: str = Form(default=""),
    who_told: str = Form(default=""),
    allegation_against: str = Form(default=""),
    submission: str = Form(default=""),
) -> Response:
    if not csrf_ok(request, key, csrf) or not 16 <= len(submission) <= 64:
        return message(request, 403, "Form not accepted", "Open the form again and send it.")
    values = {
        "submission": submission,
        "child": child,
        "category": category,
        "when": when,
        "where": where,
        "what": what,
        "child_words": child_words,
        "action_taken": action_taken,
        "who_told": who_told,
        "allegation_against": allegation_against,
    }
    errors: dict[str, str] = {}
    occurred = _local_time(when)
    if occurred is None:
        errors["when"] = MISSING["when"]
    facts = None
    try:
        facts = ConcernFacts(
            child_ref=child,
            raised_by=who.staff_id,
            category=category,  # type: ignore[arg-type]
            occurred_at=occurred or datetime.now(ENGLAND),
            place=where.strip() or None,
            what_happened=what,
            child_words=child_words.strip() or None,
            action_taken=action_taken.strip() or None,
            who_told=who_told.strip() or None,
            allegation_against=allegation_against.strip() or None,
        )
    except ValidationError as exc:
        errors |= _field_errors(exc)
    chosen = allegation_against.strip()
    if chosen and "allegation_against" not in errors and chosen not in _colleague_ids(who):
        errors["allegation_against"] = MISSING["allegation_against"]
    # the concern's rule (models/sharing/concern.py::concern_problems), beside its field, with
    # the form's other errors
    if occurred is not None and time_in_future(occurred, utcnow()) is not None:
        errors["when"] = IN_FUTURE
    if errors or facts is None:
        return _concern_page(request, who, key, 422, values, _in_form_order(errors))

    try:
        with acting(who.staff_id, "concern form"):
            case_id = record_concern(facts, submission_key=submission)
    except DirectoryError as exc:
        return _concern_page(request, who, key, 422, values, {"": str(exc)})
    _, problem = start_case_run(case_id)
    return page(
        request,
        "recorded.html",
        200,
        reference=case_reference(case_id),
        started=problem is None,
        csrf=csrf_for(request, key),
    )


def _colleagues(who: SignedIn) -> list[StaffEntry]:
    """Whom an allegation may be about: the other members of staff, by name."""
    return sorted(
        (m for m in list_staff() if m.active and m.staff_id != who.staff_id),
        key=lambda m: (m.name.casefold(), m.staff_id),
    )


def _colleague_ids(who: SignedIn) -> set[str]:
    return {m.staff_id for m in _colleagues(who)}


def _local_time(text: str) -> datetime | None:
    """A time typed in a datetime-local field: wall-clock time in England."""
    try:
        naive = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return naive.replace(tzinfo=ENGLAND) if naive.tzinfo is None else naive


def _field_errors(exc: ValidationError) -> dict[str, str]:
    """Each field's error, in words (the first one a field has)."""
    field_of = {concern: field for field, concern in FIELDS.items()}
    errors: dict[str, str] = {}
    for e in exc.errors(include_input=False):
        field = field_of.get(str(e["loc"][0]))
        if field is None or field in errors:
            continue
        if e["type"] == "string_too_long":
            errors[field] = TOO_LONG.format(NAMES.get(field, "This"))
        else:
            errors[field] = MISSING.get(field, f"Check {NAMES.get(field, field).lower()}")
    return errors


def _in_form_order(errors: dict[str, str]) -> dict[str, str]:
    return {field: errors[field] for field in FIELDS if field in errors}
