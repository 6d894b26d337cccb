"""An agency, or the next school, confirms receipt through its link: of a disclosure, of a
plan event, or of a leaver's file (which the new school's DSL downloads from the same link)."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from foundations.audit import record_read
from foundations.db import session_scope
from foundations.tokens import csrf_token, csrf_valid
from models.links import LinkOutcome
from models.sharing.disclosure import AgencyReceipt
from safeshare.web.links import RECEIPT, TOKEN_MAX_AGE_SECONDS, Judged, judged_by
from safeshare.web.site import SECURITY_HEADERS, SigningKey, message, page
from tasks.cp_file import child_file, child_of_case
from tasks.receipts import confirm_receipt
from tasks.run_input import hand_over
from tasks.summaries import disclosure_summary
from tasks.transfers import transfer_kind

router = APIRouter()
JudgedReceipt = Annotated[Judged, Depends(judged_by(RECEIPT))]
LABELS = {"confirmed_by_name": "Your name", "confirmed_by_role": "Your role"}


def receipt_page(
    request: Request,
    judged: Judged,
    status: int,
    csrf: str,
    values: dict[str, str],
    problems: list[str],
) -> HTMLResponse:
    link = judged.link
    assert link.disclosure_id is not None  # a receipt link is issued for a disclosure
    with RECEIPT.acting(link), session_scope() as session:
        shared = disclosure_summary(session, link.disclosure_id, link.holder)
        record_read(session, "disclosure", case_id=link.case_id, link=link.id)
        file = transfer_kind(session, link.case_id) == "file"
    return page(
        request,
        "receipt.html",
        status,
        shared=shared,
        csrf=csrf,
        values=values,
        problems=problems,
        file_url=f"{request.url.path.rstrip('/')}/file" if file else None,
    )


@router.get("/receipt/{token}/file")
def receipt_file(request: Request, judged: JudgedReceipt) -> Response:
    """The child protection file a transfer sends, for the new school's DSL to download
    (as often as they need while the link lasts; confirming receipt spends it)."""
    link = judged.link
    with session_scope() as session:
        is_file = transfer_kind(session, link.case_id) == "file"
    if not is_file:
        return judged.refused(request, LinkOutcome.FORGED)
    child_ref = child_of_case(link.case_id)
    with RECEIPT.acting(link):
        document = child_file(child_ref, purpose=f"for {link.agency_code}, on transfer")
        with session_scope() as session:
            # the digest of exactly what went: a copy kept by the new school can be
            # checked against the record years later
            digest = hashlib.sha256(document).hexdigest()
            record_read(session, "cp-file", case_id=link.case_id, link=link.id, sha256=digest)
    response = Response(
        content=document,
        media_type="application/pdf",
        headers={
            **SECURITY_HEADERS,
            "Content-Disposition": f'attachment; filename="cp-file-{child_ref}.pdf"',
        },
    )
    return judged.finish(request, "downloaded", 200, response)


@router.api_route("/receipt/{token}", methods=["GET", "HEAD"])
def show_receipt(request: Request, judged: JudgedReceipt, key: SigningKey) -> Response:
    response = receipt_page(request, judged, 200, csrf_token(key, judged.token), {}, [])
    return judged.finish(request, "shown", 200, response)


@router.post("/receipt/{token}")
def confirm(
    request: Request,
    judged: JudgedReceipt,
    key: SigningKey,
    csrf: str = Form(default=""),
    name: str = Form(default=""),
    role: str = Form(default=""),
    reference: str = Form(default=""),
) -> Response:
    link = judged.link
    if not csrf_valid(key, judged.token, csrf, max_age_seconds=TOKEN_MAX_AGE_SECONDS):
        return judged.forged_form(request, "confirm")
    values = {"name": name, "role": role, "reference": reference}
    try:
        given = AgencyReceipt(
            confirmed_by_name=name, confirmed_by_role=role, agency_reference=reference
        )
    except ValidationError as exc:
        problems = sorted(
            {
                f"{LABELS.get(str(e['loc'][0]), 'Your reference')}: give it, in full."
                for e in exc.errors(include_input=False)
            }
        )
        response = receipt_page(request, judged, 422, csrf, values, problems)
        return judged.finish(request, "invalid", 422, response)
    with RECEIPT.acting(link):
        claim = confirm_receipt(link.id, given, now=judged.now)
    if claim.outcome is not LinkOutcome.VALID:
        return judged.refused(request, claim.outcome)
    if claim.key is not None:
        hand_over(claim.flow_run_id, link.case_id, claim.key)
    response = message(
        request,
        200,
        "Receipt confirmed",
        "Thank you: your confirmation of receipt is recorded with the school.",
    )
    return judged.finish(request, "confirmed", 200, response)
