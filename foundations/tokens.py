"""Link tokens: signed (itsdangerous, HMAC-SHA1 over a key from settings), carrying only the
link's id and a random nonce. The database keeps a SHA-256 of each token, never the token."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

LINK_SALT = "safeshare.answer-link"
RECEIPT_SALT = "safeshare.receipt-link"  # an agency's link: never accepted as an answer link
NOTICE_SALT = "safeshare.notice-link"  # a member of staff's link to a need-to-know notice
CSRF_SALT = "safeshare.csrf"


class ForgedToken(ValueError):
    """The token was not signed with our key, or was altered."""


class ExpiredToken(ValueError):
    """The token is ours but older than it may be."""


def make_token(key: bytes, link_id: int, *, salt: str = LINK_SALT) -> str:
    """A new token for a link: its id and 128 random bits, signed and time-stamped."""
    return URLSafeTimedSerializer(key, salt=salt).dumps(
        {"l": link_id, "n": secrets.token_urlsafe(16)}
    )


def read_token(key: bytes, token: str, *, max_age_seconds: float, salt: str = LINK_SALT) -> int:
    """The link id in a token; ForgedToken or ExpiredToken when it cannot be used."""
    serializer = URLSafeTimedSerializer(key, salt=salt)
    try:
        payload = serializer.loads(token, max_age=int(max_age_seconds))
    except SignatureExpired as exc:
        raise ExpiredToken("the link has expired") from exc
    except BadSignature as exc:
        raise ForgedToken("the link is not one of ours") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("l"), int):
        raise ForgedToken("the link is not one of ours")
    return int(payload["l"])


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def fingerprint(token: str) -> str:
    """A short, one-way name for a token, to count attempts with it (even forged ones)."""
    return token_hash(token)[:16]


def csrf_token(key: bytes, token: str) -> str:
    """The form's anti-forgery value for this link's page: only our page can show it."""
    return URLSafeTimedSerializer(key, salt=CSRF_SALT).dumps(fingerprint(token))


def csrf_valid(key: bytes, token: str, value: str, *, max_age_seconds: float) -> bool:
    try:
        found = URLSafeTimedSerializer(key, salt=CSRF_SALT).loads(
            value, max_age=int(max_age_seconds)
        )
    except BadSignature:
        return False
    return secrets.compare_digest(str(found), fingerprint(token))


def code_hash(key: bytes, case_id: int, wait_key: str, staff_id: str, code: str) -> str:
    """A keyed hash of a one-time code, bound to its case, wait and person: a copy of the
    database cannot test guesses without the key."""
    message = f"{case_id}|{wait_key}|{staff_id}|{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
