"""Soak: 1,000 outlets on loopback, 10% slow, 1% silent; do the fast ones keep their pace?

A local newsroom of ``--outlets`` outlets, each on its own loopback address (127.0.1.2,
127.0.1.3, ... 127.0.1.254, 127.0.2.2, ...; all of 127/8 is loopback on Linux, and 127.0.0.x is
left to the other benchmarks and the tests). Every outlet is a ``tests/mockserver.py``
``MockServer`` with a robots.txt (``Disallow: /private/``) and an RSS feed of ``--per-outlet``
team-written articles (``tests/pages.py``: ``invented_story(k)`` in ``article_page``). Outlets
are of three kinds, picked by a seeded shuffle so they are spread over the address range:

* **fast** (the rest): every answer at once;
* **slow** (``--slow-share``, default 10%): robots.txt and the feed at once, every article
  after ``--slow-delay`` seconds (default 2);
* **silent** (``--silent-share``, default 1%): robots.txt and the feed at once, every article
  request read and never answered (MockServer's ``hang``), so a fetch ends only at harvester's
  ``timeout``. The feed answering is deliberate: it puts the silent URLs into the frontier,
  where they can hold workers (a host that is silent from robots.txt on only delays its poll).

Two runs over the same newsroom, each into a fresh archive: **baseline** (harvester is told about
the fast outlets only) and **full** (every outlet). Each run is ``harvester.daemon.run_daemon(
settings, once=True)`` (poll every outlet once, drain the frontier, exit) with ``Settings`` built
in code: ``per_host_delay`` ``--delay``, ``timeout`` ``--timeout``, ``deadline`` ``--deadline``,
``workers`` ``--workers``, ``retries`` ``--retries`` after ``--retry-delay`` (small, because
``--once`` waits for retries due within 60 s), ``allow_private_networks`` for the loopback
hosts, everything else at its default (extraction in the forkserver worker, fsync per capture).

Processes, and why: the newsroom is a child process (this script with ``--serve``) so its CPU and
memory are not harvester's; each run is a fresh child process (``--harvest PLAN``) so its RSS is
harvester's own from a cold start, not what the previous run left behind. In that child,
run_daemon runs in the main thread (its SIGTERM handling intact); ``--seconds N`` bounds a run by
calling ``Crawler.stop()`` after N seconds, exactly what the daemon's own SIGTERM handler does
(stop taking work, cancel fetches in flight, which stay pending; let the page being archived
finish; close the WARC file). The Crawler is picked up by wrapping ``Crawler.start`` for the run.
Without ``--seconds`` a run ends when ``--once`` drains. ``--repeat N`` runs N pairs, the order
alternating, and reports medians. A thread in the child samples, every second: its VmRSS
(``/proc/self/status``) and CPU time, its descendants' RSS and CPU time (the forkserver and the
extraction worker, via psutil), the newsroom's and the whole machine's CPU time, threads, open
file descriptors and the crawler's counters.

1,000 MockServers in one process are 1,000 accept-loop threads plus one per open connection.
``MockServer.start`` polls its accept loop every 20 ms: at 1,000 servers that alone costs about
1.2 CPU cores of a 2-core machine, idle, and would starve harvester. The newsroom therefore
subclasses MockServer with a 1 s poll (``QuietServer``): accepting is readiness-driven either
way, the poll only bounds how fast ``shutdown()`` is noticed, and the newsroom never shuts its
servers down one by one (it exits). Each server holds a listening socket and every open
connection a socket, so RLIMIT_NOFILE's soft limit is raised to the hard limit at start (a
common default soft limit is 1,024, below 1,000 listeners + harvester's 100 pooled connections).

Measured per run, from the servers' request logs (``time.monotonic`` is system-wide on Linux):

* **fast pages/s**: fast-outlet articles archived (the catalog, via ``harvester.Archive``)
  divided by the fast window, from the first request to a fast host to the end of the last
  fast article answer. Discovery is inside the window in both runs. The target is full /
  baseline >= 0.9.
* **workers held** by slow and silent hosts during the fast window, mean, peak and the share of
  the window with every worker held: slow article answers in progress plus silent article
  requests younger than ``--timeout`` (sampled every 0.25 s).
* **CPU**, in cores busy on average: harvester's main process, the extraction worker, the
  newsroom, the whole machine (a shared machine shows other work there).
* **RSS**: peak, and the median of the first and the last quarter of the samples taken after
  every outlet was polled once and a page archived (start-up, and per-outlet state that grows
  with the outlets until each was polled, is not a trend); flat means the last quarter within
  10% of the first. The anonymous part (RssAnon) is reported too. The growth is also given
  per article archived between the two quarters (state that grows with the archive shows as a
  steady cost per article; telling that from a leak needs a look inside: ``--trace``, and
  bench/README.md); the extraction worker's RSS too.
* **correctness**, per kind of outlet: articles archived, still pending in the frontier, given up
  on (frontier state ``failed``), never discovered (the run stopped before the outlet's poll
  finished) and **lost** (discovered, but neither archived nor in the frontier; must be 0);
  articles listed twice by ``Archive.articles()``; duplicate ``response`` records (same URL and
  payload digest, over every WARC file with warcio; must be 0); articles fetched more than once
  (server log). A run that drained must have archived every fast and slow article.
* politeness as the servers saw it: robots.txt fetches per host, most requests at once to one
  host, shortest gap between two requests to one host.

Several processes (``--processes N``, and ``--compare-processes 1,2``, which replaces the
baseline/full pair by one run per process count, each on every outlet): the run's child starts
N worker processes of this script (``--harvest-worker``), each running what ``harvester run
--processes 1 --once --round-start T`` runs (``run_daemon(settings, once=True,
round_start=T)``, T shared), with every ``Catalog.placement()`` section timed by wrapping the
engines' ``placement`` from outside; ``--via-cli`` starts ``python -m harvester run --once
--processes N --config FILE`` instead (its supervisor, then its workers; the sections are then
not timed). ``--compare-processes`` runs every side this way, one process included. CPU counts
every process of ours: a sampler outside them (every 0.5 s) adds up, per worker, the CPU of
every live process of its tree (the forkserver and the extraction workers, and the children
each reaped), kept at its highest, or ``os.wait4``'s rusage once the worker is waited for if
that is higher. Reported per run: pages/s over the fast window; cores busy in that window,
ours, the newsroom's and the rest of the machine's; CPU ms per page in the window (and over the
whole run, start-up included); the machine's ceiling, cores / CPU per page, and the share of it
reached (which is also our busy cores / cores), beside the share of the cores the machine's
other work left; the placement sections' share of the window, ms held and ms waited per
article, and whether two were ever held at once (must not be). The comparison gives each
side's speed-up over the first and its share of the ceiling at its own and at the first side's
CPU per page; the target is the largest side within 80% of the ceiling.

Run from the repository root (needs psutil: the ``bench`` extra; no network, no shared data)::

    .venv/bin/python bench/soak.py                          # 1,000 outlets x 5, about 5 min
    .venv/bin/python bench/soak.py --outlets 200 --per-outlet 3   # a quick look, ~1 min
    .venv/bin/python bench/soak.py --seconds 60             # each run stopped after 60 s
    .venv/bin/python bench/soak.py --repeat 3               # three pairs, medians, ~15 min
    .venv/bin/python bench/soak.py --json bench/results/soak.json  # table + full JSON
    .venv/bin/python bench/soak.py --outlets 300 --per-outlet 5 --slow-share 0 \
        --silent-share 0 --compare-processes 1,2 --repeat 2     # every core, ~2.5 min

Progress goes to stderr, the Markdown tables to stdout. Exit 1 when a correctness invariant
broke (lost or duplicated articles), else 0: throughput and RSS are reported, not judged.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import hashlib
import itertools
import json
import logging
import os
import platform
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from harvester.config import Settings
    from harvester.daemon import Crawler

REPO = Path(__file__).resolve().parents[1]
KINDS = ("fast", "slow", "silent")
RUNS = ("baseline", "full")
ROBOTS = "User-agent: *\nDisallow: /private/\n"
RSS_TYPE = "application/rss+xml"
ARTICLE_PREFIX = "/news/"
# MockServer's accept loop polls every 20 ms; 1,000 of them burn a core (see the docstring).
SERVE_POLL = 1.0
# A silent article is never answered within a run (the server thread waits on its stop event).
HANG_SECONDS = 3600.0
SAMPLE_EVERY = 1.0
# Several processes: a sampler outside them, often enough that a process's last second of CPU
# before it exits is a small part of a run.
FLEET_SAMPLE_EVERY = 0.5
FLAT_TOLERANCE = 0.10  # RSS "flat": last-quarter median within 10% of the first quarter's
THROUGHPUT_TARGET = 0.90  # fast pages/s, full / baseline
CEILING_TARGET = 0.80  # several processes: pages/s against cores / CPU per page
SEED = 1
# per host: requests as logged before answering (target, time) and answered spans
# (target, start, end); time.monotonic, system-wide
HostLog = dict[str, list[list[Any]]]
Log = dict[str, HostLog]


def host_address(n: int) -> str:
    """The ``n``-th outlet's loopback address: 127.0.1.2-254, 127.0.2.2-254, ..."""
    hi, lo = divmod(n, 253)
    if hi > 253:
        raise ValueError(f"too many outlets for 127.0.1-254.2-254: {n + 1}")
    return f"127.0.{hi + 1}.{lo + 2}"


def outlet_kinds(outlets: int, slow_share: float, silent_share: float) -> list[str]:
    """Each outlet's kind, silent and slow ones spread by a seeded shuffle."""
    order = list(range(outlets))
    random.Random(SEED).shuffle(order)
    silent = round(outlets * silent_share)
    slow = round(outlets * slow_share)
    kinds = ["fast"] * outlets
    for n in order[:silent]:
        kinds[n] = "silent"
    for n in order[silent : silent + slow]:
        kinds[n] = "slow"
    return kinds


@dataclass(frozen=True)
class Site:
    """One outlet of the newsroom as harvester sees it."""

    host: str
    kind: str
    base: str  # http://127.0.x.y:PORT/
    feed: str
    articles: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"Outlet {self.host}"


def _cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of process ``pid`` (None: every core of the machine, busy)."""
    import psutil

    if pid is None:
        t = psutil.cpu_times()
        return float(t.user + t.nice + t.system + t.irq + t.softirq + t.steal)
    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system)


# -- the newsroom (child process) ---------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    """Child process: serve the newsroom until stdin closes.

    Prints one JSON line with the sites, then answers each ``log`` line on stdin with one JSON
    line: per host, the requests and spans logged since the previous ``log``.
    """
    raise_nofile()
    sys.path.insert(0, str(REPO / "tests"))
    from mockserver import HANG, MockServer, _HTTPServer
    from pages import article_page, invented_story, rss_feed

    class QuietServer(MockServer):
        """MockServer with a 1 s accept-loop poll instead of 20 ms (start() is MockServer's,
        the poll interval aside)."""

        def start(self) -> QuietServer:
            httpd = _HTTPServer((self._host, self._port), self)
            self._port = int(httpd.server_address[1])
            self._httpd = httpd
            self._thread = threading.Thread(
                target=httpd.serve_forever,
                kwargs={"poll_interval": SERVE_POLL},
                name=f"{self.thread_prefix}serve",
                daemon=True,
            )
            self._thread.start()
            return self

    kinds = outlet_kinds(args.outlets, args.slow_share, args.silent_share)
    servers: list[MockServer] = []
    sites: list[Site] = []
    for n, kind in enumerate(kinds):
        srv = QuietServer(host_address(n)).start()
        srv.robots(ROBOTS)
        route: dict[str, Any] = {}
        if kind == "slow":
            route = {"delay": args.slow_delay}
        elif kind == "silent":
            route = {"behaviour": HANG, "hang_seconds": HANG_SECONDS}
        items: list[tuple[str, str]] = []
        for k in range(n * args.per_outlet, (n + 1) * args.per_outlet):
            title, paragraphs = invented_story(k)
            path = f"{ARTICLE_PREFIX}2026/03/story-{k:06d}.html"
            srv.route(path, article_page(title=title, paragraphs=paragraphs), **route)
            items.append((title, srv.url(path)))
        srv.route("/rss.xml", rss_feed(items, title=f"Outlet {srv.host}"), content_type=RSS_TYPE)
        servers.append(srv)
        sites.append(
            Site(
                host=srv.host,
                kind=kind,
                base=srv.url("/"),
                feed=srv.url("/rss.xml"),
                articles=tuple(u for _, u in items),
            )
        )
    print(json.dumps([asdict(s) for s in sites]), flush=True)
    seen = [(0, 0)] * len(servers)
    for line in sys.stdin:
        if line.strip() != "log":
            continue
        out: Log = {}
        for n, server in enumerate(servers):
            requests, spans = list(server.requests), list(server.spans)
            r0, s0 = seen[n]
            seen[n] = (len(requests), len(spans))
            if len(requests) > r0 or len(spans) > s0:
                out[server.host] = {
                    "requests": [[r.path, r.time] for r in requests[r0:]],
                    "spans": [list(s) for s in spans[s0:]],
                }
        print(json.dumps(out), flush=True)
    # The servers are daemon threads (hanging handlers included): leave without stopping each.
    return 0


class Newsroom:
    """The newsroom child process: its sites and its request log."""

    def __init__(self, args: argparse.Namespace) -> None:
        cmd = [sys.executable, __file__, "--serve", "--outlets", str(args.outlets)]
        cmd += ["--per-outlet", str(args.per_outlet), "--slow-share", str(args.slow_share)]
        cmd += ["--silent-share", str(args.silent_share), "--slow-delay", str(args.slow_delay)]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._in: IO[str] = self._proc.stdin  # type: ignore[assignment]
        self._out: IO[str] = self._proc.stdout  # type: ignore[assignment]
        line = self._out.readline()
        if not line:
            raise RuntimeError("the newsroom process did not start (see stderr)")
        self.sites = [Site(**{**s, "articles": tuple(s["articles"])}) for s in json.loads(line)]

    @property
    def pid(self) -> int:
        return self._proc.pid

    def log(self) -> Log:
        """Requests and answers per host since the previous call."""
        self._in.write("log\n")
        self._in.flush()
        result: Log = json.loads(self._out.readline())
        return result

    def close(self) -> None:
        self._in.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


def raise_nofile() -> tuple[int, int]:
    """Raise RLIMIT_NOFILE's soft limit to the hard limit; returns the new (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


# -- one harvester run (child process) ----------------------------------------------------------


def _memory_kb() -> dict[str, int]:
    """VmRSS and its parts (anonymous: the heap, numpy arrays, thread stacks; file: mapped files
    such as shared libraries) from /proc/self/status, in KB."""
    wanted = {"VmRSS:": "rss_kb", "RssAnon:": "rss_anon_kb", "RssFile:": "rss_file_kb"}
    found = dict.fromkeys(wanted.values(), 0)
    for line in Path("/proc/self/status").read_text().splitlines():
        name = line.split(":", 1)[0] + ":"
        if name in wanted:
            found[wanted[name]] = int(line.split()[1])
    return found


def _malloc_kb() -> dict[str, int]:
    """glibc's view of the C heap (mallinfo2): bytes in use and bytes free but kept, in KB;
    empty where mallinfo2 is missing (not glibc, or glibc < 2.33)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        info = libc.mallinfo2
    except (OSError, AttributeError):
        return {}

    class MallInfo2(ctypes.Structure):
        _fields_ = [
            (name, ctypes.c_size_t)
            for name in (
                "arena",
                "ordblks",
                "smblks",
                "hblks",
                "hblkhd",
                "usmblks",
                "fsmblks",
                "uordblks",
                "fordblks",
                "keepcost",
            )
        ]

    info.restype = MallInfo2
    m = info()
    return {
        "malloc_used_kb": (m.uordblks + m.hblkhd) // 1024,
        "malloc_free_kb": m.fordblks // 1024,
    }


class _LogTally(logging.Handler):
    """Counts harvester's log records by message template; keeps the first example of each
    warning/error template and every progress line."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, str] = {}
        self.progress: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        template = str(record.msg)
        if template == "%s" and record.args:
            text = record.getMessage()
            if text.startswith("progress:"):
                self.progress.append(f"{record.created:.0f} {text}")
                template = "progress: ..."
        key = f"{record.levelname} {template}"
        self.counts[key] += 1
        if record.levelno >= logging.WARNING and key not in self.examples:
            self.examples[key] = record.getMessage()


def _settings(plan: dict[str, Any]) -> Settings:
    """The run's Settings, built in code (nothing read from a config file)."""
    from harvester.config import (
        ArchiveSettings,
        ExtractSettings,
        FetchSettings,
        Outlet,
        Settings,
    )

    cache = plan["template_cache"]
    return Settings(
        archive=ArchiveSettings(dir=Path(plan["archive"])),
        extract=ExtractSettings() if cache is None else ExtractSettings(template_cache=cache),
        fetch=FetchSettings(
            per_host_delay=plan["delay"],
            timeout=plan["timeout"],
            deadline=plan["deadline"],
            workers=plan["workers"],
            retries=plan["retries"],
            retry_delay=plan["retry_delay"],
            allow_private_networks=True,  # the newsroom is on loopback
        ),
        outlets=tuple(
            Outlet(name=o["name"], home=o["home"], feeds=(o["feed"],)) for o in plan["outlets"]
        ),
    )


class _Watch:
    """The run's side threads: a sampler (every SAMPLE_EVERY seconds) and, with ``seconds``, a
    stopper that calls ``Crawler.stop()`` (what the daemon's SIGTERM handler calls)."""

    def __init__(self, seconds: float, newsroom: int, trace_at: Sequence[int] = ()) -> None:
        import psutil

        self._me = psutil.Process()
        # With trace_at (two article counts), tracemalloc runs from the start and a snapshot is
        # taken at each count: where Python allocations grew in between (before shutdown frees).
        self._trace_at = list(trace_at)
        self.traces: list[tuple[int, tracemalloc.Snapshot]] = []
        self._newsroom = newsroom
        self._seconds = seconds
        self.crawlers: list[Crawler] = []
        self.samples: list[dict[str, float]] = []
        self.stopped_at: float | None = None
        self._finished = threading.Event()
        self._threads = [threading.Thread(target=self._sample, daemon=True)]
        if seconds:
            self._threads.append(threading.Thread(target=self._stop_later, daemon=True))

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def finish(self) -> None:
        self._finished.set()
        for thread in self._threads:
            thread.join(5)

    def _sample(self) -> None:
        import psutil

        while True:
            kids = 0
            kids_cpu = 0.0
            for proc in self._me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    kids += proc.memory_info().rss
                    # children_*: workers the forkserver reaped (one is replaced every
                    # max_calls pages)
                    t = proc.cpu_times()
                    kids_cpu += t.user + t.system + t.children_user + t.children_system
            own = self._me.cpu_times()
            row: dict[str, float] = {
                "t": time.monotonic(),
                "cpu_s": own.user + own.system,
                "children_cpu_s": kids_cpu,
                "newsroom_cpu_s": _cpu_seconds(self._newsroom),
                "machine_cpu_s": _cpu_seconds(),
                **_memory_kb(),
                **_malloc_kb(),
                "children_rss_kb": kids // 1024,
                "threads": threading.active_count(),
                "fds": sum(1 for _ in Path("/proc/self/fd").iterdir()),
            }
            if self.crawlers:
                crawler = self.crawlers[0]
                row.update(
                    archived=crawler.stats.archived,
                    fetched=crawler.stats.fetched,
                    polled=crawler.stats.polled,
                )
                row.update(crawler.frontier.counts())
                if self._trace_at and row["archived"] >= self._trace_at[0]:
                    del self._trace_at[0]
                    self.traces.append((int(row["archived"]), tracemalloc.take_snapshot()))
            self.samples.append(row)
            if self._finished.wait(SAMPLE_EVERY):
                return

    def _stop_later(self) -> None:
        if self._finished.wait(self._seconds) or not self.crawlers:
            return
        self.stopped_at = time.monotonic()
        self.crawlers[0].stop()


def _harvest(plan_path: str) -> int:
    """Child process: one ``run_daemon(once=True)`` as the plan says; the result as JSON."""
    plan = json.loads(Path(plan_path).read_text())
    if plan["processes"] > 1 or plan["fleet"]:
        return _harvest_fleet(plan)
    raise_nofile()
    from harvester.daemon import Crawler, run_daemon

    settings = _settings(plan)
    tally = _LogTally()
    hlog = logging.getLogger("harvester")
    hlog.setLevel(logging.INFO)
    hlog.addHandler(tally)
    hlog.propagate = False

    trace_at = (plan["articles"] // 5, plan["articles"] * 4 // 5) if plan["trace"] else ()
    if trace_at:
        tracemalloc.start(1)
    watch = _Watch(plan["seconds"], plan["newsroom"], trace_at)
    original_start = Crawler.start

    def start(self: Crawler, workers: int) -> None:
        watch.crawlers.append(self)  # the run's Crawler, for the sampler and the stopper
        original_start(self, workers)

    Crawler.start = start  # type: ignore[method-assign]
    t0 = time.monotonic()
    watch.start()
    try:
        code = run_daemon(settings, once=True)
    finally:
        t1 = time.monotonic()
        watch.finish()
    stats = watch.crawlers[0].stats if watch.crawlers else None
    result = {
        "code": code,
        "start": t0,
        "end": t1,
        "stopped_at": watch.stopped_at,
        "stats": {k: v for k, v in vars(stats).items() if k != "started"} if stats else {},
        "samples": watch.samples,
        "log_counts": dict(tally.counts.most_common()),
        "log_examples": tally.examples,
        "progress": tally.progress,
        "trace": _trace_growth(watch.traces),
    }
    Path(plan["out"]).write_text(json.dumps(result))
    return 0


def _trace_growth(traces: list[tuple[int, tracemalloc.Snapshot]]) -> dict[str, Any]:
    """Where Python allocations grew between the two snapshots: by file, and the top lines."""
    if len(traces) < 2:
        return {}
    (n0, first), (n1, last) = traces[0], traces[-1]
    articles = max(1, n1 - n0)
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    first, last = first.filter_traces(ignore), last.filter_traces(ignore)

    def top(key: str, n: int) -> list[dict[str, Any]]:
        stats = last.compare_to(first, key)
        return [
            {
                "where": str(s.traceback[0]) if key == "lineno" else s.traceback[0].filename,
                "kb": s.size_diff / 1024,
                "bytes_per_article": s.size_diff / articles,
            }
            for s in stats[:n]
        ]

    total = sum(s.size for s in last.statistics("filename")) - sum(
        s.size for s in first.statistics("filename")
    )
    return {
        "articles": [n0, n1],
        "total_kb": total / 1024,
        "bytes_per_article": total / articles,
        "by_file": top("filename", 15),
        "by_line": top("lineno", 25),
    }


# -- several harvester processes (children of the run's child) ----------------------------------


class _PlacementClock:
    """Times every ``Catalog.placement()`` section of this process: the wait to enter and the
    time held, and each held interval (``time.monotonic``, system-wide), by wrapping the
    engines' ``placement`` methods from outside (harvester is not edited)."""

    def __init__(self) -> None:
        self.wait_s = 0.0
        self.hold_s = 0.0
        self.intervals: list[tuple[float, float]] = []
        self._lock = threading.Lock()

    def install(self) -> None:
        from harvester.catalog import SqliteCatalog

        engines: list[type[Any]] = [SqliteCatalog]
        with contextlib.suppress(ImportError):
            from harvester.catalog.postgres import PostgresCatalog

            engines.append(PostgresCatalog)
        for engine in engines:
            engine.placement = self._wrap(engine.placement)

    def _wrap(self, original: Any) -> Any:
        clock = self

        @contextlib.contextmanager
        def placement(catalog: Any) -> Any:
            asked = time.monotonic()
            with original(catalog):
                entered = time.monotonic()
                try:
                    yield
                finally:
                    left = time.monotonic()
                    with clock._lock:
                        clock.wait_s += entered - asked
                        clock.hold_s += left - entered
                        clock.intervals.append((entered, left))

        return placement

    def to_json(self) -> dict[str, Any]:
        return {
            "count": len(self.intervals),
            "wait_s": self.wait_s,
            "hold_s": self.hold_s,
            "intervals": self.intervals,
        }


def _harvest_worker(plan_path: str, index: int) -> int:
    """One worker process of a several-process run: what ``harvester run --processes 1 --once
    --round-start T`` runs (``run_daemon(settings, once=True, round_start=T)``), with the
    placement sections timed; its result as JSON in ``<out>.<index>``."""
    raise_nofile()
    from harvester.daemon import Crawler, run_daemon

    plan = json.loads(Path(plan_path).read_text())
    tally = _LogTally()
    hlog = logging.getLogger("harvester")
    hlog.setLevel(logging.INFO)
    hlog.addHandler(tally)
    hlog.propagate = False
    clock = _PlacementClock()
    clock.install()
    crawlers: list[Crawler] = []
    original_start = Crawler.start

    def start(self: Crawler, workers: int) -> None:
        crawlers.append(self)
        original_start(self, workers)

    Crawler.start = start  # type: ignore[method-assign]
    import yappi
    yappi.set_clock_type("cpu")
    yappi.start(builtins=False)
    t0 = time.monotonic()
    code = run_daemon(_settings(plan), once=True, round_start=plan["round_start"])
    t1 = time.monotonic()
    yappi.stop()
    stats = yappi.get_func_stats()
    rows = sorted(((f.ttot, f.tsub, f.ncall, f.module.split("/")[-1] + ":" + f.name) for f in stats), reverse=True)
    with open(f"/tmp/yappi-{os.environ.get('SOAK_TAG','x')}-{index}.txt", "w") as out:
        for ttot, tsub, ncall, name in rows[:400]:
            out.write(f"{ttot:.3f}\t{tsub:.3f}\t{ncall}\t{name}\n")
    stats = crawlers[0].stats if crawlers else None
    result = {
        "code": code,
        "start": t0,
        "end": t1,
        "stats": {k: v for k, v in vars(stats).items() if k != "started"} if stats else {},
        "placement": clock.to_json(),
        "log_counts": dict(tally.counts.most_common()),
        "log_examples": tally.examples,
        "progress": tally.progress,
    }
    Path(f"{plan['out']}.{index}").write_text(json.dumps(result))
    return 0


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)  # numbers and strings: JSON spells them as TOML does


def _config_file(plan: dict[str, Any], path: Path) -> Path:
    """The plan's Settings as a config file, for ``python -m harvester run --config``."""
    lines = ["[archive]", f"dir = {_toml(plan['archive'])}", "[fetch]"]
    for key in ("delay", "timeout", "deadline", "workers", "retries", "retry_delay"):
        name = "per_host_delay" if key == "delay" else key
        lines.append(f"{name} = {_toml(plan[key])}")
    lines.append("allow_private_networks = true")
    if plan["template_cache"] is not None:
        lines += ["[extract]", f"template_cache = {plan['template_cache']}"]
    for outlet in plan["outlets"]:
        lines += [
            "[[outlets]]",
            f"name = {_toml(outlet['name'])}",
            f"home = {_toml(outlet['home'])}",
            f"feeds = {_toml([outlet['feed']])}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _proc_status_kb(pid: int, key: str) -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    return 0


class _FleetWatch:
    """Samples the processes of a several-process run every FLEET_SAMPLE_EVERY seconds.

    CPU: for each top-level process (a worker, or the CLI's supervisor), the CPU time of every
    live process of its tree (user + system, plus the children it reaped: the forkserver's
    extraction workers, replaced every few hundred pages), kept at its highest; once the
    process has been waited for, ``os.wait4``'s rusage (it and the descendants it reaped) if
    that is higher. The sums are the CPU of every process of ours; none is counted twice (a
    reaped child is gone from the tree). Progress (articles archived, outlets polled) is read
    from the catalog, read-only."""

    def __init__(self, procs: list[subprocess.Popen[bytes]], newsroom: int, root: Path) -> None:
        import psutil

        self._procs = procs
        self._tops = [psutil.Process(p.pid) for p in procs]
        self._newsroom = newsroom
        self._db = root / "index.sqlite"
        self.best_main = [0.0] * len(procs)  # the top-level process's own CPU
        self.best_tree = [0.0] * len(procs)  # its whole tree
        self.final: list[float | None] = [None] * len(procs)
        self.samples: list[dict[str, float]] = []
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        self._finished.set()
        self._thread.join(5)

    def reaped(self, n: int, rusage: resource.struct_rusage) -> None:
        """The top-level process ``n`` was waited for: its rusage (it + reaped descendants)."""
        self.final[n] = rusage.ru_utime + rusage.ru_stime

    def cpu_total(self) -> float:
        return sum(
            max(tree, final or 0.0) for tree, final in zip(self.best_tree, self.final, strict=True)
        )

    def _progress(self) -> dict[str, float]:
        import sqlite3

        with contextlib.suppress(sqlite3.Error):
            db = sqlite3.connect(f"file:{self._db}?mode=ro", uri=True, timeout=0.2)
            with contextlib.closing(db):
                (archived,) = db.execute(
                    "SELECT COUNT(DISTINCT final_url) FROM articles"
                ).fetchone()
                (polled,) = db.execute(
                    "SELECT COUNT(*) FROM outlet_state WHERE last_poll <> ''"
                ).fetchone()
                return {"archived": float(archived), "polled": float(polled)}
        return {}

    def _sample(self) -> dict[str, float] | None:
        """One sample; None while any process has exited (its memory and threads would be
        missing from the sums; the CPU totals are kept all the same)."""
        import psutil

        rss = rss_anon = kids_rss = threads = fds = live = 0
        for n, top in enumerate(self._tops):
            try:
                if top.status() == psutil.STATUS_ZOMBIE:
                    continue  # exited, not yet waited for: its last values stand
                tree = [top, *top.children(recursive=True)]
            except psutil.Error:
                continue  # exited: its last values stand
            live += 1
            main = total = 0.0
            for k, proc in enumerate(tree):
                with contextlib.suppress(psutil.Error):
                    t = proc.cpu_times()
                    cpu = t.user + t.system + t.children_user + t.children_system
                    total += cpu
                    mem = proc.memory_info().rss // 1024
                    if k == 0:
                        main = t.user + t.system
                        rss += mem
                        rss_anon += _proc_status_kb(proc.pid, "RssAnon:")
                        threads += proc.num_threads()
                        fds += proc.num_fds()
                    else:
                        kids_rss += mem
            self.best_main[n] = max(self.best_main[n], main)
            self.best_tree[n] = max(self.best_tree[n], total)
        if live < len(self._tops):
            return None  # start-up or shutdown of some: sums of memory would dip
        main_cpu = sum(self.best_main)
        return {
            "t": time.monotonic(),
            "cpu_s": main_cpu,
            "children_cpu_s": self.cpu_total() - main_cpu,
            "newsroom_cpu_s": _cpu_seconds(self._newsroom),
            "machine_cpu_s": _cpu_seconds(),
            "rss_kb": rss,
            "rss_anon_kb": rss_anon,
            "children_rss_kb": kids_rss,
            "threads": threads,
            "fds": fds,
            **self._progress(),
        }

    def _run(self) -> None:
        while True:
            sample = self._sample()
            if sample is not None:
                self.samples.append(sample)
            if self._finished.wait(FLEET_SAMPLE_EVERY):
                return


def _start_fleet(plan: dict[str, Any], tmp: Path) -> tuple[list[subprocess.Popen[bytes]], Path]:
    """Start the run's processes: N workers of this script sharing one round, or the CLI's
    supervisor (which passes --round-start itself); the processes and where the CLI logs."""
    n = plan["processes"]
    log = tmp / "cli.log"
    if plan["via_cli"]:
        # What an operator runs.
        config = _config_file(plan, tmp / "harvester.toml")
        cmd = [sys.executable, "-m", "harvester", "--log-level", "WARNING", "run", "--once"]
        cmd += ["--processes", str(n), "--config", str(config)]
        with log.open("wb") as err:
            return [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=REPO)], log
    worker_plan = tmp / "plan-workers.json"
    worker_plan.write_text(json.dumps({**plan, "round_start": time.time()}))
    cmd = [sys.executable, __file__, "--harvest-worker", str(worker_plan)]
    return [subprocess.Popen([*cmd, str(k)]) for k in range(n)], log


def _wait_fleet(
    procs: list[subprocess.Popen[bytes]], watch: _FleetWatch, seconds: float
) -> tuple[list[int], float | None]:
    """Wait for every process (``os.wait4``: its rusage goes to ``watch``); with ``seconds``,
    SIGTERM them after that long, as the supervisor passes a stop on. Their exit codes and
    when the stop was sent."""
    codes: dict[int, int] = {}
    stopped_at: float | None = None
    deadline = time.monotonic() + seconds if seconds else None
    while len(codes) < len(procs):
        for k, proc in enumerate(procs):
            if k in codes:
                continue
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = codes[k] = os.waitstatus_to_exitcode(status)
                watch.reaped(k, rusage)
        if deadline is not None and stopped_at is None and time.monotonic() >= deadline:
            stopped_at = time.monotonic()
            for k, proc in enumerate(procs):
                if k not in codes:
                    proc.send_signal(signal.SIGTERM)
        time.sleep(0.05)
    return [codes[k] for k in range(len(procs))], stopped_at


def _cli_warnings(log: Path) -> Counter[str]:
    """The CLI's warning and error lines (its stderr), counted."""
    counts: Counter[str] = Counter()
    if log.exists():
        for line in log.read_text(errors="replace").splitlines():
            parts = line.split(" ", 4)
            if len(parts) == 5 and parts[2] in ("WARNING", "ERROR", "CRITICAL"):
                counts[f"{parts[2]} {parts[4][:120]}"] += 1
    return counts


def _harvest_fleet(plan: dict[str, Any]) -> int:
    """Child process: ``plan["processes"]`` harvester processes on one archive, started
    together, sharing one ``--once`` round; the result as JSON (the keys of ``_harvest``'s,
    plus the CPU total, the placement sections and each process's result)."""
    raise_nofile()
    tmp = Path(plan["out"]).parent
    procs, log = _start_fleet(plan, tmp)
    watch = _FleetWatch(procs, plan["newsroom"], Path(plan["archive"]))
    t0 = time.monotonic()
    watch.start()
    codes, stopped_at = _wait_fleet(procs, watch, plan["seconds"])
    t1 = time.monotonic()
    watch.finish()
    workers = []
    for k in range(0 if plan["via_cli"] else plan["processes"]):
        with contextlib.suppress(OSError, ValueError):
            workers.append(json.loads(Path(f"{plan['out']}.{k}").read_text()))
    stats: Counter[str] = Counter()
    counts = _cli_warnings(log)
    examples: dict[str, str] = {}
    for w in workers:
        stats.update(w["stats"])
        counts.update(w["log_counts"])
        examples = {**w["log_examples"], **examples}
    intervals = sorted(tuple(i) for w in workers for i in w["placement"]["intervals"])
    result = {
        "code": max(codes, default=0),
        "codes": codes,
        "start": t0,
        "end": t1,
        "stopped_at": stopped_at,
        "stats": dict(stats),
        "samples": watch.samples,
        "cpu_total_s": watch.cpu_total(),
        "cpu_tree_s": watch.best_tree,
        "cpu_waited_s": watch.final,
        "placement": {
            "timed": not plan["via_cli"],
            "count": len(intervals),
            "wait_s": sum(w["placement"]["wait_s"] for w in workers),
            "hold_s": sum(w["placement"]["hold_s"] for w in workers),
            "overlap_s": _overlap(intervals),
            "intervals": intervals,
        },
        "workers": [{k: v for k, v in w.items() if k != "placement"} for w in workers],
        "log_counts": dict(counts.most_common()),
        "log_examples": examples,
        "progress": [p for w in workers for p in w["progress"]],
        "trace": {},
    }
    Path(plan["out"]).write_text(json.dumps(result))
    return 0


def _overlap(intervals: Sequence[tuple[float, float]]) -> float:
    """Seconds during which two placement sections were held at once (sorted intervals): the
    fleet-wide critical section must make this 0."""
    overlap, reach = 0.0, float("-inf")
    for start, end in intervals:
        if start < reach:
            overlap += min(end, reach) - start
        reach = max(reach, end)
    return overlap


def run_harvester(
    run: str,
    sites: list[Site],
    args: argparse.Namespace,
    tmp: Path,
    newsroom: int,
    *,
    processes: int = 1,
    fleet: bool = False,
) -> dict[str, Any]:
    """One run in a fresh child process into ``tmp/archive``; the child's result. With
    ``processes`` > 1 or ``fleet``, the child starts that many harvester processes and watches
    them (see ``_harvest_fleet``)."""
    plan = {
        "processes": processes,
        "fleet": fleet,
        "via_cli": args.via_cli,
        "archive": str(tmp / "archive"),
        "out": str(tmp / "result.json"),
        "delay": args.delay,
        "timeout": args.timeout,
        "deadline": args.deadline,
        "workers": args.workers,
        "retries": args.retries,
        "retry_delay": args.retry_delay,
        "seconds": args.seconds,
        "trace": args.trace,
        "template_cache": args.template_cache,
        "articles": len(sites) * args.per_outlet,
        "outlets": [{"name": s.name, "home": s.base, "feed": s.feed} for s in sites],
        "newsroom": newsroom,
    }
    plan_path = tmp / "plan.json"
    plan_path.write_text(json.dumps(plan))
    # --once drains in bounded time (retries are few and short); the cap only catches a hang.
    cap = (args.seconds or 1800) + 300
    proc = subprocess.run(
        [sys.executable, __file__, "--harvest", str(plan_path)], timeout=cap, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{run} run: harvester child exited {proc.returncode}")
    result: dict[str, Any] = json.loads(Path(plan["out"]).read_text())
    return result


# -- checking and measuring ---------------------------------------------------------------------


def warc_duplicates(root: Path) -> dict[str, Any]:
    """Records by type and ``response`` records sharing a URL and payload digest, over every
    WARC file under ``root``."""
    from warcio.archiveiterator import ArchiveIterator

    records: Counter[str] = Counter()
    responses: Counter[tuple[str, str]] = Counter()
    files = sorted(p for p in root.rglob("*") if ".warc" in p.name and p.is_file())
    for path in files:
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                records[record.rec_type] += 1
                if record.rec_type == "response":
                    url = record.rec_headers.get_header("WARC-Target-URI") or ""
                    digest = record.rec_headers.get_header("WARC-Payload-Digest") or ""
                    responses[(url, digest)] += 1
    dups = {f"{u} {d}": n for (u, d), n in responses.items() if n > 1}
    return {
        "files": len(files),
        "records": dict(records),
        "duplicate_responses": sum(n - 1 for n in dups.values()),
        "duplicate_examples": dict(itertools.islice(dups.items(), 5)),
        "bytes": sum(p.stat().st_size for p in files),
    }


def archive_state(root: Path) -> dict[str, Any]:
    """What the archive holds: articles (``Archive.articles()``, URL -> times listed), response
    captures per URL, the frontier by state, and the outlets whose poll completed."""
    from harvester import Archive
    from harvester.catalog import CATALOG_NAME, SqliteCatalog

    listed: Counter[str] = Counter()
    with Archive(root) as archive:
        for article in archive.articles():
            listed[article.url] += 1
    with SqliteCatalog(root / CATALOG_NAME, readonly=True) as catalog:
        pending = {i.url: i for i in catalog.frontier("pending")}
        failed = {i.url: i for i in catalog.frontier("failed")}
        polled = set(catalog.outlet_states())
    db = root / CATALOG_NAME
    import sqlite3

    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        captures = Counter(
            str(url)
            for (url,) in conn.execute("SELECT url FROM captures WHERE record_type = 'response'")
        )
    return {
        "listed": listed,
        "captures": captures,
        "pending": pending,
        "failed": failed,
        "polled": polled,
    }


def correctness(
    sites: list[Site], state: dict[str, Any], served: Log, drained: bool
) -> dict[str, dict[str, Any]]:
    """Per kind of outlet: what happened to each article (see the module docstring)."""
    by_kind: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        chosen = [s for s in sites if s.kind == kind]
        if not chosen:
            continue
        row: dict[str, Any] = dict.fromkeys(
            (
                "articles",
                "archived",
                "pending",
                "given_up",
                "not_discovered",
                "lost",
                "listed_twice",
                "captured_twice",
                "fetched_twice",
            ),
            0,
        )
        lost: list[str] = []
        for site in chosen:
            gets = Counter(p for p, _ in served.get(site.host, {}).get("requests", []))
            for url in site.articles:
                row["articles"] += 1
                if gets.get(urlsplit(url).path, 0) > 1:
                    row["fetched_twice"] += 1
                if state["listed"].get(url, 0) > 1:
                    row["listed_twice"] += 1
                if state["captures"].get(url, 0) > 1:
                    row["captured_twice"] += 1
                if state["listed"].get(url):
                    row["archived"] += 1
                elif url in state["pending"]:
                    row["pending"] += 1
                elif url in state["failed"]:
                    row["given_up"] += 1
                elif site.name in state["polled"]:
                    row["lost"] += 1
                    lost.append(url)
                else:
                    row["not_discovered"] += 1
        row["lost_examples"] = lost[:5]
        # A drained run must have archived every article a server answers.
        row["all_archived"] = row["archived"] == row["articles"] if kind != "silent" else None
        row["ok"] = (
            row["lost"] == 0
            and row["listed_twice"] == 0
            and row["captured_twice"] == 0
            and (not drained or kind == "silent" or row["all_archived"])
        )
        by_kind[kind] = row
    return by_kind


def _intervals_covering(intervals: list[tuple[float, float]], t: float) -> int:
    return sum(1 for a, b in intervals if a <= t < b)


def throughput(
    sites: list[Site], state: dict[str, Any], served: Log, timeout: float, workers: int
) -> dict[str, Any]:
    """Fast pages/s over the fast window, the fast completions over time, and how many
    workers slow and silent hosts held meanwhile (from the servers' logs)."""
    fast = [s for s in sites if s.kind == "fast"]
    fast_urls = {u for s in fast for u in s.articles}
    archived = sum(1 for u in fast_urls if state["listed"].get(u))
    starts = [t for s in fast for _, t in served.get(s.host, {}).get("requests", [])]
    ends = [
        end
        for s in fast
        for path, _, end in served.get(s.host, {}).get("spans", [])
        if path.startswith(ARTICLE_PREFIX)
    ]
    if not starts or not ends:
        return {"fast_archived": archived, "window_s": None, "pages_per_s": None}
    first, last = min(starts), max(ends)
    window = max(last - first, 1e-6)
    held: list[tuple[float, float]] = []
    for s in sites:
        log = served.get(s.host, {})
        if s.kind == "slow":
            held += [(a, b) for p, a, b in log.get("spans", []) if p.startswith(ARTICLE_PREFIX)]
        elif s.kind == "silent":
            held += [
                (t, t + timeout) for p, t in log.get("requests", []) if p.startswith(ARTICLE_PREFIX)
            ]
    steps = [first + k * 0.25 for k in range(int(window / 0.25) + 1)]
    covering = [_intervals_covering(held, t) for t in steps] if held else [0]
    buckets = Counter(int((end - first) // 5) for end in ends)
    return {
        "fast_archived": archived,
        "fast_articles": len(fast_urls),
        "window_s": window,
        "pages_per_s": archived / window,
        "first_request": first,
        "last_fast_answer": last,
        "workers_held_mean": statistics.fmean(covering),
        "workers_held_max": max(covering),
        "all_workers_held_share": sum(1 for n in covering if n >= workers) / len(covering),
        "fast_answers_per_5s": [buckets.get(k, 0) for k in range(max(buckets) + 1)],
    }


def rss_summary(samples: list[dict[str, float]], outlets: int) -> dict[str, Any]:
    """Peak and first- vs last-quarter medians (MB) of the sampled RSS, and the fd/thread
    range."""
    if not samples:
        return {}
    peaks = {k: max(s[k] for s in samples) / 1024 for k in ("rss_kb", "children_rss_kb")}
    # Start-up is not a trend: neither are imports, the rule packs and the extraction worker,
    # nor the state harvester keeps per outlet and host (robots.txt rules, poll schedule,
    # validators, the frontier's host queues, pooled connections), which grows with the
    # outlets until each has been polled once. The quarters are taken from the first sample
    # after every outlet was polled and a page archived.
    working = (
        [s for s in samples if s.get("archived", 0) > 0 and s.get("polled", 0) >= outlets]
        or [s for s in samples if s.get("archived", 0) > 0]
        or samples
    )
    quarter = max(1, len(working) // 4)

    # articles archived between the middles of the two quarters: growth per article is what
    # tells state that grows with the archive from a leak
    done = [s.get("archived", 0) for s in working]
    articles = statistics.median(done[-quarter:]) - statistics.median(done[:quarter])

    def stats(key: str) -> dict[str, float]:
        values = [s[key] / 1024 for s in working]
        first = statistics.median(values[:quarter])
        last = statistics.median(values[-quarter:])
        return {
            "peak_mb": peaks[key],
            "first_quarter_mb": first,
            "last_quarter_mb": last,
            "growth": (last - first) / first if first else 0.0,
            "kb_per_article": (last - first) * 1024 / articles if articles > 0 else 0.0,
        }

    main, kids = stats("rss_kb"), stats("children_rss_kb")
    peaks["rss_anon_kb"] = max(s.get("rss_anon_kb", 0) for s in samples) / 1024
    return {
        "samples": len(samples),
        "samples_working": len(working),
        "main": main,
        # the anonymous part of the main process's RSS (heap, arrays, stacks): what mapped
        # files (shared libraries, spilled index postings) do not explain
        "main_anon": stats("rss_anon_kb") if "rss_anon_kb" in samples[0] else {},
        "extraction": kids,
        "flat": main["growth"] <= FLAT_TOLERANCE and kids["growth"] <= FLAT_TOLERANCE,
        "threads": [min(s["threads"] for s in samples), max(s["threads"] for s in samples)],
        "fds": [min(s["fds"] for s in samples), max(s["fds"] for s in samples)],
    }


def cpu_cores(samples: list[dict[str, float]]) -> dict[str, float]:
    """Cores busy on average between the first and the last sample: harvester's main process,
    its descendants (the extraction worker and the forkserver: their largest sampled total, as
    they start with the run and are gone before its end), the newsroom, the whole machine."""
    first, last = samples[0], samples[-1]
    wall = max(last["t"] - first["t"], 1e-6)
    return {
        "harvester": (last["cpu_s"] - first["cpu_s"]) / wall,
        "extraction": max(s["children_cpu_s"] for s in samples) / wall,
        "newsroom": (last["newsroom_cpu_s"] - first["newsroom_cpu_s"]) / wall,
        "machine": (last["machine_cpu_s"] - first["machine_cpu_s"]) / wall,
        "cores": float(os.cpu_count() or 1),
    }


def _at(samples: list[dict[str, float]], key: str, t: float) -> float:
    """``key`` of the samples (cumulative, in time order) linearly interpolated at ``t``."""
    before = [s for s in samples if s["t"] <= t]
    after = [s for s in samples if s["t"] >= t]
    if not before:
        return samples[0][key]
    if not after:
        return samples[-1][key]
    a, b = before[-1], after[0]
    if b["t"] == a["t"]:
        return a[key]
    return a[key] + (b[key] - a[key]) * (t - a["t"]) / (b["t"] - a["t"])


def efficiency(child: dict[str, Any], held: dict[str, Any]) -> dict[str, Any]:
    """CPU per page over the fast window (every process of ours; the newsroom and the rest of
    the machine beside it), the machine's ceiling it implies (cores / CPU per page) and the
    share of it achieved, and how much of the window the placement section was held."""
    samples = child["samples"]
    pages = held["fast_archived"]
    if not samples or not pages or held.get("window_s") is None:
        return {}
    cores = float(os.cpu_count() or 1)
    first, last = held["first_request"], held["last_fast_answer"]
    window = last - first

    def spent(key: str) -> float:
        return _at(samples, key, last) - _at(samples, key, first)

    ours = spent("cpu_s") + spent("children_cpu_s")
    newsroom = spent("newsroom_cpu_s")
    machine = spent("machine_cpu_s")
    total = child.get("cpu_total_s")
    if total is None:  # one process in the run's child: its own CPU plus its descendants'
        total = samples[-1]["cpu_s"] + max(s["children_cpu_s"] for s in samples)
    per_page = ours / pages
    ceiling = cores / per_page if per_page else None
    out: dict[str, Any] = {
        "cores": cores,
        "ours_cores": ours / window,
        "newsroom_cores": newsroom / window,
        "others_cores": max(0.0, machine - ours - newsroom) / window,
        "cpu_ms_per_page": 1000 * per_page,
        "cpu_ms_per_page_run": 1000 * total / pages,
        "newsroom_ms_per_page": 1000 * newsroom / pages,
        "ceiling_pages_per_s": ceiling,
        "share_of_ceiling": held["pages_per_s"] / ceiling if ceiling else None,
        # the same against the cores the machine's other work left over (a shared machine)
        "share_of_left": ours / max(1e-6, cores * window - max(0.0, machine - ours - newsroom)),
    }
    placement = child.get("placement")
    if placement and placement.get("timed"):
        inside = sum(max(0.0, min(b, last) - max(a, first)) for a, b in placement["intervals"])
        count = placement["count"] or 1
        out.update(
            placement_count=placement["count"],
            placement_share=inside / window,
            placement_hold_ms=1000 * placement["hold_s"] / count,
            placement_wait_ms=1000 * placement["wait_s"] / count,
            placement_overlap_s=placement["overlap_s"],
        )
    return out


def politeness(sites: Iterable[Site], served: Log) -> dict[str, Any]:
    """robots.txt fetches per host, the most requests at once to one host and the shortest gap
    between two answered requests to one host (the server's spans)."""
    robots: set[int] = set()
    concurrent = 0
    gap = float("inf")
    for site in sites:
        log = served.get(site.host)
        if not log:
            continue
        robots.add(sum(1 for p, _ in log["requests"] if p == "/robots.txt"))
        ordered = sorted((tuple(s) for s in log["spans"]), key=lambda s: s[1])
        for k, (_, start, _) in enumerate(ordered):
            concurrent = max(concurrent, 1 + sum(1 for _, _, end in ordered[:k] if end > start))
        for (_, _, end), (_, start, _) in itertools.pairwise(ordered):
            gap = min(gap, start - end)
    return {
        "robots_per_host": sorted(robots),
        "max_concurrent_per_host": concurrent,
        "min_gap_s": None if gap == float("inf") else round(gap, 4),
    }


def measure(
    run: str,
    newsroom: Newsroom,
    args: argparse.Namespace,
    *,
    processes: int = 1,
    fleet: bool = False,
) -> dict[str, Any]:
    """One run: harvest (with ``processes`` harvester processes), then read the servers' logs
    and the archive."""
    sites = [s for s in newsroom.sites if run == "full" or s.kind == "fast"]
    with tempfile.TemporaryDirectory(prefix=f"soak-{run}-") as tmp:
        newsroom.log()  # start the request log afresh
        child = run_harvester(
            run, sites, args, Path(tmp), newsroom.pid, processes=processes, fleet=fleet
        )
        served = newsroom.log()
        root = Path(tmp) / "archive"
        state = archive_state(root)
        warc = warc_duplicates(root)
    drained = child["stopped_at"] is None
    checks = correctness(sites, state, served, drained)
    held = throughput(sites, state, served, args.timeout, args.workers * processes)
    return {
        "run": run,
        "processes": processes,
        "codes": child.get("codes", [child["code"]]),
        "workers": child.get("workers", []),
        "efficiency": efficiency(child, held),
        "outlets": dict(Counter(s.kind for s in sites)),
        "wall_s": child["end"] - child["start"],
        "drained": drained,
        "exit_after_stop_s": None if drained else child["end"] - child["stopped_at"],
        "exit_code": child["code"],
        "stats": child["stats"],
        "throughput": held,
        "rss": rss_summary(child["samples"], len(sites)),
        "cpu_cores": cpu_cores(child["samples"]),
        "correctness": checks,
        "warc": warc,
        "politeness": politeness(sites, served),
        "log_counts": child["log_counts"],
        "log_examples": child["log_examples"],
        "progress": child["progress"],
        "samples": child["samples"],
        "trace": child.get("trace") or {},
        "ok": warc["duplicate_responses"] == 0
        and all(c["ok"] for c in checks.values())
        and (child.get("placement") or {}).get("overlap_s", 0.0) < 1e-6
        and all(code == 0 for code in child.get("codes", [0])),
    }


# -- reporting ----------------------------------------------------------------------------------


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _stopped(run: dict[str, Any]) -> str:
    if run["drained"]:
        return ""
    return f" (stopped; exit {run['exit_after_stop_s']:.1f} s after the stop)"


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median fast pages/s per kind of run, their ratio and the verdicts."""
    rates = {
        name: [r["throughput"]["pages_per_s"] or 0.0 for r in runs if r["run"] == name]
        for name in RUNS
    }
    medians = {name: statistics.median(v) for name, v in rates.items()}
    ratio = medians["full"] / medians["baseline"] if medians["baseline"] else None
    return {
        "fast_pages_per_s": rates,
        "median_fast_pages_per_s": medians,
        "ratio": ratio,
        "throughput_target_met": ratio is not None and ratio >= THROUGHPUT_TARGET,
        "rss_flat": all(r["rss"]["flat"] for r in runs),
        "invariants_held": all(r["ok"] for r in runs),
    }


def _correctness_lines(runs: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| run | kind | articles | archived | pending | given up | not discovered | lost "
        "| listed twice | captured twice | fetched twice | duplicate responses |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in runs:
        for n, (kind, c) in enumerate(r["correctness"].items()):
            dups = str(r["warc"]["duplicate_responses"]) if n == 0 else "″"
            lines.append(
                f"| {r['label']} | {kind} | {c['articles']} | {c['archived']} | {c['pending']} "
                f"| {c['given_up']} | {c['not_discovered']} | {c['lost']} "
                f"| {c['listed_twice']} | {c['captured_twice']} | {c['fetched_twice']} "
                f"| {dups} |"
            )
    return lines


def _settings_line(args: argparse.Namespace) -> str:
    return (
        f"{args.outlets} outlets x {args.per_outlet} articles; slow {args.slow_share:.0%} "
        f"(articles after {args.slow_delay:g} s), silent {args.silent_share:.0%} (articles never "
        f"answered); per-host delay {args.delay:g} s, timeout {args.timeout:g} s, deadline "
        f"{args.deadline:g} s, {args.workers} workers per process, retries {args.retries} after "
        f"{args.retry_delay:g} s; template_cache "
        f"{'default' if args.template_cache is None else args.template_cache}; "
        + (f"each run stopped after {args.seconds:g} s." if args.seconds else "runs until drained.")
    )


def summarise_processes(runs: list[dict[str, Any]], sides: list[int]) -> dict[str, Any]:
    """Per number of processes: median pages/s and CPU per page; the speed-up over the first
    side; the share of the machine's ceiling, against each side's own CPU per page and against
    the first side's (what the cores could do at the one-process cost per page)."""
    by: dict[int, dict[str, Any]] = {}
    for n in sides:
        mine = [r for r in runs if r["processes"] == n]
        rates = [r["throughput"]["pages_per_s"] or 0.0 for r in mine]
        per_page = [r["efficiency"].get("cpu_ms_per_page") or 0.0 for r in mine]
        shares = [r["efficiency"].get("placement_share") for r in mine]
        by[n] = {
            "pages_per_s": statistics.median(rates),
            "cpu_ms_per_page": statistics.median(per_page),
            "placement_share": statistics.median(shares) if None not in shares else None,
        }
    first = by[sides[0]]
    cores = float(os.cpu_count() or 1)
    for row in by.values():
        row["speedup"] = row["pages_per_s"] / first["pages_per_s"] if first["pages_per_s"] else None
        own = cores * 1000 / row["cpu_ms_per_page"] if row["cpu_ms_per_page"] else None
        base = cores * 1000 / first["cpu_ms_per_page"] if first["cpu_ms_per_page"] else None
        row["ceiling_pages_per_s"] = own
        row["share_of_ceiling"] = row["pages_per_s"] / own if own else None
        row["first_side_ceiling_pages_per_s"] = base
        row["share_of_first_side_ceiling"] = row["pages_per_s"] / base if base else None
    top = by[max(sides)]
    return {
        "sides": by,
        "target": CEILING_TARGET,
        "target_met": (top["share_of_ceiling"] or 0.0) >= CEILING_TARGET,
        "invariants_held": all(r["ok"] for r in runs),
    }


def process_table(
    runs: list[dict[str, Any]], summary: dict[str, Any], args: argparse.Namespace
) -> str:
    """The Markdown report of ``--compare-processes``: rate and cost per run, correctness,
    then the comparison."""
    lines = [
        "| run | wall (s) | archived | window (s) | pages/s "
        "| CPU cores in the window: ours + newsroom + others "
        "| CPU ms per page: window / whole run "
        "| ceiling: cores / CPU per page (pages/s) | achieved share: of cores / of cores left "
        "| placement held: share of window / ms per article / ms waited | exit codes |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in runs:
        t, e = r["throughput"], r["efficiency"]
        placement = (
            f"{e['placement_share']:.0%} / {e['placement_hold_ms']:.1f} / "
            f"{e['placement_wait_ms']:.1f}"
            if "placement_share" in e
            else "-"
        )
        lines.append(
            f"| {r['label']} | {r['wall_s']:.1f}{_stopped(r)} "
            f"| {t['fast_archived']}/{t.get('fast_articles', '-')} "
            f"| {_fmt(t['window_s'], '.1f')} | {_fmt(t['pages_per_s'], '.1f')} "
            f"| {e['ours_cores']:.2f} + {e['newsroom_cores']:.2f} + {e['others_cores']:.2f} "
            f"of {e['cores']:.0f} "
            f"| {e['cpu_ms_per_page']:.1f} / {e['cpu_ms_per_page_run']:.1f} "
            f"| {_fmt(e['ceiling_pages_per_s'], '.1f')} | {_fmt(e['share_of_ceiling'], '.0%')} / "
            f"{_fmt(e['share_of_left'], '.0%')} "
            f"| {placement} | {' '.join(map(str, r['codes']))} |"
        )
    lines += ["", *_correctness_lines(runs), ""]
    sides = summary["sides"]
    first = min(sides)
    for n, row in sides.items():
        lines.append(
            f"- {n} process(es): {row['pages_per_s']:.1f} pages/s"
            + (f" (medians of {args.repeat})" if args.repeat > 1 else "")
            + f", {row['cpu_ms_per_page']:.1f} CPU ms per page, speed-up over {first}: "
            f"**{_fmt(row['speedup'], '.2f')}**; share of the ceiling at its own CPU per page "
            f"({_fmt(row['ceiling_pages_per_s'], '.1f')} pages/s): "
            f"**{_fmt(row['share_of_ceiling'], '.0%')}**, at {first}-process CPU per page "
            f"({_fmt(row['first_side_ceiling_pages_per_s'], '.1f')} pages/s): "
            f"{_fmt(row['share_of_first_side_ceiling'], '.0%')}"
        )
    held = "held" if summary["invariants_held"] else "BROKEN"
    lines += [
        f"- target: {max(sides)} processes within {CEILING_TARGET:.0%} of cores / CPU per page: "
        f"**{'met' if summary['target_met'] else 'not met'}**",
        f"- no article lost or duplicated, placement sections never overlapping, every process "
        f"exiting 0: **{held}**",
    ]
    for r in runs:
        w, p, e = r["warc"], r["politeness"], r["efficiency"]
        lines.append(
            f"- {r['label']}: {w['records'].get('response', 0)} response records in "
            f"{w['files']} WARC file(s); robots.txt per host "
            f"{'/'.join(map(str, p['robots_per_host']))}, most at once per host "
            f"{p['max_concurrent_per_host']}, shortest gap {_fmt(p['min_gap_s'], '.3f')} s"
            + (
                f"; placement sections {e['placement_count']}, overlapping "
                f"{e['placement_overlap_s']:.3f} s"
                if "placement_count" in e
                else ""
            )
            + f"; newsroom {e['newsroom_ms_per_page']:.1f} CPU ms per page"
        )
    lines += ["", _settings_line(args)]
    return "\n".join(lines)


def table(runs: list[dict[str, Any]], summary: dict[str, Any], args: argparse.Namespace) -> str:
    """The Markdown report: throughput and memory, then correctness, then the verdicts."""
    lines = [
        "| run | outlets fast/slow/silent | wall (s) | fast archived | fast window (s) "
        "| fast pages/s | workers held by slow+silent: mean / max / time all held "
        "| CPU cores: harvester + extraction + newsroom = machine | RSS peak (MB) "
        "| RSS 1st / last quarter (MB) "
        "| KB per article | extraction worker RSS 1st / last (MB) | threads | fds |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in runs:
        t, rss, cpu, o = r["throughput"], r["rss"], r["cpu_cores"], r["outlets"]
        m, x = rss["main"], rss["extraction"]
        lines.append(
            f"| {r['label']} | {o.get('fast', 0)}/{o.get('slow', 0)}/{o.get('silent', 0)} "
            f"| {r['wall_s']:.1f}{_stopped(r)} "
            f"| {t['fast_archived']}/{t.get('fast_articles', '-')} "
            f"| {_fmt(t['window_s'], '.1f')} | {_fmt(t['pages_per_s'], '.1f')} "
            f"| {_fmt(t.get('workers_held_mean'), '.1f')} / {t.get('workers_held_max', '-')} / "
            f"{_fmt(t.get('all_workers_held_share'), '.0%')} "
            f"| {cpu['harvester']:.2f} + {cpu['extraction']:.2f} + {cpu['newsroom']:.2f} "
            f"= {cpu['machine']:.2f} of {cpu['cores']:.0f} "
            f"| {m['peak_mb']:.0f} | {m['first_quarter_mb']:.0f} / {m['last_quarter_mb']:.0f} "
            f"| {m['kb_per_article']:.1f} "
            f"| {x['first_quarter_mb']:.0f} / {x['last_quarter_mb']:.0f} "
            f"| {rss['threads'][0]}-{rss['threads'][1]} | {rss['fds'][0]}-{rss['fds'][1]} |"
        )
    lines += ["", *_correctness_lines(runs)]
    med = summary["median_fast_pages_per_s"]
    growth = ", ".join(f"{r['label']} {r['rss']['main']['growth']:+.1%}" for r in runs)
    held = "held" if summary["invariants_held"] else "BROKEN"
    lines += [
        "",
        f"- fast pages/s, full / baseline: **{_fmt(summary['ratio'], '.3f')}** "
        f"({med['full']:.1f} / {med['baseline']:.1f}"
        + (f", medians of {args.repeat}" if args.repeat > 1 else "")
        + f"); target >= {THROUGHPUT_TARGET:.2f}: "
        f"**{'met' if summary['throughput_target_met'] else 'not met'}**",
        f"- RSS flat (last-quarter median within {FLAT_TOLERANCE:.0%} of the first, main "
        f"process and extraction worker): **{'yes' if summary['rss_flat'] else 'no'}** "
        f"({growth})",
        f"- no article lost or duplicated: **{held}**",
    ]
    for r in runs:
        anon = r["rss"].get("main_anon")
        if anon:
            lines.append(
                f"- {r['label']}: anonymous RSS {anon['first_quarter_mb']:.0f} -> "
                f"{anon['last_quarter_mb']:.0f} MB ({anon['growth']:+.1%}, "
                f"{anon['kb_per_article']:.1f} KB per article)"
            )
        trace = r.get("trace")
        if trace:
            top = ", ".join(
                f"{Path(t['where']).name} {t['bytes_per_article']:+.0f}"
                for t in trace["by_file"][:6]
            )
            lines.append(
                f"- {r['label']}: tracemalloc, articles {trace['articles'][0]}-"
                f"{trace['articles'][1]}: Python allocations {trace['bytes_per_article']:+.0f} "
                f"bytes per article; by file: {top}"
            )
    for r in runs:
        w, p = r["warc"], r["politeness"]
        lines.append(
            f"- {r['label']}: {w['records'].get('response', 0)} response and "
            f"{w['records'].get('revisit', 0)} revisit records in {w['files']} WARC file(s), "
            f"{w['bytes'] / 1e6:.1f} MB; robots.txt per host "
            f"{'/'.join(map(str, p['robots_per_host']))}, most at once per host "
            f"{p['max_concurrent_per_host']}, shortest gap {_fmt(p['min_gap_s'], '.3f')} s; "
            f"fast answers per 5 s: "
            f"{' '.join(map(str, r['throughput'].get('fast_answers_per_5s', [])))}"
        )
    processes = f"{args.processes} harvester processes per run; " if args.processes > 1 else ""
    lines += ["", processes + _settings_line(args)]
    return "\n".join(lines)


def source_digest() -> str:
    """A short digest of harvester's source files, so that a result names the code it measured
    (the package version does not change between edits)."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "harvester").rglob("*.py")):
        digest.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def _environment() -> str:
    from harvester.version import __version__

    versions = [
        f"harvester {__version__} (source {source_digest()})",
        f"Python {platform.python_version()}",
    ]
    versions += [f"{p} {version(p)}" for p in ("httpx", "trafilatura", "warcio")]
    return f"{', '.join(versions)}; {os.cpu_count()} cores"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outlets", type=int, default=1000, help="outlets (1000)")
    parser.add_argument("--per-outlet", type=int, default=5, help="articles per outlet (5)")
    parser.add_argument("--slow-share", type=float, default=0.10, help="share of slow (0.10)")
    parser.add_argument("--silent-share", type=float, default=0.01, help="share silent (0.01)")
    parser.add_argument("--slow-delay", type=float, default=2.0, help="slow article wait, s (2)")
    parser.add_argument("--delay", type=float, default=0.2, help="per-host delay, s (0.2)")
    parser.add_argument("--timeout", type=float, default=5.0, help="fetch timeout, s (5)")
    parser.add_argument("--deadline", type=float, default=10.0, help="fetch deadline, s (10)")
    parser.add_argument("--workers", type=int, default=16, help="harvester workers (16)")
    parser.add_argument("--retries", type=int, default=1, help="retries per URL (1)")
    parser.add_argument("--retry-delay", type=float, default=1.0, help="first retry after (1 s)")
    parser.add_argument(
        "--seconds", type=float, default=0.0, help="stop each run after this long (0: drain)"
    )
    parser.add_argument(
        "--template-cache",
        type=int,
        default=None,
        help="[extract] template_cache, block keys (harvester's default)",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="tracemalloc: where Python allocations grew between 20%% and 80%% of the articles",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="pairs of runs, order alternating; medians (1)"
    )
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="OUT",
        help="write the full results to OUT (tables still printed); bare --json: JSON on stdout",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="harvester processes per run, sharing one --once round (1: run_daemon in the run's "
        "child, as before)",
    )
    parser.add_argument(
        "--compare-processes",
        metavar="N,M",
        help="instead of baseline/full: one run per process count on every outlet, e.g. 1,2 "
        "(each through N worker processes)",
    )
    parser.add_argument(
        "--via-cli",
        action="store_true",
        help="start `python -m harvester run --once --processes N --config FILE` instead of N "
        "worker processes of this script (placement sections are then not timed)",
    )
    parser.add_argument("--harvest", metavar="PLAN", help=argparse.SUPPRESS)
    parser.add_argument("--harvest-worker", nargs=2, metavar=("PLAN", "K"), help=argparse.SUPPRESS)
    return parser


def _process_counts(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[int]:
    """The process counts of ``--compare-processes`` (empty without it)."""
    if not 1 <= args.processes <= 64:
        parser.error("need 1 <= --processes <= 64")
    if not args.compare_processes:
        return []
    try:
        sides = [int(n) for n in args.compare_processes.split(",")]
    except ValueError:
        parser.error("--compare-processes: a comma-separated list of numbers, e.g. 1,2")
    if not sides or not all(1 <= n <= 64 for n in sides) or len(set(sides)) != len(sides):
        parser.error("--compare-processes: distinct numbers between 1 and 64, e.g. 1,2")
    return sides


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.harvest:
        return _harvest(args.harvest)
    if args.harvest_worker:
        plan, index = args.harvest_worker
        return _harvest_worker(plan, int(index))
    sides = _process_counts(parser, args)
    if not 1 <= args.outlets <= 254 * 253 or not 1 <= args.per_outlet <= 200 or args.repeat < 1:
        parser.error("need 1 <= --outlets <= 64262, 1 <= --per-outlet <= 200, --repeat >= 1")
    shares = (args.slow_share, args.silent_share)
    if min(shares) < 0 or sum(shares) >= 1:
        parser.error("need 0 <= --slow-share, --silent-share and their sum < 1")
    if args.serve:
        return _serve(args)

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    soft, hard = raise_nofile()
    say(f"RLIMIT_NOFILE {soft}/{hard}; starting {args.outlets} servers")
    t0 = time.monotonic()
    newsroom = Newsroom(args)
    kinds = dict(Counter(s.kind for s in newsroom.sites))
    say(f"newsroom up in {time.monotonic() - t0:.1f} s: {kinds}")
    runs: list[dict[str, Any]] = []
    try:
        for k in range(args.repeat):
            if sides:
                # every side through the same path: N worker processes sharing one round
                plan = [("full", n, True) for n in (sides if k % 2 == 0 else sides[::-1])]
            else:
                order = RUNS if k % 2 == 0 else RUNS[::-1]
                plan = [(name, args.processes, False) for name in order]
            for name, processes, fleet in plan:
                r = measure(name, newsroom, args, processes=processes, fleet=fleet)
                label = f"{processes} process{'es' if processes > 1 else ''}" if sides else name
                r["label"] = label if args.repeat == 1 else f"{label} {k + 1}"
                runs.append(r)
                t = r["throughput"]
                say(
                    f"{r['label']}: {r['wall_s']:.1f} s, fast {t['fast_archived']} archived at "
                    f"{_fmt(t['pages_per_s'], '.1f')} pages/s, "
                    f"{_fmt(r['efficiency'].get('cpu_ms_per_page'), '.1f')} CPU ms per page, "
                    f"RSS peak {r['rss']['main']['peak_mb']:.0f} MB, invariants "
                    f"{'held' if r['ok'] else 'BROKEN'}"
                )
    finally:
        newsroom.close()
    summary = summarise_processes(runs, sides) if sides else summarise(runs)
    result = {
        "environment": _environment(),
        "settings": {
            k: v
            for k, v in vars(args).items()
            if k not in ("json", "serve", "harvest", "harvest_worker")
        },
        "rlimit_nofile": [soft, hard],
        "summary": summary,
        "runs": runs,
    }
    code = 0 if summary["invariants_held"] else 1
    if args.json == "-":
        print(json.dumps(result, indent=2))
        return code
    print(f"Environment: {_environment()}\n")
    print(process_table(runs, summary, args) if sides else table(runs, summary, args))
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2))
    return code


if __name__ == "__main__":
    sys.exit(main())
