"""Where members of staff are written and listed (from the CLI or the web): an id is never
reused, and the list shows no address and no secret."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from foundations.db import session_scope
from models.kernel.roles import Role
from models.tables.directory import Staff
from tasks.directory import UNCHANGED, DirectoryError


def add_staff(staff_id: str, *, name: str, role: Role, notify_url: str | None) -> None:
    """Add a member of staff; an id is never reused."""
    if not name.strip():
        raise DirectoryError("Give their name (--name).")
    with session_scope() as session:
        if session.get(Staff, staff_id) is not None:
            raise DirectoryError(f"Staff id '{staff_id}' already exists.")
        session.add(Staff(staff_id=staff_id, name=name, role=role.value, notify_url=notify_url))


def update_staff(
    staff_id: str, *, role: Role | None = None, notify_url: object = UNCHANGED
) -> None:
    """Give a member of staff a role, or set (None: forget) their notification address; what
    is not given stays. The last active administrator keeps their role (someone must be able
    to manage the directory)."""
    with session_scope() as session:
        member = session.get(Staff, staff_id)
        if member is None:
            raise DirectoryError(f"No member of staff has the id '{staff_id}'.")
        if role is not None and role.value != member.role:
            if member.role == Role.ADMIN.value and member.active:
                others = session.scalar(
                    select(Staff.staff_id)
                    .where(
                        Staff.role == Role.ADMIN.value,
                        Staff.active,
                        Staff.staff_id != staff_id,
                    )
                    .limit(1)
                )
                if others is None:
                    raise DirectoryError(
                        f"{staff_id} is the only administrator: make someone else an "
                        "administrator first."
                    )
            member.role = role.value
        if notify_url is not UNCHANGED:
            assert notify_url is None or isinstance(notify_url, str)
            member.notify_url = notify_url


def has_admin() -> bool:
    """Whether the directory has an active administrator (a new system has none)."""
    with session_scope() as session:
        return (
            session.scalar(
                select(Staff.staff_id).where(Staff.role == Role.ADMIN.value, Staff.active).limit(1)
            )
            is not None
        )


@dataclass(frozen=True)
class StaffEntry:
    """A member of staff as the directory lists them: no address, no secret."""

    staff_id: str
    role: str
    name: str
    active: bool
    has_address: bool
    has_password: bool
    has_second_factor: bool


def list_staff() -> list[StaffEntry]:
    """Everyone in the staff directory, by id."""
    with session_scope() as session:
        return [
            StaffEntry(
                staff_id=m.staff_id,
                role=m.role,
                name=m.name,
                active=m.active,
                has_address=bool(m.notify_url),
                has_password=m.password_hash is not None,
                has_second_factor=m.totp_secret is not None,
            )
            for m in session.scalars(select(Staff).order_by(Staff.staff_id))
        ]
