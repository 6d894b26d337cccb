"""Who the child is, as each reader outside the case needs to know it to act, and no more: the
agency a disclosure goes to, the pupil's social worker, the school a leaver's file goes to, the
member of staff a need-to-know notice reaches, and the child protection file (PDF) that follows
the child. A child added by hand has no identity on record: every reader then sees the
pseudonymous reference alone.

Why these and not more: an agency and a social worker identify a child by name, date of birth
and the consistent child identifier (Children Act 2004 s16LC, the identifier meant for sharing
between agencies), never by the UPN, which the DfE keeps for education; a receiving school needs
the UPN too (the common transfer file's key) and the year group; a member of staff told on a
need-to-know basis knows the child by name and class, not their date of birth; the child
protection file carries everything the next school's DSL needs, the parents and carers too.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from enum import StrEnum
from typing import Any


class Reader(StrEnum):
    AGENCY = "agency"
    SOCIAL_WORKER = "social-worker"
    RECEIVING_SCHOOL = "receiving-school"
    STAFF_NOTICE = "staff-notice"
    CP_FILE = "cp-file"


#: Each reader's fields, in the order they are shown.
FIELDS: Mapping[Reader, tuple[str, ...]] = {
    Reader.AGENCY: ("name", "preferred_name", "date_of_birth", "child_identifier"),
    Reader.SOCIAL_WORKER: ("name", "preferred_name", "date_of_birth", "child_identifier"),
    Reader.RECEIVING_SCHOOL: (
        "name", "preferred_name", "date_of_birth", "upn", "child_identifier", "year_group",
    ),
    Reader.STAFF_NOTICE: ("name", "preferred_name", "year_group"),
    Reader.CP_FILE: (
        "name", "preferred_name", "date_of_birth", "upn", "child_identifier", "year_group",
        "admission_date", "leaving_date", "carers",
    ),
}  # fmt: skip

LABELS: Mapping[str, str] = {
    "reference": "safeshare reference",
    "name": "Legal name",
    "preferred_name": "Known as",
    "date_of_birth": "Date of birth",
    "upn": "UPN",
    "child_identifier": "Consistent child identifier",
    "year_group": "Year group",
    "admission_date": "Admitted",
    "leaving_date": "Left",
    "carers": "Parents and carers",
}

_YEAR_NAMES = {"N1": "Nursery 1", "N2": "Nursery 2", "R": "Reception"}


def identity_lines(
    reader: Reader,
    child_ref: str,
    identity: Mapping[str, Any] | None,
    date_of_birth: date | None,
) -> list[tuple[str, str]]:
    """(label, text) lines saying who the child is to `reader`: always the reference, then what
    that reader needs from the identity on record (lines with nothing to say are left out)."""
    lines = [(LABELS["reference"], child_ref)]
    if identity is None:
        return lines
    for field in FIELDS[reader]:
        text = field_text(field, identity, date_of_birth)
        if text:
            lines.append((LABELS[field], text))
    return lines


def field_text(field: str, identity: Mapping[str, Any], date_of_birth: date | None = None) -> str:
    """One field of who a child is, as a page writes it ("" when there is nothing to say)."""
    if field == "name":
        return f"{identity.get('legal_forename', '')} {identity.get('legal_surname', '')}".strip()
    if field == "preferred_name":
        return " ".join(
            identity[part]
            for part in ("preferred_forename", "preferred_surname")
            if identity.get(part)
        )
    if field == "date_of_birth":
        return _day(date_of_birth) if date_of_birth else ""
    if field == "child_identifier":
        if identity.get("child_identifier"):
            return str(identity["child_identifier"])
        reason = identity.get("child_identifier_reason")
        return f"none ({reason})" if reason else ""
    if field == "year_group":
        year = identity.get("year_group")
        return _YEAR_NAMES.get(year, f"Year {year}") if year else ""
    if field in ("admission_date", "leaving_date"):
        day = identity.get(field)
        return _day(date.fromisoformat(day)) if day else ""
    if field == "carers":
        return "; ".join(carer_line(c) for c in identity.get("carers") or ())
    return str(identity.get(field) or "")


def _day(day: date) -> str:
    """A day as people write it: 1 September 2014."""
    return day.strftime("%d %B %Y").lstrip("0")


def carer_line(carer: Mapping[str, Any]) -> str:
    """A parent or carer in one line: name, relationship, parental responsibility, contact."""
    parts = [str(carer["name"])]
    if carer.get("relationship"):
        parts[0] += f" ({carer['relationship']})"
    if carer.get("parental_responsibility"):
        parts.append("parental responsibility")
    parts += [str(carer[k]) for k in ("phone", "email") if carer.get(k)]
    return ", ".join(parts)


def carers_on_record(identity: Mapping[str, Any] | None) -> Sequence[Mapping[str, Any]]:
    """The parents and carers the school information system holds, those with parental
    responsibility first (the ones the parents step offers)."""
    carers = list((identity or {}).get("carers") or ())
    return sorted(carers, key=lambda c: not c.get("parental_responsibility"))


def reader_of_receipt(holder: str, agency_kind: str | None) -> Reader:
    """Who opens a receipt link: the pupil's social worker (holder "social-worker"), a school
    receiving a leaver's file (an agency of kind school), or an agency."""
    if holder == "social-worker":
        return Reader.SOCIAL_WORKER
    if agency_kind == "school":
        return Reader.RECEIVING_SCHOOL
    return Reader.AGENCY


#: The apostrophes names are written with (O'Brien, O’Brien, O‘Brien, O`Brien).
APOSTROPHES = "'’‘`"


def _folded(text: str, apostrophe: str = " ") -> str:
    """Text as a search compares it: no accents, no case, dashes as spaces, each apostrophe
    as `apostrophe` (a space: O'Brien is "o brien"; nothing: "obrien")."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    for mark in APOSTROPHES:
        plain = plain.replace(mark, apostrophe)
    return " ".join(plain.replace("-", " ").casefold().split())


def matches(identity: Mapping[str, Any] | None, query: str) -> bool:
    """Whether a pupil is the one searched for: every word of the query begins a word of their
    legal or preferred names (Zoe finds Zoë, obrien finds O'Brien), or the query is their UPN."""
    if identity is None or not query.strip():
        return False
    if query.strip().upper() == str(identity.get("upn", "")).upper():
        return True
    names = " ".join(
        str(identity[k])
        for k in ("legal_forename", "legal_surname", "preferred_forename", "preferred_surname")
        if identity.get(k)
    )
    words = [*_folded(names).split(), *_folded(names, apostrophe="").split()]
    return all(any(w.startswith(q) for w in words) for q in _folded(query).split())


def told_apart(choices: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """(reference, text) of each pupil to choose from, given as (reference, text, date of
    birth as a page writes it): the date of birth added to a text another choice has too, and
    the reference to one that still is not alone, so that no two choices read the same."""
    alike = Counter(text.casefold() for _, text, _ in choices)
    dated = [
        (ref, f"{text}, born {born}" if alike[text.casefold()] > 1 and born else text)
        for ref, text, born in choices
    ]
    still = Counter(text.casefold() for _, text in dated)
    return [(ref, f"{text}, {ref}" if still[text.casefold()] > 1 else text) for ref, text in dated]
