"""Which rule decides who is reminded of an overdue wait, when, and with what (pure: the clock
is passed in).

An overdue wait climbs a ladder, one rung per interval past its deadline: first the people who
must act are reminded, then the deputy DSLs, then the head and senior leaders, and, for a
receipt the agency has not confirmed, the agency's own duty line. Each rung is told once. Each
person a rung reaches is told on their own address, with what they can act on: their own fresh
link or code when they may answer, the case's page when they may read it, the web app's
sign-in page for a senior leader; never a command they may not use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from models.access import MATRIX, Action, CaseView, Principal, decide
from models.kernel.roles import DSL_ROLES, MANAGEMENT_ROLES, Role, StaffMember
from models.kernel.steps import Step
from models.kernel.values import Frozen


class Rung(Frozen):
    """One level of the ladder: its number (1 = first reminder), its name in configuration, the
    Apprise tags it stands for, and the members of staff it reaches, each on their own
    address."""

    level: int
    name: str  # who-must-act, deputy-dsl, dsl, slt or agency
    who: str  # what the rung is, for messages and listings
    tags: tuple[str, ...]
    people: tuple[str, ...] = ()


#: The rungs a ladder can be made of, by name, in configuration.
RUNGS = {
    "who-must-act": "who must act",
    "deputy-dsl": "deputy DSLs",
    "dsl": "the DSL and deputies",
    "slt": "head and senior leaders",
    "agency": "the agency's duty line",
}
DEFAULT_LADDER = ("who-must-act", "deputy-dsl", "slt", "agency")

#: The roles whose members a rung that names a role reaches, each on their own address.
RUNG_ROLES: Mapping[str, frozenset[Role]] = {
    "deputy-dsl": frozenset({Role.DEPUTY_DSL}),
    "dsl": DSL_ROLES,
    "slt": MANAGEMENT_ROLES,
}


def check_ladder(names: Sequence[str]) -> tuple[str, ...]:
    """A ladder from configuration: known rung names, each once, at least one."""
    unknown = [n for n in names if n not in RUNGS]
    if unknown or not names or len(set(names)) != len(names):
        raise ValueError(
            f"an escalation ladder is a list of distinct rungs from {', '.join(RUNGS)}; "
            f"got {list(names)}"
        )
    return tuple(names)


def ladder(
    step: Step,
    must_act: Sequence[str],
    agency: str | None = None,
    rungs: Sequence[str] = DEFAULT_LADDER,
    *,
    staff: Mapping[str, StaffMember] | None = None,
    subject: str | None = None,
) -> list[Rung]:
    """The rungs for an overdue wait of `step`, in order: whom to tell at each level. A rung
    with nobody to tell (no one eligible; the agency, except for a receipt) is skipped, keeping
    the levels of the others. A rung that names a role reaches each active member of it in
    `staff` (never `subject`, the member of staff the case's allegation is about)."""
    tags: dict[str, tuple[str, ...]] = {
        "who-must-act": tuple(f"staff:{s}" for s in must_act),
        "deputy-dsl": ("deputy-dsl",),
        "dsl": ("dsl",),
        "slt": ("slt",),
        "agency": (f"agency:{agency}",) if step is Step.CONFIRM_RECEIPT and agency else (),
    }
    built = [
        Rung(
            level=level,
            name=name,
            who=RUNGS[name],
            tags=tags[name],
            people=tuple(must_act)
            if name == "who-must-act"
            else members(staff or {}, RUNG_ROLES.get(name, frozenset()), subject=subject),
        )
        for level, name in enumerate(check_ladder(rungs), start=1)
    ]
    return [r for r in built if r.tags]


def members(
    staff: Mapping[str, StaffMember], roles: frozenset[Role], *, subject: str | None
) -> tuple[str, ...]:
    """The active members of staff with one of `roles`, the allegation's subject left out."""
    return tuple(
        sorted(
            sid
            for sid, member in staff.items()
            if member.active and member.role in roles and sid != subject
        )
    )


def ladder_span(rungs: Sequence[Rung], every: timedelta) -> timedelta:
    """How long after its deadline a wait's ladder goes on: until its top rung (reached
    `every` times its level less one after the deadline) has had one interval to act."""
    return every * rungs[-1].level if rungs else timedelta(0)


class ReminderKit(Frozen):
    """What one person's reminder carries: only what they can act on."""

    credentials: bool  # a fresh code of their own for the wait (and a link, for a sign-off)
    case_page: bool  # the case's page in the web app: they may read the case
    sign_in: bool  # the web app's sign-in page: a senior leader's way in


def reminder_kit(member: StaffMember, *, eligible: bool, case: CaseView) -> ReminderKit:
    """What a member of staff reminded of an overdue wait gets: fresh credentials when they may
    answer it (`eligible`), the case's page when need to know lets them read it, the sign-in
    page when they are a senior leader (who may not read cases)."""
    who = Principal(id=member.staff_id, role=member.role.value, active=member.active)
    return ReminderKit(
        credentials=eligible,
        case_page=decide(who, Action.READ_CASE, case) is None,
        sign_in=member.role in MANAGEMENT_ROLES,
    )


def level_reached(due: datetime, now: datetime, every: timedelta, top: int) -> int:
    """How many rungs an overdue wait has climbed at `now`: 0 before its deadline, 1 from the
    deadline, one more each `every` after it, never more than `top`."""
    if every <= timedelta(0):
        raise ValueError("the escalation interval must be positive")
    if now < due:
        return 0
    return min(top, 1 + int((now - due) / every))


def shared_inbox_kit(roles: frozenset[Role]) -> ReminderKit:
    """What a role's shared inbox (read by anyone with the role) gets: no credentials, the
    case's page when every such role may read cases, the sign-in page for the management
    team."""
    return ReminderKit(
        credentials=False,
        case_page=all(role.value in MATRIX[Action.READ_CASE] for role in roles),
        sign_in=bool(roles & MANAGEMENT_ROLES),
    )
