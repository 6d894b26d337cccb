"""The audit trail's anchor: a scheduled flow that writes the trail's head down outside the case
database (the anchor file, and a message to the DSL), after checking the trail still holds."""

from __future__ import annotations

from prefect import flow

from foundations.audit import act_as
from tasks.audit_anchor import anchor_audit_trail


@flow(name="audit-anchor", log_prints=False)
def audit_anchor() -> str:
    """Anchor the audit trail's head: `anchored:<entry>`, `unchanged:<entry>`, `empty:0` or
    `broken:<entry>`."""
    act_as("system", "audit anchor")
    return anchor_audit_trail()
