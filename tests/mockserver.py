"""Local HTTP/1.1 test server with named misbehaviours (in the spirit of Scrapy's mockserver).

Standard library only: ``http.server.ThreadingHTTPServer`` + ``BaseHTTPRequestHandler`` speaking
HTTP/1.1 (keep-alive), one daemon thread per connection. Servers bind to loopback addresses only
(``127.0.0.1``, ``127.0.0.2``, ... -- all of 127/8 is loopback on Linux), so tests never reach the
internet::

    with MockServer(free_loopback_host(2)) as srv:
        srv.route("/a", "<html>hi</html>")
        srv.route("/slow", "abc", behaviour=DRIP, drip_interval=0.5)
        srv.robots("User-agent: *\\nDisallow: /private\\n")
        httpx.get(srv.url("/a"))
        assert srv.requests_for("/a")[0].headers["user-agent"].startswith("python-httpx")

Routes are matched on path+query exactly first, then on the path alone; unknown paths get a 404
with a small HTML body. Every request (``/robots.txt`` included) is appended to
``MockServer.requests`` *before* it is answered, so a request to a ``hang`` route is logged too.
HEAD requests get the headers only. Default request logging to stderr is silenced, and client
disconnects (``BrokenPipeError``, ``ConnectionResetError``, ...) never print tracebacks.

Behaviours (``Route.behaviour``; the module constants hold the names):

``normal`` (``NORMAL``)
    ``route.status``, ``route.headers`` and the body with an exact ``Content-Length``.
``chunked`` (``CHUNKED``)
    ``Transfer-Encoding: chunked``; the body goes out in several chunks of ``chunk_size`` bytes
    (default: about four chunks).
``gzip`` (``GZIP``)
    Body gzip-compressed (deterministic, mtime 0), ``Content-Encoding: gzip`` and the
    ``Content-Length`` of the compressed bytes.
``redirect`` (``REDIRECT``)
    ``route.status`` (a non-3xx status becomes 302) with the ``Location`` header taken from
    ``route.headers``; see ``MockServer.redirect(path, to, status=302)``.
``fail-then-ok`` (``FAIL_THEN_OK``)
    The first ``fail_times`` requests get ``fail_status`` (default 503) with a small HTML body and,
    when ``retry_after`` is set, a ``Retry-After`` header; later requests get ``route.status`` and
    the body. ``route.hits`` counts the requests the route has seen.
``drip`` (``DRIP``)
    Headers (with the true ``Content-Length``) at once, then the body one byte every
    ``drip_interval`` seconds -- for deadline / read-timeout tests. Stops quietly when the client
    disconnects or the server stops.
``endless`` (``ENDLESS``)
    Chunked body that never ends: ``route.body`` (if any), then 64 KiB chunks forever, until the
    client disconnects or the server stops.
``lying-length`` (``LYING_LENGTH``)
    ``Content-Length`` is ``lie_extra`` (default 100) bytes larger than the body; the body is sent
    and the connection closed.
``no-length`` (``NO_LENGTH``)
    Neither ``Content-Length`` nor chunking (``Connection: close``): the body, then close -- the
    client must read until EOF.
``hang`` (``HANG``)
    Read the request, never answer: wait up to ``hang_seconds`` (default 60) or until the server
    stops, then close the connection.

``route.conditional`` (normal behaviour): answer ``304 Not Modified`` when the request's
``If-None-Match`` equals the route's ``ETag`` header (or, without it, ``If-Modified-Since`` equals
its ``Last-Modified``).

Besides ``requests``, ``MockServer.spans`` logs ``(target, start, end)`` monotonic times of every
answered request, so tests can assert per-host concurrency and delays from the server's side.

``route.delay`` (seconds) applies to every behaviour: the server waits that long after logging the
request and before answering. All waits (``delay``, ``drip``, ``hang``) are on a stop ``Event``,
and stopping the server also shuts down every open connection socket, so ``__exit__`` returns
promptly even with hanging, dripping, endless or idle keep-alive connections open.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import socketserver
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "BEHAVIOURS",
    "CHUNKED",
    "DRIP",
    "ENDLESS",
    "FAIL_THEN_OK",
    "GZIP",
    "HANG",
    "LYING_LENGTH",
    "NORMAL",
    "NO_LENGTH",
    "REDIRECT",
    "LoggedRequest",
    "MockServer",
    "Route",
    "free_loopback_host",
]

NORMAL = "normal"
CHUNKED = "chunked"
GZIP = "gzip"
REDIRECT = "redirect"
FAIL_THEN_OK = "fail-then-ok"
DRIP = "drip"
ENDLESS = "endless"
LYING_LENGTH = "lying-length"
NO_LENGTH = "no-length"
HANG = "hang"

BEHAVIOURS: frozenset[str] = frozenset(
    {NORMAL, CHUNKED, GZIP, REDIRECT, FAIL_THEN_OK, DRIP, ENDLESS, LYING_LENGTH, NO_LENGTH, HANG}
)

ENDLESS_CHUNK_SIZE = 64 * 1024
_ENDLESS_FRAME = b"%x\r\n%s\r\n" % (ENDLESS_CHUNK_SIZE, b"x" * ENDLESS_CHUNK_SIZE)
_NOT_FOUND_BODY = b"<html><body><h1>404 Not Found</h1></body></html>\n"
_FAIL_BODY = b"<html><body><h1>%d</h1><p>try again later</p></body></html>\n"
_HTML = "text/html; charset=utf-8"
# Errors that mean "the peer went away" (or we shut the socket down on stop): never noisy.
_DISCONNECT = (ConnectionError, TimeoutError)
_JOIN_TIMEOUT = 5.0


def free_loopback_host(n: int) -> str:
    """Return the loopback address ``127.0.0.{n}`` (1 <= n <= 254)."""
    if not 1 <= n <= 254:
        raise ValueError(f"loopback host number out of range: {n}")
    return f"127.0.0.{n}"


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the server saw it (logged before it was answered)."""

    method: str
    path: str  # request target: path plus "?query" if any
    headers: dict[str, str]  # lower-cased names; repeated headers joined with ", "
    host: str  # host of the server that received it
    time: float  # time.monotonic() when logged
    body: bytes = b""
    client_port: int = 0  # peer port: equal values mean the same (keep-alive) connection


@dataclass
class Route:
    """What one path serves. See the module docstring for the behaviours and their knobs."""

    body: bytes = b""
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)  # in order, sent as given
    content_type: str = _HTML  # sent unless headers carry a Content-Type; "" to omit
    behaviour: str = NORMAL
    delay: float = 0.0  # seconds to wait before answering
    # chunked
    chunk_size: int = 0  # 0: about four chunks
    # fail-then-ok
    fail_times: int = 1
    fail_status: int = 503
    retry_after: str | None = None
    # drip
    drip_interval: float = 0.05
    # lying-length
    lie_extra: int = 100
    # hang
    hang_seconds: float = 60.0
    # validators: answer 304 when If-None-Match / If-Modified-Since match the route's ETag /
    # Last-Modified header (normal behaviour only)
    conditional: bool = False
    # requests this route has seen (counted by the server)
    hits: int = field(default=0, init=False, compare=False)

    def __post_init__(self) -> None:
        if self.behaviour not in BEHAVIOURS:
            known = ", ".join(sorted(BEHAVIOURS))
            raise ValueError(f"unknown behaviour {self.behaviour!r}; known: {known}")


def _request_target(raw: str) -> str:
    """Path plus query of a request target (origin-form or absolute-form)."""
    if raw.startswith("/"):
        return raw.split("#", 1)[0]
    parts = urlsplit(raw)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms stalls
    server: _HTTPServer

    # -- plumbing -------------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default per-request logging to stderr."""

    def handle(self) -> None:
        try:
            super().handle()
        except _DISCONNECT:
            self.close_connection = True

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def _read_request_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is not None:
            return self.rfile.read(int(length))
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        return b""

    def _send_head(
        self,
        status: int,
        route: Route | None,
        length: int | None,
        *,
        chunked: bool = False,
        extra: tuple[tuple[str, str], ...] = (),
        content_type: str | None = None,
        route_headers: bool = True,
    ) -> None:
        headers = list(route.headers) if route is not None and route_headers else []
        if content_type is None:
            content_type = route.content_type if route is not None else _HTML
        self.send_response(status)
        if content_type and not any(k.lower() == "content-type" for k, _ in headers):
            self.send_header("Content-Type", content_type)
        for name, value in (*headers, *extra):
            self.send_header(name, value)
        if length is not None:
            self.send_header("Content-Length", str(length))
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _write(self, data: bytes) -> None:
        if data and self.command != "HEAD":
            self.wfile.write(data)

    # -- dispatch -------------------------------------------------------------------------------

    def _serve(self) -> None:
        mock = self.server.mock
        started = time.monotonic()
        try:
            body = self._read_request_body()
            mock._log(
                LoggedRequest(
                    method=self.command,
                    path=_request_target(self.path),
                    headers=_lower_headers(self.headers.items()),
                    host=self.server.mock.host,
                    time=time.monotonic(),
                    body=body,
                    client_port=int(self.client_address[1]),
                )
            )
            route = mock._match(_request_target(self.path))
            if route is None:
                self._send_head(404, None, len(_NOT_FOUND_BODY))
                self._write(_NOT_FOUND_BODY)
                return
            hit = mock._hit(route)
            if route.delay > 0 and mock._stop.wait(route.delay):
                self.close_connection = True
                return
            if route.conditional and self._not_modified(route):
                self._send_head(304, route, None, content_type="")
                return
            _BEHAVIOUR_METHODS[route.behaviour](self, route, hit)
        except _DISCONNECT:
            self.close_connection = True
        finally:
            mock._span(_request_target(self.path), started, time.monotonic())

    def _not_modified(self, route: Route) -> bool:
        sent = {k.lower(): v for k, v in route.headers}
        etag, modified = sent.get("etag"), sent.get("last-modified")
        asked_etag = self.headers.get("If-None-Match")
        if asked_etag is not None:
            return etag is not None and asked_etag == etag
        asked_since = self.headers.get("If-Modified-Since")
        return asked_since is not None and modified is not None and asked_since == modified

    # -- behaviours -----------------------------------------------------------------------------

    def _normal(self, route: Route, hit: int) -> None:
        self._send_head(route.status, route, len(route.body))
        self._write(route.body)

    def _chunked(self, route: Route, hit: int) -> None:
        self._send_head(route.status, route, None, chunked=True)
        if self.command == "HEAD":
            return
        body = route.body
        size = route.chunk_size or max(1, -(-len(body) // 4))
        for start in range(0, len(body), size):
            piece = body[start : start + size]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")

    def _gzip(self, route: Route, hit: int) -> None:
        compressed = gzip.compress(route.body, mtime=0)
        self._send_head(route.status, route, len(compressed), extra=(("Content-Encoding", "gzip"),))
        self._write(compressed)

    def _redirect(self, route: Route, hit: int) -> None:
        status = route.status if 300 <= route.status < 400 else 302
        self._send_head(status, route, len(route.body))
        self._write(route.body)

    def _fail_then_ok(self, route: Route, hit: int) -> None:
        if hit >= route.fail_times:
            self._normal(route, hit)
            return
        body = _FAIL_BODY % route.fail_status
        extra = (("Retry-After", route.retry_after),) if route.retry_after is not None else ()
        self._send_head(
            route.fail_status,
            route,
            len(body),
            extra=extra,
            content_type=_HTML,
            route_headers=False,
        )
        self._write(body)

    def _drip(self, route: Route, hit: int) -> None:
        self._send_head(route.status, route, len(route.body))
        if self.command == "HEAD":
            return
        stop = self.server.mock._stop
        for i in range(len(route.body)):
            if stop.wait(route.drip_interval):
                self.close_connection = True
                return
            self.wfile.write(route.body[i : i + 1])

    def _endless(self, route: Route, hit: int) -> None:
        self._send_head(route.status, route, None, chunked=True)
        if self.command == "HEAD":
            return
        self.close_connection = True
        if route.body:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(route.body), route.body))
        stop = self.server.mock._stop
        while not stop.is_set():
            self.wfile.write(_ENDLESS_FRAME)

    def _lying_length(self, route: Route, hit: int) -> None:
        self._send_head(route.status, route, len(route.body) + route.lie_extra)
        self._write(route.body)
        self.close_connection = True

    def _no_length(self, route: Route, hit: int) -> None:
        self._send_head(route.status, route, None, extra=(("Connection", "close"),))
        self._write(route.body)
        self.close_connection = True

    def _hang(self, route: Route, hit: int) -> None:
        self.close_connection = True
        self.server.mock._stop.wait(route.hang_seconds)


_BEHAVIOUR_METHODS = {
    NORMAL: _Handler._normal,
    CHUNKED: _Handler._chunked,
    GZIP: _Handler._gzip,
    REDIRECT: _Handler._redirect,
    FAIL_THEN_OK: _Handler._fail_then_ok,
    DRIP: _Handler._drip,
    ENDLESS: _Handler._endless,
    LYING_LENGTH: _Handler._lying_length,
    NO_LENGTH: _Handler._no_length,
    HANG: _Handler._hang,
}
assert set(_BEHAVIOUR_METHODS) == BEHAVIOURS


def _lower_headers(items: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in items:
        key = str(name).lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else str(value)
    return headers


class _HTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that tracks its connections so that stopping never hangs."""

    daemon_threads = True
    block_on_close = False  # we join our own handler threads, with a timeout
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], mock: MockServer) -> None:
        self.mock = mock
        self._conn_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._handler_threads: list[threading.Thread] = []
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup: skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"{self.mock.thread_prefix}conn-{client_address[1]}",
            daemon=True,
        )
        with self._conn_lock:
            self._connections.add(request)
            self._handler_threads = [t for t in self._handler_threads if t.is_alive()]
            self._handler_threads.append(thread)
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], _DISCONNECT):
            return
        super().handle_error(request, client_address)

    def open_connections(self) -> int:
        with self._conn_lock:
            return len(self._connections)

    def close_connections_and_join(self, timeout: float) -> None:
        with self._conn_lock:
            connections = list(self._connections)
            threads = list(self._handler_threads)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


class MockServer:
    """A local HTTP/1.1 server serving registered ``Route`` objects; use as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._routes: dict[str, Route] = {}
        self._stop = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[LoggedRequest] = []
        # (request target, monotonic start, monotonic end of the answer) per request
        self.spans: list[tuple[str, float, float]] = []

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> MockServer:
        if self._httpd is not None:
            raise RuntimeError("MockServer already started")
        self._stop.clear()
        httpd = _HTTPServer((self._host, self._port), self)
        self._port = int(httpd.server_address[1])
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"{self.thread_prefix}serve",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, unblock and join every connection thread, close the listening socket."""
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._httpd = self._thread = None
        self._stop.set()  # wakes delay / drip / hang / endless handlers
        httpd.shutdown()
        thread.join(_JOIN_TIMEOUT)
        httpd.close_connections_and_join(_JOIN_TIMEOUT)
        httpd.server_close()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses ------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        if self._port == 0:
            raise RuntimeError("MockServer not started: port not bound yet")
        return self._port

    @property
    def thread_prefix(self) -> str:
        """Name prefix of this server's threads (for leak checks)."""
        return f"mockserver-{self._host}:{self._port}-"

    @property
    def open_connections(self) -> int:
        """Connections currently being handled (0 when stopped)."""
        httpd = self._httpd
        return httpd.open_connections() if httpd is not None else 0

    def url(self, path: str = "/") -> str:
        if not path.startswith("/"):
            path = "/" + path
        return f"http://{self.host}:{self.port}{path}"

    # -- routes ---------------------------------------------------------------------------------

    def route(self, path: str, body: bytes | str = b"", **kw: Any) -> Route:
        """Register (or replace) what ``path`` (optionally with ``?query``) serves."""
        if not path.startswith("/"):
            raise ValueError(f"route path must start with '/': {path!r}")
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        route = Route(body=data, **kw)
        with self._lock:
            self._routes[path] = route
        return route

    def redirect(self, path: str, to: str, status: int = 302, **kw: Any) -> Route:
        """Register a redirect from ``path`` to ``to`` (absolute URL or path, sent as given)."""
        headers = [("Location", to), *kw.pop("headers", [])]
        body = kw.pop("body", b"")
        return self.route(path, body, status=status, behaviour=REDIRECT, headers=headers, **kw)

    def robots(self, text: str | bytes) -> Route:
        return self.route("/robots.txt", text, content_type="text/plain")

    def _match(self, target: str) -> Route | None:
        with self._lock:
            route = self._routes.get(target)
            if route is None:
                route = self._routes.get(target.split("?", 1)[0])
            return route

    def _hit(self, route: Route) -> int:
        """Count a request against ``route``; return how many it had seen before."""
        with self._lock:
            seen = route.hits
            route.hits += 1
            return seen

    # -- request log ----------------------------------------------------------------------------

    def _log(self, request: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _span(self, target: str, started: float, ended: float) -> None:
        with self._lock:
            self.spans.append((target, started, ended))

    def requests_for(self, path: str) -> list[LoggedRequest]:
        """Logged requests for ``path``: exact match if it has a ``?query``, else any query."""
        with self._lock:
            logged = list(self.requests)
        if "?" in path:
            return [r for r in logged if r.path == path]
        return [r for r in logged if r.path.split("?", 1)[0] == path]
