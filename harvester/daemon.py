"""``harvester run``: poll every configured outlet's feeds, sitemaps (sitemap indexes, Google News
sitemaps, .xml.gz) and section pages, and harvest the new articles.

APScheduler 3.x only ticks: every poll schedules the outlet's next poll itself (a one-shot job),
``poll_every`` with a little jitter after a success, exponential backoff after a failure. Jobs run
one at a time on one worker thread, so the archive store needs no locking of its own.

What this daemon does not do yet (issue 5): a persisted frontier and poll state (a restart polls
every outlet at once and skips URLs the catalog already holds), a worker pool, adaptive
intervals, per-outlet section URL patterns, conditional requests (ETag / Last-Modified).
"""

from __future__ import annotations

import logging
import random
import signal
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from harvester.catalog import OutletState
from harvester.clock import Clock, SystemClock
from harvester.config import Outlet, Settings
from harvester.discover.feeds import parse_feed
from harvester.discover.sections import article_links
from harvester.discover.sitemaps import parse_sitemap
from harvester.errors import ArchiveError, DiscoveryError
from harvester.extract.content import decode_html
from harvester.models import (
    Archived,
    DiscoveryContext,
    Exchange,
    Fetched,
    FetchFailed,
    FetchRequest,
    HttpError,
    NotArticle,
    Refused,
)
from harvester.pipeline import Harvester

__all__ = ["OutletPoller", "PollReport", "run_daemon"]

log = logging.getLogger("harvester.daemon")

# Why these bounds: a failing outlet is retried soon enough to notice a short outage, but never
# more often than every minute nor less often than every six hours.
MIN_BACKOFF = 60.0
MAX_BACKOFF = 6 * 3600.0
# Bounded work per poll: a feed that suddenly lists thousands of new URLs is drained over polls.
MAX_NEW_PER_POLL = 200
# A sitemap index can list thousands of sitemaps; news lives in the most recently changed few.
MAX_CHILD_SITEMAPS = 3


@dataclass(kw_only=True)
class PollReport:
    """What one poll of one outlet did."""

    outlet: str
    found: int = 0
    archived: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def backoff_delay(poll_every: float, failures: int) -> float:
    """Seconds until the next poll after ``failures`` consecutive failed polls (>= 1)."""
    base = max(MIN_BACKOFF, min(poll_every, MAX_BACKOFF))
    return float(min(MAX_BACKOFF, base * 2 ** max(0, failures - 1)))


class OutletPoller:
    """Polls outlets' feeds and harvests the articles the catalog does not hold yet."""

    def __init__(self, harvester: Harvester) -> None:
        self._harvester = harvester
        self._fetcher = harvester.fetcher
        self._catalog = harvester.store.catalog
        self.failures: dict[str, int] = {}

    def poll(self, outlet: Outlet) -> PollReport:
        """Fetch the outlet's feeds, sitemaps and section pages once and harvest new items.

        Raises ArchiveError only; every discovery failure is a line in the report.
        """
        report = PollReport(outlet=outlet.name)
        items: dict[str, DiscoveryContext] = {}
        sources = (
            *(("feed", u, self._feed_items) for u in outlet.feeds),
            *(("sitemap", u, self._sitemap_items) for u in outlet.sitemaps),
            *(("section", u, self._section_items) for u in outlet.sections),
        )
        for kind, source_url, discover in sources:
            try:
                for url, context in discover(source_url):
                    items.setdefault(url, context)
            except DiscoveryError as exc:
                report.errors.append(f"{kind} {source_url}: {exc}")
        report.found = len(items)
        new = [u for u in items if self._catalog.latest_capture(u) is None]
        report.skipped = len(items) - len(new)
        for url in new[:MAX_NEW_PER_POLL]:
            self._harvest(outlet, url, items[url], report)
        failed = bool(report.errors) and report.archived == 0 and not new
        self.failures[outlet.name] = self.failures.get(outlet.name, 0) + 1 if failed else 0
        return report

    def remember(self, report: PollReport, clock: Clock, next_in: float) -> None:
        """Store the poll's outcome and when the outlet is next due (``harvester status``,
        and the schedule a restarted daemon resumes)."""
        now = clock.now()
        self._catalog.save_outlet_state(
            OutletState(
                outlet=report.outlet,
                last_poll=now.isoformat(timespec="seconds"),
                next_poll=now.timestamp() + next_in,
                failures=self.failures.get(report.outlet, 0),
                last_error=report.errors[0] if report.errors else None,
                found=report.found,
                archived=report.archived,
            )
        )

    def states(self) -> dict[str, OutletState]:
        """The stored poll state of every outlet."""
        return self._catalog.outlet_states()

    def _get(self, url: str) -> Exchange:
        """The final response for a discovery URL (feed, sitemap, section); DiscoveryError."""
        result = self._fetcher.fetch(url)
        if isinstance(result, Refused | FetchFailed):
            raise DiscoveryError(result.reason)
        assert isinstance(result, Fetched)
        final = result.final
        if final.status != 200:
            raise DiscoveryError(f"HTTP {final.status} {final.reason}".strip())
        return final

    def _feed_items(self, feed_url: str) -> list[tuple[str, DiscoveryContext]]:
        final = self._get(feed_url)
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

    def _sitemap_items(self, sitemap_url: str) -> list[tuple[str, DiscoveryContext]]:
        final = self._get(sitemap_url)
        sitemap = parse_sitemap(final.content, sitemap_url=final.url)
        entries = list(sitemap.entries)
        # An index lists child sitemaps; the newest few hold the news (bounded work per poll).
        children = sorted(
            sitemap.sitemaps, key=lambda s: s.lastmod or datetime.min.replace(tzinfo=UTC)
        )[-MAX_CHILD_SITEMAPS:]
        for child in reversed(children):
            child_final = self._get(child.url)
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

    def _section_items(self, section_url: str) -> list[tuple[str, DiscoveryContext]]:
        final = self._get(section_url)
        html = decode_html(final.content, final.header("content-type"))
        return [
            (link.url, DiscoveryContext(via=section_url, title=link.text))
            for link in article_links(html, page_url=final.url)
        ]

    def _harvest(
        self, outlet: Outlet, url: str, context: DiscoveryContext, report: PollReport
    ) -> None:
        request = FetchRequest(url=url, outlet=outlet.name, discovery=context)
        outcome = self._harvester.harvest(request)
        if isinstance(outcome, Archived):
            report.archived += 1
            log.info("%s: archived %s", outlet.name, outcome.record.final_url)
        elif isinstance(outcome, NotArticle):
            log.info("%s: not an article (%s): %s", outlet.name, outcome.reason, outcome.url)
        elif isinstance(outcome, HttpError):
            log.warning("%s: HTTP %s: %s", outlet.name, outcome.status, outcome.url)
        else:
            log.warning("%s: %s", outlet.name, outcome.reason)


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
    log.info(
        "%s: polled: %d items, %d new archived, %d already seen%s",
        report.outlet,
        report.found,
        report.archived,
        report.skipped,
        when,
    )


def run_daemon(settings: Settings, *, once: bool, clock: Clock | None = None) -> int:
    """Run until SIGTERM/SIGINT (or, with ``once``, after one poll of every outlet).

    Returns the exit code: 0, or 4 when ``once`` and every outlet failed.
    """
    clock = clock or SystemClock()
    _log_unsupported(settings)
    with Harvester(settings, clock=clock) as harvester:
        poller = OutletPoller(harvester)
        if once:
            reports = []
            for index, outlet in enumerate(settings.outlets, 1):
                log.info("[%d/%d] polling %s", index, len(settings.outlets), outlet.name)
                reports.append(poller.poll(outlet))
                _log_report(reports[-1])
                poller.remember(reports[-1], clock, outlet.poll_every)
            all_failed = all(r.errors and not r.archived and not r.found for r in reports)
            return 4 if reports and all_failed else 0
        return _run_scheduled(settings, poller, clock)


def _run_scheduled(settings: Settings, poller: OutletPoller, clock: Clock) -> int:
    stop = threading.Event()
    fatal: list[ArchiveError] = []
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone="UTC",
    )

    def schedule(outlet: Outlet, delay: float) -> None:
        scheduler.add_job(
            job,
            "date",
            run_date=clock.now() + timedelta(seconds=delay),
            args=[outlet],
            id=outlet.name,
            replace_existing=True,
        )

    def job(outlet: Outlet) -> None:
        if stop.is_set():
            return
        try:
            report = poller.poll(outlet)
        except ArchiveError as exc:
            # The archive cannot take more work: stop cleanly and report it as the exit status.
            fatal.append(exc)
            stop.set()
            return
        except Exception:
            # A bug in one poll must not kill the daemon: log it, back off, carry on.
            log.exception("%s: poll failed", outlet.name)
            poller.failures[outlet.name] = poller.failures.get(outlet.name, 0) + 1
            schedule(outlet, backoff_delay(outlet.poll_every, poller.failures[outlet.name]))
            return
        failures = poller.failures.get(outlet.name, 0)
        if failures:
            delay = backoff_delay(outlet.poll_every, failures)
        else:
            # Jitter (up to 10%) spreads outlets that share a poll_every over time.
            delay = outlet.poll_every * (1 + random.uniform(0, 0.1))
        _log_report(report, delay)
        poller.remember(report, clock, delay)
        schedule(outlet, delay)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info(
            "received %s: finishing the current poll, then stopping", signal.Signals(signum).name
        )
        stop.set()

    now = clock.now().timestamp()
    due = {name: state.next_poll for name, state in poller.states().items()}
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        scheduler.start()
        for outlet in settings.outlets:
            # Resume the schedule the catalog remembers; never-polled outlets go now.
            schedule(outlet, max(0.0, due.get(outlet.name, now) - now))
        log.info(
            "daemon started: %d outlets, archive %s", len(settings.outlets), settings.archive.dir
        )
        while not stop.wait(1.0):
            pass
    finally:
        scheduler.shutdown(wait=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if fatal:
        raise fatal[0]
    log.info("daemon stopped")
    return 0
