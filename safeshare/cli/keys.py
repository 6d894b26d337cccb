"""`safeshare keys`: the data keys that seal personal data, listed, rotated and retired."""

from __future__ import annotations

from typing import Annotated

import typer

from models.access import Action
from safeshare.cli.groups import group
from safeshare.cli.output import fail, friendly, out
from safeshare.cli.user import allowed
from safeshare.terminal import Table

# each command imports inside itself what it alone needs, so that every command starts fast

keys_app = group("The data keys that seal personal data in the case database.")


@keys_app.command("list")
@friendly
def keys_list() -> None:
    """The data keys (ids only), which is primary, and how many values each one seals."""
    allowed(Action.MANAGE_SYSTEM)
    from foundations.sealing import CURRENT
    from tasks.keys import usage

    ring = CURRENT.get(fresh=True)
    counts = usage()
    table = Table("key", "primary", "sealed values")
    for kid in sorted(ring.keys):
        table.add_row(kid, "yes" if kid == ring.primary else "", str(counts.get(kid, 0)))
    out.print(table)
    strays = {k: n for k, n in counts.items() if k not in ring.keys}
    if strays:
        fail(f"values are sealed under keys this ring does not hold: {strays}")


@keys_app.command("rotate")
@friendly
def keys_rotate() -> None:
    """Add a new primary data key and re-seal every value under it, while the system runs."""
    allowed(Action.MANAGE_SYSTEM)
    from tasks.keys import rotate

    done = rotate()
    out.print(
        f"New primary data key {done.new_primary}; {done.resealed} value(s) re-sealed. "
        f"The old key {done.old_primary} stays in the ring: keep backups that need it, then "
        f"`safeshare keys retire {done.old_primary}`."
    )


@keys_app.command("reseal")
@friendly
def keys_reseal() -> None:
    """Re-seal under the primary key every value still sealed under another."""
    allowed(Action.MANAGE_SYSTEM)
    from tasks.keys import reseal

    out.print(f"{reseal()} value(s) re-sealed.")


@keys_app.command("retire")
@friendly
def keys_retire(
    key: Annotated[str, typer.Argument(help="The id of the data key to remove.")],
) -> None:
    """Remove a data key that no value is sealed under any more."""
    allowed(Action.MANAGE_SYSTEM)
    from tasks.keys import retire

    ring = retire(key)
    out.print(f"Data key {key} removed; the ring holds {', '.join(sorted(ring.keys))}.")
