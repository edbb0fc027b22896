"""The fleet's one serial step: story placement per article, at candidate windows of 1k-50k docs.

Every writer of an archive (``run --processes N``, or machines sharing a PostgreSQL catalog)
places its articles inside the catalog's fleet-wide critical section (``Catalog.placement()``),
one article at a time across the whole fleet. Whatever the fleet's size, it cannot archive
articles faster than 1000 / (ms per placement) per second: this benchmark measures that cost on
synthetic articles, for SQLite and PostgreSQL, as the window of docs the candidate index holds
grows.

What is timed, per article: exactly the block that ``harvester.pipeline._process_capture`` runs
under ``with store.catalog.placement():``, called through the same private pipeline functions
(so it follows the code, but breaks if they are renamed):

* ``_place_and_record``: ``StoryBook.place`` (catching up on docs other writers placed, the
  doc row, its links, ``CandidateIndex.query``, reading and relating every candidate, the
  picks of later partners, relabelling merged stories, regrouping a story whose pick moved)
  and ``StoryBook.resolve`` (the story's members and its original); the ``fingerprint()`` of
  the cleaned text is computed before the section, as the pipeline does, and not timed;
* ``_write_article``: the metadata and conversion records appended to this writer's WARC file
  (flushed and fsynced) and the article row;
* ``_re_resolve``: a new metadata record for every other member whose story or original
  changed;
* and taking and giving back the lock itself (SQLite: an ``flock`` on a file beside the
  database; PostgreSQL: a session advisory lock on a pooled connection).

The parts are timed by wrapping those functions from outside (exclusive time: a nested timed
call is not counted twice); catalog transactions are counted the same way.

Input: ``bench/dedup_index.py``'s corpus (a Zipf vocabulary, 150-500-word articles, about 10%
near-copies of one of the 20,000 articles before them: edited, truncated or both), on 200
invented outlets, generated and fingerprinted on every core before anything is timed. The
catalog is first filled with ``window`` articles (docs and article rows, each copy in its
source's story, fetched over the last days, so every one is in the 30-day window) through the
catalog's own ``put_doc`` and ``add_article``, 2,000 to a transaction; PostgreSQL's tables are
then analyzed (what autovacuum does a while after a table grows; ``--no-analyze`` skips it,
see bench/README.md for why it matters). A fresh ``StoryBook`` loads them, as a daemon does at
start. Then 5 articles warm up, and ``--articles`` new articles (the corpus's next ones: new
stories and near-copies of docs in the window) are placed and timed. The windows grow in one
catalog: 1k, then filled up to 10k, then to 50k.

``--busy-threads N`` runs N threads beside the placing one, each busy in Python half the time:
the GIL contention a daemon's placing thread meets among its fetch workers and pollers.

Peers, in the same process on the same texts: ``fingerprint()`` alone, and
``CandidateIndex.query`` alone on the loaded book's index (the pure parts of placement); the
ratio says how much of the serial step is catalog and WARC I/O rather than computation.

The archive (WARC files, SQLite catalog) is a temporary directory on ``--dir``'s filesystem
(default: the system's temp directory); PostgreSQL is a private cluster
(``tests/pgcluster.py``: ``fsync=off``, loopback TCP). A machine without PostgreSQL's server
programs gets the SQLite rows only, and a line saying why.

Run from the repository root::

    .venv/bin/python bench/placement.py                          # 1k, 10k, 50k; both engines
    .venv/bin/python bench/placement.py --windows 1000,5000 --engines sqlite --articles 200
    .venv/bin/python bench/placement.py --json bench/results/placement.json
    .venv/bin/python bench/placement.py --windows 1000 --engines sqlite --busy-threads 2

Progress goes to stderr and the Markdown table to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))

from dedup_index import Corpus  # noqa: E402 (after the path)

WINDOWS = (1_000, 10_000, 50_000)
ARTICLES = 300
OUTLETS = 200
SPACING = 10.0  # seconds between filled articles: 50k span ~6 days, inside the 30-day window
LIMIT = 50  # StoryBook's MAX_CANDIDATES, for the query peer
BUSY_WORK = 0.001  # --busy-threads: seconds of work, then as long asleep
PARTS = ("lock", "fingerprint", "place", "query", "resolve", "write", "re_resolve")


# -- timing from outside ------------------------------------------------------------------------


@dataclass
class Timers:
    """Exclusive time per part: a timed call nested in another is subtracted from it."""

    seconds: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    _stack: list[float] = field(default_factory=list)

    def wrap(self, owner: Any, name: str, part: str) -> Callable[[], None]:
        """Replace ``owner.name`` with a timed version; returns the undo."""
        original = getattr(owner, name)
        timers = self

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            timers._stack.append(0.0)
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent = time.perf_counter() - started
                nested = timers._stack.pop()
                timers.seconds[part] += spent - nested
                timers.calls[part] += 1
                if timers._stack:
                    timers._stack[-1] += spent

        setattr(owner, name, timed)
        return lambda: setattr(owner, name, original)

    def wrap_lock(self, engine: type[Any]) -> Callable[[], None]:
        """Time taking and giving back ``engine.placement()``'s lock; returns the undo."""
        original = engine.placement
        seconds = self.seconds

        @contextlib.contextmanager
        def placement(catalog: Any) -> Iterator[None]:
            asked = time.perf_counter()
            with original(catalog):
                seconds["lock"] += time.perf_counter() - asked
                yield
                left = time.perf_counter()
            seconds["lock"] += time.perf_counter() - left

        engine.placement = placement
        return lambda: setattr(engine, "placement", original)

    def count_transactions(self, engine: type[Any]) -> Callable[[], None]:
        """Count the catalog's transactions (``_tx`` entries); returns the undo."""
        original = engine._tx
        timers = self

        @contextlib.contextmanager
        def tx(catalog: Any, *, write: bool) -> Iterator[Any]:
            timers.calls["write transactions" if write else "read transactions"] += 1
            with original(catalog, write=write) as inner:
                yield inner

        engine._tx = tx
        return lambda: setattr(engine, "_tx", original)

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()


# -- the archive ---------------------------------------------------------------------------------


def _settings(root: Path, catalog: str | None) -> Any:
    from harvester.config import ArchiveSettings, Settings

    return Settings(archive=ArchiveSettings(dir=root, prefix="placement", catalog=catalog))


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, kw_only=True)
class Article:
    """One corpus article, generated (and its fingerprint computed) before anything is timed."""

    text: str
    source: int | None
    text_hash: str
    fingerprint: bytes


_CORPUS: Corpus | None = None


def _generate(seed: int, numbers: range) -> list[Article]:
    """Worker process: articles ``numbers`` of the corpus, with their fingerprints."""
    global _CORPUS  # noqa: PLW0603 (one corpus per worker process, built on first use)
    from harvester.dedup.fingerprint import fingerprint

    if _CORPUS is None or _CORPUS.seed != seed:
        _CORPUS = Corpus(seed)
    out = []
    for i in numbers:
        text, source, _ = _CORPUS.article(i)
        fp = fingerprint(text)
        out.append(
            Article(text=text, source=source, text_hash=fp.text_hash, fingerprint=fp.to_bytes())
        )
    return out


def generate(seed: int, n: int) -> list[Article]:
    """Articles 0 .. n-1 of the corpus, on every core (the same for every engine)."""
    from concurrent.futures import ProcessPoolExecutor

    chunks = [range(a, min(n, a + 2_000)) for a in range(0, n, 2_000)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        parts = pool.map(_generate, [seed] * len(chunks), chunks)
        return [a for part in parts for a in part]


@contextlib.contextmanager
def one_transaction(catalog: Any) -> Iterator[None]:
    """Every catalog call in the block runs in one transaction (the engine's own, shared):
    filling tens of thousands of rows through ``put_doc`` and ``add_article`` (harvester's SQL)
    without a commit each."""
    with catalog._tx(write=True) as tx:

        @contextlib.contextmanager
        def shared(*, write: bool) -> Iterator[Any]:
            yield tx

        catalog._tx = shared
        try:
            yield
        finally:
            del catalog._tx


class Bench:
    """One engine's archive: the store, the corpus, and the articles filled in so far."""

    def __init__(
        self,
        root: Path,
        catalog: str | None,
        corpus: list[Article],
        now: float,
        *,
        analyze: bool = True,
    ) -> None:
        from harvester.clock import SystemClock
        from harvester.storage import ArchiveStore

        self.settings = _settings(root, catalog)
        self.store = ArchiveStore(self.settings.archive, self.settings.fetch, clock=SystemClock())
        self.corpus = corpus
        self.now = now
        self.catalog_url = catalog
        self.analyze = analyze
        self.filled = 0  # corpus articles 0 .. filled-1 are in the catalog
        self.stories: dict[int, str] = {}

    def close(self) -> None:
        self.store.close()

    def url(self, i: int) -> str:
        return f"http://outlet-{i % OUTLETS}.example/news/{i:07d}.html"

    def outlet(self, i: int) -> str:
        return f"Outlet {i % OUTLETS}"

    def new_story(self, i: int) -> str:
        """The story an article starts (StoryBook names it after the URL)."""
        from harvester.dedup.book import _new_story

        return str(_new_story(self.url(i)))

    def story_of(self, i: int, source: int | None) -> str:
        """A filled article's story: its source's, else its own."""
        story = self.stories.get(source) if source is not None else None
        self.stories[i] = story or self.new_story(i)
        return self.stories[i]

    def fill(self, upto: int, say: Callable[[str], None]) -> float:
        """Put articles ``filled .. upto-1`` in the catalog (doc + article row, no placement;
        one transaction per 2,000); the seconds it took."""
        catalog = self.store.catalog
        started = time.monotonic()
        for a in range(self.filled, upto, 2_000):
            with one_transaction(catalog):
                for i in range(a, min(upto, a + 2_000)):
                    self._fill_one(i, self.now - (upto - i) * SPACING)
            if a // 10_000 != min(upto, a + 2_000) // 10_000:
                say(f"  filled {min(upto, a + 2_000):,} in {time.monotonic() - started:.0f} s")
        self.filled = max(self.filled, upto)
        if self.analyze and self.catalog_url:
            # What autovacuum does a while after a table grows: without it, catch-up's
            # "placed > ?" runs as a full scan of docs (see bench/README.md)
            import psycopg

            with psycopg.connect(self.catalog_url, autocommit=True) as conn:
                conn.execute("ANALYZE")
        return time.monotonic() - started

    def _fill_one(self, i: int, t: float) -> None:
        from harvester.catalog import ArticleRow, DocRow
        from harvester.models import ExportRecord, Original, WarcLocation
        from harvester.storage import new_record_id

        article, catalog = self.corpus[i], self.store.catalog
        url, outlet = self.url(i), self.outlet(i)
        story, fetched = self.story_of(i, article.source), _iso(t)
        catalog.put_doc(
            DocRow(
                doc=0,
                final_url=url,
                outlet=outlet,
                wire=False,
                published=fetched,
                fetched=fetched,
                time=t,
                text_hash=article.text_hash,
                fingerprint=article.fingerprint,
                evidence=(),
                story=story,
            )
        )
        source = article.source
        record = ExportRecord(
            url=url,
            final_url=url,
            outlet=outlet,
            title=article.text[:60],
            authors=(),
            published=fetched,
            fetched=fetched,
            language="en",
            text=article.text,
            story=story,
            is_original=source is None,
            original=Original(
                url=self.url(source) if source is not None else url,
                outlet=self.outlet(i if source is None else source),
                seen=True,
            ),
            warc=WarcLocation(file="fill.warc.gz", offset=i, record_id=new_record_id()),
        )
        catalog.add_article(
            ArticleRow(
                record=record,
                capture_record_id=record.warc.record_id,
                metadata_file="fill.warc.gz",
                metadata_offset=i,
                blocks=tuple(article.text.split("\n\n")),
                payload={"record": record.to_json()},
            )
        )

    def book(self) -> Any:
        from harvester.dedup.book import StoryBook

        return StoryBook(
            self.store.catalog,
            window=self.settings.dedup.window,
            now=self.now,
            spill_dir=self.store.spill_dir(),
        )

    def place(self, book: Any, i: int) -> tuple[str, float]:
        """Article ``i`` through the placement section, as ``_process_capture`` runs it; its
        story and the seconds the section took (entering it included)."""
        from harvester.dedup.fingerprint import fingerprint
        from harvester.extract.article import Extraction
        from harvester.models import WarcLocation
        from harvester.pipeline import (
            _derived,
            _place_and_record,
            _re_resolve,
            _re_resolve_changed,
            _write_article,
        )
        from harvester.storage import new_record_id
        from harvester.warc.records import warc_date

        text = self.corpus[i].text
        blocks = tuple(text.split("\n\n"))
        extraction = Extraction(
            title=text[:60],
            authors=(),
            published=None,
            language="en",
            blocks=blocks,
            tags=(),
            evidence=(),
            removed=(),
            canonical=None,
            sitename=None,
            description=None,
        )
        store, url = self.store, self.url(i)
        location = WarcLocation(file="bench.warc.gz", offset=i, record_id=new_record_id())
        fetched = warc_date(datetime.now(UTC))
        started = time.perf_counter()
        # As the pipeline does: the fingerprint before the section, the rest inside it.
        fp = fingerprint("\n\n".join(blocks))
        with store.catalog.placement():
            record, resolution, changed = _place_and_record(
                book,
                self.settings,
                url=url,
                final_url=url,
                fetched=fetched,
                published=None,
                extraction=extraction,
                blocks=blocks,
                fp=fp,
                outlet=self.outlet(i),
                location=location,
            )
            payload = {**_derived(record, extraction, ()), "decided_by": resolution.decided_by}
            _write_article(store, record, payload, extraction.blocks)
            _re_resolve(store, book, record.story, resolution, skip=url)
            _re_resolve_changed(store, book, changed, skip=url)
        seconds = time.perf_counter() - started
        self.filled = max(self.filled, i + 1)
        self.stories[i] = str(record.story)
        return self.stories[i], seconds


@contextlib.contextmanager
def busy(threads: int) -> Iterator[None]:
    """``threads`` threads each running Python half the time meanwhile (1 ms of work, then
    1 ms asleep): the placing thread has to win the GIL back after every catalog call and
    fsync, as it does in a daemon among its fetch workers, pollers and lease thread. (Threads
    that never sleep are far worse: every GIL hand-back then waits out the 5 ms switch
    interval.)"""
    import threading

    done = threading.Event()

    def spin() -> None:
        while not done.is_set():
            until = time.perf_counter() + BUSY_WORK
            while time.perf_counter() < until:
                pass
            time.sleep(BUSY_WORK)

    spinners = [threading.Thread(target=spin, daemon=True) for _ in range(threads)]
    for thread in spinners:
        thread.start()
    try:
        yield
    finally:
        done.set()
        for thread in spinners:
            thread.join()


# -- one engine ----------------------------------------------------------------------------------


def _timed_parts(timers: Timers, engine: type[Any]) -> list[Callable[[], None]]:
    """Wrap the parts of the placement section (see the module docstring); the undos."""
    from harvester import pipeline
    from harvester.dedup.book import StoryBook
    from harvester.dedup.index import CandidateIndex

    return [
        timers.wrap_lock(engine),
        timers.wrap(pipeline, "fingerprint", "fingerprint"),
        timers.wrap(StoryBook, "place", "place"),
        timers.wrap(CandidateIndex, "query", "query"),
        timers.wrap(StoryBook, "resolve", "resolve"),
        timers.wrap(pipeline, "_write_article", "write"),
        timers.wrap(pipeline, "_re_resolve", "re_resolve"),
        timers.count_transactions(engine),
    ]


def measure_window(
    bench: Bench, window: int, args: argparse.Namespace, say: Callable[[str], None]
) -> dict[str, Any]:
    """Fill up to ``window`` docs, load a book, then place and time ``--articles`` articles."""
    from harvester.dedup.fingerprint import fingerprint

    fill_s = bench.fill(window, say)
    started = time.perf_counter()
    book = bench.book()
    load_s = time.perf_counter() - started
    first = bench.filled
    for i in range(first, first + 5):
        bench.place(book, i)  # warm-up (not timed): caches, the WARC file, pooled connections
    articles = list(range(bench.filled, bench.filled + args.articles))
    copies = sum(1 for i in articles if bench.corpus[i].source is not None)
    engine = type(bench.store.catalog)
    timers = Timers()
    undo = _timed_parts(timers, engine)
    per_article: list[float] = []
    joined = 0
    try:
        with busy(args.busy_threads):
            for i in articles:
                story, seconds = bench.place(book, i)
                per_article.append(seconds)
                joined += story != bench.new_story(i)
    finally:
        for u in reversed(undo):
            u()
    # Peers on the same texts, nothing wrapped: the computation alone.
    texts = [bench.corpus[i].text for i in articles]
    started = time.perf_counter()
    fps = [fingerprint(t) for t in texts]
    fingerprint_s = time.perf_counter() - started
    index = book._index
    started = time.perf_counter()
    for fp in fps:
        index.query(fp.samples, limit=LIMIT)
    query_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in articles:
        with bench.store.catalog.placement():
            pass
    lock_s = time.perf_counter() - started
    n = len(articles)
    ms = 1000 * statistics.fmean(per_article)
    return {
        "window": window,
        "docs_in_index": first,
        "articles": n,
        "copies_expected": copies,
        "joined_a_story": joined,
        "fill_s": fill_s,
        "book_load_s": load_s,
        "ms_per_article": ms,
        "median_ms": 1000 * statistics.median(per_article),
        "p90_ms": 1000 * sorted(per_article)[int(0.9 * (n - 1))],
        "ceiling_articles_per_s": 1000 / ms,
        "parts_ms": {p: 1000 * timers.seconds[p] / n for p in PARTS},
        "transactions_per_article": {
            k: timers.calls[k] / n for k in ("read transactions", "write transactions")
        },
        "peer_fingerprint_ms": 1000 * fingerprint_s / n,
        "peer_query_ms": 1000 * query_s / n,
        "peer_lock_only_ms": 1000 * lock_s / n,
        "ratio_to_fingerprint": ms / (1000 * fingerprint_s / n),
        "ratio_to_query": ms / (1000 * query_s / n),
    }


def run_engine(
    name: str,
    catalog: str | None,
    corpus: list[Article],
    args: argparse.Namespace,
    say: Callable[[str], None],
) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix=f"placement-{name}-", dir=args.dir) as tmp:
        bench = Bench(Path(tmp) / "archive", catalog, corpus, now=time.time(), analyze=args.analyze)
        try:
            for window in args.windows:
                say(f"{name}: window {window:,}")
                row = measure_window(bench, window, args, say)
                row["engine"] = (
                    name
                    + (f", {args.busy_threads} busy threads" if args.busy_threads else "")
                    + (", not analyzed" if catalog and not args.analyze else "")
                )
                rows.append(row)
                say(
                    f"{name}: window {window:,}: {row['ms_per_article']:.2f} ms per article "
                    f"(filled in {row['fill_s']:.0f} s, book loaded in {row['book_load_s']:.1f} s)"
                )
        finally:
            bench.close()
    return rows


# -- reporting -----------------------------------------------------------------------------------


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| engine | docs in the window | ms per article: mean / median / p90 "
        "| fleet ceiling (articles/s) | lock + fingerprint + place (of it: query) + resolve "
        "+ WARC/catalog write + re-resolve (ms) | catalog transactions per article: read / write "
        "| peers alone: fingerprint / query (ms) | placement / fingerprint | placement / query "
        "| joined a story (expected copies) |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        p, t = r["parts_ms"], r["transactions_per_article"]
        lines.append(
            f"| {r['engine']} | {r['docs_in_index']:,} "
            f"| {r['ms_per_article']:.2f} / {r['median_ms']:.2f} / {r['p90_ms']:.2f} "
            f"| {r['ceiling_articles_per_s']:.0f} "
            f"| {p['lock']:.2f} + {p['fingerprint']:.2f} + {p['place'] + p['query']:.2f} "
            f"({p['query']:.2f}) + {p['resolve']:.2f} + {p['write']:.2f} + {p['re_resolve']:.2f} "
            f"| {t['read transactions']:.1f} / {t['write transactions']:.1f} "
            f"| {r['peer_fingerprint_ms']:.2f} / {r['peer_query_ms']:.3f} "
            f"| {r['ratio_to_fingerprint']:.1f} | {r['ratio_to_query']:.0f} "
            f"| {r['joined_a_story']} ({r['copies_expected']}) |"
        )
    lines.append("")
    for engine in dict.fromkeys(r["engine"] for r in rows):
        mine = [r for r in rows if r["engine"] == engine]
        if len(mine) > 1:
            a, b = mine[0], mine[-1]
            growth = b["ms_per_article"] / a["ms_per_article"]
            lines.append(
                f"- {engine}: from {a['docs_in_index']:,} to {b['docs_in_index']:,} docs "
                f"({b['docs_in_index'] / a['docs_in_index']:.0f}x), ms per article x{growth:.2f}; "
                f"the lock alone {a['peer_lock_only_ms']:.3f}-{b['peer_lock_only_ms']:.3f} ms"
            )
    return "\n".join(lines)


def _filesystem(path: str) -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            ["df", "-T", path], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        return out[-1].split()[1]
    return "unknown"


def _environment(args: argparse.Namespace) -> str:
    from importlib.metadata import version

    from harvester.version import __version__

    where = args.dir or tempfile.gettempdir()
    return (
        f"harvester {__version__}, Python {platform.python_version()}, psycopg "
        f"{version('psycopg')}; {os.cpu_count()} cores; archive on {where} "
        f"({_filesystem(where)})"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--windows",
        default=",".join(map(str, WINDOWS)),
        help="docs in the window before each measurement, growing (1000,10000,50000)",
    )
    parser.add_argument("--articles", type=int, default=ARTICLES, help="timed per window (300)")
    parser.add_argument("--engines", default="sqlite,postgresql", help="sqlite,postgresql")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (1)")
    parser.add_argument(
        "--busy-threads",
        type=int,
        default=0,
        help="threads running Python half the time while placing (0): a daemon's GIL contention",
    )
    parser.add_argument(
        "--no-analyze",
        dest="analyze",
        action="store_false",
        help="PostgreSQL: do not ANALYZE after filling (as before autovacuum gets to it)",
    )
    parser.add_argument("--dir", default=None, help="where the archive goes (the temp dir)")
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        args.windows = sorted({int(w) for w in args.windows.split(",")})
    except ValueError:
        parser.error("--windows: comma-separated numbers, e.g. 1000,10000")
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if not set(engines) <= {"sqlite", "postgresql"} or args.articles < 10:
        parser.error("--engines: sqlite and/or postgresql; --articles >= 10")

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    import logging

    logging.getLogger("harvester").setLevel(logging.WARNING)
    started = time.monotonic()
    # the windows, and after each the warm-up and the timed articles
    corpus = generate(args.seed, max(args.windows) + len(args.windows) * (args.articles + 5))
    say(f"{len(corpus):,} articles generated in {time.monotonic() - started:.0f} s")
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for engine in engines:
        if engine == "sqlite":
            rows += run_engine("SQLite", None, corpus, args, say)
            continue
        from pgcluster import PgCluster, PgClusterError

        try:
            with PgCluster() as cluster:
                url = cluster.create_database("placement")
                rows += run_engine("PostgreSQL", url, corpus, args, say)
        except PgClusterError as exc:
            notes.append(f"PostgreSQL skipped: {exc}")
            say(notes[-1])
    print(f"Environment: {_environment(args)}\n")
    print(table(rows))
    for note in notes:
        print(f"- {note}")
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"environment": _environment(args), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
