"""`python -m safeshare.web`: serve the web app on 127.0.0.1, or where SAFESHARE_WEB_HOST says
(what `safeshare up` starts)."""

from __future__ import annotations

import logging

import uvicorn

from foundations.logs import configure_logging
from foundations.private import owner_only
from foundations.settings import get_settings
from safeshare.web.app import create_app


def main() -> None:
    owner_only()
    settings = get_settings()
    configure_logging(settings, logging.WARNING)
    uvicorn.run(
        create_app(),
        host=settings.web_host,
        port=settings.web_port,
        log_level="warning",
        log_config=None,  # uvicorn's loggers go to the root's handler, in the settings' format
        # X-Forwarded-For is believed only from the proxies named: from anyone else (uvicorn
        # believes 127.0.0.1 by default) it would choose the address throttled and recorded
        proxy_headers=bool(settings.trusted_proxy_list),
        forwarded_allow_ips=settings.trusted_proxy_list or None,
        access_log=False,  # the path holds a token: attempts are kept, by fingerprint, in the DB
    )


if __name__ == "__main__":
    main()
