"""The frontier in memory: which URL a free worker fetches next.

The catalog's ``frontier`` table is the durable copy (a URL is written there when discovery
finds it and deleted when it is finished, so a hard kill loses nothing and an in-flight fetch
is simply pending again after a restart). This module is the dispatcher over the pending rows:

* one FIFO queue per host (``host:port``), served round-robin, so one big outlet cannot starve
  the others;
* a host is handed to at most ``per_host`` workers at a time (``per_host_connections``; the
  fetcher's gate is the hard limit, the frontier avoids handing workers a host they would only
  wait for) and not before its politeness delay has passed (``ready_in``: the seconds a host
  still rests; a rest only ever ends later than it said, never sooner, so the frontier asks
  again only once the time it was told has passed);
* URLs waiting for a retry sit in a time heap until they are due;
* slow hosts (fetches averaging ``SLOW_SECONDS`` or more, silent hosts included) share at most
  ``slow_limit`` workers between them while a fast host has work queued, so a tenth of the web
  answering slowly cannot occupy the whole pool while fast hosts wait; once only slow hosts
  have work left, no poll is under way (:meth:`Frontier.discovering`: a poll may be about
  to queue fast hosts' URLs, which workers held by slow hosts would then leave waiting) and
  the catalog has no fast hosts' URLs left for this writer to claim
  (:meth:`Frontier.claimable`: the writer holds only part of the fleet's frontier), the cap
  lifts.

Thread-safe: workers block in :meth:`Frontier.take`.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from harvester.catalog import FrontierItem

__all__ = ["Frontier", "RetryPolicy"]

# How long a URL that used up its retries rests before discovery may queue it again.
GIVE_UP_REST = 86400.0
# A host whose fetches take this long on average (moving average) counts as slow.
SLOW_SECONDS = 1.0


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Transient failures are retried ``retries`` times, ``delay`` seconds after the first
    failure and four times longer after each next one; then the URL is given up on for a day."""

    retries: int = 3
    delay: float = 30.0

    def next_try(self, attempts: int, now: float) -> tuple[float, bool]:
        """(when to try again, whether this is giving up) after ``attempts`` failed tries."""
        if attempts > self.retries:
            return now + GIVE_UP_REST, True
        return now + self.delay * 4 ** (attempts - 1), False


class Frontier:
    """Pending URLs by host, handed out one host at a time (see the module docstring)."""

    def __init__(
        self,
        *,
        now: Callable[[], float],
        ready_in: Callable[[str], float],
        per_host: int = 1,
        slow_limit: int | None = None,
    ) -> None:
        self._now = now
        self._per_host = max(1, per_host)
        self._slow_limit = slow_limit
        self._seconds: dict[str, float] = {}  # host -> moving average of its fetch times
        self._slow_taken: set[str] = set()  # URLs handed out on a slow host's account
        self._ready_in = ready_in
        self._rests: dict[str, float] = {}  # host -> when (our clock) ready_in said it rests until
        self._cond = threading.Condition()
        self._queues: dict[str, deque[FrontierItem]] = {}
        self._hosts: deque[str] = deque()  # round-robin order of hosts with queued items
        self._busy: dict[str, int] = {}  # host -> items handed out and not finished
        self._later: list[tuple[float, int, FrontierItem]] = []
        self._tie = itertools.count()
        self._urls: set[str] = set()
        self._closed = False
        self._polls = 0  # polls under way (see discovering)
        self._claimable = False  # the catalog has fast hosts' URLs left to claim (claimable)
        # When the one waiter that sleeps until the soonest resting host or retry is due (the
        # timekeeper) wakes; None when no one does. The other waiters sleep until notified, so
        # a host coming off its rest wakes one worker, not all of them (a thundering herd of
        # rescans cost ~1 ms of CPU per page with 16 workers).
        self._keeper_at: float | None = None

    def add(self, items: Iterable[FrontierItem]) -> int:
        """Queue items (those already queued or in flight are ignored); returns how many."""
        added = 0
        with self._cond:
            for item in items:
                if item.url in self._urls:
                    continue
                self._urls.add(item.url)
                if item.not_before > self._now():
                    heapq.heappush(self._later, (item.not_before, next(self._tie), item))
                else:
                    self._queue(item)
                added += 1
            if added:
                self._cond.notify_all()
        return added

    @contextlib.contextmanager
    def discovering(self) -> Iterator[None]:
        """Mark a poll as under way: while any is, the slow-host cap stays on even when only
        slow hosts have work queued (the poll may be about to queue fast hosts' URLs)."""
        with self._cond:
            self._polls += 1
        try:
            yield
        finally:
            with self._cond:
                self._polls -= 1
                self._cond.notify_all()  # workers held back by the cap may go now

    @property
    def slow_limit(self) -> int | None:
        """The workers slow hosts share while fast hosts have work (None: no cap)."""
        return self._slow_limit

    def claimable(self, more: bool) -> None:
        """Tell whether the catalog holds fast hosts' URLs this writer could claim (its last
        claim got all it asked for): while it does, the slow-host cap stays on even when only
        slow hosts have work queued here."""
        with self._cond:
            was, self._claimable = self._claimable, more
            if was and not more:
                self._cond.notify_all()  # workers held back by the cap may go now

    def _queue(self, item: FrontierItem) -> None:
        queue = self._queues.get(item.host)
        if queue is None:
            queue = self._queues[item.host] = deque()
            self._hosts.append(item.host)
        queue.append(item)

    def take(self, timeout: float) -> FrontierItem | None:
        """The next item whose host is free and rested, waiting up to ``timeout`` seconds for
        one; None on timeout or once closed. The caller must :meth:`finish` or :meth:`retry`."""
        deadline = self._now() + timeout
        with self._cond:
            while not self._closed:
                now = self._now()
                while self._later and self._later[0][0] <= now:
                    self._queue(heapq.heappop(self._later)[2])
                soonest = deadline
                if self._later:
                    soonest = min(soonest, self._later[0][0])
                held_back: str | None = None  # a slow host kept waiting by the cap
                fast_waiting = False  # a fast host has queued work (busy or resting)
                for _ in range(len(self._hosts)):
                    host = self._hosts[0]
                    self._hosts.rotate(-1)
                    slow = self._is_slow(host)
                    fast_waiting = fast_waiting or not slow
                    if self._busy.get(host, 0) >= self._per_host:
                        continue
                    rest = self._rests.get(host, 0.0)
                    if rest > now:
                        soonest = min(soonest, rest)
                        continue
                    wait = self._ready_in(host)
                    if wait > 0:
                        self._rests[host] = now + wait
                        soonest = min(soonest, now + wait)
                        continue
                    limit = self._slow_limit
                    if slow and limit is not None and len(self._slow_taken) >= limit:
                        held_back = held_back or host
                        continue
                    return self._hand_out(host, slow)
                if (
                    held_back is not None
                    and not fast_waiting
                    and not self._polls
                    and not self._claimable
                ):
                    # Only slow hosts have work left, and neither a poll nor a claim may add
                    # fast ones: the cap would just idle the pool.
                    return self._hand_out(held_back, slow=True)
                if now >= deadline:
                    return None
                self._wait(now, soonest, deadline)
        return None

    def _wait(self, now: float, soonest: float, deadline: float) -> None:
        """Sleep until notified; the timekeeper (the first waiter whose ``soonest`` is earlier
        than every other's) also until ``soonest``. Called with the lock held."""
        if soonest < deadline and (self._keeper_at is None or soonest < self._keeper_at):
            self._keeper_at = soonest
            self._cond.wait(max(0.01, soonest - now))
            if self._keeper_at == soonest:
                self._keeper_at = None
        else:
            self._cond.wait(max(0.01, deadline - now))

    def observe(self, host: str, seconds: float) -> None:
        """Record how long a fetch from ``host`` took (a moving average decides slowness)."""
        with self._cond:
            previous = self._seconds.get(host)
            self._seconds[host] = seconds if previous is None else (previous + seconds) / 2

    def _is_slow(self, host: str) -> bool:
        return self._seconds.get(host, 0.0) >= SLOW_SECONDS

    def is_slow(self, host: str) -> bool:
        """Whether ``host``'s fetches average ``SLOW_SECONDS`` or more."""
        with self._cond:
            return self._is_slow(host)

    def slow_hosts(self) -> set[str]:
        """The hosts whose fetches average ``SLOW_SECONDS`` or more."""
        with self._cond:
            return {host for host, seconds in self._seconds.items() if seconds >= SLOW_SECONDS}

    def held(self) -> tuple[int, int]:
        """Items queued or in flight (not those waiting for a retry): (on fast hosts, on slow
        hosts)."""
        with self._cond:
            slow = sum(len(q) for h, q in self._queues.items() if self._is_slow(h))
            slow += sum(n for h, n in self._busy.items() if self._is_slow(h))
            queued = sum(len(q) for q in self._queues.values())
            return queued + sum(self._busy.values()) - slow, slow

    def _hand_out(self, host: str, slow: bool) -> FrontierItem:
        item = self._queues[host].popleft()
        if not self._queues[host]:
            del self._queues[host]
            self._hosts.remove(host)
            self._rests.pop(host, None)
        self._busy[host] = self._busy.get(host, 0) + 1
        if slow:
            self._slow_taken.add(item.url)
        if self._hosts:
            # Pass the baton: more hosts may be ready (several rests ending at once) and the
            # other waiters sleep until notified.
            self._cond.notify()
        return item

    def finish(self, item: FrontierItem) -> None:
        """``item`` is done (or left for a later run): its host is free again."""
        with self._cond:
            self._release(item.host)
            self._slow_taken.discard(item.url)
            self._urls.discard(item.url)
            self._cond.notify()  # one host slot freed: one worker to look

    def _release(self, host: str) -> None:
        left = self._busy.get(host, 0) - 1
        if left > 0:
            self._busy[host] = left
        else:
            self._busy.pop(host, None)

    def retry(self, item: FrontierItem) -> None:
        """Try ``item`` again once ``item.not_before`` has passed; its host is free again."""
        with self._cond:
            self._release(item.host)
            self._slow_taken.discard(item.url)
            heapq.heappush(self._later, (item.not_before, next(self._tie), item))
            self._cond.notify()

    def close(self) -> None:
        """Wake every waiting worker; :meth:`take` returns None from now on."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def counts(self) -> dict[str, int]:
        """``queued`` (ready, or resting for politeness), ``waiting`` (for a retry) and
        ``in_flight``."""
        with self._cond:
            return {
                "queued": sum(len(q) for q in self._queues.values()),
                "waiting": len(self._later),
                "in_flight": sum(self._busy.values()),
            }

    def next_retry(self) -> float | None:
        """When the earliest retry falls due (Unix time), or None."""
        with self._cond:
            return self._later[0][0] if self._later else None
