"""What every route of the web app stands on: the settings and the signing key the app was made
with, the caller's address, and how a page, a message or a redirect is answered."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from sqlalchemy.exc import StatementError

from foundations.sealing import SealError
from foundations.secret_key import secret_key
from foundations.settings import Settings
from models.sharing.concern import category_label

logger = logging.getLogger("safeshare.web")

HERE = Path(__file__).parent
#: The app's own files: its script, and what `make install` builds from frontend/ (GOV.UK
#: Frontend's styles, compiled with the system font stack, and its script) under built/.
STATIC = HERE / "static"
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
# the GOV.UK Design System's components, as macros (govuk-frontend-jinja)
TEMPLATES.env.loader = ChoiceLoader(
    [
        FileSystemLoader(HERE / "templates"),
        PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
    ]
)
TEMPLATES.env.filters["category"] = category_label
#: Headers on every page: nothing cached, nothing framed, no address leaked onwards.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; "
    "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
}


class Static(StaticFiles):
    """The app's own files (styles, scripts, images), with the headers that keep a browser
    from reading one as another kind of file."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def made_with(app: FastAPI, settings: Settings) -> None:
    """Keep the settings, and the key they name, for the app's lifetime (read once, at start)."""
    app.state.settings = settings
    app.state.signing_key = secret_key(settings)


def settings(request: Request) -> Settings:
    """The settings the app was made with."""
    made: Settings = request.app.state.settings
    return made


def signing_key(request: Request) -> bytes:
    """The key that signs links, the forms' anti-forgery values and second-factor enrolments."""
    key: bytes = request.app.state.signing_key
    return key


SiteSettings = Annotated[Settings, Depends(settings)]
SigningKey = Annotated[bytes, Depends(signing_key)]


def address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def page(request: Request, template: str, status: int, **context: Any) -> HTMLResponse:
    response = TEMPLATES.TemplateResponse(request, template, context, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def message(
    request: Request,
    status: int,
    heading: str,
    text: str,
    *,
    instead: str = "",
    home: bool = False,
) -> HTMLResponse:
    """A page that says one thing: a refusal, or what was done; with what to do instead, and a
    link to the home page, for a signed-in person refused."""
    return page(
        request, "message.html", status, heading=heading, message=text, instead=instead, home=home
    )


def go(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


class Refused(Exception):
    """A request answered otherwise than its route would: a dependency found the link not
    valid, nobody signed in, or the person not allowed. `response` is what is shown instead."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def sealed_shut(request: Request, exc: Exception) -> Response:
    """The data keys are missing or wrong: say so, show nothing, change nothing."""
    cause = exc.orig if isinstance(exc, StatementError) else exc
    if not isinstance(cause, SealError):
        raise exc
    logger.error("case records cannot be opened: %s", cause)
    return message(
        request,
        503,
        "Records unavailable",
        "The case records cannot be opened on this server just now. Please tell "
        "the school's IT support; nothing has been recorded.",
    )
