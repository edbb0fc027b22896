"""Crawl throughput: harvester's daemon vs a naive sequential loop, same newsroom, same politeness.

A local newsroom of ``--hosts`` outlets on loopback (127.0.0.20, .21, ...; all of 127/8 is
loopback on Linux), each served by ``tests/mockserver.py``'s ``MockServer`` with a robots.txt
(``Disallow: /private/``), one RSS feed listing ``--per-host`` team-written articles
(``tests/pages.py``: ``invented_story`` in ``article_page``) plus one disallowed URL, and a
server-side ``--latency`` before every article answer (network latency). Both sides crawl it
with the same politeness: ``--delay`` seconds between the end of one request to a host and the
start of the next (harvester's rule), robots.txt fetched once per host and obeyed, at most one
request at a time per host.

* **harvester**: ``run_daemon(settings, once=True)`` with ``Settings`` built directly (one
  ``Outlet`` per host, ``--workers`` fetch workers, ``allow_hosts`` = the loopback IPs used, so
  nothing else is reachable). Per page it archives request + response, a metadata record
  (export record, evidence, removed blocks), a conversion record with the cleaned text;
  extraction (trafilatura main text, DOM metadata, attribution, boilerplate rule packs, learned
  templates) runs in its forkserver worker process; the story book dedups; every page's records
  (capture and article) are fsynced once and indexed in one SQLite catalog transaction.
* **naive**: what a researcher writes in an afternoon. One sequential loop, host after host:
  robots.txt (``urllib.robotparser``), the feed (``xml.etree``; feedparser is not installed),
  then per article: sleep until ``--delay`` has passed since the last request to that host ended,
  ``httpx.Client.get``, ``trafilatura.extract(html, url=url)``, and request + response +
  conversion records through ``warcio``'s ``WARCWriter`` (gzip) into one temp file.

The newsroom runs in a child process (this script with ``--serve``), so its CPU is in neither
side's numbers; both sides run in this process, one after the other, each into a fresh temp
directory, ``--repeat`` times in alternating order (medians reported), after one untimed
warm-up of each side on a small extra host (imports, harvester's forkserver). Logging is
disabled while a side runs.

Measured per run: wall time (``time.perf_counter`` around the side), pages archived (counted
afterwards in the WARC files: article URLs with both a response and a conversion record),
pages/s, CPU seconds per page (this process and all its descendants except the newsroom, see
``cpu_seconds``), what was written per page, and a politeness audit from the server's request
log (robots.txt fetches per host, disallowed URLs fetched, most requests at once to one host,
shortest gap between two requests to one host), and how long each side took before its first
request and after the last answer. For harvester, the wall time under its archive lock
(``Harvester.process``) and, inside it, the extraction worker round trip and ``os.fsync`` are
also recorded (wrapped for the run; a few microseconds per page).

Run from the repository root (needs the venv with psutil, i.e. the ``bench`` extra; no
../shared/data, no internet)::

    .venv/bin/python bench/crawl_throughput.py                         # 8 hosts x 25 articles
    .venv/bin/python bench/crawl_throughput.py --hosts 16 --per-host 20
    .venv/bin/python bench/crawl_throughput.py --json bench/results/crawl.json   # table + file
    .venv/bin/python bench/crawl_throughput.py --json                   # JSON on stdout only

Progress goes to stderr and the Markdown table to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import itertools
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

REPO = Path(__file__).resolve().parents[1]
FIRST_HOST = 20  # 127.0.0.20, .21, ...
WARMUP_HOST = 19  # 127.0.0.19: the untimed warm-up outlet
WARMUP_ARTICLES = 3
ROBOTS = "User-agent: *\nDisallow: /private/\n"
NAIVE_AGENT = "naive-bench/0.1 (+https://example.org/harvester-bench)"
RSS = "application/rss+xml"
SIDES = ("harvester", "naive")
# harvester's wrapped methods (wall time): everything a worker does under the archive lock, and
# two parts of it
PROCESS = "Harvester.process"
EXTRACT = "extraction worker round trip"
FSYNC = "WARC fsync"
# per host: (request target, monotonic start, monotonic end of the answer), as MockServer.spans
Spans = dict[str, list[tuple[str, float, float]]]


# -- the newsroom (child process) ---------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """One outlet of the newsroom as the crawlers see it."""

    host: str
    base: str  # http://127.0.0.N:PORT/
    feed: str
    articles: tuple[str, ...]
    disallowed: str


def _serve(hosts: int, per_host: int, latency: float) -> int:
    """Child process: serve the newsroom until stdin closes.

    Prints one JSON line with the sites, then answers each ``log`` line on stdin with one JSON
    line: per host, the (path, start, end) spans logged since the previous ``log``
    (``time.monotonic`` is system-wide on Linux, so the parent can compare them).
    """
    sys.path.insert(0, str(REPO / "tests"))
    from mockserver import MockServer, free_loopback_host
    from pages import article_page, invented_story, rss_feed

    plan = [(free_loopback_host(FIRST_HOST + i), per_host, i * per_host) for i in range(hosts)]
    plan.append((free_loopback_host(WARMUP_HOST), WARMUP_ARTICLES, 100_000))
    servers: list[MockServer] = []
    sites: list[Site] = []
    with contextlib.ExitStack() as stack:
        for host, count, first in plan:
            srv = stack.enter_context(MockServer(host))
            srv.robots(ROBOTS)
            items: list[tuple[str, str]] = []
            for k in range(first, first + count):
                title, paragraphs = invented_story(k)
                path = f"/news/2026/03/story-{k:06d}.html"
                srv.route(path, article_page(title=title, paragraphs=paragraphs), delay=latency)
                items.append((title, srv.url(path)))
            hidden = "/private/draft-embargoed.html"  # robots.txt disallows it
            srv.route(hidden, article_page(title="Embargoed draft"), delay=latency)
            feed = rss_feed([*items, ("Embargoed draft", srv.url(hidden))], title=f"Outlet {host}")
            srv.route("/rss.xml", feed, content_type=RSS)
            servers.append(srv)
            sites.append(
                Site(
                    host=host,
                    base=srv.url("/"),
                    feed=srv.url("/rss.xml"),
                    articles=tuple(u for _, u in items),
                    disallowed=srv.url(hidden),
                )
            )
        print(json.dumps([asdict(s) for s in sites]), flush=True)
        seen = [0] * len(servers)
        for line in sys.stdin:
            if line.strip() != "log":
                continue
            spans: Spans = {}
            for n, srv in enumerate(servers):
                logged = list(srv.spans)
                spans[srv.host] = logged[seen[n] :]
                seen[n] = len(logged)
            print(json.dumps(spans), flush=True)
    return 0


class Newsroom:
    """The newsroom child process: its sites and its request log."""

    def __init__(self, hosts: int, per_host: int, latency: float) -> None:
        cmd = [sys.executable, __file__, "--serve", "--hosts", str(hosts)]
        cmd += ["--per-host", str(per_host), "--latency", str(latency)]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._in: IO[str] = self._proc.stdin  # type: ignore[assignment]
        self._out: IO[str] = self._proc.stdout  # type: ignore[assignment]
        line = self._out.readline()
        if not line:
            raise RuntimeError("the newsroom process did not start (see stderr)")
        every = [Site(**{**s, "articles": tuple(s["articles"])}) for s in json.loads(line)]
        self.sites, self.warmup = every[:-1], every[-1:]

    @property
    def pid(self) -> int:
        return self._proc.pid

    def log(self) -> Spans:
        """Requests each host answered since the previous call: (path, start, end)."""
        self._in.write("log\n")
        self._in.flush()
        result: Spans = json.loads(self._out.readline())
        return result

    def close(self) -> None:
        self._in.close()
        self._proc.wait(timeout=30)


# -- measuring ----------------------------------------------------------------------------------


def cpu_seconds(exclude: int) -> tuple[float, float]:
    """(this process, its descendants) user + system CPU seconds so far, ``exclude`` left out.

    Why psutil over the process tree and not ``getrusage(RUSAGE_CHILDREN)``: harvester's
    extraction worker is forked by multiprocessing's *forkserver*, so it is our grandchild, and
    the forkserver lives as long as this process. RUSAGE_CHILDREN only counts children that
    exited and were waited for, so it would never see the worker (nor the forkserver). Summing
    user + system + children_user + children_system (/proc/PID/stat) over this process and every
    live descendant counts a running worker directly and a finished one through its reaper (the
    forkserver): a process seen at the start of a run that exits during it is replaced in the
    sum by its parent's children_* times, so deltas stay right. The newsroom is excluded.
    """
    import psutil

    me = psutil.Process()
    own = me.cpu_times()
    others = own.children_user + own.children_system
    for proc in me.children(recursive=True):
        if proc.pid == exclude:
            continue
        with contextlib.suppress(psutil.NoSuchProcess):
            t = proc.cpu_times()
            others += t.user + t.system + t.children_user + t.children_system
    return own.user + own.system, others


@dataclass
class Timers:
    """Wall seconds spent in wrapped harvester methods during one run."""

    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    calls: Counter[str] = field(default_factory=Counter)

    @contextlib.contextmanager
    def wrap(self, owner: object, name: str, label: str) -> Iterator[None]:
        """Time every call of ``owner.name`` (a class's method, a module's function)."""
        original: Callable[..., Any] = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - t0
                self.calls[label] += 1

        setattr(owner, name, timed)
        try:
            yield
        finally:
            setattr(owner, name, original)


def run_harvester(sites: list[Site], delay: float, workers: int, root: Path) -> Timers:
    """``run_daemon(once=True)`` over ``sites`` into ``root``."""
    from harvester.config import ArchiveSettings, FetchSettings, Outlet, Settings
    from harvester.daemon import run_daemon
    from harvester.extract.article import ArticleExtractor
    from harvester.pipeline import Harvester

    settings = Settings(
        archive=ArchiveSettings(dir=root),
        fetch=FetchSettings(
            per_host_delay=delay,
            workers=workers,
            allow_hosts=tuple(s.host for s in sites),
        ),
        outlets=tuple(Outlet(name=f"Outlet {s.host}", home=s.base, feeds=(s.feed,)) for s in sites),
    )
    timers = Timers()
    with (
        timers.wrap(Harvester, "process", PROCESS),
        timers.wrap(ArticleExtractor, "extract", EXTRACT),
        timers.wrap(os, "fsync", FSYNC),
    ):
        code = run_daemon(settings, once=True)
    if code != 0:
        raise RuntimeError(f"run_daemon returned {code}")
    return timers


def _feed_links(xml: bytes) -> list[str]:
    """Item links of an RSS 2.0 or Atom feed."""
    import xml.etree.ElementTree as ET

    # Our own newsroom's feed on loopback: trusted input (harvester hardens its parser for the
    # open web; the afternoon script does not).
    root = ET.fromstring(xml)  # noqa: S314
    links = [(item.findtext("link") or "").strip() for item in root.iter("item")]
    atom = "{http://www.w3.org/2005/Atom}"
    for entry in root.iter(f"{atom}entry"):
        link = entry.find(f"{atom}link")
        if link is not None:
            links.append(link.get("href", ""))
    return [u for u in links if u]


def run_naive(sites: list[Site], delay: float, root: Path) -> Timers:
    """The afternoon script: sequential, host after host, into one gzipped WARC file."""
    import httpx
    import trafilatura
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    last_end: dict[str, float] = {}

    def get(client: httpx.Client, url: str) -> httpx.Response:
        netloc = urlsplit(url).netloc
        wait = last_end.get(netloc, float("-inf")) + delay - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        try:
            return client.get(url)
        finally:
            last_end[netloc] = time.monotonic()

    root.mkdir(parents=True, exist_ok=True)
    with (
        (root / "naive.warc.gz").open("wb") as out,
        httpx.Client(headers={"User-Agent": NAIVE_AGENT}, timeout=20.0, trust_env=False) as client,
    ):
        writer = WARCWriter(out, gzip=True)
        for site in sites:
            robots = RobotFileParser()
            r = get(client, urljoin(site.base, "/robots.txt"))
            if r.status_code >= 500:  # unreachable: stay out (RFC 9309, harvester's reading)
                robots.parse(["User-agent: *", "Disallow: /"])
            else:  # 4xx: no rules, allow all
                robots.parse(r.text.splitlines() if r.status_code < 400 else [])
            for url in _feed_links(get(client, site.feed).content):
                if not robots.can_fetch(NAIVE_AGENT, url):
                    continue
                resp = get(client, url)
                text = trafilatura.extract(resp.text, url=url) or ""
                req = resp.request
                request = writer.create_warc_record(
                    url,
                    "request",
                    payload=io.BytesIO(b""),
                    http_headers=StatusAndHeaders(
                        f"{req.method} {req.url.raw_path.decode()} HTTP/1.1",
                        list(req.headers.items()),
                        is_http_request=True,
                    ),
                )
                response = writer.create_warc_record(
                    url,
                    "response",
                    payload=io.BytesIO(resp.content),
                    http_headers=StatusAndHeaders(
                        f"{resp.status_code} {resp.reason_phrase}",
                        list(resp.headers.items()),
                        protocol="HTTP/1.1",
                    ),
                )
                rid = response.rec_headers.get_header("WARC-Record-ID")
                request.rec_headers.add_header("WARC-Concurrent-To", rid)
                conversion = writer.create_warc_record(
                    url,
                    "conversion",
                    payload=io.BytesIO(text.encode("utf-8")),
                    warc_content_type="text/plain; charset=utf-8",
                    warc_headers_dict={"WARC-Refers-To": rid},
                )
                for record in (request, response, conversion):
                    writer.write_record(record)
    return Timers()


def warc_summary(root: Path, articles: set[str]) -> dict[str, Any]:
    """Records by type, bytes on disk, and pages archived (article URLs with a response and a
    conversion record) over every WARC file under ``root``."""
    from warcio.archiveiterator import ArchiveIterator

    from harvester.warc.records import page_url_of

    records: Counter[str] = Counter()
    responses: set[str] = set()
    converted: set[str] = set()
    files = [p for p in root.rglob("*") if ".warc" in p.name and p.is_file()]
    for path in files:
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                kind = record.rec_type
                records[kind] += 1
                url = record.rec_headers.get_header("WARC-Target-URI") or ""
                if kind == "response" and url in articles:
                    responses.add(url)
                elif kind == "conversion" and page_url_of(url) in articles:
                    converted.add(page_url_of(url))  # ours: urn:text:<url>; naive: the URL
    return {
        "pages": len(responses & converted),
        "records": dict(records),
        "warc_bytes": sum(p.stat().st_size for p in files),
        "archive_bytes": sum(p.stat().st_size for p in root.rglob("*") if p.is_file()),
    }


def audit(spans: Spans, hosts: list[str]) -> dict[str, Any]:
    """Politeness as the servers of ``hosts`` saw it (spans are (path, start, end))."""
    robots: list[int] = []
    disallowed = requests = concurrent = 0
    gap = float("inf")
    for host in hosts:
        ordered = sorted(spans.get(host, []), key=lambda s: s[1])
        requests += len(ordered)
        robots.append(sum(1 for path, _, _ in ordered if path == "/robots.txt"))
        disallowed += sum(1 for path, _, _ in ordered if path.startswith("/private/"))
        for k, (_, start, _) in enumerate(ordered):
            concurrent = max(concurrent, 1 + sum(1 for _, _, end in ordered[:k] if end > start))
        for (_, _, end), (_, start, _) in itertools.pairwise(ordered):
            gap = min(gap, start - end)
    return {
        "requests": requests,
        "robots_per_host": sorted(set(robots)),
        "disallowed_fetched": disallowed,
        "max_concurrent_per_host": concurrent,
        "min_gap_s": None if gap == float("inf") else round(gap, 4),
    }


def _edges(spans: Spans, m0: float, m1: float) -> dict[str, Any]:
    """Seconds from the side's start to the first request any server saw (startup), and from
    the last answer to the side's return (shutdown); ``time.monotonic`` is system-wide."""
    logged = [span for host in spans.values() for span in host]
    if not logged:
        return {"startup_s": None, "shutdown_s": None}
    return {
        "startup_s": min(start for _, start, _ in logged) - m0,
        "shutdown_s": m1 - max(end for _, _, end in logged),
    }


def measure(
    side: str, sites: list[Site], args: argparse.Namespace, newsroom: Newsroom
) -> dict[str, Any]:
    """Run one side once into a fresh temp dir; everything one run reports."""
    articles = {u for s in sites for u in s.articles}
    with tempfile.TemporaryDirectory(prefix=f"crawl-{side}-") as tmp:
        root = Path(tmp) / "archive"
        newsroom.log()  # start the request log afresh
        logging.disable(logging.CRITICAL)
        try:
            main0, kids0 = cpu_seconds(newsroom.pid)
            t0, m0 = time.perf_counter(), time.monotonic()
            if side == "harvester":
                timers = run_harvester(sites, args.delay, args.workers, root)
            else:
                timers = run_naive(sites, args.delay, root)
            wall, m1 = time.perf_counter() - t0, time.monotonic()
            main1, kids1 = cpu_seconds(newsroom.pid)
        finally:
            logging.disable(logging.NOTSET)
        served = newsroom.log()
        summary = warc_summary(root, articles)
    pages = summary["pages"]
    cpu = (main1 - main0) + (kids1 - kids0)
    return {
        "side": side,
        "wall_s": wall,
        "pages": pages,
        "pages_per_s": pages / wall if wall else 0.0,
        "cpu_s": cpu,
        "cpu_main_s": main1 - main0,
        "cpu_children_s": kids1 - kids0,
        "cpu_ms_per_page": cpu / pages * 1e3 if pages else None,
        **summary,
        "timers_s": dict(timers.seconds),
        "audit": audit(served, [s.host for s in sites]),
        **_edges(served, m0, m1),
    }


# -- reporting ----------------------------------------------------------------------------------


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(float(r[key]) for r in runs)


def floor_s(hosts: int, per_host: int, delay: float, latency: float) -> tuple[float, float]:
    """Politeness floors (parallel over hosts, one host after another): per host, robots.txt +
    feed + articles with ``delay`` between them and ``latency`` on every article."""
    one = (per_host + 1) * delay + per_host * latency
    return one, hosts * one


def summarise(runs: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    by_side = {side: [r for r in runs if r["side"] == side] for side in SIDES}
    med: dict[str, dict[str, Any]] = {}
    for side, rs in by_side.items():
        cpu_pages = [r["cpu_s"] / r["pages"] for r in rs if r["pages"]]
        pages = max(statistics.median(r["pages"] for r in rs), 1)
        timers: defaultdict[str, float] = defaultdict(float)
        for r in rs:
            for label, seconds in r["timers_s"].items():
                timers[label] += seconds
        records: Counter[str] = Counter()
        for r in rs:
            records.update(r["records"])
        med[side] = {
            "wall_s": _median(rs, "wall_s"),
            "pages": statistics.median(r["pages"] for r in rs),
            "pages_per_s": _median(rs, "pages_per_s"),
            "cpu_ms_per_page": statistics.median(cpu_pages) * 1e3 if cpu_pages else None,
            "cpu_main_ms_per_page": _median(rs, "cpu_main_s") / pages * 1e3,
            "cpu_children_ms_per_page": _median(rs, "cpu_children_s") / pages * 1e3,
            "records_per_page": {k: v / len(rs) / pages for k, v in sorted(records.items())},
            "archive_kb_per_page": _median(rs, "archive_bytes") / pages / 1e3,
            "startup_s": statistics.median(r["startup_s"] or 0.0 for r in rs),
            "shutdown_s": statistics.median(r["shutdown_s"] or 0.0 for r in rs),
            "timers_ms_per_page": {k: v / len(rs) / pages * 1e3 for k, v in timers.items()},
            "audit": {
                "robots_per_host": sorted({n for r in rs for n in r["audit"]["robots_per_host"]}),
                "disallowed_fetched": max(r["audit"]["disallowed_fetched"] for r in rs),
                "max_concurrent_per_host": max(r["audit"]["max_concurrent_per_host"] for r in rs),
                "min_gap_s": min(
                    (r["audit"]["min_gap_s"] for r in rs if r["audit"]["min_gap_s"] is not None),
                    default=None,
                ),
            },
        }
    h, n = med["harvester"], med["naive"]
    parallel, sequential = floor_s(args.hosts, args.per_host, args.delay, args.latency)
    return {
        "medians": med,
        "pages_per_s_ratio": h["pages_per_s"] / n["pages_per_s"] if n["pages_per_s"] else None,
        "cpu_per_page_ratio": h["cpu_ms_per_page"] / n["cpu_ms_per_page"]
        if h["cpu_ms_per_page"] and n["cpu_ms_per_page"]
        else None,
        "politeness_floor_s": {"parallel_hosts": parallel, "one_host_at_a_time": sequential},
    }


WORK = {
    "harvester": "request + response + metadata (export record, evidence, removed blocks) + "
    "conversion (cleaned text) per page; trafilatura main text + DOM metadata + attribution + "
    "boilerplate rule packs + learned templates in a forkserver worker under a time budget; "
    "fingerprint + story placement (dedup); SSRF-guarded fetch; one fsync + one SQLite catalog "
    "transaction per page (capture and article records)",
    "naive": "request + response + conversion (trafilatura.extract text) per page, one gzipped "
    "WARC file, no fsync, no index, no dedup, no boilerplate cleaning",
}


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(summary: dict[str, Any], args: argparse.Namespace) -> str:
    med = summary["medians"]
    floors = summary["politeness_floor_s"]
    rows = [
        "| side | pages | wall (s) | pages/s | CPU ms/page (main + children) "
        "| records/page | archive KB/page | robots/host | disallowed fetched "
        "| max at once/host | min gap (s) |",
        "|---|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|",
    ]
    for side in SIDES:
        m = med[side]
        a = m["audit"]
        recs = ", ".join(f"{k} {v:.2f}" for k, v in m["records_per_page"].items())
        rows.append(
            f"| {side} | {m['pages']:.0f} | {m['wall_s']:.1f} | {m['pages_per_s']:.1f} "
            f"| {_fmt(m['cpu_ms_per_page'], '.1f')} ({m['cpu_main_ms_per_page']:.1f} + "
            f"{m['cpu_children_ms_per_page']:.1f}) | {recs} | {m['archive_kb_per_page']:.1f} "
            f"| {'/'.join(map(str, a['robots_per_host']))} | {a['disallowed_fetched']} "
            f"| {a['max_concurrent_per_host']} | {_fmt(a['min_gap_s'], '.3f')} |"
        )
    lines = [
        *rows,
        "",
        f"pages/s ratio (harvester / naive): {_fmt(summary['pages_per_s_ratio'], '.2f')}",
        f"CPU per page ratio (harvester / naive): {_fmt(summary['cpu_per_page_ratio'], '.2f')}",
        f"politeness floor: {floors['parallel_hosts']:.1f} s with hosts in parallel, "
        f"{floors['one_host_at_a_time']:.1f} s one host at a time",
    ]
    for side in SIDES:
        m = med[side]
        crawl = m["wall_s"] - m["startup_s"] - m["shutdown_s"]
        lines.append(
            f"{side} wall: {m['startup_s']:.2f} s to its first request, {crawl:.2f} s crawling, "
            f"{m['shutdown_s']:.2f} s after the last answer"
        )
    timers = med["harvester"]["timers_ms_per_page"]
    if timers.get(PROCESS):
        process, extract, fsync = (timers.get(k, 0.0) for k in (PROCESS, EXTRACT, FSYNC))
        lines.append(
            f"harvester under its archive lock (serialised), wall ms/page: {PROCESS} "
            f"{process:.1f} = {EXTRACT} {extract:.1f} + {FSYNC} {fsync:.1f} + the rest "
            f"{process - extract - fsync:.1f} (WARC records, catalog, templates, stories); "
            f"lock busy {process * med['harvester']['pages'] / 1e3:.1f} s of the run"
        )
    lines.append("")
    lines += [f"{side} per page: {WORK[side]}." for side in SIDES]
    lines.append(
        f"Medians of {args.repeat} runs per side (alternating order); {args.hosts} hosts x "
        f"{args.per_host} articles, per-host delay {args.delay:g} s, latency {args.latency:g} s, "
        f"{args.workers} harvester workers."
    )
    return "\n".join(lines)


def _environment() -> str:
    from harvester.version import __version__

    versions = [f"harvester {__version__}", f"Python {platform.python_version()}"]
    versions += [f"{p} {version(p)}" for p in ("httpx", "trafilatura", "warcio")]
    return f"{', '.join(versions)}; {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=8, help="outlets (default 8)")
    parser.add_argument("--per-host", type=int, default=25, help="articles per outlet (25)")
    parser.add_argument("--delay", type=float, default=0.2, help="per-host delay, s (0.2)")
    parser.add_argument("--latency", type=float, default=0.05, help="server delay/article (0.05)")
    parser.add_argument("--workers", type=int, default=16, help="harvester fetch workers (16)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per side (3)")
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="OUT",
        help="write the full results to OUT (table still printed); bare --json: JSON on stdout",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.hosts <= 254 - FIRST_HOST or args.per_host < 1 or args.repeat < 1:
        parser.error(f"need 1 <= --hosts <= {254 - FIRST_HOST}, --per-host >= 1, --repeat >= 1")
    if args.serve:
        return _serve(args.hosts, args.per_host, args.latency)

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    newsroom = Newsroom(args.hosts, args.per_host, args.latency)
    try:
        warmup = {side: measure(side, newsroom.warmup, args, newsroom) for side in SIDES}
        for side, r in warmup.items():
            say(f"warm-up {side}: {r['pages']} pages, {r['wall_s']:.1f} s, CPU {r['cpu_s']:.2f} s")
        runs: list[dict[str, Any]] = []
        for k in range(args.repeat):
            for side in SIDES if k % 2 == 0 else SIDES[::-1]:
                r = measure(side, newsroom.sites, args, newsroom)
                runs.append(r)
                say(
                    f"run {k + 1}/{args.repeat} {side}: {r['pages']} pages, {r['wall_s']:.1f} s, "
                    f"{r['pages_per_s']:.1f} pages/s, CPU {r['cpu_s']:.2f} s"
                )
    finally:
        newsroom.close()
    summary = summarise(runs, args)
    result = {
        "environment": _environment(),
        "settings": {k: v for k, v in vars(args).items() if k not in ("json", "serve")},
        "summary": summary,
        "work_per_page": WORK,
        "warmup": warmup,
        "runs": runs,
    }
    if args.json == "-":
        print(json.dumps(result, indent=2))
        return 0
    print(f"Environment: {_environment()}\n")
    print(table(summary, args))
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
