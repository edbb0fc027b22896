"""A fleet of writers on one archive: daemons, one-off fetches and placements side by side.

Several harvester processes (or threads, or machines sharing a PostgreSQL catalog) write one
archive at once. What must hold whatever the fleet's size: every article archived once, the
same stories and originals as one writer finds, fleet-wide politeness (never two requests to
one host at once), and leases that a writer with a wrong clock cannot steal. The local
newsroom is the bundled demo's (five outlets on 127.0.0.2-6, six stories and their copies);
politeness between daemons is checked from the servers' own logs of when they answered.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import with_fetch
from mockserver import MockServer, free_loopback_host
from pages import article_page, invented_story, rss_feed
from pgcluster import PgCluster
from warcio.archiveiterator import ArchiveIterator

from harvester.catalog import FrontierItem, OutletState, SqlCatalog, SqliteCatalog, open_catalog
from harvester.clock import SystemClock
from harvester.config import Settings
from harvester.daemon import HELD_PER_WORKER, LEASE, Crawler
from harvester.demo import demo_settings
from harvester.demo.newsroom import COPIES, DISALLOWED, OUTLETS, STORIES, Page, render_sites
from harvester.demo.server import NewsroomServer
from harvester.errors import ArchiveError
from harvester.models import Archived, DiscoveryContext, ExportRecord, FetchRequest, Outcome
from harvester.pipeline import Harvester
from harvester.writers import writer_of

# How long a subprocess daemon may take over the newsroom before the test gives up on it.
RUN_TIMEOUT = 120.0
# The politeness delay of the daemons here: long enough that a request answered by one daemon
# cannot be followed by another's within the server's own bookkeeping, short enough to be quick.
DELAY = 0.05


# --- the newsroom ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Newsroom:
    """The demo newsroom being served: its servers and every outlet's base URL (by key)."""

    server: NewsroomServer
    bases: Mapping[str, str]

    def url(self, outlet_key: str, path: str) -> str:
        return self.bases[outlet_key] + path

    def articles(self) -> set[str]:
        """The URL of every article the newsroom lists (each story and each copy)."""
        return {self.url(s.outlet, s.path) for s in STORIES} | {
            self.url(c.outlet, c.path) for c in COPIES
        }

    def article_paths(self) -> dict[str, set[str]]:
        """Per host: the paths of its listed articles."""
        paths: dict[str, set[str]] = {site.host: set() for site in OUTLETS}
        for item in (*STORIES, *COPIES):
            paths[_host_of(item.outlet)].add(item.path)
        return paths


def _host_of(outlet_key: str) -> str:
    return next(site.host for site in OUTLETS if site.key == outlet_key)


@dataclass(frozen=True, kw_only=True)
class Reprint:
    """A page of the newsroom served again by an outlet under a path of its own, listed
    nowhere (only a one-off fetch finds it)."""

    outlet: str
    path: str
    of_outlet: str
    of_path: str


@contextmanager
def serve_newsroom(reprints: Sequence[Reprint] = ()) -> Iterator[Newsroom]:
    """The demo newsroom on 127.0.0.2-6 (ephemeral ports), with ``reprints``."""
    with NewsroomServer([site.host for site in OUTLETS]) as server:
        bases = {site.key: server.base_url(site.host) for site in OUTLETS}
        sites: dict[str, dict[str, Page]] = render_sites(bases)
        for r in reprints:
            sites[r.outlet][r.path] = sites[r.of_outlet][r.of_path]
        for key, pages in sites.items():
            server.publish(_host_of(key), pages)
        server.start()
        yield Newsroom(server=server, bases=bases)


def _toml_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def newsroom_config(
    path: Path,
    newsroom: Newsroom,
    archive: Path,
    *,
    catalog: str | None = None,
    extra: str = "",
) -> Path:
    """A config file for the newsroom (the demo's outlets and settings, ``per_host_delay`` DELAY)
    archiving into ``archive``; ``extra`` is appended to every outlet."""
    settings = demo_settings(newsroom.bases, archive)
    lines = ["[archive]", f"dir = {json.dumps(str(archive))}", 'prefix = "fleet"']
    if catalog is not None:
        lines.append(f"catalog = {json.dumps(catalog)}")
    lines += [
        "[fetch]",
        f"per_host_delay = {DELAY}",
        "timeout = 5",
        "deadline = 15",
        "retry_delay = 0.5",
        f"allow_hosts = {_toml_list(settings.fetch.allow_hosts)}",
    ]
    for outlet in settings.outlets:
        lines += [
            "[[outlets]]",
            f"name = {json.dumps(outlet.name)}",
            f"home = {json.dumps(outlet.home)}",
            f"feeds = {_toml_list(outlet.feeds)}",
            f"sitemaps = {_toml_list(outlet.sitemaps)}",
            f"sections = {_toml_list(outlet.sections)}",
            f"wire = {'true' if outlet.wire else 'false'}",
            f"aliases = {_toml_list(outlet.aliases)}",
            extra,
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- daemons as subprocesses -------------------------------------------------------------------


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "HARVESTER_CONFIG"}


@dataclass
class Daemon:
    """One ``harvester`` subprocess and the file its stderr goes to."""

    proc: subprocess.Popen[bytes]
    log: Path

    def wait(self, timeout: float = RUN_TIMEOUT) -> int:
        return self.proc.wait(timeout=timeout)

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def kill_if_running(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


def spawn(log: Path, *argv: str) -> Daemon:
    """``python -m harvester ARGV...`` with stderr to ``log`` (several daemons at once never
    block on a full pipe)."""
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "harvester", *argv],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=_env(),
        )
    return Daemon(proc=proc, log=log)


def run_once(log: Path, config: Path, *extra: str) -> Daemon:
    return spawn(log, "run", "--once", "--config", str(config), *extra)


def fleet_round(logs: Sequence[Path], config: Path) -> list[Daemon]:
    """``run --once --processes 1`` daemons started together, sharing one round as the
    processes of ``run --processes N --once`` do (``--round-start``). Without it, daemons
    whose rounds start at different moments may poll an outlet twice or never finish: see
    test_an_outlet_polled_during_a_writers_round_is_not_polled_again_by_it."""
    start = repr(time.time())
    return [run_once(log, config, "--processes", "1", "--round-start", start) for log in logs]


@contextmanager
def stopping(daemons: Sequence[Daemon]) -> Iterator[None]:
    """Whatever happens in the block, no daemon outlives it."""
    try:
        yield
    finally:
        for daemon in daemons:
            daemon.kill_if_running()


def finish(daemons: Sequence[Daemon]) -> None:
    """Wait for every daemon; each must exit 0 without a traceback."""
    for daemon in daemons:
        code = daemon.wait()
        err = daemon.stderr()
        assert code == 0, err[-3000:]
        assert "Traceback" not in err, err[-3000:]


# --- reading an archive ------------------------------------------------------------------------


def records(root: Path, catalog: str | None = None) -> dict[str, ExportRecord]:
    """The newest export record of every archived article, by final URL."""
    with open_catalog(catalog, root, readonly=True) as cat:
        return {r.final_url: r for r in cat.articles()}


def partition(found: Mapping[str, ExportRecord]) -> dict[frozenset[str], frozenset[str | None]]:
    """Each story as the set of its members' URLs (story ids depend on arrival order), with
    the original outlet(s) its members name (one, when the members agree)."""
    members: dict[str, set[str]] = {}
    for record in found.values():
        members.setdefault(record.story, set()).add(record.final_url)
    return {
        frozenset(urls): frozenset(found[u].original.outlet for u in urls)
        for urls in members.values()
    }


def response_counts(root: Path) -> Counter[str]:
    """How many WARC ``response`` records each target URI has, over every WARC file."""
    counts: Counter[str] = Counter()
    for path in sorted((root / "warc").rglob("*.warc.gz")):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response":
                    counts[record.rec_headers.get_header("WARC-Target-URI")] += 1
    return counts


def overlaps(spans: Sequence[tuple[float, float]]) -> list[tuple[tuple[float, float], ...]]:
    """Pairs of requests to one host that were being answered at the same time."""
    ordered = sorted(spans)
    return [(a, b) for a, b in itertools.pairwise(ordered) if b[0] < a[1]]


def wait_for(condition: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    """Poll ``condition()`` until true (bounded); fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def _sqlite_articles(root: Path) -> set[str]:
    path = root / "index.sqlite"
    if not path.exists():
        return set()
    try:
        with SqliteCatalog(path, readonly=True) as cat:
            return {r.final_url for r in cat.articles()}
    except ArchiveError:  # being created: ask again
        return set()


# --- 1. a one-off fetch beside a running daemon ------------------------------------------------

PORT_STORY = next(s for s in STORIES if s.key == "port")
# A copy of the port story no feed lists: the wire's page, republished by the Courier under a
# path of its own (its canonical link still names the wire's page).
REPRINT = Reprint(
    outlet="courier",
    path="/news/2026/06/02/harbour-board-backs-saltmarsh-bay-berth-expansion",
    of_outlet=PORT_STORY.outlet,
    of_path=PORT_STORY.path,
)


def test_one_off_fetch_beside_a_running_daemon_joins_the_daemons_story(tmp_path: Path) -> None:
    with serve_newsroom([REPRINT]) as newsroom:
        archive = tmp_path / "archive"
        config = newsroom_config(tmp_path / "h.toml", newsroom, archive, extra='poll_every = "1h"')
        daemon = spawn(tmp_path / "daemon.log", "run", "--config", str(config), "--processes", "1")
        with stopping([daemon]):
            wait_for(
                lambda: (
                    _sqlite_articles(archive) >= newsroom.articles()
                    or daemon.proc.poll() is not None
                ),
                "the daemon to archive the newsroom",
            )
            assert daemon.proc.poll() is None, daemon.stderr()[-3000:]
            reprint = newsroom.url(REPRINT.outlet, REPRINT.path)
            fetched = subprocess.run(
                [sys.executable, "-m", "harvester", "fetch", reprint, "--config", str(config)],
                capture_output=True,
                text=True,
                timeout=RUN_TIMEOUT,
                check=False,
                env=_env(),
            )
            assert fetched.returncode == 0, fetched.stderr
            assert daemon.proc.poll() is None, "the daemon stopped while the fetch ran"
            daemon.proc.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=30) == 0, daemon.stderr()[-3000:]
        assert "Traceback" not in daemon.stderr()
        record = json.loads(fetched.stdout)
        found = records(archive)
        wire = found[newsroom.url("npa", PORT_STORY.path)]
        assert record["final_url"] == reprint
        assert record["story"] == wire.story
        assert found[reprint].story == wire.story
        assert record["original"]["url"] == wire.final_url
        # Every member of the story agrees on it, the daemon's copies included.
        members = {u for u, r in found.items() if r.story == wire.story}
        assert members == {
            wire.final_url,
            reprint,
            *(newsroom.url(c.outlet, c.path) for c in COPIES if c.story == "port"),
        }
        assert not list(archive.rglob("*.open"))


# --- 2. two writers placing copies of one story at the same instant ----------------------------

ROUNDS = 10


@pytest.fixture(params=["sqlite", "postgresql"])
def fleet_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The conftest settings on the SQLite catalog, or on a fresh PostgreSQL database."""
    if request.param == "postgresql":
        return settings.with_catalog(request.getfixturevalue("pg_url"))
    return settings


def test_two_writers_placing_copies_of_one_story_at_once_agree(fleet_settings: Settings) -> None:
    with (
        MockServer(free_loopback_host(2)) as first,
        MockServer(free_loopback_host(3)) as second,
        Harvester(fleet_settings) as one,
        Harvester(fleet_settings) as other,
    ):
        assert one.store.writer_id != other.store.writer_id
        for n in range(ROUNDS):
            title, paragraphs = invented_story(7000 + n)
            # Two copies of one story, not the same text (the second drops the last paragraph),
            # so only the candidate index (not the exact-text lookup) can bring them together.
            first.route(f"/news/{n}", article_page(title=title, paragraphs=paragraphs))
            second.route(f"/wire/{n}", article_page(title=title, paragraphs=paragraphs[:-1]))
            urls = (first.url(f"/news/{n}"), second.url(f"/wire/{n}"))
            outcomes = _at_once([one, other], urls)
            placed = [o.record for o in outcomes if isinstance(o, Archived)]
            assert len(placed) == 2, (n, outcomes)
            assert placed[0].story == placed[1].story, f"round {n}: two stories for one"
        stories = {r.final_url: r.story for r in one.store.catalog.articles()}
    assert len(stories) == 2 * ROUNDS
    assert len(set(stories.values())) == ROUNDS


def _at_once(harvesters: Sequence[Harvester], urls: Sequence[str]) -> list[Outcome]:
    """Each harvester fetches its URL, then all archive and place at the same instant."""
    barrier = threading.Barrier(len(harvesters), timeout=60)
    outcomes: dict[int, Outcome] = {}
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            harvester, url = harvesters[n], urls[n]
            result = harvester.fetcher.fetch(url)
            barrier.wait()
            outcomes[n] = harvester.process(FetchRequest(url=url), result)
        except BaseException as exc:  # noqa: BLE001 (reported by the test thread)
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(harvesters))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    if errors:
        raise errors[0]
    return [outcomes[n] for n in range(len(harvesters))]


# --- 3. one daemon or three, one PostgreSQL catalog --------------------------------------------


@pytest.mark.slow
def test_three_daemons_on_postgresql_find_what_one_finds_politely(
    tmp_path: Path, pg_cluster: PgCluster, pg_url: str
) -> None:
    with serve_newsroom() as newsroom:
        solo = tmp_path / "solo"
        config = newsroom_config(tmp_path / "solo.toml", newsroom, solo, catalog=pg_url)
        alone = run_once(tmp_path / "solo.log", config, "--processes", "1")
        with stopping([alone]):
            finish([alone])
        mark = {site.host: len(newsroom.server.requested(site.host)) for site in OUTLETS}
        solo_spans = {site.host: newsroom.server.timings(site.host) for site in OUTLETS}

        name = f"t_{uuid.uuid4().hex[:12]}"
        fleet_url = pg_cluster.create_database(name)
        try:
            fleet = tmp_path / "fleet"
            config = newsroom_config(tmp_path / "fleet.toml", newsroom, fleet, catalog=fleet_url)
            daemons = fleet_round([tmp_path / f"fleet-{n}.log" for n in range(3)], config)
            with stopping(daemons):
                finish(daemons)
            alone_found = records(solo, pg_url)
            fleet_found = records(fleet, fleet_url)
        finally:
            pg_cluster.drop_database(name)
        requested = {
            site.host: newsroom.server.requested(site.host)[mark[site.host] :] for site in OUTLETS
        }
        spans = {
            site.host: newsroom.server.timings(site.host)[len(solo_spans[site.host]) :]
            for site in OUTLETS
        }
        expected = newsroom.articles()
        article_paths = newsroom.article_paths()

    assert set(alone_found) == expected
    assert set(fleet_found) == expected
    assert partition(fleet_found) == partition(alone_found)
    # (How the work divides depends on which daemon is ready first: the first one up may poll
    # every outlet, and then it works every URL it found; see test_urls_beyond_...)
    assert all("run finished" in d.stderr() for d in daemons)
    for host, paths in requested.items():
        assert not overlaps(solo_spans[host]), f"{host}: one daemon sent overlapping requests"
        assert not overlaps(spans[host]), f"{host}: requests of the fleet overlapped"
        # Every article fetched once by the fleet; the disallowed draft never.
        fetched = Counter(p for p in paths if p in article_paths[host])
        assert fetched == dict.fromkeys(article_paths[host], 1), host
        assert DISALLOWED.path not in paths


SHARED_OUTLETS = 16


def shared_host_config(path: Path, srv: MockServer, archive: Path, catalog: str) -> Path:
    """SHARED_OUTLETS outlets on the one host ``srv``, each a feed of one article."""
    lines = [
        f"[archive]\ndir = {json.dumps(str(archive))}\ncatalog = {json.dumps(catalog)}",
        f"[fetch]\nper_host_delay = {DELAY}\ntimeout = 5\ndeadline = 30",
        f'allow_hosts = ["{srv.host}"]',
    ]
    for n in range(SHARED_OUTLETS):
        lines.append(
            f'[[outlets]]\nname = "Outlet {n}"\nhome = "{srv.url(f"/o{n}/")}"\n'
            f'feeds = ["{srv.url(f"/o{n}/rss.xml")}"]'
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_daemons_sharing_one_host_never_ask_it_twice_at_once(tmp_path: Path, pg_url: str) -> None:
    """Many outlets on one host, three daemons: each polls some of them (a poll is claimed as
    a poller thread picks it up, and a feed takes a while here), so all three fetch from the
    host at once; the fleet's host slot lets one request through at a time."""
    with MockServer(free_loopback_host(8)) as srv:
        for n in range(SHARED_OUTLETS):
            title, paragraphs = invented_story(9100 + n)
            srv.route(f"/o{n}/story", article_page(title=title, paragraphs=paragraphs), delay=0.05)
            feed = rss_feed([(title, srv.url(f"/o{n}/story"))])
            srv.route(f"/o{n}/rss.xml", feed, content_type="application/rss+xml", delay=0.2)
        archive = tmp_path / "archive"
        config = shared_host_config(tmp_path / "h.toml", srv, archive, pg_url)
        daemons = fleet_round([tmp_path / f"d{n}.log" for n in range(3)], config)
        with stopping(daemons):
            finish(daemons)
        spans = [(start, end) for _, start, end in srv.spans]
        stories = Counter(r.path for r in srv.requests if r.path.endswith("/story"))
    found = records(archive, pg_url)
    assert {urlsplit(u).path for u in found} == {f"/o{n}/story" for n in range(SHARED_OUTLETS)}
    assert stories == {f"/o{n}/story": 1 for n in range(SHARED_OUTLETS)}
    writers = {writer_of(p.name) for p in (archive / "warc").rglob("*.warc.gz")}
    # Otherwise one daemon did everything and the fleet's politeness was never put to the test.
    assert len(writers) >= 2, "one daemon polled every outlet (it started long before the others)"
    clashes = overlaps(spans)
    assert not clashes, f"{len(clashes)} times two requests to one host at once: {clashes[:3]}"


# --- 4. run --processes 2 on SQLite ------------------------------------------------------------


@pytest.mark.slow
def test_two_processes_archive_every_article_once_with_one_writers_stories(
    tmp_path: Path,
) -> None:
    with serve_newsroom() as newsroom:
        solo = tmp_path / "solo"
        config = newsroom_config(tmp_path / "solo.toml", newsroom, solo)
        alone = run_once(tmp_path / "solo.log", config, "--processes", "1")
        with stopping([alone]):
            finish([alone])
        mark = {site.host: len(newsroom.server.requested(site.host)) for site in OUTLETS}
        pair = tmp_path / "pair"
        config = newsroom_config(tmp_path / "pair.toml", newsroom, pair)
        both = run_once(tmp_path / "pair.log", config, "--processes", "2")
        with stopping([both]):
            finish([both])
        requested = {
            site.host: newsroom.server.requested(site.host)[mark[site.host] :] for site in OUTLETS
        }
        expected = newsroom.articles()
        article_paths = newsroom.article_paths()

    found = records(pair)
    assert set(found) == expected
    assert partition(found) == partition(records(solo))
    responses = response_counts(pair)
    assert {url: responses[url] for url in expected} == dict.fromkeys(expected, 1)
    with SqliteCatalog(pair / "index.sqlite", readonly=True) as catalog:
        for url in expected:
            capture = catalog.latest_capture(url)
            assert capture is not None and capture.record_type == "response", url
    # Both worker processes ran the round to its end (they share one stderr).
    assert both.stderr().count("run finished") == 2, both.stderr()[-3000:]
    for host, paths in article_paths.items():
        fetched = Counter(p for p in requested[host] if p in paths)
        assert fetched == dict.fromkeys(paths, 1), host
    assert not list(pair.rglob("*.open"))


# --- 5. a writer whose clock is wrong does not steal live leases --------------------------------

SKEW = timedelta(minutes=10)


class SkewedClock(SystemClock):
    """The system clock, ``offset`` off (a machine whose clock is wrong)."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return super().now() + self.offset


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlCatalog]:
    """An empty catalog of either engine."""
    target = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    with open_catalog(target, tmp_path / "archive") as cat:
        yield cat


def _items(host: str, count: int, now: float) -> list[FrontierItem]:
    return [
        FrontierItem(url=f"http://{host}/story/{n}", host=host, added=now, not_before=now)
        for n in range(count)
    ]


def test_a_clock_minutes_ahead_claims_no_live_lease(catalog: SqlCatalog) -> None:
    now = time.time()
    queued = catalog.frontier_add(
        _items("127.0.0.2:8000", 3, now) + _items("127.0.0.3:8000", 3, now),
        owner="wa00000000a",
        lease=LEASE,
    )
    assert len(queued) == 6
    ahead = now + SKEW.total_seconds()
    taken = catalog.frontier_claim("wb00000000b", now=ahead, limit=100, per_host=10, lease=LEASE)
    assert taken == []
    # Nor does it count the live leases as free work for the fleet.
    due = catalog.fleet_due(outlets=[], round_start=0.0, horizon=ahead, owner="wb00000000b")
    assert (due.urls_due, due.urls_leased) == (0, 6)
    # A's outlet poll, leased: B's clock says it is long due, the lease says no.
    assert catalog.poll_claim("Courier", "wa00000000a", due_by=now, lease=LEASE, round_start=None)
    assert not catalog.poll_claim(
        "Courier", "wb00000000b", due_by=ahead, lease=LEASE, round_start=None
    )
    assert catalog.release_leases("wa00000000a") == 6
    taken = catalog.frontier_claim("wb00000000b", now=ahead, limit=100, per_host=10, lease=LEASE)
    assert sorted(i.url for i in taken) == sorted(i.url for i in queued)
    assert catalog.poll_claim("Courier", "wb00000000b", due_by=ahead, lease=LEASE, round_start=None)


def test_a_crawler_with_a_fast_clock_takes_only_released_urls(fleet_settings: Settings) -> None:
    """A whole writer (Harvester + Crawler) whose clock runs ten minutes ahead starts beside a
    writer holding leases: it resumes nothing until that writer gives them back."""
    with Harvester(fleet_settings) as holder:
        now = time.time()
        owner = holder.store.writer_id
        # One URL per host: a claim takes at most per_host_connections (1) of each host.
        items = [i for n in range(4) for i in _items(f"127.0.0.{2 + n}:8000", 1, now)]
        queued = holder.store.catalog.frontier_add(items, owner=owner, lease=LEASE)
        assert len(queued) == 4
        clock = SkewedClock(offset=SKEW)
        with Harvester(fleet_settings, clock=clock) as skewed:
            crawler = Crawler(skewed, clock=clock)
            assert crawler.frontier.counts()["queued"] == 0
            assert crawler.claim() == 0
            assert holder.store.catalog.release_leases(owner) == 4
            assert crawler.claim() == 4
            assert crawler.frontier.counts()["queued"] == 4
            crawler.stop()


# --- sharing the round and the work -------------------------------------------------------------


def test_an_outlet_polled_during_a_writers_round_is_not_polled_again_by_it(
    catalog: SqlCatalog,
) -> None:
    """Two ``run --once`` daemons started independently (two machines' cron jobs): A's round
    starts, then B's, then A polls the outlet. It was polled during B's round, so B must not
    poll it again (``Crawler``: "outlets polled by any writer since then are not polled again
    in this round") and B's fleet is done with it. (Were B to count it as left while not
    polling it, because A held its poll lease when B asked, B's ``run --once`` would never
    end.)"""
    a_round = time.time() - 10
    b_round = a_round + 1
    polled = time.time()  # A claims (due_by is the claimer's now) and polls it now
    assert catalog.poll_claim(
        "Courier", "wa00000000a", due_by=polled, lease=LEASE, round_start=a_round
    )
    catalog.save_outlet_state(
        OutletState(outlet="Courier", last_poll="2026-06-02T10:00:00+00:00", next_poll=polled)
    )
    due = catalog.fleet_due(
        outlets=["Courier"], round_start=b_round, horizon=polled, owner="wb00000000b"
    )
    assert due.outlets_left == 0
    assert not catalog.poll_claim(
        "Courier", "wb00000000b", due_by=b_round, lease=LEASE, round_start=b_round
    ), "polled again in a round it was already polled in"
    # The converse: a writer whose round starts after the poll polls it in its own round.
    after = time.time() + 1
    assert catalog.poll_claim(
        "Courier", "wc00000000c", due_by=after, lease=LEASE, round_start=after
    )


def test_urls_beyond_what_the_poller_can_work_soon_are_left_for_the_fleet(
    fleet_settings: Settings,
) -> None:
    """One poll finds more URLs (on many hosts) than the poller's workers can work soon: it
    leases only what it can hold (HELD_PER_WORKER per worker, "so the fleet shares"), and a
    second writer claims the rest at once instead of idling until the poller gets to them."""
    settings = with_fetch(fleet_settings, workers=1)
    room = HELD_PER_WORKER * settings.fetch.workers
    found = {
        f"http://127.0.0.{2 + n}:8000/story/{n}": DiscoveryContext(via="http://feed/", title="t")
        for n in range(8)
    }
    with Harvester(settings) as poller, Harvester(settings) as idle:
        finder = Crawler(poller, clock=SystemClock())
        other = Crawler(idle, clock=SystemClock())
        try:
            assert len(finder.queue_urls("Courier", found)) == len(found)
            held = poller.store.catalog.frontier_renew(finder.owner, LEASE)
            claimed = other.claim()
        finally:
            finder.stop()
            other.stop()
    assert held <= room, f"the poller holds {held} URLs, room for {room}"
    assert claimed == min(room, len(found) - held)


def test_slow_hosts_urls_take_no_room_from_fast_hosts(fleet_settings: Settings) -> None:
    """A writer holds its slow hosts' share of URLs: its claims then take fast hosts' URLs
    only, and while the catalog has fast work for it the slow-host cap stays on (before, slow
    hosts' URLs, which wait behind the cap, filled the writer's room: fast hosts' URLs were
    left in the catalog and the cap lifted, since the writer saw only slow hosts' work)."""
    settings = with_fetch(fleet_settings, workers=4)  # room 8; slow hosts: 1 worker, 2 URLs
    now = time.time()
    slow = [f"127.0.0.{2 + n}:8000" for n in range(6)]
    fast = [f"127.0.0.{20 + n}:8000" for n in range(4)]
    with Harvester(settings) as writer:
        catalog = writer.store.catalog
        catalog.frontier_add([i for h in slow for i in _items(h, 4, now)])
        catalog.frontier_add([i for h in fast for i in _items(h, 3, now)])
        crawler = Crawler(writer, clock=SystemClock())  # claims at start: each host's oldest
        try:
            for host in slow:
                crawler.frontier.observe(host, 5.0)
            assert crawler.frontier.held() == (2, 6)
            assert crawler.claim() == 4  # fast hosts' URLs only, the slow share being full
            assert crawler.frontier.held() == (6, 6)
            assert catalog.leases()[crawler.owner]["urls"] == 12
            taken = [crawler.frontier.take(0) for _ in range(5)]
            hosts = [t.host for t in taken if t is not None]
            # 4 fast hosts (one worker each) and the slow hosts' one worker; the cap stays on
            # although no fast host is free: the catalog still holds fast work for this writer
            assert sorted(h for h in hosts if h in fast) == sorted(fast)
            assert sum(h in slow for h in hosts) == 1
            assert crawler.frontier.take(0) is None
        finally:
            crawler.stop()
