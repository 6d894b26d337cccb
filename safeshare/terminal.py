"""Text a terminal shows, never obeys: what the CLI prints of stored text (a concern typed in the
web form, a note, a name) cannot move the cursor, recolour the screen, set the window title,
make a link or reorder a line. Control characters are shown as escapes (`\\x1b`, `\\u202e`),
newlines and tabs kept; and rich's markup is never read from stored text."""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console as _Console
from rich.table import Table as _Table
from rich.text import Text

#: C0 controls but tab and newline, DEL and the C1 controls (0x9b is a one-byte CSI on some
#: terminals), the bidirectional embeddings, overrides and isolates (a line that reads one way
#: and says another), and the line and paragraph separators.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """`text` with every character a terminal would act on shown as its escape instead."""
    return _UNSAFE.sub(_escape, text)


def _safe(value: Any) -> Any:
    # a plain Text is never parsed for markup: "[link=...]" in a concern stays text
    if isinstance(value, str):
        return Text(visible(value))
    if isinstance(value, Text):  # made of stored text too (a name), its style kept
        return Text(visible(value.plain), style=value.style)
    return value


class Console(_Console):
    """rich's Console for the CLI: whatever it prints as a string is made visible first."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(_safe(value) for value in objects), **kwargs)


class Table(_Table):
    """rich's Table whose cells, made of stored text, are shown and never obeyed."""

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        super().add_row(*(_safe(value) for value in renderables), **kwargs)
