"""What the directory's commands share: an address checked before it is kept, and a list of the
directory shown entered in the audit trail."""

from __future__ import annotations

from safeshare.cli.output import UserError

# Apprise and the audit trail are imported by the functions that use them: they are slow to load


def check_apprise_url(url: str, option: str = "--notify") -> None:
    """An address to notify someone at, refused in one sentence when Apprise cannot read it."""
    import logging

    import apprise

    # Apprise logs why it cannot read an address: the sentence below says it, once
    quiet = logging.getLogger("apprise")
    was = quiet.disabled
    quiet.disabled = True
    try:
        understood = apprise.Apprise().add(url)
    finally:
        quiet.disabled = was
    if understood is False:
        raise UserError(f"the {option} address is not an Apprise URL Apprise understands.")


def record_directory_read(what: str, count: int) -> None:
    """A list of the directory was shown: entered in the audit trail (how many, not who)."""
    from foundations.audit import record_read
    from foundations.db import session_scope

    with session_scope() as session:
        record_read(session, what, count=count)
