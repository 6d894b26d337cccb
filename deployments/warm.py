"""Loaded once by the forkserver (`deployments.forkserver`), so that each run forked from it
starts with what it would otherwise load at its first notification: Apprise's plugins, which
Apprise imports lazily on first use (about 0.3 s per run on two cores, paid on every resume).

Importing this module does the loading; it has no other effect.
"""

from __future__ import annotations

from apprise.manager_attachment import AttachmentManager
from apprise.manager_config import ConfigurationManager
from apprise.manager_plugins import NotificationManager


def load_apprise_plugins() -> None:
    """Import every Apprise plugin now (each manager is a process-wide singleton)."""
    managers = (NotificationManager, ConfigurationManager, AttachmentManager)
    for manager in managers:
        manager().load_modules()  # type: ignore[no-untyped-call]


load_apprise_plugins()
