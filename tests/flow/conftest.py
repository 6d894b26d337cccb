"""Fixtures of the flow tests: the staff and children of a setting, on each stack."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from models.domain import Role


@pytest.fixture(scope="session")
def people(stack: Any, listener: Any) -> dict[str, str]:
    """Staff of the setting, each notified on their own loopback address."""
    from tasks.directory import add_child, add_staff

    for staff_id, role in (
        ("dsl1", Role.DSL),
        ("dep1", Role.DEPUTY_DSL),
        ("head1", Role.SLT),
        ("head2", Role.SLT),
        ("teacher1", Role.STAFF),
    ):
        add_staff(
            staff_id,
            name=f"Person {staff_id}",
            role=role,
            notify_url=listener.url(f"/{stack.backend}/staff/{staff_id}"),
        )
    add_child("C-0001", date_of_birth=date(2016, 5, 1), cp_plan=False)
    return {"dsl": "dsl1", "deputy": "dep1", "slt": "head1", "slt2": "head2", "teacher": "teacher1"}


@pytest.fixture(autouse=True)
def _mailbox(stack: Any, listener: Any) -> None:
    """Let the harness read the one-time codes people get on this stack."""
    from harness import cases

    cases.MAILBOX.update(listener=listener, backend=stack.backend)
