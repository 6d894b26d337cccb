"""Who a member of staff is to the policy: their role, and which roles decide (the DSL and
deputies) and which co-sign (the management team).
"""

from __future__ import annotations

from enum import StrEnum

from models.kernel.values import Frozen, StaffId


class Role(StrEnum):
    STAFF = "staff"
    DSL = "dsl"
    DEPUTY_DSL = "deputy-dsl"
    SLT = "slt"
    ADMIN = "admin"  # manages accounts and the system; reads no case content, answers nothing


#: Who may answer each kind of step: the DSL and deputies decide, the management team co-signs.
DSL_ROLES = frozenset({Role.DSL, Role.DEPUTY_DSL})
MANAGEMENT_ROLES = frozenset({Role.SLT})


class StaffMember(Frozen):
    staff_id: StaffId
    role: Role
    active: bool = True
