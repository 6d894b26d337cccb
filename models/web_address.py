"""Which rule decides where the web app may listen and what address its links carry.

The links people open (sign-off, receipts, notices) hold a token that acts for a person: beyond
this machine they must travel over TLS. So the web app listens on 127.0.0.1 unless told
otherwise (`--host`, SAFESHARE_WEB_HOST), and when it listens beyond it, or when its address
(SAFESHARE_WEB_BASE_URL) names another machine, that address must be https: the app itself
speaks plain HTTP behind a TLS reverse proxy (README, "Beyond this machine").
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def web_address_problem(base_url: str | None, host: str) -> str | None:
    """What is wrong with the web app's address given where it listens, or None."""
    if base_url is None:
        if is_loopback(host):
            return None
        return (
            f"the web app listens on {host}: set SAFESHARE_WEB_BASE_URL to the https address "
            "people reach it at (its links are built on it)"
        )
    return https_problem(
        "SAFESHARE_WEB_BASE_URL",
        base_url,
        "links carry tokens that act for a person (put the web app behind a TLS reverse proxy)",
    )


def https_problem(setting: str, url: str, why: str) -> str | None:
    """What is wrong with an address a setting gives, or None: an http(s) address with a host,
    and https unless it is on this machine (`why` says what https protects)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{setting} {url!r} is not an http(s) address"
    if parts.scheme != "https" and not is_loopback(parts.hostname):
        return f"{setting} {url!r} must be https: {why}"
    return None


def onward_path(url: object) -> str:
    """Where to go on to after signing in: a path on this site as given, or the home page for
    anything else (another site written `//host` or `/\\host`, which browsers read as another
    host; a full address; text a header could not carry)."""
    if not isinstance(url, str) or not url.startswith("/") or url[1:2] in ("/", "\\"):
        return "/"
    return url if url.isprintable() and " " not in url and len(url) <= 1000 else "/"
