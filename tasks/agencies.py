"""Where the agencies cases share with are written and listed: a code (their Apprise tag is
agency:<code>), a name, a kind and an address, which the list never shows."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select

from foundations.db import session_scope
from models.kernel.directory import AgencyKind
from models.kernel.values import AGENCY_CODE_RULE, AgencyCode
from models.tables.directory import Agency
from tasks.directory import UNCHANGED, DirectoryError


def _agency_code(code: str) -> str:
    try:
        return str(TypeAdapter(AgencyCode).validate_python(code))
    except ValidationError:
        raise DirectoryError(AGENCY_CODE_RULE[0].upper() + AGENCY_CODE_RULE[1:] + ".") from None


def add_agency(code: str, *, name: str, kind: AgencyKind, notify_url: str | None) -> None:
    """Add an agency that cases can share with (its Apprise tag is agency:<code>)."""
    code = _agency_code(code)
    if not name.strip():
        raise DirectoryError("Give the agency's name.")
    with session_scope() as session:
        if session.get(Agency, code) is not None:
            raise DirectoryError(f"Agency '{code}' already exists.")
        session.add(Agency(code=code, name=name.strip(), kind=kind.value, notify_url=notify_url))


def update_agency(
    code: str,
    *,
    name: str | None = None,
    kind: AgencyKind | None = None,
    notify_url: object = UNCHANGED,
) -> None:
    """Change an agency's name, kind or address (None: forget it); what is not given stays.
    The seeded agencies (csc, mash, police, lado) come without an address: this gives one."""
    with session_scope() as session:
        agency = session.get(Agency, code)
        if agency is None:
            raise DirectoryError(
                f"No agency has the code '{code}': see `safeshare agency list`, or add it with "
                "`safeshare agency add`."
            )
        if name is not None:
            if not name.strip():
                raise DirectoryError("Give the agency's name.")
            agency.name = name.strip()
        if kind is not None:
            agency.kind = kind.value
        if notify_url is not UNCHANGED:
            assert notify_url is None or isinstance(notify_url, str)
            agency.notify_url = notify_url


@dataclass(frozen=True)
class AgencyEntry:
    """An agency as the directory lists it: its address (which may carry a password) is not
    shown, only whether it has one."""

    code: str
    name: str
    kind: str
    has_address: bool


def list_agencies() -> list[AgencyEntry]:
    """Every agency, by code."""
    with session_scope() as session:
        return [
            AgencyEntry(a.code, a.name, a.kind, bool(a.notify_url))
            for a in session.scalars(select(Agency).order_by(Agency.code))
        ]
