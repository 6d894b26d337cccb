"""Where a sign-in with a school account (OpenID Connect) meets the directory: the verified
token's email is matched to one active member of staff of the roster, and, when the settings
take roles from the provider's groups, their role is set from their groups (a change entered
in the audit trail as theirs, by the sign-in).

Emails are sealed at rest, so they are compared here, opened, not in SQL: a school has hundreds
of staff at most."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from foundations.audit import acting
from foundations.db import session_scope
from models.kernel.roles import Role
from models.sign_on import (
    GroupRoles,
    Refusal,
    SchoolAccount,
    account_refusal,
    role_from_groups,
    same_email,
)
from models.tables.directory import Staff
from tasks.accounts import Person

#: Why the audit trail says a role changed at a sign-in.
ROLE_FROM_GROUPS = "sign-in with a school account: role from the provider's groups"


@dataclass(frozen=True)
class SchoolSignIn:
    """A matched member of staff (`person`), or why not (`refusal`, with the staff id when
    one was found: an inactive one). `role_was` is their role before the groups changed it."""

    person: Person | None = None
    refusal: Refusal | None = None
    staff_id: str | None = None
    role_was: str | None = None


def match_school_account(account: SchoolAccount, *, groups: GroupRoles | None) -> SchoolSignIn:
    """The active member of staff whose roster email is the account's (any case), with their
    role from the account's groups when `groups` is given; else the refusal."""
    refusal = account_refusal(account, roles_from_groups=groups is not None)
    if refusal is not None:
        return SchoolSignIn(refusal=refusal)
    with session_scope() as session:
        rows = session.execute(
            select(Staff.staff_id, Staff.email, Staff.active).where(Staff.email.is_not(None))
        ).all()
        found = [r for r in rows if same_email(r.email, account.email)]
        if not found:
            return SchoolSignIn(refusal=Refusal.NOT_IN_ROSTER)
        if len(found) > 1:  # the roster refuses this; two added apart could still share one
            return SchoolSignIn(refusal=Refusal.EMAIL_SHARED)
        if not found[0].active:
            return SchoolSignIn(refusal=Refusal.INACTIVE, staff_id=found[0].staff_id)
        staff = session.get(Staff, found[0].staff_id)
        assert staff is not None
        role_was = None
        if groups is not None:
            role = role_from_groups(Role(staff.role), account.groups, groups)
            if role.value != staff.role:
                role_was = staff.role
                with acting(staff.staff_id, ROLE_FROM_GROUPS):
                    staff.role = role.value
                    session.flush()  # entered in the audit trail now, as done by this sign-in
        person = Person(
            staff_id=staff.staff_id,
            role=staff.role,
            has_second_factor=staff.totp_secret is not None,
        )
        return SchoolSignIn(person=person, staff_id=staff.staff_id, role_was=role_was)
