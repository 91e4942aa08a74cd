"""``backprop playground``: the Playground page served from this machine, standard library only.

The server listens on 127.0.0.1 only (a random free port unless one is given) and, as
Jupyter does, answers only requests that carry its random token: in the URL (``?token=…``),
in an ``Authorization: token …`` header, or in the cookie the page receives with the token
URL. Everything else gets 403. The page posts JSON messages to ``/api``; each is handled by
the :class:`~nn.playground.session.Session` (which validates it) and the replies go back as a
JSON list. One lock serialises the session, so requests from several tabs never interleave a
training step.
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
import webbrowser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .session import Session

__all__ = ["PlaygroundServer", "serve"]

STATIC = Path(__file__).resolve().parent / "static"
FILES = {"playground.js": "text/javascript", "playground.css": "text/css"}
MAX_BODY = 64 * 1024


class PlaygroundServer:
    """A running Playground: ``url`` (with the token), ``token``, ``port``, ``session``.

    ``start()`` serves from a background thread (for tests and notebooks); ``serve_forever()``
    serves from the calling thread until :meth:`stop` or Ctrl-C.
    """

    def __init__(self, session: Session | None = None, *, port: int = 0, token: str | None = None) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an int from 0 (any free port) to 65535, got {port!r}")
        self.session = session or Session()
        self.token = token or secrets.token_hex(24)
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    @property
    def cookie_name(self) -> str:
        return f"backprop-playground-{self.port}"

    def authorised(self, handler: BaseHTTPRequestHandler) -> bool:
        query = parse_qs(urlsplit(handler.path).query)
        offered = query.get("token", [])
        header = handler.headers.get("Authorization", "")
        if header.lower().startswith("token "):
            offered.append(header[6:].strip())
        for part in handler.headers.get("Cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == self.cookie_name:
                offered.append(value)
        return any(secrets.compare_digest(t.encode(), self.token.encode()) for t in offered)

    def handle_message(self, message: Any) -> list[dict[str, Any]]:
        with self.lock:
            return self.session.handle(message)

    def start(self) -> PlaygroundServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="playground", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
            self._thread = None
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    """One request to the Playground named by ``playground`` (set per server by :func:`_handler`)."""

    server_version = "backprop-playground"
    playground: PlaygroundServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str, cookie: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if cookie:
            self.send_header("Set-Cookie", f"{self.playground.cookie_name}={self.playground.token}; Path=/; "
                                           "HttpOnly; SameSite=Strict")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, replies: Any) -> None:
        self._send(status, json.dumps(replies, allow_nan=False).encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json(status, [{"type": "error", "message": message}])

    def _allowed(self) -> bool:
        # A page on another site may point a name it controls at 127.0.0.1 (DNS rebinding):
        # only our own host names are served, and only with the token.
        port = self.playground.port
        if self.headers.get("Host", "") not in (f"127.0.0.1:{port}", f"localhost:{port}"):
            self._send(HTTPStatus.FORBIDDEN, b"403: unknown host\n", "text/plain; charset=utf-8")
            return False
        if not self.playground.authorised(self):
            self._send(HTTPStatus.FORBIDDEN, b"403: this page needs the token printed by 'backprop playground' "
                                             b"(open the URL with ?token=...)\n", "text/plain; charset=utf-8")
            return False
        return True

    def _not_found(self) -> None:
        self._send(HTTPStatus.NOT_FOUND, b"404: not found\n", "text/plain; charset=utf-8")

    def do_GET(self) -> None:
        if not self._allowed():
            return
        path = urlsplit(self.path).path
        if path in ("/", "/index.html"):
            self._send(HTTPStatus.OK, (STATIC / "index.html").read_bytes(), "text/html; charset=utf-8", cookie=True)
        elif path.startswith("/static/") and path[8:] in FILES:
            name = path[8:]
            self._send(HTTPStatus.OK, (STATIC / name).read_bytes(), f"{FILES[name]}; charset=utf-8")
        else:
            self._not_found()

    def do_POST(self) -> None:
        if not self._allowed():
            return
        if urlsplit(self.path).path != "/api":
            self._not_found()
            return
        found, message = self._read_message()
        if found:
            self._json(HTTPStatus.OK, self.playground.handle_message(message))

    def _read_message(self) -> tuple[bool, Any]:
        """``(True, the posted JSON)``, or ``(False, None)`` after answering with the error."""
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._error(HTTPStatus.LENGTH_REQUIRED, "Content-Length is required")
            return False, None
        if not 0 <= length <= MAX_BODY:
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"a message may be at most {MAX_BODY} bytes, got {length}")
            return False, None
        try:
            return True, json.loads(self.rfile.read(length).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            self._error(HTTPStatus.BAD_REQUEST, f"the message is not JSON: {e}")
            return False, None


def _handler(server: PlaygroundServer) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (_Handler,), {"playground": server})


def serve(*, port: int = 0, open_browser: bool = True, session: Session | None = None) -> int:
    """Serve the Playground until Ctrl-C; print its URL (with the token) first. Returns 0."""
    server = PlaygroundServer(session, port=port)
    print(f"Playground running at {server.url}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    if open_browser:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
    print("Playground stopped.", file=sys.stderr, flush=True)
    return 0
