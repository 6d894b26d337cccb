"""A school account's sign-in meets the roster, on both case databases: matched by email (any
case) to one active member of staff; refused when not in the roster, stopped, unverified or
with no email; the role set from the provider's groups when the settings say so, each change
entered in the audit trail as done by that sign-in, and no entry when nothing changed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from harness.databases import DATA_KEYS, migrated_database
from sqlalchemy import select

from foundations.db import engine_for, session_scope
from foundations.settings import Settings, settings_in_force
from models.kernel.roles import Role
from models.sign_on import GroupRoles, Refusal, SchoolAccount
from models.tables.audit import AuditLog
from models.tables.directory import Staff
from tasks import accounts
from tasks.roster import import_staff
from tasks.sign_on import ROLE_FROM_GROUPS, match_school_account

TODAY = date(2026, 11, 30)
STAFF = (
    "Staff Code,First Name,Last Name,Work Email,Job Title\n"
    "T1,Tom,Jones,Tom.Jones@School.Example,Teacher\n"
    "A1,Ada,Admin,ada@school.example,Business Manager\n"
    "L1,Lee,Leaver,lee@school.example,Teacher\n"
)
GROUPS = GroupRoles.model_validate({"dsl": ["g-dsl"], "deputy-dsl": ["g-dep"], "slt": ["g-slt"]})


@pytest.fixture(params=("sqlite", "postgresql"))
def roster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with (
        migrated_database(request.param, tmp_path) as url,
        settings_in_force(Settings(home=tmp_path, database_url=url, data_keys=DATA_KEYS)),
    ):
        import_staff(STAFF, "csv", today=TODAY)
        import_staff(STAFF.rsplit("L1", 1)[0], "csv", today=TODAY)  # Lee has left
        with session_scope() as session:
            admin = session.get(Staff, "A1")
            assert admin is not None
            admin.role = Role.ADMIN.value
        yield url
        engine_for(url).dispose()


def account(email: str | None, **claims: object) -> SchoolAccount:
    return SchoolAccount.model_validate({"subject": "sub-1", "email": email, **claims})


def role_of(staff_id: str) -> str:
    with session_scope() as session:
        role = session.scalar(select(Staff.role).where(Staff.staff_id == staff_id))
    assert role is not None
    return role


def role_entries() -> list[AuditLog]:
    with session_scope() as session:
        return list(
            session.scalars(
                select(AuditLog)
                .where(AuditLog.action == "update:staff", AuditLog.reason == ROLE_FROM_GROUPS)
                .order_by(AuditLog.seq)
            )
        )


def test_an_account_is_matched_by_email_to_one_active_member_of_staff(roster: str) -> None:
    found = match_school_account(account("  tom.jones@school.EXAMPLE "), groups=None)
    assert found.person is not None and found.refusal is None
    assert (found.person.staff_id, found.person.role) == ("T1", "staff")
    assert not found.person.has_second_factor

    refusals = {
        "stranger@school.example": (Refusal.NOT_IN_ROSTER, None),
        "lee@school.example": (Refusal.INACTIVE, "L1"),
    }
    for email, (refusal, staff_id) in refusals.items():
        got = match_school_account(account(email), groups=None)
        assert (got.person, got.refusal, got.staff_id) == (None, refusal, staff_id), email
    unverified = match_school_account(
        account("ada@school.example", email_verified=False), groups=None
    )
    assert unverified.refusal is Refusal.EMAIL_NOT_VERIFIED
    verified = match_school_account(account("ada@school.example", email_verified=True), groups=None)
    assert verified.person is not None and verified.person.role == "admin"
    assert match_school_account(account(None), groups=None).refusal is Refusal.NO_EMAIL
    # two members of staff with one email (added apart: the roster refuses it) match nobody
    with session_scope() as session:
        ada = session.get(Staff, "A1")
        assert ada is not None
        ada.email = "TOM.JONES@school.example"
    shared = match_school_account(account("tom.jones@school.example"), groups=None)
    assert (shared.person, shared.refusal) == (None, Refusal.EMAIL_SHARED)


def test_the_role_follows_the_provider_s_groups_and_each_change_is_audited(roster: str) -> None:
    tom = "tom.jones@school.example"
    # roles left as set in safeshare when the settings take none from groups
    found = match_school_account(account(tom, groups=["g-dsl"]), groups=None)
    assert found.person is not None and found.person.role == "staff" and found.role_was is None
    assert role_entries() == []

    found = match_school_account(account(tom, groups=["other", "g-slt", "g-dep"]), groups=GROUPS)
    assert found.person is not None and found.person.role == "deputy-dsl"
    assert found.role_was == "staff" and role_of("T1") == "deputy-dsl"
    [entry] = role_entries()
    assert entry.actor == "T1" and '"role":"deputy-dsl"' in entry.detail.replace(" ", "")
    assert tom not in entry.detail.lower()

    again = match_school_account(account(tom, groups=["g-dep"]), groups=GROUPS)
    assert again.person is not None and again.role_was is None  # nothing changed, no entry
    assert len(role_entries()) == 1

    # out of every group (Entra ID then sends no groups claim): plain staff again
    gone = match_school_account(account(tom), groups=GROUPS)
    assert gone.person is not None and gone.person.role == "staff" and gone.role_was == "deputy-dsl"
    assert len(role_entries()) == 2

    # the administrator's role is safeshare's alone; groups that did not fit are refused
    admin = match_school_account(account("ada@school.example", groups=["g-dsl"]), groups=GROUPS)
    assert admin.person is not None and admin.person.role == "admin"
    overage = account(tom, groups_overage=True)
    assert match_school_account(overage, groups=GROUPS).refusal is Refusal.TOO_MANY_GROUPS
    assert role_of("T1") == "staff" and len(role_entries()) == 2


def test_a_provider_s_second_factor_and_refusals_at_the_door(roster: str) -> None:
    # the provider said a second factor was used: the session starts past safeshare's own
    given = accounts.session_for(accounts.start_session("T1", second_factor_given=True))
    assert given is not None and given.second_factor_done
    plain = accounts.session_for(accounts.start_session("T1"))
    assert plain is not None and not plain.second_factor_done
    # school accounts refused guessed nothing: they do not slow the address's password sign-ins
    limit = Settings().sign_in_failure_limit
    for _ in range(limit):
        accounts.record_sign_in("-", "10.1.1.1", accounts.SCHOOL_STAGE, "not-in-roster")
    assert not accounts.slowed("T1", "10.1.1.1")
    for _ in range(limit):
        accounts.record_sign_in("T1", "10.1.1.1", "password", "wrong")
    assert accounts.slowed("A1", "10.1.1.1")
