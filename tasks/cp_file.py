"""Where a child's child protection file is put together as one readable document (PDF): every
case about the child, in order, with the record that opened it, its chronology, what was shared
and with whom, and the confirmations of receipt. The same document goes to the next school and
to a child protection conference (`safeshare case export`)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from foundations.db import session_scope
from foundations.settings import get_settings
from models.identity import Reader, identity_lines
from models.kernel.steps import CaseKind
from models.kernel.values import is_record_id
from models.tables.cases import Case
from models.tables.directory import Child
from tasks.views import show_case

#: Labels for the record that opened each kind of case.
OPENED_BY = {
    CaseKind.SHARING.value: "Concern",
    CaseKind.PLAN_EVENT.value: "Child Protection Plan event",
    CaseKind.ACCESS_REQUEST.value: "Request to see records",
    CaseKind.NOTICE.value: "Notice",
}
CONCERN_FIELDS = (
    ("category", "Category or kind"),
    ("occurred_at", "When"),
    ("place", "Where"),
    ("what_happened", "What happened / details"),
    ("child_words", "The child's own words"),
    ("action_taken", "Action taken"),
    ("who_told", "Who was told"),
    ("raised_by", "Recorded by"),
    ("recorded_at", "Recorded at"),
)


class FileError(RuntimeError):
    """The document cannot be made; one sentence says why."""


def cases_of_child(child_ref: str) -> list[int]:
    """The child's cases, oldest first (transfers of the file itself left out)."""
    with session_scope() as session:
        if session.scalar(select(Child.id).where(Child.child_ref == child_ref)) is None:
            raise FileError(f"No child has the reference '{child_ref}'.")
        return list(
            session.scalars(
                select(Case.id)
                .join(Child, Case.child_id == Child.id)
                .where(Child.child_ref == child_ref, Case.kind != CaseKind.TRANSFER.value)
                .order_by(Case.id)
            )
        )


def child_of_case(case_id: int) -> str:
    if not is_record_id(case_id):
        raise FileError(f"No case has the id {case_id}.")
    with session_scope() as session:
        ref = session.scalar(
            select(Child.child_ref).join(Case, Case.child_id == Child.id).where(Case.id == case_id)
        )
    if ref is None:
        raise FileError(f"No case has the id {case_id}.")
    return ref


def child_file(child_ref: str, *, purpose: str) -> bytes:
    """The whole child protection file of one child, as a PDF: who they are (as the school
    information system holds them), then every case."""
    cases = [show_case(case_id) for case_id in cases_of_child(child_ref)]
    with session_scope() as session:
        child = session.scalars(select(Child).where(Child.child_ref == child_ref)).one()
        who = identity_lines(Reader.CP_FILE, child_ref, child.identity, child.date_of_birth)
    return render(child_ref, cases, purpose=purpose, now=datetime.now(UTC), who=who)


def _text(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value) or "-"
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {_text(v)}" for k, v in value.items())
    return str(value)


def render(
    child_ref: str,
    cases: list[dict[str, Any]],
    *,
    purpose: str,
    now: datetime,
    who: list[tuple[str, str]] | None = None,
) -> bytes:
    """The document itself (pure but for the font file): a title page (who the child is, then
    what the file holds), then each case."""
    font = get_settings().pdf_font
    if not font.is_file():
        raise FileError(
            f"the font for documents ({font}) is missing: install Debian's fonts-dejavu-core "
            "or set SAFESHARE_PDF_FONT to a TrueType font."
        )
    bold = font.with_name(font.stem + "-Bold" + font.suffix)
    # here: fpdf and its fonts' libraries are a fifth of a second of CPU to import, which every
    # web app and command that never writes a document would pay at its start
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    class Document(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("body", size=8)
            self.cell(
                0,
                5,
                f"CONFIDENTIAL: child protection file of {child_ref}. Keep separate from the main "
                f"pupil file. Page {self.page_no()} of {{nb}}",
                align="C",
            )

    pdf = Document(format="A4")
    pdf.set_title(f"Child protection file {child_ref}")
    pdf.set_creator("safeshare")
    pdf.add_font("body", "", str(font))
    pdf.add_font("body", "B", str(bold if bold.is_file() else font))
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_page()
    line = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}

    def heading(text: str, size: int = 13) -> None:
        pdf.set_font("body", "B", size)
        pdf.multi_cell(0, 7, text, **line)  # type: ignore[arg-type]
        pdf.set_font("body", "", 10)

    def field(label: str, value: Any) -> None:
        pdf.set_font("body", "B", 9)
        pdf.multi_cell(0, 5, label, **line)  # type: ignore[arg-type]
        pdf.set_font("body", "", 10)
        pdf.multi_cell(0, 5, _text(value), **line)  # type: ignore[arg-type]
        pdf.ln(1)

    heading(f"Child protection file: {child_ref}", 16)
    for label, text in who or []:
        field(label, text)
    field("Made", f"{now:%Y-%m-%d %H:%M} UTC, {purpose}")
    field("Records", f"{len(cases)} case(s), oldest first")
    field(
        "Handling",
        "Confidential. Keep separately from the main pupil file, and share only with those "
        "who have a safeguarding role.",
    )
    for case in cases:
        pdf.ln(3)
        heading(
            f"{case['reference']}: {OPENED_BY.get(case['kind'], case['kind'])} ({case['status']})"
        )
        field("Opened / closed", f"{case['opened_at']} / {case['closed_at'] or 'open'}")
        for key, label in CONCERN_FIELDS:
            if case["concern"].get(key) not in (None, ""):
                field(label, case["concern"][key])
        pdf.set_font("body", "B", 11)
        pdf.multi_cell(0, 6, "Chronology", **line)  # type: ignore[arg-type]
        for entry in case["chronology"]:
            outcome = (
                entry["answer"]
                if entry["accepted"]
                else "not accepted: " + _text([p["message"] for p in entry["problems"] or []])
            )
            field(f"{entry['at']}  {entry['step']}  by {entry['by'] or 'the system'}", outcome)
            if entry.get("outcome"):  # what the rules computed from the answer, and why
                field("Computed", [entry["outcome"], *entry["reasons"]])
        for shared in case.get("disclosures") or []:
            field("Shared", shared)
        for receipt in case.get("receipts") or []:
            field("Receipt confirmed", receipt)
        if case.get("notices"):
            field("Staff told (need to know)", case["notices"])
    return bytes(pdf.output())


def write_file(path: Path, document: bytes) -> None:
    """Write a document readable by its owner only."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(document)
    except OSError as exc:
        raise FileError(f"Cannot write the file at {path} ({exc.strerror}).") from None
