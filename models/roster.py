"""Which pupils and staff a school information system's export holds, and what importing it
changes: the columns of SIMS, Arbor and Bromcom exports, the rules a row must meet (a UPN, a
name, a date of birth that has come), and the plan of an import (added, changed, left, and those
left as they were). Nothing is ever deleted: a pupil missing from the export has left, and a
member of staff imported before who is missing has left too. Roles never come from an export.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Generic, TypeVar

from pydantic import StringConstraints, ValidationError

from models.kernel.exports import Columns, FeedRow, RowProblem, normal_name, shape_problem
from models.kernel.values import Frozen, StaffId

#: The most rows one export may hold (a school of 2,000 pupils, several times over).
MOST_ROWS = 50_000
#: The largest export read (a roster of tens of thousands, with its contacts), in bytes.
MOST_BYTES = 50_000_000
#: How many contacts a pupil's row may number (contact_1_... to contact_9_...).
MOST_CONTACTS = 9

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ()-]{6,24}$", max_length=24)
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254),
]
#: A Unique Pupil Number: a check letter, 11 digits, and a digit (a letter for a temporary one).
Upn = Annotated[str, StringConstraints(pattern=r"^[A-Z][0-9]{11}[0-9A-Z]$")]
#: The consistent child identifier (Children Act 2004 s16LC): its form is not settled yet, so
#: any short code of letters, digits and dashes.
ChildIdentifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")]
#: Why a pupil has no consistent child identifier, when the export does not say.
NO_IDENTIFIER_GIVEN = "not given by the school information system"


class Carer(Frozen):
    """A parent or carer on record, as the school information system holds them."""

    name: Name
    relationship: Label | None = None
    parental_responsibility: bool = False
    phone: Phone | None = None
    email: Email | None = None


class PupilRecord(Frozen):
    """Who a pupil is: everything here is personal and is sealed at rest."""

    upn: Upn
    legal_forename: Name
    legal_surname: Name
    preferred_forename: Name | None = None
    preferred_surname: Name | None = None
    date_of_birth: date
    year_group: str | None = None
    admission_date: date | None = None
    leaving_date: date | None = None
    child_identifier: ChildIdentifier | None = None
    child_identifier_reason: Label | None = None
    carers: tuple[Carer, ...] = ()


class StaffRecord(Frozen):
    """A member of staff as the school information system holds them (no role: roles are set
    in safeshare, or from the sign-in provider's groups)."""

    staff_id: StaffId
    name: Name
    email: Email | None = None
    job_title: Label | None = None


_CONTACT_FIELDS: Mapping[str, tuple[str, ...]] = {
    "name": ("name", "full_name", "contact_name"),
    "forename": ("forename", "first_name", "given_name"),
    "surname": ("surname", "last_name", "family_name"),
    "relationship": (
        "relationship",
        "relation",
        "relationship_to_pupil",
        "relationship_to_student",
    ),
    "parental_responsibility": ("parental_responsibility", "pr", "has_parental_responsibility"),
    "phone": (
        "phone",
        "telephone",
        "mobile",
        "mobile_phone",
        "telephone_number",
        "phone_number",
        "main_telephone",
        "home_telephone",
    ),  # fmt: skip
    "email": ("email", "email_address", "main_email", "e_mail"),
}
_CONTACT = re.compile(r"^(?:contact|parent|carer|parent_carer|priority)_?([1-9])_(.+)$")


def _contact_field(name: str) -> str | None:
    """Which field of a contact a name means (`telephone`: phone), or None; `name` as
    models.kernel.exports.normal_name gives it."""
    return next((f for f, aliases in _CONTACT_FIELDS.items() if name in aliases), None)


def _contact_column(name: str) -> str | None:
    """contact_2_email, parent1_telephone, Priority 1 Relationship: contact:2:email."""
    found = _CONTACT.match(name)
    if found is None:
        return None
    field = _contact_field(found.group(2))
    return f"contact:{found.group(1)}:{field}" if field else None


#: A pupils' export: its columns, by the names SIMS, Arbor and Bromcom give them.
PUPIL_COLUMNS = Columns(
    names={
        "upn": ("upn", "unique_pupil_number", "pupil_upn", "student_upn"),
        "legal_forename": (
            "legal_forename",
            "legal_first_name",
            "forename",
            "first_name",
            "legal_given_name",
            "given_name",
        ),
        "legal_surname": (
            "legal_surname",
            "legal_last_name",
            "surname",
            "last_name",
            "legal_family_name",
            "family_name",
        ),
        "preferred_forename": (
            "preferred_forename",
            "preferred_first_name",
            "preferred_name",
            "known_as",
            "chosen_name",
        ),
        "preferred_surname": ("preferred_surname", "preferred_last_name"),
        "date_of_birth": ("date_of_birth", "dob", "birth_date", "birthdate"),
        "year_group": (
            "year_group",
            "year",
            "nc_year",
            "national_curriculum_year",
            "curriculum_year",
            "year_taught_in",
        ),
        "admission_date": (
            "admission_date",
            "date_of_admission",
            "admitted",
            "start_date",
            "enrolment_date",
            "entry_date",
            "date_of_entry",
        ),
        "leaving_date": ("leaving_date", "date_of_leaving", "leave_date", "end_date"),
        "child_identifier": (
            "child_identifier",
            "consistent_child_identifier",
            "consistent_identifier",
            "cci",
        ),
        "child_identifier_reason": (
            "child_identifier_reason",
            "identifier_missing_reason",
            "no_identifier_reason",
        ),
        "contacts": ("contacts", "parents", "carers", "parents_carers"),
    },  # fmt: skip
    required=("upn", "legal_forename", "legal_surname", "date_of_birth"),
    what="pupils",
    strict=False,
    pattern=_contact_column,
    nested=("contacts",),
    most=MOST_ROWS,
)

#: A staff export: its columns, by the names SIMS, Arbor and Bromcom give them.
STAFF_COLUMNS = Columns(
    names={
        "staff_id": (
            "staff_id",
            "staff_code",
            "employee_id",
            "employee_number",
            "staff_number",
            "person_id",
            "id",
        ),
        "name": ("name", "full_name", "display_name"),
        "forename": (
            "forename",
            "first_name",
            "legal_forename",
            "given_name",
            "preferred_forename",
        ),
        "surname": ("surname", "last_name", "legal_surname", "family_name", "preferred_surname"),
        "email": ("email", "work_email", "school_email", "email_address", "work_email_address"),
        "job_title": ("job_title", "post", "position", "role_title", "staff_role"),
    },  # fmt: skip
    required=("staff_id",),
    what="members of staff",
    strict=False,
    most=MOST_ROWS,
)

_YEAR = re.compile(r"^(?:year|yr|y|nc)?\s*([0-9]{1,2})$")
_NURSERY = {
    "n": "N1", "n1": "N1", "n2": "N2", "nursery": "N1", "nursery 1": "N1", "nursery 2": "N2",
    "f1": "N1", "f2": "R", "r": "R", "rec": "R", "reception": "R",
}  # fmt: skip
_YES = {"yes", "y", "true", "1", "t", "x"}
_NO = {"no", "n", "false", "0", "f", ""}
_DAY_FIRST = re.compile(r"^([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})(?:[ T].*)?$")


def parse_day(text: str) -> date:
    """A date as exports write it: 2014-09-01 or 01/09/2014 (day first, as in the UK; '-'
    and '.' too), with any time of day after it ignored. ValueError says what is expected."""
    value = text.strip()
    found = _DAY_FIRST.match(value)
    try:
        if found:
            day, month, year = (int(g) for g in found.groups())
            return date(year, month, day)
        return date.fromisoformat(value[:10])
    except ValueError:
        raise ValueError(f"'{value}' is not a date (give YYYY-MM-DD or DD/MM/YYYY)") from None


def parse_year_group(text: str) -> str:
    """A year group as a canonical code: N1, N2, R, or 1 to 14."""
    value = " ".join(text.strip().lower().split())
    if value in _NURSERY:
        return _NURSERY[value]
    found = _YEAR.match(value)
    if found and 1 <= int(found.group(1)) <= 14:
        return str(int(found.group(1)))
    raise ValueError(f"'{text.strip()}' is not a year group (N1, N2, R, or 1 to 14)")


def parse_yes(text: str | None) -> bool:
    value = (text or "").strip().lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise ValueError(f"'{value}' is not yes or no")


def normal_upn(text: str) -> str:
    return re.sub(r"\s+", "", text).upper()


def pupil_from_row(row: FeedRow, *, today: date) -> PupilRecord | RowProblem:
    """The pupil a row holds, or what is wrong with it (with the row's line)."""
    problem = shape_problem(row, PUPIL_COLUMNS, "a pupil")
    if problem is not None:
        return problem
    fields = row.fields
    try:
        values: dict[str, Any] = {
            "upn": normal_upn(str(fields["upn"])),
            "legal_forename": fields["legal_forename"],
            "legal_surname": fields["legal_surname"],
            "preferred_forename": fields.get("preferred_forename"),
            "preferred_surname": fields.get("preferred_surname"),
            "date_of_birth": parse_day(str(fields["date_of_birth"])),
            "child_identifier": fields.get("child_identifier"),
            "carers": _carers(fields),
        }
        if fields.get("year_group"):
            values["year_group"] = parse_year_group(str(fields["year_group"]))
        for day in ("admission_date", "leaving_date"):
            if fields.get(day):
                values[day] = parse_day(str(fields[day]))
        if not fields.get("child_identifier"):
            values["child_identifier_reason"] = (
                fields.get("child_identifier_reason") or NO_IDENTIFIER_GIVEN
            )
        pupil = PupilRecord(**values)
    except ValidationError as exc:
        return RowProblem(row.line, _invalid(exc))
    except ValueError as exc:
        return RowProblem(row.line, str(exc))
    if pupil.date_of_birth > today:
        return RowProblem(row.line, f"the date of birth {pupil.date_of_birth} is to come")
    if pupil.admission_date and pupil.leaving_date and pupil.leaving_date < pupil.admission_date:
        return RowProblem(row.line, "the leaving date is before the admission date")
    return pupil


def _carers(fields: Mapping[str, Any]) -> tuple[Carer, ...]:
    """The contacts of a row: a JSON list of objects, or numbered columns."""
    nested = fields.get("contacts")
    found: list[dict[str, Any]] = []
    if nested is not None:
        if not isinstance(nested, list) or not all(isinstance(c, dict) for c in nested):
            raise ValueError("contacts is not a list of objects")
        for contact in nested:
            mapped: dict[str, Any] = {}
            for key, value in contact.items():
                field = _contact_field(normal_name(str(key)))
                if field is None:
                    raise ValueError(f"a contact's field '{key}' is not known")
                mapped[field] = value if isinstance(value, bool) else _text(value)
            found.append(mapped)
    else:
        for number in range(1, MOST_CONTACTS + 1):
            mapped = {
                field: fields[f"contact:{number}:{field}"]
                for field in _CONTACT_FIELDS
                if fields.get(f"contact:{number}:{field}")
            }
            if mapped:
                found.append(mapped)
    carers = []
    for number, contact in enumerate(found, start=1):
        name = _whole_name(contact)
        if not name:
            raise ValueError(f"contact {number} has no name")
        responsibility = contact.get("parental_responsibility")
        try:
            carers.append(
                Carer(
                    name=name,
                    relationship=contact.get("relationship"),
                    parental_responsibility=(
                        responsibility
                        if isinstance(responsibility, bool)
                        else parse_yes(responsibility)
                    ),
                    phone=contact.get("phone"),
                    email=contact.get("email"),
                )
            )
        except ValidationError as exc:
            raise ValueError(f"contact {number}: {_invalid(exc)}") from None
    return tuple(carers)


def staff_from_row(row: FeedRow) -> StaffRecord | RowProblem:
    """The member of staff a row holds, or what is wrong with it (with the row's line)."""
    problem = shape_problem(row, STAFF_COLUMNS, "a member of staff")
    if problem is not None:
        return problem
    fields = row.fields
    name = _whole_name(fields)
    if not name:
        return RowProblem(row.line, "no name (give name, or forename and surname)")
    try:
        return StaffRecord(
            staff_id=fields["staff_id"],
            name=name,
            email=fields.get("email"),
            job_title=fields.get("job_title"),
        )
    except ValidationError as exc:
        return RowProblem(row.line, _invalid(exc))


def _whole_name(fields: Mapping[str, Any]) -> str:
    """A person's name as a row gives it: whole, or as forename and surname."""
    return str(fields.get("name") or "") or " ".join(
        str(fields[part]) for part in ("forename", "surname") if fields.get(part)
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value).strip() or None


_SAID = {
    "upn": "the UPN is not a Unique Pupil Number (a letter, 11 digits, and a digit or letter)",
    "staff_id": "the staff id is not 1 to 64 letters, digits, '.', '_' or '-'",
    "email": "the email address is not valid",
    "phone": "a telephone number is not valid",
    "child_identifier": "the child identifier is not 1 to 64 letters, digits or '-'",
}


def _invalid(exc: ValidationError) -> str:
    """What a row's invalid values are, by field, without repeating a value (personal)."""
    said = []
    for error in exc.errors():
        where = [str(part) for part in error["loc"]]
        field = where[-1] if where else "?"
        said.append(_SAID.get(field, f"{field.replace('_', ' ')} is not valid"))
    return "; ".join(dict.fromkeys(said))


def duplicates(
    rows: Sequence[tuple[int, Any]], key: Callable[[Any], Hashable], what: str
) -> list[RowProblem]:
    """A problem for each row whose key an earlier row already has (a UPN, a staff id)."""
    first: dict[Hashable, int] = {}
    problems = []
    for line, record in rows:
        value = key(record)
        if value in first:
            problems.append(RowProblem(line, f"the same {what} as line {first[value]}"))
        else:
            first[value] = line
    return problems


R = TypeVar("R")
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Change(Generic[K, R]):
    key: K
    record: R
    fields: tuple[str, ...]  # the names of what changed, never their values


@dataclass(frozen=True)
class RosterPlan(Generic[K, R]):
    """What importing an export does: the records to add, those to change (with the names of
    what changed), the keys of those that have left, and how many stay as they were."""

    added: tuple[R, ...]
    changed: tuple[Change[K, R], ...]
    left: tuple[K, ...]
    unchanged: int

    @property
    def nothing(self) -> bool:
        return not (self.added or self.changed or self.left)

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "changed": len(self.changed),
            "left": len(self.left),
            "unchanged": self.unchanged,
        }


def plan_import(
    existing: Mapping[K, R],
    present: frozenset[K],
    incoming: Sequence[R],
    key: Callable[[R], K],
) -> RosterPlan[K, R]:
    """The plan of an import: `existing` holds the records kept now (by key), `present` the
    keys of those that have not left. A record of the export that is not kept is added; one that
    differs is changed; a present one the export does not hold has left. Nothing is ever
    removed."""
    added: list[R] = []
    changed: list[Change[K, R]] = []
    unchanged = 0
    seen: set[K] = set()
    for record in incoming:
        k = key(record)
        seen.add(k)
        old = existing.get(k)
        if old is None:
            added.append(record)
        elif old != record:
            changed.append(Change(k, record, _differences(old, record)))
        else:
            unchanged += 1
    left = tuple(k for k in existing if k in present and k not in seen)
    return RosterPlan(tuple(added), tuple(changed), left, unchanged)


def _differences(old: Any, new: Any) -> tuple[str, ...]:
    if isinstance(old, Frozen) and isinstance(new, Frozen):
        return tuple(
            name for name in type(old).model_fields if getattr(old, name) != getattr(new, name)
        )
    return ()


def has_left(pupil: PupilRecord, today: date) -> bool:
    """Whether a pupil's record says they have left by `today`."""
    return pupil.leaving_date is not None and pupil.leaving_date <= today


def newly_left(
    plan: RosterPlan[str, PupilRecord], existing: Mapping[str, PupilRecord], today: date
) -> list[str]:
    """The UPNs of the pupils this import finds have left: missing from the export, or given a
    leaving date that has come where none had before."""
    dated = [
        c.key
        for c in plan.changed
        if has_left(c.record, today) and not has_left(existing[c.key], today)
    ]
    return sorted({*plan.left, *dated})
