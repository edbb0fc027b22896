"""Connection pools for the fetcher: one small guarded pool per origin.

httpcore's ``ConnectionPool`` looks at every connection it holds whenever a request comes or
goes (closed? expired, which polls the socket? idle, counted once per idle connection), so one
pool shared by every host costs time that grows with the square of the hosts it keeps
connections to: with 8 hosts and 16 workers that scan was ~7% of the daemon's CPU per page
(bench/README.md, issue 15). A pool per origin (``scheme, host, port``) holds the one or few
connections of its host, so each scan is a few checks. Pools no request has used for
``idle_close`` seconds (longer than any fetch may last, so none is reading a body) are closed,
so a crawl of thousands of hosts keeps sockets open only to the hosts it is working.

Every pool's network backend is the SSRF guard's (``GuardedBackend``): each connection is
checked on the address it actually connects to.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpcore
import httpx

from harvester.net.guard import AddressPolicy, GuardedBackend

__all__ = ["OriginPools"]

# A host is asked at most per_host_connections (at most 16) at once; discovery and robots.txt
# fetches may add one or two.
_PER_ORIGIN = 20
# How many requests pass between looks for idle pools to close.
_SWEEP_EVERY = 256


class OriginPools(httpx.BaseTransport):
    """An httpx transport with a guarded connection pool of its own for each origin.

    ``idle_close`` must exceed the longest a fetch may take (its deadline), so a pool closed
    for idleness has no response still being read. Thread-safe.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        idle_close: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._policy = policy
        self._ssl = httpx.create_ssl_context()  # loading the CA bundle once, not per pool
        self._idle_close = idle_close
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._pools: dict[tuple[bytes, bytes, int | None], httpx.HTTPTransport] = {}
        self._used: dict[tuple[bytes, bytes, int | None], float] = {}
        self._requests = 0
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` over its origin's pool (made on first use)."""
        url = request.url
        key = (url.raw_scheme, url.raw_host, url.port)
        idle: list[httpx.HTTPTransport] = []
        with self._lock:
            if self._closed:
                raise httpx.ConnectError("the fetcher's connection pools are closed")
            pool = self._pools.get(key)
            if pool is None:
                pool = self._pools[key] = self._new_pool()
            now = self._monotonic()
            self._used[key] = now
            self._requests += 1
            if self._requests % _SWEEP_EVERY == 0:
                idle = self._take_idle(now)
        for old in idle:
            old.close()
        return pool.handle_request(request)

    def _new_pool(self) -> httpx.HTTPTransport:
        # Our one SSL context: httpx would otherwise load the CA bundle for every pool (about
        # 20 ms of CPU each; a 300-outlet crawl made 300 of them, 4 ms per page).
        transport = httpx.HTTPTransport(verify=self._ssl)
        # httpx has no public hook for the resolver: swap the pool for one whose network
        # backend checks every address it connects to (see net/guard.py).
        transport._pool = httpcore.ConnectionPool(
            ssl_context=self._ssl,
            network_backend=GuardedBackend(self._policy),
            max_connections=_PER_ORIGIN,
        )
        return transport

    def _take_idle(self, now: float) -> list[httpx.HTTPTransport]:
        """Remove the pools unused for ``idle_close`` seconds (lock held); returns them."""
        keys = [k for k, used in self._used.items() if now - used > self._idle_close]
        for key in keys:
            del self._used[key]
        return [self._pools.pop(key) for key in keys]

    def close(self) -> None:
        """Close every pool."""
        with self._lock:
            self._closed = True
            pools, self._pools = list(self._pools.values()), {}
            self._used.clear()
        for pool in pools:
            pool.close()
