"""Real loopback peers that capture notifications: an HTTP server for Apprise `json://` and an
SMTP server for Apprise `mailto://`. Tests assert on what arrived, not on mocks.
"""

from __future__ import annotations

import email
import email.policy
import json
import pprint
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Generic, Self, TypeVar
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

HOST = "127.0.0.1"
#: How long a test waits for a message that must come. Generous: a message often follows a
#: resumed run (poll, fork, start), slow on a loaded two-core machine; waiting costs nothing when
#: the message comes. A test that a message does NOT come never waits for it: it asserts on the
#: outbox once the work is done (harness.cases.sent_once).
DEFAULT_WAIT_S = 60.0

R = TypeVar("R")


class _Recorder(Generic[R]):
    """A thread-safe list of records that tests can wait on."""

    def __init__(self) -> None:
        self._records: list[R] = []
        self._changed = threading.Condition()

    def _append(self, record: R) -> None:
        with self._changed:
            self._records.append(record)
            self._changed.notify_all()

    @property
    def records(self) -> list[R]:
        """A snapshot of everything received so far, oldest first."""
        with self._changed:
            return list(self._records)

    def clear(self) -> None:
        with self._changed:
            self._records.clear()

    def forget(self, gone: Callable[[R], bool]) -> None:
        """Drop the records `gone` picks (those of a stack that was stopped)."""
        with self._changed:
            self._records[:] = [r for r in self._records if not gone(r)]

    def wait_for(
        self, predicate: Callable[[list[R]], object], timeout: float = DEFAULT_WAIT_S
    ) -> list[R]:
        """Wait until `predicate(records)` is truthy and return them; AssertionError if not."""
        with self._changed:
            met = self._changed.wait_for(lambda: predicate(list(self._records)), timeout)
            records = list(self._records)
        if not met:
            raise AssertionError(
                f"{type(self).__name__}: condition not met within {timeout} s; "
                f"{len(records)} record(s) received:\n{_dump(records)}"
            )
        return records


def _dump(records: Sequence[object]) -> str:
    if not records:
        return "  (none)"
    return "\n".join(
        f"  [{i}] {pprint.pformat(record, width=100)}" for i, record in enumerate(records)
    )


# ---------------------------------------------------------------------------------------------
# HTTP


@dataclass(frozen=True)
class HttpRecord:
    """One request as received. `body` is the parsed JSON if it parsed, else the raw text."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int  # what the listener answered: 200, or 500 while fail_next() is in effect
    client_port: int = 0  # the sender's own port: which process sent it (harness.processes)


class HttpListener(_Recorder[HttpRecord]):
    """A threaded HTTP server on 127.0.0.1 that records every POST/PUT and answers 200.

    Apprise's `json://` plugin posts `{"version": "1.0", "title", "message", "attachments",
    "type"}` with `Content-Type: application/json`; `type` is the notify type ("info", ...).
    """

    def __init__(self) -> None:
        super().__init__()
        self._failures_left = 0
        self._failures_lock = threading.Lock()
        self._held: dict[str, threading.Event] = {}
        self._server = ThreadingHTTPServer((HOST, 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/x") -> str:
        """Apprise URL that POSTs JSON to this listener at `path`."""
        return f"json://{HOST}:{self.port}/{path.lstrip('/')}"

    def http_url(self, path: str = "/x") -> str:
        """Plain http:// URL of `path` on this listener, for non-Apprise callers."""
        return f"http://{HOST}:{self.port}/{path.lstrip('/')}"

    def fail_next(self, n: int = 1) -> None:
        """Answer HTTP 500 to the next `n` requests (they are still recorded)."""
        with self._failures_lock:
            self._failures_left += n

    @contextmanager
    def hold(self, path_prefix: str) -> Iterator[None]:
        """Record requests under `path_prefix` at once but answer them only when the block ends.

        Lets a test catch a sender in the middle of a delivery (to kill it there, say).
        """
        released = threading.Event()
        self._held[path_prefix] = released
        try:
            yield
        finally:
            del self._held[path_prefix]
            released.set()

    def _hold_for(self, path: str) -> threading.Event | None:
        for prefix, released in list(self._held.items()):
            if path.startswith(prefix):
                return released
        return None

    def _next_status(self) -> int:
        with self._failures_lock:
            if self._failures_left > 0:
                self._failures_left -= 1
                return 500
        return 200

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8", errors="replace")
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw
                status = listener._next_status()
                listener._append(
                    HttpRecord(
                        method=self.command,
                        path=self.path,
                        headers=dict(self.headers.items()),
                        body=body,
                        status=status,
                        client_port=int(self.client_address[1]),
                    )
                )
                held = listener._hold_for(self.path)
                if held is not None:
                    held.wait(timeout=120)
                payload = b'{"ok": true}' if status == 200 else b'{"ok": false}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = _record
            do_PUT = _record

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # keep pytest output clean; the records are the log

        return Handler

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"http-listener-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# ---------------------------------------------------------------------------------------------
# SMTP


@dataclass(frozen=True)
class SmtpRecord:
    """One message as received: the envelope, the decoded subject and the body parts.

    Apprise's email plugin treats the body as HTML unless told otherwise: `notify(body=...)`
    arrives as multipart/alternative whose text/plain part has the newlines collapsed to spaces.
    With `body_format=NotifyFormat.TEXT` (or `&format=text` in the URL) it is one text/plain part
    with newlines kept.
    """

    mail_from: str
    rcpt_tos: tuple[str, ...]
    subject: str
    text: str  # the text/plain part, "\n" line endings, "" if there is none
    html: str | None  # the text/html part, if any
    headers: dict[str, str]
    raw: bytes = field(repr=False)


def _part(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return None
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


class _LoopbackController(Controller):
    """aiosmtpd's Controller, bound to an OS-chosen free port on 127.0.0.1 (no port race)."""

    def _create_server(self):  # type: ignore[no-untyped-def]
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((HOST, 0))
        self.port = sock.getsockname()[1]
        return self.loop.create_server(self._factory_invoker, sock=sock, ssl=self.ssl_context)


class SmtpListener(_Recorder[SmtpRecord]):
    """An SMTP server on 127.0.0.1 (no TLS, no auth) that records every message it accepts."""

    def __init__(self) -> None:
        super().__init__()
        self._controller = _LoopbackController(self, hostname=HOST, port=0)

    @property
    def port(self) -> int:
        return int(self._controller.port)

    def url(self, to: str = "dsl@example.test", *, sender: str = "safeshare@example.test") -> str:
        """Apprise URL that delivers to `to` through this listener, in plain SMTP."""
        return (
            f"mailto://{HOST}:{self.port}"
            f"?from={quote(sender, safe='@')}&to={quote(to, safe='@')}&mode=insecure"
        )

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = bytes(envelope.original_content or envelope.content or b"")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self._append(
            SmtpRecord(
                mail_from=str(envelope.mail_from),
                rcpt_tos=tuple(envelope.rcpt_tos),
                subject=str(message.get("Subject", "")),
                text=_part(message, "plain") or "",
                html=_part(message, "html"),
                headers={k: str(v) for k, v in message.items()},
                raw=raw,
            )
        )
        return "250 Message accepted for delivery"

    def start(self) -> Self:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
