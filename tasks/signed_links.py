"""A new link's signed token, and the addresses a token is put in. The token lives only in the
message that carries it; the link's row keeps its hash, so a database copy opens nothing."""

from __future__ import annotations

from sqlalchemy.orm import Session

from foundations.settings import get_settings
from foundations.tokens import LINK_SALT, make_token, token_hash
from models.tables.credentials import AnswerLink, NoticeLink, ReceiptLink


def add_signed(
    session: Session,
    link: AnswerLink | ReceiptLink | NoticeLink,
    key: bytes,
    *,
    salt: str = LINK_SALT,
) -> str:
    """Add a new link and return its token. The token lives only in the message that carries
    it; the row keeps its hash, so a database copy opens nothing."""
    session.add(link)
    session.flush()
    token = make_token(key, link.id, salt=salt)
    link.token_hash = token_hash(token)
    return token


def link_url(token: str) -> str:
    return f"{get_settings().web_url}/answer/{token}"


def receipt_url(token: str) -> str:
    return f"{get_settings().web_url}/receipt/{token}"
