"""The value types every answer is made of: frozen values that refuse unknown fields, times
with their UTC offset, bounded texts, staff ids, pseudonymous child references, agency codes,
and which numbers can be the id of a record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints


class Frozen(BaseModel):
    """A value object: immutable, and refusing fields it does not know."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("give a time with its UTC offset, for example 2026-11-25T09:30:00+00:00")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
StaffId = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
]
ChildRef = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
]
#: What a child's reference may be, said to whoever typed one that is not.
CHILD_REF_RULE = (
    "a child's reference is a pseudonym of 1 to 64 letters, digits, '.', '_' or '-', starting "
    "with a letter or a digit"
)
#: An agency's code: also its Apprise tag (agency:<code>) and what an assessment names.
AgencyCode = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
]
AGENCY_CODE_RULE = (
    "an agency's code is 1 to 32 lower-case letters, digits or '-', starting with a letter or "
    "a digit"
)


#: The largest id a case (or any record whose id leaves the database) can have: the narrower of
#: the two databases' id columns (PostgreSQL's `integer`; SQLite's integers are 64-bit). A larger
#: number names no record: it is "no such case", never a database error.
MAX_RECORD_ID = 2**31 - 1


def is_record_id(value: int) -> bool:
    """Whether `value` can be the id of a record in the case database."""
    return 1 <= value <= MAX_RECORD_ID
