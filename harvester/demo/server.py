"""The demo newsroom's web servers: one in-process HTTP server per loopback host.

Each host (``127.0.0.2``, ``127.0.0.3``, ...) gets a ``ThreadingHTTPServer`` on an ephemeral
port, bound when :class:`NewsroomServer` is created (so every base URL is known before any page
is rendered) and serving from daemon threads after :meth:`NewsroomServer.start`. Pages are
published per host as a path -> :class:`~harvester.demo.newsroom.Page` mapping; every request
path is logged, so the demo can show what was (and was not) fetched, and so is when each request
was answered (monotonic start and end), so tests can check politeness from the server's side.
"""

from __future__ import annotations

import socketserver
import threading
import time
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from harvester.demo.newsroom import Page
from harvester.errors import HarvesterError
from harvester.lifetime import Closeable

__all__ = ["DemoError", "NewsroomServer"]

_NOT_FOUND = b"<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>\n"
# Idle keep-alive connections are closed after this many seconds, so no handler thread lingers.
_IDLE_TIMEOUT = 5.0
_JOIN_TIMEOUT = 5.0


class DemoError(HarvesterError):
    """The bundled newsroom could not be served or harvested (exit 4, like a network failure)."""

    exit_code = 4


class _Handler(BaseHTTPRequestHandler):
    """Serves the published pages of one host; anything else is a 404."""

    server: _SiteServer
    protocol_version = "HTTP/1.1"
    timeout = _IDLE_TIMEOUT
    server_version = "harvester-demo"
    sys_version = ""

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        started = time.monotonic()
        try:
            self._send(send_body=send_body)
        finally:
            self.server.timed(started, time.monotonic())

    def _send(self, *, send_body: bool) -> None:
        path = urlsplit(self.path).path or "/"
        page = self.server.lookup(path)
        body, status, content_type = (
            (page.body, 200, page.content_type)
            if page is not None
            else (_NOT_FOUND, 404, "text/html; charset=utf-8")
        )
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the demo reports what it fetched itself."""


class _SiteServer(ThreadingHTTPServer):
    """One host's server: its pages, the log of requested paths and of answer times."""

    daemon_threads = True

    def __init__(self, host: str) -> None:
        self.pages: Mapping[str, Page] = {}
        self.requested: list[str] = []
        self.answered: list[tuple[float, float]] = []
        self._log_lock = threading.Lock()
        super().__init__((host, 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host up in reverse DNS (getfqdn): slow, and useless.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def lookup(self, path: str) -> Page | None:
        """The page at ``path`` (a trailing slash optional), logging the request."""
        with self._log_lock:
            self.requested.append(path)
        pages = self.pages
        return pages.get(path) or pages.get(path.rstrip("/") or "/") or pages.get(path + "/")

    def requests(self) -> tuple[str, ...]:
        """The paths requested so far, in order."""
        with self._log_lock:
            return tuple(self.requested)

    def timed(self, started: float, ended: float) -> None:
        """Log one answered request's monotonic start and end."""
        with self._log_lock:
            self.answered.append((started, ended))

    def timings(self) -> tuple[tuple[float, float], ...]:
        """(start, end) monotonic times of every request answered so far, in order of end."""
        with self._log_lock:
            return tuple(self.answered)


class NewsroomServer(Closeable):
    """HTTP servers on ``hosts`` (one each, ephemeral ports); use as a context manager.

    Raises DemoError when a host address cannot be bound (the demo needs 127.0.0.2 and up: on
    Linux the whole 127.0.0.0/8 block is loopback; elsewhere it may need an alias).
    """

    def __init__(self, hosts: Sequence[str]) -> None:
        self._servers: dict[str, _SiteServer] = {}
        self._threads: list[threading.Thread] = []
        for host in hosts:
            try:
                self._servers[host] = _SiteServer(host)
            except OSError as exc:
                self.close()
                raise DemoError(
                    f"cannot serve the demo newsroom on {host}: {exc.strerror or exc} "
                    "(the demo needs the loopback addresses 127.0.0.2 and up)"
                ) from exc

    def base_url(self, host: str) -> str:
        """``http://host:port`` of the server on ``host``."""
        return f"http://{host}:{self._servers[host].server_port}"

    def publish(self, host: str, pages: Mapping[str, Page]) -> None:
        """Serve ``pages`` (path -> Page) on ``host`` from now on."""
        self._servers[host].pages = dict(pages)

    def start(self) -> None:
        """Start serving every host (daemon threads)."""
        for host, server in self._servers.items():
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"demo-newsroom-{host}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def requested(self, host: str) -> tuple[str, ...]:
        """The paths requested from ``host`` so far, in order."""
        return self._servers[host].requests()

    def timings(self, host: str) -> tuple[tuple[float, float], ...]:
        """(start, end) ``time.monotonic()`` of every request ``host`` answered so far, from
        the request's headers read to its last byte written."""
        return self._servers[host].timings()

    def close(self) -> None:
        """Stop serving and release every socket. Safe to call more than once."""
        if self._threads:
            for server in self._servers.values():
                server.shutdown()
        for thread in self._threads:
            thread.join(_JOIN_TIMEOUT)
        self._threads = []
        for server in self._servers.values():
            server.server_close()
        self._servers.clear()
