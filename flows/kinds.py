"""Which flow carries each kind of case (its deployment is `<flow>/<stack>`)."""

from __future__ import annotations

from models.domain import CaseKind

FLOW_OF_KIND: dict[CaseKind, str] = {
    CaseKind.SHARING: "sharing-case",
    CaseKind.PLAN_EVENT: "plan-event",
    CaseKind.ACCESS_REQUEST: "access-request",
    CaseKind.NOTICE: "notice",
    CaseKind.TRANSFER: "transfer",
}

#: Every flow whose runs carry one case (their only parameter is its id).
CASE_FLOWS: tuple[str, ...] = tuple(FLOW_OF_KIND.values())
