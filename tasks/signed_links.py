"""The addresses a link's token is put in. The token lives only in the message that carries it
(tasks/personal_links.py issues it); the link's row keeps its hash, so a database copy opens
nothing."""

from __future__ import annotations

from foundations.settings import get_settings


def link_url(token: str) -> str:
    return f"{get_settings().web_url}/answer/{token}"


def receipt_url(token: str) -> str:
    return f"{get_settings().web_url}/receipt/{token}"
