"""Which rule decides who may see or do what: need to know, one rule set for every door (the CLI,
the sign-off and receipt pages, the links and codes sent out).

Staff may record a concern but not read cases; the DSL and deputies read and act; the management
team sees what a sign-off needs, while a case waits for it; an agency sees only its own
disclosure; an administrator manages accounts and the system but reads no case content; and
nobody sees, or is asked to act on, a case about an allegation against themselves.

Pure: the person, the action and what the case is are passed in.
"""

from __future__ import annotations

from enum import StrEnum

from models.kernel.problems import Problem
from models.kernel.roles import DSL_ROLES, MANAGEMENT_ROLES, Role
from models.kernel.steps import Step
from models.kernel.values import Frozen

#: A principal that is not a member of staff: an agency, through its own link.
AGENCY = "agency"
#: The role of a staff id the directory does not hold.
UNKNOWN = "unknown"


class Action(StrEnum):
    RECORD_CONCERN = "record-concern"
    # record a concern, an event or a request in another member of staff's name (they told
    # the DSL by phone, say): the one at the keyboard is entered in the audit trail beside it
    RECORD_FOR_OTHERS = "record-for-others"
    LIST_CASES = "list-cases"
    READ_CASE = "read-case"
    ACT_ON_CASE = "act-on-case"  # start, resend codes, answer the DSL's steps
    READ_SIGNOFF = "read-signoff"  # what a sign-off or ratification needs, while it is awaited
    READ_DISCLOSURE = "read-disclosure"  # an agency, its own disclosure
    READ_OVERDUE = "read-overdue"  # which waits are late and who must act (ids only)
    READ_AUDIT = "read-audit"  # audit entries: ids, codes and reasons, no content
    MANAGE_DIRECTORY = "manage-directory"  # staff accounts, children's references, agencies
    # list the directory: staff ids, roles and names; children's references; agencies
    READ_DIRECTORY = "read-directory"
    MANAGE_PLANS = "manage-plans"  # who is on a Child Protection Plan, and their social worker
    RECORD_NOTICE = "record-notice"  # a notice some staff may need to know (police, agencies)
    MANAGE_SYSTEM = "manage-system"  # data keys, backups
    # send a harmless test message to a tag or a person: is a new address set up right?
    TEST_NOTIFICATIONS = "test-notifications"


#: What each action is, in a person's words: what a refusal says they cannot do.
ACTION_WORDS: dict[Action, str] = {
    Action.RECORD_CONCERN: "record a concern",
    Action.RECORD_FOR_OTHERS: "record for someone else",
    Action.LIST_CASES: "see the list of safeguarding cases",
    Action.READ_CASE: "open this safeguarding case",
    Action.ACT_ON_CASE: "act on this safeguarding case",
    Action.READ_SIGNOFF: "see this sign-off",
    Action.READ_DISCLOSURE: "see what was shared",
    Action.READ_OVERDUE: "see which steps are late",
    Action.READ_AUDIT: "read the audit trail",
    Action.MANAGE_DIRECTORY: "change the staff and pupil lists",
    Action.READ_DIRECTORY: "see the staff and pupil lists",
    Action.MANAGE_PLANS: "change child protection plans",
    Action.RECORD_NOTICE: "record a need-to-know notice",
    Action.MANAGE_SYSTEM: "manage the system",
    Action.TEST_NOTIFICATIONS: "send a test message",
}

_DSL = frozenset(r.value for r in DSL_ROLES)
_SLT = frozenset(r.value for r in MANAGEMENT_ROLES)
_ADMIN = frozenset({Role.ADMIN.value})

#: Who may do what, by role (or AGENCY). The table the doors and the tests share.
MATRIX: dict[Action, frozenset[str]] = {
    Action.RECORD_CONCERN: frozenset({Role.STAFF.value}) | _DSL | _SLT,
    Action.RECORD_FOR_OTHERS: _DSL,
    Action.LIST_CASES: _DSL,
    Action.READ_CASE: _DSL,
    Action.ACT_ON_CASE: _DSL,
    Action.READ_SIGNOFF: _SLT,
    Action.READ_DISCLOSURE: frozenset({AGENCY}),
    Action.READ_OVERDUE: _DSL | _SLT,
    Action.READ_AUDIT: _DSL | _ADMIN,
    Action.MANAGE_DIRECTORY: _ADMIN,
    Action.READ_DIRECTORY: _ADMIN | _DSL,
    Action.MANAGE_PLANS: _DSL | _ADMIN,
    Action.RECORD_NOTICE: _DSL,
    Action.MANAGE_SYSTEM: _ADMIN,
    # the DSL and deputies, whose messages they are, and the administrator (IT support), who
    # sets the addresses up; the test carries nothing about a case
    Action.TEST_NOTIFICATIONS: _DSL | _ADMIN,
}

#: The waits during which the management team sees a case's sign-off summary.
SIGNOFF_WAITS = frozenset({Step.MANAGEMENT_SIGNOFF.value, Step.RATIFICATION.value})


class Principal(Frozen):
    """Who is asking: a member of staff (by id and role) or an agency (by code)."""

    id: str
    role: str  # a Role's value, or AGENCY
    active: bool = True


class CaseView(Frozen):
    """What the rule needs to know of a case: never its content."""

    case_id: int
    allegation_against: str | None = None
    waiting_step: str | None = None
    agencies: tuple[str, ...] = ()  # the agencies its disclosures went to, if any


def decide(who: Principal | None, action: Action, case: CaseView | None = None) -> Problem | None:
    """None when `who` may do `action` (on `case`), else the first reason they may not."""
    if who is None:
        return Problem(
            code="no-identity",
            message="say who you are: give --user STAFF_ID (or set SAFESHARE_USER)",
        )
    if who.role == UNKNOWN:
        return Problem(code="unknown-staff", message=f"no member of staff has the id '{who.id}'")
    if not who.active:
        return Problem(code="inactive", message=f"{who.id} is no longer active")
    if who.role not in MATRIX[action]:
        return Problem(
            code="not-allowed",
            message=f"{who.id} ({who.role}) is not allowed to {action.value.replace('-', ' ')}",
        )
    if case is None:
        return None
    if case.allegation_against is not None and case.allegation_against == who.id:
        return Problem(
            code="subject-of-allegation",
            message=f"case {case.case_id} concerns an allegation about {who.id}: "
            "they cannot see it or act on it",
        )
    if action is Action.READ_SIGNOFF and case.waiting_step not in SIGNOFF_WAITS:
        return Problem(
            code="not-awaiting-signoff",
            message=f"case {case.case_id} is not waiting for a sign-off",
        )
    if action is Action.READ_DISCLOSURE and who.id not in case.agencies:
        return Problem(
            code="not-your-disclosure",
            message=f"case {case.case_id} shared nothing with {who.id}",
        )
    return None
