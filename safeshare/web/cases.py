"""The home page (what the signed-in person may do), and the DSL's cases: the open cases and
a case's page. Every page asks need to know (models/access.py) through tasks/access.py, and
every view of a case is entered in the audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from foundations.audit import acting, record_read
from foundations.db import session_scope
from models.access import MATRIX, Action
from safeshare.web.sessions import (
    CaseReader,
    allowed_to,
    allowed_to_read_case,
    csrf_for,
    fully_signed_in,
)
from safeshare.web.site import SigningKey, page
from tasks.access import hidden_from
from tasks.accounts import SignedIn
from tasks.prefect_api import run_dashboard_link
from tasks.views import list_open_cases, show_case

router = APIRouter()


@router.get("/")
def home(
    request: Request, who: Annotated[SignedIn, Depends(fully_signed_in)], key: SigningKey
) -> Response:
    return page(
        request,
        "home.html",
        200,
        who=who,
        may_record=who.role in MATRIX[Action.RECORD_CONCERN],
        may_list=who.role in MATRIX[Action.LIST_CASES],
        csrf=csrf_for(request, key),
    )


@router.get("/cases")
def cases(
    request: Request,
    who: Annotated[SignedIn, Depends(allowed_to(Action.LIST_CASES))],
    key: SigningKey,
) -> Response:
    listed = list_open_cases()
    hidden = hidden_from(who.staff_id, [c["case_id"] for c in listed])
    listed = [c for c in listed if c["case_id"] not in hidden]
    with acting(who.staff_id, "cases page"), session_scope() as session:
        record_read(session, "case-list", cases=[c["case_id"] for c in listed])
    return page(request, "cases.html", 200, cases=listed, csrf=csrf_for(request, key))


@router.get("/cases/{case_id}")
def case(
    request: Request,
    reader: Annotated[CaseReader, Depends(allowed_to_read_case)],
    key: SigningKey,
) -> Response:
    shown = show_case(reader.case_id)
    with acting(reader.who.staff_id, "case page"), session_scope() as session:
        record_read(session, "case", case_id=reader.case_id, form="page")
    dashboard = run_dashboard_link(shown["flow_run_id"]) if shown["flow_run_id"] else None
    return page(
        request, "case.html", 200, case=shown, dashboard=dashboard, csrf=csrf_for(request, key)
    )
