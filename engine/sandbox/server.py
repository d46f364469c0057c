"""Host any :class:`SandboxSystem` over HTTP on 127.0.0.1, with fault injection.

One server hosts one system. Everything under ``/_sandbox/`` is a control endpoint that is not
part of the emulated API (and needs no credentials): ``GET health``, ``GET/POST/DELETE faults``,
``POST reset``, ``POST seed {"scale": N}`` (or ``{"tpch_sf": 0.01}`` for the ERP) and
``GET records/<resource>``. Every other path is
handed to the system's :meth:`~SandboxSystem.handle`, after the fault plan had its say.

Faults are what make the connectors' retry and timeout logic testable against a real socket:
``{"status": 500|503|429, "count": N}`` fails the next N API requests (429 carries
``Retry-After``; ``"after": true`` lets the system act first, so a write happens although the
client sees an error), ``{"timeout": N, "seconds": S}`` hangs the next N requests for S seconds
(bounded) and then answers 504, ``{"delay_ms": D}`` slows every request until cleared. The same
plan is reachable in-process as ``server.faults``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from engine.sandbox.base import Request, Response, SandboxSystem

__all__ = ["FaultPlan", "SandboxServer", "serve"]

CONTROL_PREFIX = "/_sandbox/"
MAX_HANG_SECONDS = 30.0
DEFAULT_HANG_SECONDS = 3.0
MAX_DELAY_MS = 10_000

Seeder = Callable[[SandboxSystem, int], None]


@dataclass
class _PendingFault:
    kind: str  # "status" or "timeout"
    remaining: int
    status: int = 500
    seconds: float = DEFAULT_HANG_SECONDS
    retry_after: int = 1
    after: bool = False  # let the system act, then answer the error anyway


@dataclass
class FaultPlan:
    """What goes wrong with the next API requests; thread-safe, consumed first-in first-out."""

    pending: list[_PendingFault] = field(default_factory=list)
    delay_ms: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(
        self, status: int = 500, count: int = 1, *, retry_after: int = 1, after: bool = False
    ) -> None:
        """Answer the next ``count`` API requests with ``status`` (e.g. 500, 503, 429).

        With ``after=True`` the system handles the request first (a create really happens) and
        the client still sees the error: the case where a blind retry makes a duplicate.
        """
        if not 400 <= status <= 599:
            raise ValueError(f"fault status must be 4xx or 5xx, got {status}")
        with self.lock:
            self.pending.append(
                _PendingFault(
                    "status",
                    max(count, 0),
                    status=status,
                    retry_after=max(retry_after, 0),
                    after=after,
                )
            )

    def hang(self, count: int = 1, seconds: float = DEFAULT_HANG_SECONDS) -> None:
        """Hold the next ``count`` requests for ``seconds`` (≤ 30), then answer 504."""
        seconds = min(max(seconds, 0.0), MAX_HANG_SECONDS)
        with self.lock:
            self.pending.append(_PendingFault("timeout", max(count, 0), seconds=seconds))

    def slow(self, delay_ms: int) -> None:
        """Delay every request by ``delay_ms`` (≤ 10 s) until :meth:`clear`."""
        with self.lock:
            self.delay_ms = min(max(delay_ms, 0), MAX_DELAY_MS)

    def clear(self) -> None:
        """Drop every pending fault and the delay."""
        with self.lock:
            self.pending.clear()
            self.delay_ms = 0

    def take(self) -> tuple[int, _PendingFault | None]:
        """The delay and the fault (if any) that applies to the request being served now."""
        with self.lock:
            while self.pending and self.pending[0].remaining <= 0:
                self.pending.pop(0)
            fault = None
            if self.pending:
                head = self.pending[0]
                head.remaining -= 1
                fault = head
            return self.delay_ms, fault

    def describe(self) -> dict[str, Any]:
        """The plan as JSON (for ``GET /_sandbox/faults``)."""
        with self.lock:
            return {
                "delay_ms": self.delay_ms,
                "pending": [
                    {
                        "kind": f.kind,
                        "remaining": f.remaining,
                        "status": f.status,
                        "seconds": f.seconds,
                    }
                    for f in self.pending
                    if f.remaining > 0
                ],
            }


def _default_seeder(system: SandboxSystem, scale: int) -> None:
    from engine.sandbox.seed import seed_system  # lazy: seed data is big and optional

    seed_system(system, scale)


class SandboxServer:
    """A threaded HTTP server for one system; use as a context manager or :meth:`serve_forever`."""

    def __init__(
        self,
        system: SandboxSystem,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seeder: Seeder | None = None,
    ) -> None:
        self.system = system
        self.faults = FaultPlan()
        self._seeder = seeder or _default_seeder
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._httpd = ThreadingHTTPServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SandboxServer:
        """Serve in a background daemon thread (tests)."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            name=f"sandbox-{self.system.system_id}",
            daemon=True,
            kwargs={"poll_interval": 0.05},
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the manager's child processes)."""
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._httpd.server_close()

    def stop(self) -> None:
        """Stop serving; wakes requests that are hanging on an injected timeout."""
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()  # blocks until serve_forever returns, so only if it runs
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- request dispatch ---------------------------------------------------------------

    def dispatch(self, req: Request) -> Response:
        """Route a request to the control endpoints or, through the fault plan, to the system."""
        if req.path.startswith(CONTROL_PREFIX):
            return self._control(req)
        delay_ms, fault = self.faults.take()
        if delay_ms:
            self._stopping.wait(delay_ms / 1000)
        if fault is not None:
            if fault.kind == "timeout":
                self._stopping.wait(fault.seconds)
                return Response(504, self.system.error_body(504, "injected timeout"))
            if fault.after:
                self._handle(req)
            headers = {"Retry-After": str(fault.retry_after)} if fault.status == 429 else {}
            return Response(
                fault.status,
                self.system.error_body(fault.status, f"injected fault: HTTP {fault.status}"),
                headers,
            )
        return self._handle(req)

    def _handle(self, req: Request) -> Response:
        try:
            return self.system.handle(req)
        except Exception as e:  # a sandbox bug must surface as a 500, not a dropped socket
            return Response(500, self.system.error_body(500, f"{type(e).__name__}: {e}"))

    def _control(self, req: Request) -> Response:
        name = req.path[len(CONTROL_PREFIX) :].strip("/")
        try:
            body = req.json() or {}
        except ValueError:
            return Response(400, {"error": "body is not valid JSON"})
        if not isinstance(body, dict):
            return Response(400, {"error": "body must be a JSON object"})
        if name == "health" and req.method == "GET":
            return Response(200, self._health())
        if name == "faults":
            return self._control_faults(req.method, body)
        if name == "reset" and req.method == "POST":
            self.system.reset()
            self.faults.clear()
            return Response(200, self._health())
        if name == "seed" and req.method == "POST" and "tpch_sf" in body:
            sf = body["tpch_sf"]
            if not isinstance(sf, int | float) or isinstance(sf, bool) or sf <= 0:
                return Response(400, {"error": "tpch_sf must be a positive number"})
            from engine.sandbox.tpch import seed_tpch  # optional: needs tpchgen-cli

            try:
                seed_tpch(self.system, float(sf))
            except (ValueError, RuntimeError) as e:
                return Response(400, {"error": str(e)})
            return Response(200, self._health())
        if name == "seed" and req.method == "POST":
            scale = body.get("scale", 1)
            if not isinstance(scale, int) or isinstance(scale, bool) or scale < 0:
                return Response(400, {"error": "scale must be a non-negative integer"})
            self._seeder(self.system, scale)
            return Response(200, self._health())
        if name.startswith("records/") and req.method == "GET":
            resource = name.split("/", 1)[1]
            if resource not in self.system.resources:
                return Response(404, {"error": f"no resource {resource!r}"})
            return Response(200, self.system.records(resource))
        return Response(404, {"error": f"no control endpoint {req.method} {req.path}"})

    def _control_faults(self, method: str, body: dict[str, Any]) -> Response:
        if method == "DELETE":
            self.faults.clear()
        elif method == "POST":
            try:
                if "status" in body:
                    self.faults.fail(
                        int(body["status"]),
                        int(body.get("count", 1)),
                        retry_after=int(body.get("retry_after", 1)),
                        after=bool(body.get("after", False)),
                    )
                if "timeout" in body:
                    self.faults.hang(
                        int(body["timeout"]), float(body.get("seconds", DEFAULT_HANG_SECONDS))
                    )
                if "delay_ms" in body:
                    self.faults.slow(int(body["delay_ms"]))
            except (TypeError, ValueError) as e:
                return Response(400, {"error": str(e)})
        elif method != "GET":
            return Response(405, {"error": "use GET, POST or DELETE"})
        return Response(200, self.faults.describe())

    def _health(self) -> dict[str, Any]:
        counts = {r: self.system.count(r) for r in self.system.resources}
        return {"status": "ok", "system": self.system.system_id, "url": self.url, "records": counts}


def _make_handler(server: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "engine-sandbox/1"
        # Headers and body leave in one segment (buffered, flushed after each request) with
        # Nagle off. Unbuffered, they went out as two small writes, and the second one waited
        # for the client's delayed ACK: ~40 ms on every response, most of the time of a share.
        wbufsize = 64 * 1024
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            req = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            self._send(server.dispatch(req))

        def _send(self, resp: Response) -> None:
            headers = dict(resp.headers)
            if resp.status == 204 or resp.body is None:
                payload = b""
            elif isinstance(resp.body, bytes):
                payload = resp.body
            elif isinstance(resp.body, str):
                payload = resp.body.encode("utf-8")
                headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            else:
                payload = json.dumps(resp.body, ensure_ascii=False).encode("utf-8")
                headers.setdefault("Content-Type", "application/json")
            try:
                self.send_response(resp.status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if resp.status != 204:
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if payload and self.command != "HEAD":
                    self.wfile.write(payload)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (e.g. its timeout fired)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the per-request stderr log; the engine never prints."""

    return Handler


@contextmanager
def serve(system: SandboxSystem, *, port: int = 0) -> Iterator[str]:
    """``with serve(system) as url:`` - host ``system`` on a free port for a block (tests)."""
    with SandboxServer(system, port=port) as srv:
        yield srv.url


def wait_until_up(url: str, timeout: float = 10.0) -> bool:
    """Poll ``GET /_sandbox/health`` until it answers 200 (used after spawning a process)."""
    from urllib.error import URLError
    from urllib.request import urlopen

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urlopen(url + CONTROL_PREFIX + "health", timeout=1) as resp:
                if resp.status == 200:
                    return True
        except (URLError, OSError):
            pass
        time.sleep(0.05)
    return False
