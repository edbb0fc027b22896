"""``harvester run``: keep an archive of every configured outlet current.

Three kinds of threads share one :class:`Crawler`:

* **pollers** (``POLL_THREADS``) fetch an outlet's feeds, sitemaps (sitemap indexes, Google News
  sitemaps, .xml.gz) and section pages, with conditional requests, and put the URLs the catalog
  has not seen into the frontier (the catalog table first, then the in-memory dispatcher);
* **workers** (``[fetch] workers``, default 16) take URLs from the frontier, one host per worker at
  a time (:mod:`harvester.frontier`), fetch them (network, in parallel), then archive, extract and
  place them under one archive lock (the WARC writer, the catalog's multi-step updates, the
  extraction worker and the story book are single-writer);
* APScheduler 3.x **only ticks**: each outlet has one one-shot job that hands the outlet to the
  pollers; the poll schedules the next one itself (adaptive interval with jitter after a success,
  exponential backoff after a failure), so a poll that outlives its interval never runs twice at
  once. All state (next poll, interval, failures, the frontier, ETag/Last-Modified) lives in the
  catalog; a restart rebuilds the schedule from config + catalog.

Durability: a URL leaves the frontier only after its records are fsynced and indexed; a hard kill
leaves it pending, and the next start fetches it again (its unchanged payload becomes a revisit
record, never a second response). SIGTERM/SIGINT: stop taking work, cancel fetches in flight (they
stay pending), let a page being archived finish, close the WARC file, exit 0, all within
``STOP_GRACE`` seconds.
"""

from __future__ import annotations

import logging
import queue
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from types import FrameType
from urllib.parse import urlsplit

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from harvester.catalog import FrontierItem, OutletState, Validators
from harvester.clock import Clock, SystemClock
from harvester.config import Outlet, Settings
from harvester.discover.feeds import parse_feed
from harvester.discover.sections import article_links
from harvester.discover.sitemaps import parse_sitemap
from harvester.discover.urls import normalise_url
from harvester.errors import ArchiveError, ArchiveUnavailableError, DiscoveryError
from harvester.extract.content import decode_html
from harvester.frontier import Frontier, RetryPolicy
from harvester.models import (
    Archived,
    DiscoveryContext,
    Exchange,
    Fetched,
    FetchFailed,
    FetchRequest,
    FetchResult,
    HttpError,
    NotArticle,
    Outcome,
    Refused,
)
from harvester.net.fetch import HttpFetcher
from harvester.pipeline import Harvester
from harvester.warc.records import payload_digest

__all__ = [
    "Crawler",
    "PollReport",
    "backoff_delay",
    "next_interval",
    "run_daemon",
    "stop_signals",
]

log = logging.getLogger("harvester.daemon")

# Why these bounds: a failing outlet is retried soon enough to notice a short outage, but never
# more often than every minute nor less often than every six hours.
MIN_BACKOFF = 60.0
MAX_BACKOFF = 6 * 3600.0
# Bounded work per poll: a feed that suddenly lists thousands of new URLs is drained over polls.
MAX_NEW_PER_POLL = 200
# A sitemap index can list thousands of sitemaps; news lives in the most recently changed few.
MAX_CHILD_SITEMAPS = 3
# Discovery fetches run on threads of their own so a slow feed delays only its outlet.
POLL_THREADS = 8
# A conditional request is trusted only so far: every six hours the document is fetched whole, so
# a server that answers 304 wrongly cannot hide new items for long.
FULL_REFRESH = 6 * 3600.0
# SIGTERM to exit: the whole shutdown (cancel, wait for the page being archived, close) fits.
STOP_GRACE = 8.0
# `run --once` waits for retries falling due within this long; later ones stay for the next run.
ONCE_RETRY_WAIT = 60.0
# A progress line this often on a long `--once` run.
PROGRESS_EVERY = 5.0
# While the archive cannot take writes (disk full, catalog locked), fetching pauses this long,
# doubling up to PAUSE_MAX until a page is archived again.
PAUSE_MIN = 1.0
PAUSE_MAX = 60.0
# Leases (frontier URLs, outlet polls) last this long on the catalog's clock unless renewed;
# a writer renews its own every LEASE_RENEW seconds, so a dead writer's work is taken over
# within LEASE seconds (at once on one machine: its lock file tells it died).
LEASE = 30.0
LEASE_RENEW = 10.0
# How often an idle writer asks the catalog for URLs no live writer holds, and checks for dead
# writers of this machine.
CLAIM_EVERY = 0.2
# URLs of one host taken per claim (times per_host_connections).
CLAIM_PER_HOST = 4
REAP_EVERY = 10.0
# How soon a `run --once` writer asks again about an outlet another writer is polling.
LEASE_RECHECK = 2.0
# A writer holds at most this many URLs per worker (in memory, leased), so the fleet shares.
HELD_PER_WORKER = 2
# HTTP statuses worth trying again later.
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(kw_only=True)
class PollReport:
    """What one poll of one outlet did."""

    outlet: str
    found: int = 0
    queued: int = 0
    skipped: int = 0
    not_modified: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Every source failed: nothing found, nothing unchanged."""
        return bool(self.errors) and not self.found and not self.not_modified


@dataclass
class CrawlStats:
    """Counters over one run (for the progress line and the final summary)."""

    polled: int = 0
    fetched: int = 0
    archived: int = 0
    not_articles: int = 0
    refused: int = 0
    http_errors: int = 0
    retried: int = 0
    given_up: int = 0
    started: float = field(default_factory=time.monotonic)


def backoff_delay(poll_every: float, failures: int) -> float:
    """Seconds until the next poll after ``failures`` consecutive failed polls (>= 1)."""
    base = max(MIN_BACKOFF, min(poll_every, MAX_BACKOFF))
    return float(min(MAX_BACKOFF, base * 2 ** max(0, failures - 1)))


def next_interval(current: float, bounds: tuple[float, float], report: PollReport) -> float:
    """The adaptive poll interval after a successful poll: halved when at least half of what
    the outlet lists is new (we are falling behind), grown by half when nothing is new, kept
    otherwise; always within ``bounds``."""
    low, high = bounds
    if report.found and report.queued * 2 >= report.found:
        current /= 2
    elif report.queued == 0:
        current *= 1.5
    return min(high, max(low, current))


def _host(url: str) -> str:
    return urlsplit(url).netloc.lower()


def _http_date_ok(value: str, now: datetime) -> bool:
    """A Last-Modified worth sending back: a valid HTTP date, not in the future."""
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when <= now


class Crawler:
    """Discovery, the frontier and the worker pool over one :class:`Harvester`."""

    def __init__(
        self, harvester: Harvester, *, clock: Clock, round_start: float | None = None
    ) -> None:
        """``round_start`` (``run --once``): outlets polled by any writer since then are not
        polled again in this round (the processes of one ``run --processes N --once`` share
        it)."""
        self._harvester = harvester
        self._settings = harvester.settings
        self._fetcher = harvester.fetcher
        self._catalog = harvester.store.catalog
        self._clock = clock
        # This process's writer id: the owner of its leases.
        self.owner = harvester.store.writer_id
        self.round_start = round_start
        fetch = self._settings.fetch
        self._retry = RetryPolicy(retries=fetch.retries, delay=fetch.retry_delay)
        ready_in: Callable[[str], float] = getattr(
            self._fetcher, "host_ready_in", lambda netloc: 0.0
        )
        self.frontier = Frontier(
            now=self._now,
            ready_in=ready_in,
            per_host=fetch.per_host_connections,
            # Slow and silent hosts share a quarter of the pool: fast hosts keep the rest.
            slow_limit=max(1, fetch.workers // 4),
        )
        # The archive lock: the WARC writer, extraction and the story book are single-writer.
        self._archive_lock = threading.Lock()
        self.stopping = threading.Event()
        self.fatal: list[ArchiveError] = []
        self.stats = CrawlStats()
        self.failures: dict[str, int] = {}
        self._pause_lock = threading.Lock()
        self._paused = False
        self._pause_for = PAUSE_MIN
        self._resume_at = 0.0
        self._threads: list[threading.Thread] = []
        self._polls: queue.Queue[_PollJob | None] = queue.Queue()
        self._polling = 0  # polls taken off the queue and not finished
        self._resume_frontier()

    @property
    def clock(self) -> Clock:
        """The crawler's clock."""
        return self._clock

    def outlet_states(self) -> dict[str, OutletState]:
        """The stored poll state of every outlet."""
        return self._catalog.outlet_states()

    def _now(self) -> float:
        return self._clock.now().timestamp()

    # -- the frontier -------------------------------------------------------------------------

    def _resume_frontier(self) -> None:
        """Take over the work of dead writers of this machine (their leases end at once; other
        machines' lapse after LEASE), then claim the pending URLs no live writer holds."""
        for writer in self._harvester.store.reaped:
            released = self._catalog.release_leases(writer)
            if released:
                log.info("taking over %d URL(s) from writer %s, which died", released, writer)
        claimed = self.claim()
        if claimed:
            log.info("resuming %d pending URL(s) from the frontier", claimed)

    def claim(self) -> int:
        """Lease the pending URLs no live writer holds, up to what this writer's workers can
        work soon, into the in-memory frontier; returns how many.

        Fast hosts' URLs first: while this writer holds its slow hosts' share, their URLs are
        left to the fleet (they would only wait here behind the slow-host cap, taking room
        fast hosts' URLs need). Only when the catalog has no fast work left for this writer
        are slow hosts' URLs claimed into the rest of the room, and the cap may lift."""
        fast_room, room = self._room()
        if fast_room <= 0 or self.stopping.is_set():
            return 0
        # a few per host and claim: enough to keep a host busy, little enough that every
        # writer gets a share of the hosts
        per_host = CLAIM_PER_HOST * self._settings.fetch.per_host_connections
        skip = self.frontier.slow_hosts() if fast_room > room else set()
        items = self._catalog.frontier_claim(
            self.owner,
            now=self._now(),
            limit=fast_room,
            per_host=per_host,
            lease=LEASE,
            skip_hosts=skip,
        )
        more = len(items) >= fast_room
        if skip and not more and room - len(items) > 0:
            items += self._catalog.frontier_claim(
                self.owner, now=self._now(), limit=room - len(items), per_host=per_host, lease=LEASE
            )
        self.frontier.claimable(more)
        return self.frontier.add(items)

    def _lease_loop(self) -> None:
        """Renew this writer's leases, claim work no live writer holds, release dead
        writers' leases (on this machine, by their lock files), give back the fleet's host
        slots the fetcher kept for hosts it no longer works."""
        last_renew = last_reap = time.monotonic()
        release_idle: Callable[[], None] = getattr(self._fetcher, "release_idle", lambda: None)
        if isinstance(self._fetcher, HttpFetcher):
            self._fetcher.keep_fleet_slots = True  # this loop gives the idle ones back
        while not self.stopping.wait(CLAIM_EVERY):
            try:
                release_idle()
                now = time.monotonic()
                if now - last_renew >= LEASE_RENEW:
                    last_renew = now
                    self._catalog.frontier_renew(self.owner, LEASE)
                if now - last_reap >= REAP_EVERY:
                    last_reap = now
                    for writer in self._harvester.store.reap_dead_writers():
                        released = self._catalog.release_leases(writer)
                        log.warning(
                            "writer %s died: its files were repaired, %d URL(s) taken over",
                            writer,
                            released,
                        )
                self.claim()
            except ArchiveError as exc:
                # The catalog is away (the workers pause on their own); leases wait for it.
                log.debug("lease upkeep failed: %s", exc)
            except Exception:
                log.exception("lease upkeep failed")

    def queue_urls(self, outlet: str | None, items: dict[str, DiscoveryContext]) -> list[str]:
        """Put the URLs neither captured nor queued yet into the frontier (catalog first);
        returns the URLs queued (at most MAX_NEW_PER_POLL)."""
        urls = list(items)
        if self.stopping.is_set():
            return []
        # The frontier first, then the captures: a worker indexes a capture before it strikes
        # the URL off the frontier, so a URL finishing meanwhile is found by one of the two
        # (no archive lock needed: polls never wait for a page being archived).
        now = self._now()
        known = self._catalog.frontier_known(urls, now)
        seen = known | self._catalog.captured([u for u in urls if u not in known])
        new = [u for u in urls if u not in seen][:MAX_NEW_PER_POLL]
        found = [
            FrontierItem(
                url=u,
                host=_host(u),
                outlet=outlet,
                discovery=items[u].to_json(),
                added=now,
                not_before=now,
            )
            for u in new
        ]
        # This writer keeps what its workers can work soon; the rest is left unleased for any
        # writer of the fleet with room (this one included) to claim.
        fast_room, room = self._room()
        keep: list[FrontierItem] = []
        rest: list[FrontierItem] = []
        for item in found:
            if (room if self.frontier.is_slow(item.host) else fast_room) > len(keep):
                keep.append(item)
            else:
                rest.append(item)
        kept = self._catalog.frontier_add(keep, owner=self.owner, lease=LEASE)
        left = self._catalog.frontier_add(rest)
        self.frontier.add(kept)
        return [i.url for i in (*kept, *left)]

    def _room(self) -> tuple[int, int]:
        """How many more URLs this writer's workers can work soon (HELD_PER_WORKER each):
        (for fast hosts' URLs, for any). Slow hosts' URLs beyond the slow hosts' share of the
        pool (HELD_PER_WORKER per worker of it) take no room from fast hosts."""
        fast, slow = self.frontier.held()
        limit = HELD_PER_WORKER * self._settings.fetch.workers
        cap = self.frontier.slow_limit
        slow_share = limit if cap is None else HELD_PER_WORKER * cap
        return limit - fast - min(slow, slow_share), limit - fast - slow

    # -- workers ------------------------------------------------------------------------------

    def start(self, workers: int) -> None:
        """Start the worker and poller threads (daemon threads: a hung connect cannot hold up
        the process exit; its URL simply stays pending)."""
        for n in range(workers):
            self._spawn(self._work, f"harvester-worker-{n}")
        for n in range(POLL_THREADS):
            self._spawn(self._poll_loop, f"harvester-poll-{n}")
        self._spawn(self._lease_loop, "harvester-leases")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _work(self) -> None:
        while not self.stopping.is_set():
            wait = self._resume_at - time.monotonic()
            if wait > 0:
                self.stopping.wait(min(wait, 0.5))
                continue
            item = self.frontier.take(timeout=0.5)
            if item is None:
                continue
            try:
                self._fetch_one(item)
            except ArchiveUnavailableError as exc:
                # Disk full or catalog locked: nothing of this page was kept (the WARC batch
                # was cut back out); pause every worker, then try the same URL again.
                self._pause(exc)
                self.frontier.retry(replace(item, not_before=self._now() + self._pause_for))
            except ArchiveError as exc:
                # The archive cannot take more work: stop; the URL stays pending.
                self.fatal.append(exc)
                self.stop()
                self.frontier.finish(item)
            except Exception:
                # A bug on one page must not kill the worker: log it and give the URL a retry.
                log.exception("%s: harvest failed", item.url)
                self._settle(item, retry_reason="internal error (see log)")

    def _pause(self, exc: ArchiveUnavailableError) -> None:
        """Pause all fetching for a while (doubling up to PAUSE_MAX while the archive stays
        unavailable)."""
        with self._pause_lock:
            if time.monotonic() < self._resume_at:
                return  # another worker already paused for the same cause
            self._pause_for = min(PAUSE_MAX, self._pause_for * 2) if self._paused else PAUSE_MIN
            self._paused = True
            self._resume_at = time.monotonic() + self._pause_for
        log.error("archive unavailable: %s; fetching paused for %.0fs", exc, self._pause_for)

    def _resumed(self) -> None:
        if self._paused:
            with self._pause_lock:
                self._paused = False
                self._pause_for = PAUSE_MIN
            log.warning("archive writable again: fetching resumed")

    def _fetch_one(self, item: FrontierItem) -> None:
        if self._catalog.article(item.url) is not None:
            # Archived before, but struck off the frontier only now (a write that failed
            # after the article was safe): never fetch a finished article again.
            self._settle(item, retry_reason=None)
            return
        request = FetchRequest(
            url=item.url,
            outlet=item.outlet,
            discovery=DiscoveryContext.from_json(item.discovery) if item.discovery else None,
        )
        started = time.monotonic()
        result = self._fetcher.fetch(item.url)
        self.frontier.observe(item.host, time.monotonic() - started)
        with self._archive_lock:
            if self.stopping.is_set():
                # Stopping: nothing of this fetch is written; the URL stays pending.
                self.frontier.finish(item)
                return
            self.stats.fetched += 1
            outcome = self._harvester.process(request, result)
            self._resumed()
            self._log_outcome(item, outcome)
            self._settle(item, retry_reason=_transient(outcome))
            if isinstance(outcome, Archived):
                self._follow(outcome)

    def _settle(self, item: FrontierItem, *, retry_reason: str | None) -> None:
        """Strike ``item`` off the frontier, or schedule its retry (or give up on it)."""
        if retry_reason is None:
            self._catalog.frontier_done(item.url)
            self.frontier.finish(item)
            return
        attempts = item.attempts + 1
        when, give_up = self._retry.next_try(attempts, self._now())
        self._catalog.frontier_retry(
            item.url, not_before=when, attempts=attempts, error=retry_reason, failed=give_up
        )
        if give_up:
            self.stats.given_up += 1
            log.warning("giving up on %s after %d tries: %s", item.url, attempts, retry_reason)
            self.frontier.finish(item)
            return
        self.stats.retried += 1
        log.info("will retry %s in %.0fs: %s", item.url, when - self._now(), retry_reason)
        self.frontier.retry(replace(item, not_before=when, attempts=attempts))

    def _follow(self, outcome: Archived) -> None:
        """With ``[dedup] follow_attribution``, queue an attributed original we have not seen."""
        original = outcome.record.original
        if not (self._settings.dedup.follow_attribution and original and original.url):
            return
        if original.seen or self._catalog.captured([original.url]):
            return
        now = self._now()
        queued = self._catalog.frontier_add(
            [FrontierItem(url=original.url, host=_host(original.url), added=now, not_before=now)],
            owner=self.owner,
            lease=LEASE,
        )
        self.frontier.add(queued)

    def _log_outcome(self, item: FrontierItem, outcome: Outcome) -> None:
        name = item.outlet or "-"
        if isinstance(outcome, Archived):
            self.stats.archived += 1
            log.info("%s: archived %s", name, outcome.record.final_url)
        elif isinstance(outcome, NotArticle):
            self.stats.not_articles += 1
            log.info("%s: not an article (%s): %s", name, outcome.reason, outcome.url)
        elif isinstance(outcome, HttpError):
            self.stats.http_errors += 1
            log.warning("%s: HTTP %s: %s", name, outcome.status, outcome.url)
        elif isinstance(outcome, Refused):
            self.stats.refused += 1
            log.warning("%s: %s", name, outcome.reason)
        else:
            log.warning("%s: %s", name, outcome.reason)

    # -- polling ------------------------------------------------------------------------------

    def submit_poll(
        self,
        outlet: Outlet,
        done: Callable[[PollReport], None],
        skipped: Callable[[Outlet], None] | None = None,
    ) -> None:
        """Poll ``outlet`` on a poller thread, then call ``done(report)`` there; when another
        writer holds its poll (or polled it already: not due, or in this round), call
        ``skipped(outlet)`` instead."""
        self._polls.put(_PollJob(outlet=outlet, done=done, skipped=skipped))

    def _poll_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                job = self._polls.get(timeout=0.5)
            except queue.Empty:
                continue
            if job is None:
                return
            with self._pause_lock:
                self._polling += 1
            try:
                self._run_poll(job)
            finally:
                with self._pause_lock:
                    self._polling -= 1

    def _run_poll(self, job: _PollJob) -> None:
        outlet, done = job.outlet, job.done
        try:
            claimed = self._catalog.poll_claim(
                outlet.name,
                self.owner,
                due_by=self._now(),
                lease=LEASE,
                round_start=self.round_start,
            )
            if not claimed:
                log.debug("%s: polled or being polled by another writer", outlet.name)
                if job.skipped is not None and not self.stopping.is_set():
                    job.skipped(outlet)
                return
            report = self.poll(outlet)
        except ArchiveUnavailableError as exc:
            # Counted as a failed poll: the outlet backs off and is polled again later.
            report = PollReport(outlet=outlet.name, errors=[f"archive unavailable: {exc}"])
            self.failures[outlet.name] = self.failures.get(outlet.name, 0) + 1
        except ArchiveError as exc:
            self.fatal.append(exc)
            self.stop()
            return
        except Exception:
            # A bug in one poll must not kill the daemon: log it, count it as a failure.
            log.exception("%s: poll failed", outlet.name)
            report = PollReport(outlet=outlet.name, errors=["internal error (see log)"])
            self.failures[outlet.name] = self.failures.get(outlet.name, 0) + 1
        if not self.stopping.is_set():
            done(report)

    def poll(self, outlet: Outlet) -> PollReport:
        """Fetch the outlet's feeds, sitemaps and section pages once and queue new URLs.

        Raises ArchiveError only; every discovery failure is a line in the report.
        """
        with self.frontier.discovering():
            return self._poll(outlet)

    def _poll(self, outlet: Outlet) -> PollReport:
        report = PollReport(outlet=outlet.name)
        items: dict[str, DiscoveryContext] = {}
        sources: tuple[tuple[str, str, Callable[[Outlet, str], list[_Found] | None]], ...] = (
            *(("feed", u, self._feed_items) for u in outlet.feeds),
            *(("sitemap", u, self._sitemap_items) for u in outlet.sitemaps),
            *(("section", u, self._section_items) for u in outlet.sections),
        )
        for kind, source_url, discover in sources:
            if self.stopping.is_set():
                break
            try:
                found = discover(outlet, source_url)
            except DiscoveryError as exc:
                report.errors.append(f"{kind} {source_url}: {exc}")
                continue
            if found is None:
                report.not_modified += 1
                continue
            for url, context in found:
                items.setdefault(normalise_url(url), context)
        report.found = len(items)
        queued = self.queue_urls(outlet.name, items)
        report.queued = len(queued)
        report.skipped = report.found - report.queued
        self.stats.polled += 1
        failed = report.failed
        self.failures[outlet.name] = self.failures.get(outlet.name, 0) + 1 if failed else 0
        return report

    def _get(self, url: str, *, conditional: bool = True) -> Exchange | None:
        """The final response for a discovery URL, or None when it is unchanged since the
        last poll (a 304 to our conditional request). Raises DiscoveryError."""
        stored = self._catalog.validators(url) if conditional else None
        now = self._clock.now()
        headers: dict[str, str] = {}
        if stored is not None and now.timestamp() - stored.full_fetch < FULL_REFRESH:
            if stored.etag:
                headers["If-None-Match"] = stored.etag
            if stored.last_modified and _http_date_ok(stored.last_modified, now):
                headers["If-Modified-Since"] = stored.last_modified
        result = self._fetcher.fetch(url, headers=headers)
        if isinstance(result, Refused | FetchFailed):
            raise DiscoveryError(result.reason)
        assert isinstance(result, Fetched)
        final = result.final
        if final.status == 304 and headers:
            return None
        if final.status != 200:
            raise DiscoveryError(f"HTTP {final.status} {final.reason}".strip())
        if conditional:
            self._catalog.save_validators(
                Validators(
                    url=url,
                    etag=final.header("etag"),
                    last_modified=final.header("last-modified"),
                    digest=payload_digest(final.content),
                    full_fetch=now.timestamp()
                    if not headers or stored is None
                    else stored.full_fetch,
                )
            )
        return final

    def _feed_items(self, outlet: Outlet, feed_url: str) -> list[_Found] | None:
        final = self._get(feed_url)
        if final is None:
            return None
        return [
            (
                item.url,
                DiscoveryContext(
                    via=feed_url,
                    title=item.title,
                    published=item.published,
                    source_name=item.source_name,
                    source_url=item.source_url,
                ),
            )
            for item in parse_feed(final.content, feed_url=final.url)
        ]

    def _sitemap_items(self, outlet: Outlet, sitemap_url: str) -> list[_Found] | None:
        # The configured sitemap is fetched whole (a 304 for an index would hide which children
        # changed); its child sitemaps, where the bulk lies, are fetched conditionally.
        final = self._get(sitemap_url, conditional=False)
        assert final is not None
        sitemap = parse_sitemap(final.content, sitemap_url=final.url)
        entries = list(sitemap.entries)
        # An index lists child sitemaps; the newest few hold the news (bounded work per poll).
        children = sorted(
            sitemap.sitemaps, key=lambda s: s.lastmod or datetime.min.replace(tzinfo=UTC)
        )[-MAX_CHILD_SITEMAPS:]
        for child in reversed(children):
            child_final = self._get(child.url)
            if child_final is None:
                continue  # unchanged since the last poll
            entries.extend(parse_sitemap(child_final.content, sitemap_url=child_final.url).entries)
        return [
            (
                entry.url,
                DiscoveryContext(
                    via=sitemap_url,
                    title=entry.news_title,
                    published=entry.news_published or entry.lastmod,
                    source_name=entry.publication_name,
                ),
            )
            for entry in entries
        ]

    def _section_items(self, outlet: Outlet, section_url: str) -> list[_Found] | None:
        final = self._get(section_url)
        if final is None:
            return None
        html = decode_html(final.content, final.header("content-type"))
        links = article_links(
            html,
            page_url=final.url,
            include=outlet.section_include,
            exclude=outlet.section_exclude,
        )
        return [(link.url, DiscoveryContext(via=section_url, title=link.text)) for link in links]

    def remember(self, outlet: Outlet, report: PollReport, next_in: float, interval: float) -> None:
        """Store the poll's outcome and when the outlet is next due."""
        now = self._clock.now()
        self._catalog.save_outlet_state(
            OutletState(
                outlet=report.outlet,
                last_poll=now.isoformat(timespec="seconds"),
                next_poll=now.timestamp() + next_in,
                failures=self.failures.get(report.outlet, 0),
                last_error=report.errors[0] if report.errors else None,
                found=report.found,
                archived=report.queued,
                interval=interval,
            )
        )

    def schedule_after(self, outlet: Outlet, report: PollReport) -> float:
        """Decide when ``outlet`` is polled next, remember it, and return the delay."""
        failures = self.failures.get(outlet.name, 0)
        stored = self._catalog.outlet_states().get(outlet.name)
        interval = stored.interval if stored and stored.interval else outlet.poll_every
        if failures:
            delay = backoff_delay(outlet.poll_every, failures)
        else:
            interval = next_interval(interval, outlet.interval_bounds, report)
            # Jitter (up to 10%) spreads outlets that share an interval over time.
            delay = interval * (1 + random.uniform(0, 0.1))
        _log_report(report, delay)
        self.remember(outlet, report, delay, interval)
        return delay

    # -- stopping -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop taking work and cancel fetches in flight (their URLs stay pending)."""
        self.stopping.set()
        cancel = getattr(self._fetcher, "cancel", None)
        if callable(cancel):
            cancel()
        self.frontier.close()
        for _ in range(POLL_THREADS):
            self._polls.put(None)  # wake idle pollers now, not at their next timeout

    def join(self, timeout: float) -> None:
        """Wait (bounded) for the threads, then for the page being archived, if any."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._archive_lock.acquire(timeout=max(0.1, deadline - time.monotonic())):
            self._archive_lock.release()
        else:
            log.warning("stopping while a page is still being archived")

    @contextmanager
    def idle(self) -> Iterator[None]:
        """Hold the archive lock (no page is being archived) -- for closing the store."""
        with self._archive_lock:
            yield

    def drained(self, horizon: float) -> bool:
        """True when nothing is queued or in flight here and no retry falls due within
        ``horizon`` seconds, no poll is waiting or running, and no other writer of the fleet
        has such work (``run --once`` ends when the whole fleet is done)."""
        counts = self.frontier.counts()
        if counts["queued"] or counts["in_flight"] or not self._polls.empty() or self._polling:
            return False
        due = self.frontier.next_retry()
        if due is not None and due <= self._now() + horizon:
            return False
        fleet = self._catalog.fleet_due(
            outlets=[o.name for o in self._settings.outlets],
            round_start=self.round_start if self.round_start is not None else 0.0,
            horizon=self._now() + horizon,
            owner=self.owner,
        )
        return fleet.idle

    def round_left(self, outlet: str) -> bool:
        """Whether ``outlet`` is still to be polled in this round (not polled since its start,
        or being polled by a live lease)."""
        left = self._catalog.fleet_due(
            outlets=[outlet],
            round_start=self.round_start if self.round_start is not None else 0.0,
            horizon=0.0,
            owner=self.owner,
        )
        return left.outlets_left > 0

    def release(self) -> None:
        """Give back every lease this writer holds (it is stopping): other writers take its
        pending URLs at once instead of after LEASE seconds."""
        try:
            released = self._catalog.release_leases(self.owner)
        except ArchiveError as exc:
            log.warning(
                "could not release this writer's leases (they lapse in %.0fs): %s", LEASE, exc
            )
            return
        if released:
            log.info("released %d pending URL(s) for other writers", released)

    def progress_line(self, polls_done: int, polls_total: int) -> str:
        """One line of progress for long runs."""
        s, counts = self.stats, self.frontier.counts()
        elapsed = max(1e-6, time.monotonic() - s.started)
        return (
            f"progress: {polls_done}/{polls_total} outlets polled, {s.fetched} fetched "
            f"({s.fetched / elapsed:.1f}/s), {s.archived} archived, {counts['queued']} queued, "
            f"{counts['in_flight']} in flight, {counts['waiting']} waiting to retry, "
            f"{s.given_up} given up"
        )


_Found = tuple[str, DiscoveryContext]


@dataclass(frozen=True, kw_only=True)
class _PollJob:
    outlet: Outlet
    done: Callable[[PollReport], None]
    skipped: Callable[[Outlet], None] | None = None


def _transient(outcome: FetchResult | Outcome) -> str | None:
    """Why ``outcome`` is worth retrying later, or None when the URL is finished."""
    if isinstance(outcome, HttpError) and outcome.status in TRANSIENT_STATUSES:
        return f"HTTP {outcome.status}"
    if isinstance(outcome, FetchFailed):
        reason = outcome.reason
        if reason.startswith(("redirect loop", "more than")):
            return None
        return reason
    return None


def _log_unsupported(settings: Settings) -> None:
    for outlet in settings.outlets:
        if not (outlet.feeds or outlet.sitemaps or outlet.sections):
            log.warning(
                "%s: no feeds, sitemaps or sections configured: nothing to poll", outlet.name
            )


def _log_report(report: PollReport, next_in: float | None = None) -> None:
    when = f"; next poll in {next_in:.0f}s" if next_in is not None else ""
    for error in report.errors:
        log.error("%s: %s%s", report.outlet, error, when)
    unchanged = f", {report.not_modified} unchanged (304)" if report.not_modified else ""
    log.info(
        "%s: polled: %d items, %d new queued, %d already seen%s%s",
        report.outlet,
        report.found,
        report.queued,
        report.skipped,
        unchanged,
        when,
    )


@contextmanager
def stop_signals(on_signal: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """SIGTERM/SIGINT handlers for the main thread (not installable from other threads)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_daemon(
    settings: Settings,
    *,
    once: bool,
    clock: Clock | None = None,
    round_start: float | None = None,
    stop_requested: threading.Event | None = None,
) -> int:
    """Run until SIGTERM/SIGINT (or, with ``once``, until every outlet was polled once, by this
    writer or another, and the fleet's frontier is drained). Returns the exit code: 0, or 4
    when ``once`` and every outlet this writer polled failed. Raises ArchiveError when the
    archive cannot be written.

    Any number of these may run on one archive (processes of one machine, machines sharing a
    PostgreSQL catalog): they divide outlet polls and frontier URLs between them with leases.
    ``round_start`` (``once``): the start of the fleet's round (default: now).
    ``stop_requested``: set by a signal that came while starting up (stop at once).
    """
    clock = clock or SystemClock()
    _log_unsupported(settings)
    if once and round_start is None:
        round_start = clock.now().timestamp()
    with Harvester(settings, clock=clock) as harvester:
        crawler = Crawler(harvester, clock=clock, round_start=round_start if once else None)

        def on_signal(signum: int, frame: FrameType | None) -> None:
            log.info(
                "received %s: stopping (fetches in flight stay queued for the next run)",
                signal.Signals(signum).name,
            )
            crawler.stop()

        with stop_signals(on_signal):
            if stop_requested is not None and stop_requested.is_set():
                log.info("stop requested while starting: stopping")
                crawler.stop()
            crawler.start(settings.fetch.workers)
            try:
                code = _run_once(settings, crawler) if once else _run_scheduled(settings, crawler)
            finally:
                crawler.stop()
                crawler.join(STOP_GRACE)
                with crawler.idle():
                    crawler.release()
                    harvester.close()  # (closing twice is safe: the with block closes again)
    if crawler.fatal:
        raise crawler.fatal[0]
    log.info("daemon stopped")
    return code


def _run_once(settings: Settings, crawler: Crawler) -> int:
    reports: list[PollReport] = []
    lock = threading.Lock()

    def done(outlet: Outlet) -> Callable[[PollReport], None]:
        def record(report: PollReport) -> None:
            _log_report(report)
            crawler.remember(outlet, report, outlet.poll_every, outlet.poll_every)
            with lock:
                reports.append(report)

        return record

    others: list[str] = []

    def elsewhere(outlet: Outlet) -> None:
        # Polled in this round by another writer: done. Being polled by one (its lease is
        # live): ask again shortly, since that writer may die before it finishes.
        try:
            left = crawler.round_left(outlet.name)
        except ArchiveError:
            left = True
        if not left:
            with lock:
                others.append(outlet.name)
        elif not crawler.stopping.is_set():
            timer = threading.Timer(
                LEASE_RECHECK, crawler.submit_poll, args=(outlet, done(outlet), elsewhere)
            )
            timer.daemon = True
            timer.start()

    for outlet in settings.outlets:
        crawler.submit_poll(outlet, done(outlet), elsewhere)
    total = len(settings.outlets)
    last_progress = time.monotonic()
    while not crawler.stopping.wait(0.1):
        with lock:
            polled = len(reports) + len(others)
        try:
            if polled == total and crawler.drained(ONCE_RETRY_WAIT):
                break
        except ArchiveUnavailableError as exc:
            log.warning("cannot tell whether the fleet is done (will ask again): %s", exc)
        if time.monotonic() - last_progress >= PROGRESS_EVERY:
            last_progress = time.monotonic()
            log.info("%s", crawler.progress_line(polled, total))
    waiting = crawler.frontier.counts()["waiting"]
    if waiting:
        log.info("%d URL(s) wait for a retry; they stay queued for the next run", waiting)
    s = crawler.stats
    if others:
        log.info("%d outlet(s) were polled by other writers in this round", len(others))
    log.info(
        "run finished: %d outlets polled, %d fetched, %d archived, %d not articles, "
        "%d refused, %d HTTP errors, %d retries, %d given up",
        len(reports),
        s.fetched,
        s.archived,
        s.not_articles,
        s.refused,
        s.http_errors,
        s.retried,
        s.given_up,
    )
    all_failed = bool(reports) and all(r.failed for r in reports)
    return 4 if all_failed else 0


def _run_scheduled(settings: Settings, crawler: Crawler) -> int:
    clock = crawler.clock
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone="UTC",
    )

    def schedule(outlet: Outlet, delay: float) -> None:
        scheduler.add_job(
            crawler.submit_poll,
            "date",
            run_date=clock.now() + timedelta(seconds=delay),
            args=[outlet, after(outlet), elsewhere],
            id=outlet.name,
            replace_existing=True,
        )

    def elsewhere(outlet: Outlet) -> None:
        # Another writer polled it (or is polling it): look again when the catalog says it is
        # due, or after the other's lease could have lapsed.
        if crawler.stopping.is_set():
            return
        try:
            stored = crawler.outlet_states().get(outlet.name)
        except ArchiveError:
            stored = None
        due_in = stored.next_poll - clock.now().timestamp() if stored else 0.0
        schedule(outlet, max(due_in, LEASE_RENEW))

    def after(outlet: Outlet) -> Callable[[PollReport], None]:
        def reschedule(report: PollReport) -> None:
            if not crawler.stopping.is_set():
                schedule(outlet, crawler.schedule_after(outlet, report))

        return reschedule

    now = clock.now().timestamp()
    due = {name: state.next_poll for name, state in crawler.outlet_states().items()}
    scheduler.start()
    try:
        for outlet in settings.outlets:
            # Resume the schedule the catalog remembers; never-polled outlets go now.
            schedule(outlet, max(0.0, due.get(outlet.name, now) - now))
        log.info(
            "daemon started: %d outlets, %d workers, archive %s",
            len(settings.outlets),
            settings.fetch.workers,
            settings.archive.dir,
        )
        while not crawler.stopping.wait(1.0):
            pass
    finally:
        scheduler.shutdown(wait=False)
    return 0
