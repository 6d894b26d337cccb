"""Where a pupil's or parent's request to see child protection records is recorded: it opens its
own case, routed to the DSL or the SLT, never decided by whoever received it."""

from __future__ import annotations

from datetime import datetime

from foundations.db import session_scope
from models.access_request import AccessRequestFacts
from models.kernel.steps import CaseKind
from models.tables.openings import AccessRequest
from tasks.concerns import open_case


def record_access_request(facts: AccessRequestFacts, *, now: datetime) -> int:
    """Record a pupil's or parent's request to see child protection records and open its case
    (routed to the DSL or the SLT, never decided by whoever received it); returns the case id."""
    with session_scope() as session:
        case = open_case(
            session,
            kind=CaseKind.ACCESS_REQUEST,
            child_ref=facts.child_ref,
            recorded_by=facts.received_by,
            occurred_at=facts.received_at,
            now=now,
        )
        session.add(
            AccessRequest(
                case_id=case.id,
                recorded_by=facts.received_by,
                requester=facts.requester.value,
                received_at=facts.received_at,
                request=facts.request,
            )
        )
        return case.id
