"""The web app: the personal links (sign-off, ratification and other decisions, receipts,
need-to-know notices) and the front door for people (sign-in, the concern form, the DSL's
cases), each a router of its own.

Every attempt through a link, failed ones too, is recorded; repeated failures are refused for
a while. A dependency that refuses a request (a link not valid, nobody signed in, a person not
allowed) raises Refused with the page to show, and the app answers with that page.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy.exc import StatementError

from foundations.sealing import SealError
from foundations.settings import get_settings
from models.health import verdict
from safeshare.web import answers, cases, concerns, notices, receipts, sign_in
from safeshare.web.school_sign_in import add_school_sign_in
from safeshare.web.site import STATIC, Refused, Static, logger, made_with, sealed_shut
from tasks.health import check_all
from tasks.metrics import CaseMetrics


def create_app() -> FastAPI:
    app = FastAPI(title="safeshare", docs_url=None, redoc_url=None, openapi_url=None)
    made_with(app, get_settings())
    app.add_exception_handler(SealError, sealed_shut)
    app.add_exception_handler(StatementError, sealed_shut)

    @app.exception_handler(Refused)
    def answer_instead(request: Request, exc: Refused) -> Response:
        return exc.response

    @app.get("/health/live")
    def alive() -> JSONResponse:
        """The app answers: what starting it waits for (a dependency down is not its fault)."""
        return JSONResponse({"status": "ok"})

    @app.get("/health")
    def health() -> JSONResponse:
        """Every dependency, by name (models/health.py); 503 when one is down."""
        found = verdict(check_all(get_settings()))
        return JSONResponse(found, status_code=503 if found["down"] else 200)

    scraped = CollectorRegistry()
    scraped.register(CaseMetrics())

    @app.get("/metrics")
    def metrics() -> Response:
        """Prometheus's figures (tasks/metrics.py): counts and ages, never a name."""
        return Response(generate_latest(scraped), media_type=CONTENT_TYPE_LATEST)

    if not (STATIC / "built" / "safeshare.css").is_file():
        logger.warning("the front door's styles are not built: run `make install`")
    app.mount("/static", Static(directory=STATIC), name="static")
    for part in (answers, receipts, notices, sign_in, cases, concerns):
        app.include_router(part.router)
    add_school_sign_in(app, app.state.settings, app.state.signing_key)
    return app
