"""What opened a case, whatever its kind, as the views, the sign-off summary and the child
protection file show it: one value, so that none of them needs to know where each kind keeps
its record.
"""

from __future__ import annotations

from datetime import datetime

from models.kernel.steps import CaseKind
from models.kernel.values import Frozen


class Opening(Frozen):
    """The record a case was opened with: whom it is about, what kind of record it is (`label`:
    a concern's category, who asked to see records, where a notice came from, the kind of move
    or of plan event), when that happened, its text, and who recorded it when. `place`,
    `child_words`, `action_taken` and `who_told` are a concern's alone."""

    kind: CaseKind
    child_ref: str
    label: str
    occurred_at: datetime  # it happened, the request or notice came in, the pupil leaves
    text: str | None = None  # what happened, what is asked for, the notice or event's details
    recorded_by: str
    recorded_at: datetime
    place: str | None = None
    child_words: str | None = None
    action_taken: str | None = None
    who_told: str | None = None
