"""A member of staff reads a need-to-know notice through their link: GET and HEAD say whose
notice it is and show nothing of it (mail scanners open links); POST opens it, recorded."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from foundations.audit import record_read
from foundations.db import session_scope
from foundations.tokens import csrf_token, csrf_valid
from models.messages.cases import case_reference
from safeshare.web.links import NOTICE, TOKEN_MAX_AGE_SECONDS, Judged, judged_by
from safeshare.web.site import SigningKey, page
from tasks.notices import open_notice

router = APIRouter()
JudgedNotice = Annotated[Judged, Depends(judged_by(NOTICE))]


@router.api_route("/notice/{token}", methods=["GET", "HEAD"])
def notice_gate(request: Request, judged: JudgedNotice, key: SigningKey) -> Response:
    """Says whose notice it is; shows nothing of it."""
    response = page(
        request,
        "notice_gate.html",
        200,
        holder=judged.link.holder,
        reference=case_reference(judged.link.case_id),
        csrf=csrf_token(key, judged.token),
    )
    return judged.finish(request, "shown", 200, response)


@router.post("/notice/{token}")
def notice_open(
    request: Request, judged: JudgedNotice, key: SigningKey, csrf: str = Form(default="")
) -> Response:
    """The minimal view, to its holder, with the opening recorded."""
    link = judged.link
    if not csrf_valid(key, judged.token, csrf, max_age_seconds=TOKEN_MAX_AGE_SECONDS):
        return judged.forged_form(request, "open it")
    with NOTICE.acting(link):
        shown = open_notice(link.id, now=judged.now)
        with session_scope() as session:
            record_read(session, "notice", case_id=link.case_id, link=link.id)
    response = page(request, "notice.html", 200, notice=shown)
    return judged.finish(request, "opened", 200, response)
