"""What a command prints, and a problem the person at the keyboard can fix said in one sentence
on stderr with a non-zero exit."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar

import typer

from safeshare.terminal import Console

# the errors `friendly` turns into a sentence are imported when a command runs, not at start-up:
# their modules load SQLAlchemy and Prefect

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


F = TypeVar("F", bound=Callable[..., Any])


class UserError(Exception):
    """A problem the person at the keyboard can fix; printed as one sentence."""


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(code)


def friendly(func: F) -> F:
    """Turn expected failures into one clear sentence instead of a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from sqlalchemy.exc import OperationalError, StatementError

        from foundations.backups import BackupError
        from foundations.sealing import SealError
        from models.kernel.problems import InvalidAnswer
        from tasks.access import AccessDenied
        from tasks.case_facts import CaseNotFound
        from tasks.directory import DirectoryError

        try:
            return func(*args, **kwargs)
        except (
            UserError,
            DirectoryError,
            CaseNotFound,
            SealError,
            BackupError,
            AccessDenied,
        ) as exc:
            fail(str(exc))
        except StatementError as exc:
            if isinstance(exc.orig, SealError):  # raised while sealing a value to write
                fail(str(exc.orig))
            raise
        except InvalidAnswer as exc:
            fail("the answer was not accepted: " + "; ".join(p.message for p in exc.problems))
        except OperationalError as exc:
            fail(
                f"the case database cannot be used ({exc.orig}); is it migrated? "
                "Run `safeshare db migrate` or `safeshare up`."
            )

    return wrapper  # type: ignore[return-value]


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")
