"""What every write to the directory (staff, children, agencies, concerns, plan events, requests
to see records) shares: the error it refuses with, its sentence, and the mark of a field an
update leaves as it is."""

from __future__ import annotations

from collections.abc import Iterable


class DirectoryError(ValueError):
    """A request the directory refuses, with a sentence saying why."""


def sentence(parts: Iterable[str]) -> str:
    """Problems as one sentence: joined, capitalised, one full stop."""
    text = "; ".join(parts)
    return text[:1].upper() + text[1:].rstrip(".") + "."


#: An update's default for a field it leaves as it is (None would forget the field's value).
UNCHANGED: object = object()
