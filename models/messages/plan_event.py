"""The DSL's note when a Child Protection Plan event has gone out."""

from __future__ import annotations

from models.messages.cases import case_reference


def plan_event_note(case_id: int, event: str) -> str:
    """What the DSL is told first when a Child Protection Plan event has gone out."""
    ref = case_reference(case_id)
    return (
        f"A Child Protection Plan event ({event}) was recorded as case {ref}; children's social "
        "care and the pupil's social worker have been told, each with a link to confirm "
        "receipt, as the policy requires at once."
    )
