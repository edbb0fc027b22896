"""The fetcher: the only place that talks HTTP (with httpx).

``HttpFetcher.fetch(url)`` returns a value, never raises for network trouble:

* ``Fetched``     every hop of the redirect chain (3xx hops included), the final response last,
                  whatever its status; bodies complete and under the size cap;
* ``Refused``     robots.txt disallows the URL, a body exceeds ``max_page_bytes`` (raw or decoded),
                  a hop resolves to a non-public address, or the scheme is not http(s);
* ``FetchFailed`` DNS/connect/TLS failure, a timeout, the overall deadline, a redirect loop or
                  more than ``max_redirects`` redirects.

Redirects are followed here, not by httpx, so every hop is checked by the SSRF guard and robots
rules and archived. Bodies are streamed and counted while they arrive, so a huge or endless body
costs at most ``max_page_bytes`` of memory. We only offer ``gzip, deflate`` so we can decode with a
cap ourselves.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import logging
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx

from harvester.clock import Clock, SystemClock
from harvester.config import FetchSettings
from harvester.errors import ArchiveError, RefusedError
from harvester.lifetime import Closeable
from harvester.models import Exchange, Fetched, FetchFailed, FetchResult, Refused
from harvester.net.codings import TooLarge, decode_body
from harvester.net.fleet import FleetLedger
from harvester.net.guard import AddressPolicy
from harvester.net.pools import OriginPools
from harvester.net.robots import ROBOTS_MAX_BYTES, RobotsRules, rules_for_status

__all__ = ["Fetcher", "HttpFetcher"]

log = logging.getLogger("harvester.fetch")

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# RFC 9309 2.3.1.2: follow at least five redirects for robots.txt.
_ROBOTS_REDIRECTS = 5
# Why 30 s: honour a polite Crawl-delay, but a robots.txt asking for minutes per page would
# stall an outlet's whole poll; past the cap the host is simply crawled slowly.
CRAWL_DELAY_CAP = 30.0
# Short server-requested waits (a busy 503, a 429 burst) are waited out inline; longer ones
# pause the host and the URL is tried again on a later poll.
RETRY_WAIT_CAP = 10.0
RETRY_AFTER_CAP = 3600.0
# With one request slot per host (``per_host_connections = 1``), the writer holding a host's
# fleet slot has the host to itself: its own gate keeps the delay, and no other writer can see
# a Retry-After meanwhile. So it keeps the slot between its own requests instead of asking the
# catalog twice per request: reused for up to FLEET_KEEP seconds after the catalog gave it,
# given back as soon as the host rests longer than its delay plus FLEET_LINGER (this
# writer has no more of its URLs ready), or when a pause is seen. Why 2 s: a busy host costs
# one acquire and one release per ~8 requests (0.2 s delay), and another writer waiting for
# the host waits at most that long more than it would for one request.
FLEET_KEEP = 2.0
FLEET_LINGER = 0.3
MAX_RETRIES = 2
_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


class Fetcher(Protocol):
    """The fetch seam. ``fetch`` returns Fetched | Refused | FetchFailed and does not raise."""

    def fetch(self, url: str, *, headers: Mapping[str, str] | None = None) -> FetchResult:
        """Fetch ``url`` following redirects; see the module docstring for each outcome.

        ``headers`` go with the first request only (conditional request validators)."""
        ...


class HostGate:
    """At most ``per_host`` requests at a time to one host (``host:port``), and a pause of
    ``delay`` seconds between the end of one request to a host and the start of the next.

    Thread-safe; the daemon's worker pool and its discovery polls share one gate, so the limits
    hold whichever thread asks. Waiting for a turn is on ``cancelled`` so a stopping daemon
    does not sit out a Crawl-delay.
    """

    def __init__(
        self, per_host: int, cancelled: threading.Event, sleep: Callable[[float], object]
    ) -> None:
        self._per_host = max(1, per_host)
        self._cancelled = cancelled
        self._sleep = sleep
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._ready_at: dict[str, float] = {}

    @contextlib.contextmanager
    def turn(self, netloc: str, delay: float, monotonic: Callable[[], float]) -> Iterator[None]:
        """Hold one of the host's slots for one request, after its delay has passed."""
        with self._lock:
            slot = self._slots.setdefault(netloc, threading.BoundedSemaphore(self._per_host))
        while not slot.acquire(timeout=0.25):
            if self._cancelled.is_set():
                break
        else:
            try:
                with self._lock:
                    wait = self._ready_at.get(netloc, 0.0) - monotonic()
                if wait > 0:
                    self._sleep(wait)
                yield
            finally:
                with self._lock:
                    self._ready_at[netloc] = monotonic() + delay
                slot.release()
            return
        yield  # cancelled while waiting: the caller's request fails fast on the cancel check

    def ready_in(self, netloc: str, monotonic: Callable[[], float]) -> float:
        """Seconds until ``netloc`` may be asked again (0 when free now)."""
        with self._lock:
            return max(0.0, self._ready_at.get(netloc, 0.0) - monotonic())


class _FleetDown:
    """The fleet ledger failed (or there is none): this process's own limits apply."""


@dataclass
class _FleetSlot:
    """A fleet request slot this process holds: its token, when the catalog gave it, and (while
    kept between requests) when the last request in it ended and the delay owed after it."""

    token: str
    taken: float
    used: float = 0.0
    delay: float = 0.0


FLEET_DOWN = _FleetDown()
_T = TypeVar("_T")


class _TooLarge(Exception):
    """Internal: a body passed the size cap."""


class _Deadline(Exception):
    """Internal: the overall deadline passed while reading."""


class _Cancelled(Exception):
    """Internal: the fetcher was cancelled (the daemon is stopping) while reading."""


REDACTED = "[redacted by harvester]"


def _origin(url: str) -> str:
    """``scheme://host:port`` with the default port spelled out, lower case."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        port = 0
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


def _redacted(headers: tuple[tuple[str, str], ...], names: set[str]) -> tuple[tuple[str, str], ...]:
    if not names:
        return headers
    return tuple((k, REDACTED if k.lower() in names else v) for k, v in headers)


@dataclass
class _RobotsCache:
    """robots.txt rules per origin, with the monotonic time each answer expires and its status."""

    rules: dict[str, RobotsRules] = field(default_factory=dict)
    expires: dict[str, float] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)


# RFC 9309 2.4: robots.txt should not be cached for more than 24 hours. An unreachable one (5xx,
# 429) disallows everything "for a while": we ask again after ROBOTS_ERROR_TTL, and the URLs
# wait as transient failures (the daemon retries them) rather than being refused for good.
ROBOTS_TTL = 86400.0
ROBOTS_ERROR_TTL = 600.0


def _robots_error(status: int) -> bool:
    return status == 429 or status >= 500


class HttpFetcher(Closeable):
    """Fetches with limits and safety checks. Use as a context manager (it owns a connection pool).

    ``transport`` replaces the guarded network transport (tests pass ``httpx.MockTransport``).
    """

    def __init__(
        self,
        settings: FetchSettings,
        *,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], object] | None = None,
        credentials: Mapping[str, Mapping[str, str]] | None = None,
        fleet: FleetLedger | None = None,
        owner: str = "",
    ) -> None:
        """``fleet`` (with this writer's id as ``owner``) keeps the per-host limits, pauses and
        robots.txt answers for every writer of the archive (see ``harvester.net.fleet``);
        without it they hold within this fetcher only."""
        self._settings = settings
        self._fleet = fleet
        self._owner = owner
        self._fleet_down = False
        self._fleet_lock = threading.Lock()
        # host slots whose release the ledger refused (it was down): given back when it answers
        self._unreleased: list[tuple[str, str, float]] = []
        # fleet slots kept between this process's requests, by netloc (see FLEET_KEEP)
        self._kept: dict[str, _FleetSlot] = {}
        # Only a process that gives idle slots back on its own keeps them (the daemon, whose
        # lease loop calls release_idle): a one-off fetch or an embedded Harvester would hold
        # the host from every other writer until the slot's hold lapsed.
        self.keep_fleet_slots = False
        self._clock = clock or SystemClock()
        self._cancelled = threading.Event()
        self._sleep: Callable[[float], object] = (
            sleep if sleep is not None else self._cancelled.wait
        )
        self._gate = HostGate(settings.per_host_connections, self._cancelled, self._sleep)
        # monotonic time until which a host asked us (Retry-After) to stay away
        self._paused_until: dict[str, float] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        # Per-origin credentials (an outlet's headers/cookies): sent to that origin only, on
        # every hop that lands there, and redacted in what is archived.
        self._credentials = {_origin(o): dict(h) for o, h in (credentials or {}).items()}
        self._robots_guard = threading.Lock()
        self._policy = AddressPolicy(
            allow_private_networks=settings.allow_private_networks,
            allow_hosts=settings.allow_hosts,
        )
        if transport is None:
            # Guarded pools, one per origin (see net/pools.py); one that no request used for
            # twice the longest a fetch may take is closed.
            idle = 2 * (settings.deadline + settings.timeout)
            transport = OriginPools(self._policy, idle_close=idle, monotonic=self._clock.monotonic)
        # Requests go to the transport directly: the client would parse a redirect's Location
        # itself (and fail on data:/javascript: targets) and keep a cookie jar; we do neither.
        self._transport = transport
        self._client = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(settings.timeout),
            follow_redirects=False,
            trust_env=False,
            headers={
                "User-Agent": settings.user_agent,
                "Accept": _ACCEPT,
                "Accept-Encoding": "gzip, deflate",
            },
        )
        self._robots = _RobotsCache()

    def close(self) -> None:
        """Give back the fleet slots kept between requests, close the connection pool."""
        try:
            self.release_idle(everything=True)
        finally:
            self._client.close()

    def release_idle(self, *, everything: bool = False) -> None:
        """Give back the fleet slots kept for hosts that rest longer than their delay plus
        FLEET_LINGER, or were taken FLEET_KEEP seconds ago (``everything``: all of them). The
        daemon calls this a few times a second; each fetch calls it too."""
        if not self._kept:
            return
        now = self._clock.monotonic()
        with self._fleet_lock:
            idle = [
                (netloc, slot)
                for netloc, slot in self._kept.items()
                if everything
                or now - slot.used > slot.delay + FLEET_LINGER
                or now - slot.taken >= FLEET_KEEP
            ]
            for netloc, _ in idle:
                del self._kept[netloc]
        for netloc, slot in idle:
            self._give_back(slot.token, netloc, max(0.0, slot.used + slot.delay - now))

    def cancel(self) -> None:
        """Make fetches in progress fail fast ("cancelled") and later ones fail at once."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancelled.is_set()

    def host_ready_in(self, netloc: str) -> float:
        """Seconds until ``netloc`` (``host:port``, lower case) may be asked again: its delay
        since the last request, or a Retry-After pause; 0 when it is free. The daemon's
        frontier uses it to pick hosts."""
        paused = self._paused_until.get(netloc, 0.0) - self._clock.monotonic()
        return max(paused, self._gate.ready_in(netloc, self._clock.monotonic))

    def fetch(self, url: str, *, headers: Mapping[str, str] | None = None) -> FetchResult:
        """Fetch ``url``, following up to ``max_redirects`` redirects (see module docstring).

        ``headers`` (e.g. If-None-Match) are sent with the first request only."""
        deadline = self._clock.monotonic() + self._settings.deadline
        chain: list[Exchange] = []
        seen: set[str] = set()
        current = url
        extra = dict(headers or {})
        for _ in range(self._settings.max_redirects + 1):
            if current in seen:
                return FetchFailed(
                    url=url, reason=f"redirect loop at {current}", chain=tuple(chain)
                )
            seen.add(current)
            if self._settings.respect_robots:
                stop = self._robots_refusal(current, deadline)
                if stop is not None:
                    return _with_chain(stop, chain)
            result = self._exchange_with_retries(current, deadline, extra)
            extra = {}
            if not isinstance(result, Exchange):
                return _with_chain(result, chain)
            chain.append(result)
            location = result.location
            if result.status not in _REDIRECTS or not location:
                return Fetched(chain=tuple(chain))
            try:
                target = urljoin(current, location.strip())
                scheme = urlsplit(target).scheme.lower()
            except ValueError:
                refused = Refused(url=url, reason=f"refused: invalid redirect target {location!r}")
                return _with_chain(refused, chain)
            if scheme not in ("http", "https"):
                refused = Refused(url=url, reason=f"refused: not an http(s) URL: {target}")
                return _with_chain(refused, chain)
            current = target
        return FetchFailed(
            url=url,
            reason=f"more than {self._settings.max_redirects} redirects",
            chain=tuple(chain),
        )

    def _exchange_with_retries(
        self, url: str, deadline: float, headers: Mapping[str, str]
    ) -> Exchange | Refused | FetchFailed:
        """One exchange, retried on 429/503 when the server asks for a short wait.

        A Retry-After (seconds or an HTTP date) up to RETRY_WAIT_CAP is waited out, at most
        MAX_RETRIES times and never past the deadline; a longer one pauses this host only (up to
        RETRY_AFTER_CAP) and the 429/503 response is returned.
        """
        netloc = urlsplit(url).netloc.lower()
        paused = self._paused_until.get(netloc, 0.0) - self._clock.monotonic()
        if paused > 0:
            return FetchFailed(
                url=url, reason=f"host {netloc} asked us to wait {paused:.0f}s more (Retry-After)"
            )
        for attempt in range(MAX_RETRIES + 1):
            result = self._exchange(
                url,
                deadline,
                self._settings.max_page_bytes,
                headers=headers,
                truncate=self._settings.oversize == "truncate",
            )
            if not isinstance(result, Exchange) or result.status not in (429, 503):
                return result
            wait = _retry_after(result.header("retry-after"), self._clock.now())
            if wait is None:
                wait = float(2**attempt)  # no Retry-After: a short exponential backoff
            fits = self._clock.monotonic() + wait < deadline
            if wait > RETRY_WAIT_CAP or not fits or attempt == MAX_RETRIES:
                if wait > RETRY_WAIT_CAP:
                    pause = min(wait, RETRY_AFTER_CAP)
                    self._paused_until[netloc] = self._clock.monotonic() + pause
                    self._fleet_call(functools.partial(_pause_host, netloc=netloc, seconds=pause))
                    self._drop_kept(netloc)  # the pause is the fleet's now: the host rests
                return result
            self._sleep(wait)
        return result

    def _robots_refusal(self, url: str, deadline: float) -> Refused | FetchFailed | None:
        """Why robots.txt stops ``url`` (a refusal, or a failure to fetch robots.txt), or None."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._robots_guard:
            origin_lock = self._robots_locks.setdefault(origin, threading.Lock())
        cache = self._robots
        with origin_lock:  # one robots.txt fetch per origin, however many threads ask
            rules = cache.rules.get(origin)
            if rules is None or cache.expires[origin] <= self._clock.monotonic():
                loaded = self._shared_robots(origin, deadline)
                if isinstance(loaded, FetchFailed):
                    # Not cached: the network may come back. RFC 9309 says unreachable means
                    # disallow, so the URL is not fetched; the user sees the network failure.
                    return FetchFailed(url=url, reason=f"robots.txt unreachable: {loaded.reason}")
                if isinstance(loaded, Refused):
                    # The guard refused the host itself: say that, not "robots disallows".
                    return Refused(url=url, reason=loaded.reason)
                rules, status, ttl = loaded
                cache.rules[origin], cache.status[origin] = rules, status
                cache.expires[origin] = self._clock.monotonic() + ttl
            status = cache.status[origin]
        if _robots_error(status):
            return FetchFailed(
                url=url,
                reason=f"robots.txt of {parts.netloc} unavailable (HTTP {status}): "
                f"everything disallowed for now",
            )
        if rules.allowed(url):
            return None
        return Refused(url=url, reason=f"refused: robots.txt of {parts.netloc} disallows {url}")

    def _shared_robots(
        self, origin: str, deadline: float
    ) -> tuple[RobotsRules, int, float] | Refused | FetchFailed:
        """The origin's robots.txt rules, final status and seconds they stay fresh: the
        fleet's fresh answer when there is one, else fetched here (and shared); while another
        writer fetches it, wait for its answer (never past ``deadline``)."""
        ua = self._settings.user_agent
        hold = min(self._settings.deadline, 60.0)
        while self._fleet is not None:
            shared = self._fleet_call(lambda f: f.robots_lookup(origin, self._owner, hold=hold))
            if shared is None or isinstance(shared, _FleetDown):
                break  # ours to fetch (or the ledger is down: fetch it ourselves)
            if isinstance(shared, float):
                if self._clock.monotonic() + shared >= deadline or self._cancelled.is_set():
                    return FetchFailed(url=origin, reason="robots.txt still being fetched")
                self._sleep(shared)
                continue
            return rules_for_status(shared.status, shared.body, ua), shared.status, shared.fresh_for
        loaded = self._load_robots(origin + "/robots.txt", deadline)
        if isinstance(loaded, Refused | FetchFailed):
            return loaded
        rules, status, body = loaded
        ttl = ROBOTS_ERROR_TTL if _robots_error(status) else ROBOTS_TTL
        self._fleet_call(lambda f: f.robots_store(origin, status=status, body=body, ttl=ttl))
        return rules, status, ttl

    def _fleet_call(self, call: Callable[[FleetLedger], _T]) -> _T | _FleetDown:
        """``call(ledger)``; when the ledger fails, politeness falls back to this process's own
        gate (logged once per outage) and ``FLEET_DOWN`` is returned."""
        if self._fleet is None:
            return FLEET_DOWN
        try:
            result = call(self._fleet)
            if self._unreleased:
                with self._fleet_lock:
                    pending, self._unreleased = self._unreleased, []
                for token, netloc, delay in pending:
                    self._fleet.host_release(token, netloc, delay=delay)
        except ArchiveError as exc:
            if not self._fleet_down:
                log.warning("fleet politeness unavailable (this process's limits hold): %s", exc)
            self._fleet_down = True
            return FLEET_DOWN
        if self._fleet_down:
            log.warning("fleet politeness available again")
            self._fleet_down = False
        return result

    def _load_robots(
        self, robots_url: str, deadline: float
    ) -> tuple[RobotsRules, int, bytes] | Refused | FetchFailed:
        """Fetch and interpret robots.txt (RFC 9309: 5xx = disallow, 4xx = allow); the rules,
        the final status and the body."""
        ua = self._settings.user_agent
        current = robots_url
        for _ in range(_ROBOTS_REDIRECTS + 1):
            result = self._exchange(current, deadline, ROBOTS_MAX_BYTES, truncate=True)
            if not isinstance(result, Exchange):
                return result
            if result.truncated == "time":  # half a robots.txt could allow too much
                return FetchFailed(
                    url=current, reason=f"deadline of {self._settings.deadline:g}s exceeded"
                )
            location = result.location
            if result.status in _REDIRECTS and location:
                current = urljoin(current, location.strip())
                continue
            return (
                rules_for_status(result.status, result.content, ua),
                result.status,
                result.content,
            )
        # RFC 9309 2.3.1.2: too many redirects -> as a 4xx
        return rules_for_status(404, b"", ua), 404, b""

    def _exchange(
        self,
        url: str,
        deadline: float,
        cap: int,
        *,
        truncate: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Exchange | Refused | FetchFailed:
        """One request/response, in the host's turn (see HostGate). With ``truncate`` a body
        over ``cap`` is cut, else refused."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return Refused(url=url, reason=f"refused: not an http(s) URL: {url}")
        netloc = parts.netloc.lower()
        delay = self._host_delay(f"{parts.scheme}://{parts.netloc}")
        with self._gate.turn(netloc, delay, self._clock.monotonic):
            if self._cancelled.is_set():
                return FetchFailed(url=url, reason=f"cancelled: {url}")
            slot = self._fleet_turn(url, netloc, deadline)
            if isinstance(slot, FetchFailed):
                return slot
            try:
                return self._exchange_now(url, deadline, cap, truncate=truncate, headers=headers)
            finally:
                if slot is not None:
                    self._fleet_done(slot, netloc, delay)

    def _fleet_done(self, slot: _FleetSlot, netloc: str, delay: float) -> None:
        """After a request: keep the slot for this process's next request to ``netloc`` (one
        slot per host, taken less than FLEET_KEEP ago, no pause), else give it back."""
        now = self._clock.monotonic()
        keep = (
            self.keep_fleet_slots
            and self._settings.per_host_connections == 1
            and not self._fleet_down
            and now - slot.taken < FLEET_KEEP
            and self._paused_until.get(netloc, 0.0) <= now
        )
        if keep:
            slot.used, slot.delay = now, delay
            with self._fleet_lock:
                self._kept[netloc] = slot
            return
        self._give_back(slot.token, netloc, delay)

    def _drop_kept(self, netloc: str) -> None:
        with self._fleet_lock:
            slot = self._kept.pop(netloc, None)
        if slot is not None:
            self._give_back(slot.token, netloc, slot.delay)

    def _give_back(self, token: str, netloc: str, delay: float) -> None:
        """Release a fleet slot; the next request to ``netloc`` waits ``delay`` seconds."""
        released = self._fleet_call(lambda f: f.host_release(token, netloc, delay=delay))
        if isinstance(released, _FleetDown):
            # Given back once the ledger answers again (else it lapses): a slot kept would
            # hold the host up for every writer until then.
            with self._fleet_lock:
                self._unreleased.append((token, netloc, delay))

    def _fleet_turn(
        self, url: str, netloc: str, deadline: float
    ) -> _FleetSlot | FetchFailed | None:
        """One of the fleet's request slots for ``netloc`` (None without a working ledger):
        the one this process kept since its last request there (see FLEET_KEEP), else one from
        the catalog after the fleet-wide delay; a failure when the host is paused by a
        Retry-After, the deadline would pass, or the fetcher is cancelled."""
        self.release_idle()
        with self._fleet_lock:
            kept = self._kept.pop(netloc, None)
        if kept is not None:
            # Ours since the last request (the gate waited out the delay): no one else's turn.
            return kept
        slots = self._settings.per_host_connections
        hold = self._settings.deadline + self._settings.timeout
        while True:
            got = self._fleet_call(
                lambda f: f.host_acquire(netloc, self._owner, slots=slots, hold=hold)
            )
            if isinstance(got, _FleetDown):
                return None
            token, wait = got
            if token is not None:
                return _FleetSlot(token=token, taken=self._clock.monotonic())
            if wait > CRAWL_DELAY_CAP + 1:
                return FetchFailed(
                    url=url, reason=f"host {netloc} asked us to wait {wait:.0f}s more (Retry-After)"
                )
            if self._clock.monotonic() + wait >= deadline:
                return FetchFailed(
                    url=url, reason=f"deadline of {self._settings.deadline:g}s exceeded: {url}"
                )
            self._sleep(min(wait, 1.0))
            if self._cancelled.is_set():
                return FetchFailed(url=url, reason=f"cancelled: {url}")

    def _exchange_now(
        self,
        url: str,
        deadline: float,
        cap: int,
        *,
        truncate: bool,
        headers: Mapping[str, str] | None,
    ) -> Exchange | Refused | FetchFailed:
        started = self._clock.now()
        secrets = self._credentials.get(_origin(url), {})
        secret_names = {name.lower() for name in secrets}
        try:
            request = self._client.build_request("GET", url, headers={**secrets, **(headers or {})})
            response = self._transport.handle_request(request)
            response.request = request
        except RefusedError as exc:
            return Refused(url=url, reason=str(exc))
        except httpx.InvalidURL as exc:
            return Refused(url=url, reason=f"refused: invalid URL ({exc}): {url}")
        except httpx.TimeoutException:
            return FetchFailed(url=url, reason=f"timeout after {self._settings.timeout:g}s: {url}")
        except httpx.HTTPError as exc:
            return FetchFailed(url=url, reason=f"{_describe(exc)}: {url}")
        try:
            body, truncated = self._read_body(response, deadline, cap, truncate=truncate)
            content = decode_body(
                body, response.headers.get("content-encoding", ""), cap, strict=False
            )
        except (_TooLarge, TooLarge):
            if truncate:  # the raw bytes were cut to fit: what they expand to did not
                return Refused(
                    url=url, reason=f"refused: body decodes to more than {cap} bytes: {url}"
                )
            return Refused(url=url, reason=f"refused: body larger than {cap} bytes: {url}")
        except zlib.error as exc:
            return FetchFailed(url=url, reason=f"corrupt compressed body ({exc}): {url}")
        except _Deadline:
            return FetchFailed(
                url=url, reason=f"deadline of {self._settings.deadline:g}s exceeded: {url}"
            )
        except _Cancelled:
            return FetchFailed(url=url, reason=f"cancelled: {url}")
        except httpx.TimeoutException:
            return FetchFailed(url=url, reason=f"timeout after {self._settings.timeout:g}s: {url}")
        except httpx.HTTPError as exc:
            return FetchFailed(url=url, reason=f"{_describe(exc)}: {url}")
        finally:
            response.close()
        return Exchange(
            url=url,
            request_headers=_redacted(_text_headers(request.headers.raw), secret_names),
            http_version=response.http_version or "HTTP/1.1",
            status=response.status_code,
            reason=response.reason_phrase,
            response_headers=_text_headers(response.headers.raw),
            body=body,
            content=content,
            truncated=truncated,
            started=started,
            peer_ip=_peer_ip(response),
        )

    def _host_delay(self, origin: str) -> float:
        """``per_host_delay``, or the host's robots.txt Crawl-delay (capped at
        CRAWL_DELAY_CAP) when that is longer."""
        delay = self._settings.per_host_delay
        rules = self._robots.rules.get(origin)
        if rules is not None and rules.crawl_delay:
            delay = max(delay, min(rules.crawl_delay, CRAWL_DELAY_CAP))
        return delay

    def _read_body(
        self, response: httpx.Response, deadline: float, cap: int, *, truncate: bool
    ) -> tuple[bytes, str | None]:
        """The raw body and why it was cut short (``"length"``, ``"time"``), if it was: with
        ``truncate`` a body over ``cap`` or past the deadline is kept in part, else
        _TooLarge / _Deadline is raised."""
        declared = response.headers.get("content-length", "")
        if not truncate and declared.isdigit() and int(declared) > cap:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        if response.is_stream_consumed:
            # A transport that hands over a response with its body already read (MockTransport).
            body = response.content
            if len(body) > cap and not truncate:
                raise _TooLarge
            return body[:cap], "length" if len(body) > cap else None
        for chunk in response.iter_raw():
            size += len(chunk)
            if size > cap:
                if not truncate:
                    raise _TooLarge
                chunks.append(chunk[: len(chunk) - (size - cap)])
                return b"".join(chunks), "length"
            chunks.append(chunk)
            if self._clock.monotonic() > deadline:
                if not truncate:
                    raise _Deadline
                return b"".join(chunks), "time"
            if self._cancelled.is_set():
                raise _Cancelled
        return b"".join(chunks), None


def _pause_host(fleet: FleetLedger, *, netloc: str, seconds: float) -> None:
    fleet.host_pause(netloc, seconds)


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _with_chain(result: Refused | FetchFailed, chain: list[Exchange]) -> Refused | FetchFailed:
    if isinstance(result, Refused):
        return Refused(url=result.url, reason=result.reason, chain=tuple(chain))
    return FetchFailed(url=result.url, reason=result.reason, chain=tuple(chain))


def _text_headers(raw: list[tuple[bytes, bytes]]) -> tuple[tuple[str, str], ...]:
    return tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw)


def _peer_ip(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    try:
        addr = stream.get_extra_info("server_addr")
    except (AttributeError, OSError):
        return None
    return str(addr[0]) if addr else None


def _describe(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"network error ({type(exc).__name__}: {text.splitlines()[0]})"
