"""A real HTTP server on 127.0.0.1 with scripted replies, for connector tests.

Tests either queue replies (served in order, then the handler takes over) or set a handler that
computes a reply from the request. Every request is recorded so tests can assert what was sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Reply:
    """What to answer: JSON ``body`` (or ``raw`` bytes), after ``delay`` seconds; ``drop`` closes
    the connection without answering."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    delay: float = 0.0
    drop: bool = False


class ScriptedServer:
    """Serve scripted replies on a free port of 127.0.0.1 until :meth:`stop`."""

    def __init__(self) -> None:
        self.queue: list[Reply] = []
        self.handler: Callable[[Seen], Reply] = lambda seen: Reply(404, {"error": "no script"})
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                seen = Seen(
                    self.command,
                    split.path,
                    parse_qs(split.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    json.loads(data) if data else None,
                )
                with server._lock:
                    server.seen.append(seen)
                    reply = server.queue.pop(0) if server.queue else None
                if reply is None:
                    reply = server.handler(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    return
                payload = (
                    reply.raw
                    if reply.raw is not None
                    else (b"" if reply.body is None else json.dumps(reply.body).encode())
                )
                self.send_response(reply.status)
                if reply.raw is None and reply.body is not None:
                    self.send_header("Content-Type", "application/json")
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                try:
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (a timeout test)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def reset(self, handler: Callable[[Seen], Reply] | None = None) -> None:
        """Forget what was seen and queued; install ``handler`` if given."""
        with self._lock:
            self.queue.clear()
            self.seen.clear()
            self.handler = handler or (lambda seen: Reply(404, {"error": "no script"}))
