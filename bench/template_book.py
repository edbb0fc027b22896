"""Template book: per-article cost and memory of learned-template models, against whole-model saves.

Learned templates (``harvester/extract/templates.py``) keep up to ``max_articles`` (2,000)
articles per outlet. Until this benchmark's change, ``TemplateBook`` kept every outlet's model in
memory for the process's life and, after each article, wrote the whole model to the catalog as
one JSON document: cost and memory both grew with the model. Now the catalog holds a model as
rows (one per retained article, one per learned block) and each article writes only what it
changed; the book keeps the most recently used models within ``[extract] template_cache`` block
keys and reads others back from the catalog when they are next needed.

For each model size (articles already retained by the outlet: ``--sizes``, default 100, 500 and
2,000), in one process, on one SQLite catalog on disk, the same next ``--articles`` (50) articles
are observed three ways:

* **whole-document peer**: the previous scheme, kept here as the peer: a model held in memory;
  after each article ``to_json``, ``json.dumps`` and an ``INSERT OR REPLACE`` of the document
  (one transaction);
* **book, cached**: ``TemplateBook.observe_and_clean`` with the model in memory (the rows written
  per article);
* **book, reloaded**: the same with ``template_cache = 0`` and a second, small outlet used
  between articles, so every article reads its model back from the catalog first (the worst
  case: more busy outlets than the budget holds); the small outlet's own round trip is timed
  apart and subtracted.

Each side's window is timed ``--repeat`` times (default 3), the sides taking turns, each from the
same stored model. Reported: milliseconds per article (the median of the articles in a window,
then the median window) and the ratios to the peer; CPU milliseconds per article beside them
(``time.thread_time``: on a loaded machine wall time stretches, CPU time barely does), and the
cached book's spread over the windows; the
bytes each article writes to the catalog (the peer's JSON document; the book's row payload:
keys, weights, ids, learned samples); and memory per block key: tracemalloc's
allocations of a model read back from the catalog divided by its ``size`` (keys held).

Articles are invented (``tests/test_templates.py``'s story generator): 20 paragraphs of 2-4
sentences and 3 recurring promos, about 23 block keys an article.

    .venv/bin/python bench/template_book.py
    .venv/bin/python bench/template_book.py --sizes 2000 --articles 20
    .venv/bin/python bench/template_book.py --sizes 2000 --articles 30 --repeat 5
    .venv/bin/python bench/template_book.py --sizes 2000 --articles 60 --profile 25

``--profile N`` skips the timing: it observes the same articles with the book, cached, under
cProfile and prints the N functions of most own time (cProfile inflates Python code against C,
so read it for where the time goes, not for how much).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import platform
import pstats
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# tests/ is not a package, and pywb (when installed) ships a top-level ``tests`` package that
# would shadow ours: import the story generator as a sibling module.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_templates import DETAILS, PROMOS, TOPICS, paragraph

from harvester.catalog import CATALOG_NAME, SqliteCatalog
from harvester.extract.templates import TemplateChanges, TemplateModel
from harvester.templates_book import TemplateBook

Article = tuple[str, list[str]]
Sample = tuple[float, float]  # (wall, CPU) ms per article: the median of one window


def articles(seed: int, n: int) -> list[Article]:
    """n invented articles of one outlet: distinct stories, 20 paragraphs, 3 promos each."""
    rng = random.Random(seed)
    out: list[Article] = []
    for k in range(n):
        topic = f"{TOPICS[k % len(TOPICS)]} {TOPICS[(k // len(TOPICS)) % len(TOPICS)]}"
        blocks = [paragraph(rng, topic, DETAILS[j % len(DETAILS)]) for j in range(20)]
        out.append((f"https://o{seed}.test/{k}", [*blocks, *PROMOS[:3]]))
    return out


class _Counting:
    """The catalog, counting the bytes of the rows each template save writes."""

    def __init__(self, inner: SqliteCatalog) -> None:
        self.inner = inner
        self.written = 0

    def template_model(self, outlet: str) -> dict[str, object] | None:
        return self.inner.template_model(outlet)

    def template_version(self, outlet: str) -> int:
        return self.inner.template_version(outlet)

    def save_template_changes(
        self, outlet: str, params: dict[str, object], changes: TemplateChanges
    ) -> None:
        self.written += len(json.dumps(params)) + sum(
            len(a) + sum(len(k) + len(str(w)) + 2 for k, w in keys.items())
            for a, keys in changes.articles
        )
        self.written += sum(len(b.key) + len(b.sample.encode()) + 8 for b in changes.learned)
        self.written += sum(len(a) for a in changes.removed)
        self.inner.save_template_changes(outlet, params, changes)


def _timed(observe: Callable[[Article], object], items: list[Article]) -> list[tuple[float, float]]:
    """(wall, CPU) milliseconds of each article: ``perf_counter`` and ``thread_time`` (this
    thread's CPU, SQLite's included; a loaded machine stretches the first, barely the second)."""
    times: list[tuple[float, float]] = []
    for item in items:
        c0, t0 = time.thread_time(), time.perf_counter()
        observe(item)
        t1, c1 = time.perf_counter(), time.thread_time()
        times.append(((t1 - t0) * 1000, (c1 - c0) * 1000))
    return times


def _medians(times: list[tuple[float, float]], minus: tuple[float, float] = (0.0, 0.0)) -> Sample:
    """The window's median wall and CPU per article (less ``minus``)."""
    return (
        statistics.median(w for w, _ in times) - minus[0],
        statistics.median(c for _, c in times) - minus[1],
    )


def _peer_window(
    db: sqlite3.Connection, stored: dict[str, object], nxt: list[Article]
) -> tuple[Sample, int]:
    """The whole-document peer over one window; and the size of its last document."""
    peer_model = TemplateModel.from_json(stored)

    def peer(item: Article) -> None:
        peer_model.observe(*item)
        doc = json.dumps(peer_model.to_json(), ensure_ascii=False, sort_keys=True)
        with db:
            db.execute("INSERT OR REPLACE INTO whole VALUES ('a', ?)", (doc,))

    peer(nxt[0])  # the first document insert is not the steady state
    sample = _medians(_timed(peer, nxt[1:]))
    return sample, len(json.dumps(peer_model.to_json(), ensure_ascii=False).encode())


def _cached_window(
    catalog: SqliteCatalog, stored: dict[str, object], nxt: list[Article]
) -> tuple[Sample, float]:
    """The book with the model cached (loaded once, then kept); and its bytes per article."""
    catalog.save_template_model("a", stored)
    counting = _Counting(catalog)
    book = TemplateBook(counting, min_articles=3)  # type: ignore[arg-type]
    book.observe_and_clean("a", *nxt[0])
    counting.written = 0
    sample = _medians(_timed(lambda item: book.observe_and_clean("a", *item), nxt[1:]))
    return sample, counting.written / (len(nxt) - 1)


def _reloaded_window(
    catalog: SqliteCatalog, stored: dict[str, object], nxt: list[Article]
) -> Sample:
    """The book with budget 0 and outlet "b" (a small model) in between, so "a" is read back
    before every article; "b"'s round trip is timed apart and subtracted."""
    catalog.save_template_model("a", stored)
    catalog.save_template_model("b", TemplateModel().to_json())
    tight = TemplateBook(catalog, min_articles=3, cache_keys=0)
    for url, blocks in articles(2, 3):
        tight.observe_and_clean("b", url, blocks)

    def evict_a(_: Article) -> None:
        tight.clean("b", ["x"])  # "b" becomes the model in use: "a" leaves memory

    def reloaded(item: Article) -> None:
        evict_a(item)
        tight.observe_and_clean("a", *item)

    tight.observe_and_clean("a", *nxt[0])
    b = _medians(_timed(evict_a, nxt[1:]))
    return _medians(_timed(reloaded, nxt[1:]), minus=b)


def profile(size: int, n: int, top: int, tmp: Path) -> None:
    """cProfile of the book, cached, over ``n`` articles at ``size`` retained ones (the first
    one observed before, as in the timed windows); the ``top`` functions by own time."""
    warm, nxt = articles(1, size), articles(1, size + n)[size:]
    with SqliteCatalog(tmp / f"profile-{size}" / CATALOG_NAME) as catalog:
        model = TemplateModel()
        for url, blocks in warm:
            model.observe(url, blocks)
        catalog.save_template_model("a", model.to_json())
        book = TemplateBook(catalog, min_articles=3)
        book.observe_and_clean("a", *nxt[0])
        profiler = cProfile.Profile()
        profiler.enable()
        for url, blocks in nxt[1:]:
            book.observe_and_clean("a", url, blocks)
        profiler.disable()
    print(f"cProfile: book, cached, {n - 1} articles at {size} retained, by own time")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(top)


def measure(size: int, n: int, repeat: int, tmp: Path) -> dict[str, float]:
    warm, nxt = articles(1, size), articles(1, size + n)[size:]
    path = tmp / f"{size}" / CATALOG_NAME
    peer_s: list[Sample] = []
    cached_s: list[Sample] = []
    reload_s: list[Sample] = []
    with SqliteCatalog(path) as catalog:
        # The stored model of outlet "a", the one measured.
        model = TemplateModel()
        for url, blocks in warm:
            model.observe(url, blocks)
        catalog.save_template_model("a", model.to_json())
        stored = catalog.template_model("a")
        assert stored is not None

        # Peer: the whole document after every article, in a table of its own.
        peer_db = sqlite3.connect(path)
        peer_db.execute("CREATE TABLE IF NOT EXISTS whole (outlet TEXT PRIMARY KEY, model TEXT)")
        peer_db.execute("PRAGMA journal_mode=WAL")
        # Each side's window (the same n articles from the same stored model) is timed
        # ``repeat`` times, the sides taking turns, and the median window is reported: a burst
        # of load from elsewhere lands in one window, not in the result.
        for _ in range(repeat):
            sample, peer_bytes = _peer_window(peer_db, stored, nxt)
            peer_s.append(sample)
            sample, cached_bytes = _cached_window(catalog, stored, nxt)
            cached_s.append(sample)
            reload_s.append(_reloaded_window(catalog, stored, nxt))
        peer_db.close()

        # Memory: one model read back from the catalog, per key it holds.
        fresh = TemplateBook(catalog, min_articles=3)
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        model = fresh.model("a")
        held = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()

    def median(samples: list[Sample], i: int) -> float:
        return statistics.median(s[i] for s in samples)

    return {
        "size": size,
        "keys": model.size,
        "peer_ms": median(peer_s, 0),
        "cached_ms": median(cached_s, 0),
        "reload_ms": median(reload_s, 0),
        "peer_cpu": median(peer_s, 1),
        "cached_cpu": median(cached_s, 1),
        "reload_cpu": median(reload_s, 1),
        "cached_lo": min(s[0] for s in cached_s),
        "cached_hi": max(s[0] for s in cached_s),
        "cached_cpu_lo": min(s[1] for s in cached_s),
        "cached_cpu_hi": max(s[1] for s in cached_s),
        "peer_bytes": peer_bytes,
        "cached_bytes": cached_bytes,
        "bytes_per_key": held / max(model.size, 1),
        "model_mb": held / 2**20,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,500,2000", help="model sizes (100,500,2000)")
    parser.add_argument("--articles", type=int, default=50, help="articles timed per size (50)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed windows per side, median reported (3)"
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="no timing: profile the book, cached, and print the top N functions",
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.articles < 3 or args.repeat < 1 or any(not 1 <= s <= 2000 for s in sizes):
        parser.error("need --articles >= 3, --repeat >= 1 and sizes between 1 and 2000")
    if args.profile:
        with tempfile.TemporaryDirectory() as tmp:
            for size in sizes:
                profile(size, args.articles, args.profile, Path(tmp))
        return 0
    print(
        f"Environment: Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}; "
        f"{args.articles} articles per size, median of {args.repeat} windows\n"
    )
    print(
        "| retained articles | keys | whole-document peer (ms/article) | book, cached "
        "(ms, ratio) | book, reloaded each article (ms, ratio) | bytes written per article "
        "peer / book | model in memory (MB, bytes/key) | CPU ms/article: peer / cached / "
        "reloaded | book, cached over windows: wall / CPU (ms, min-max) |"
    )
    print("|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            r = measure(size, args.articles, args.repeat, Path(tmp))
            print(
                f"| {r['size']} | {r['keys']:,} | {r['peer_ms']:.1f} | {r['cached_ms']:.2f}"
                f" ({r['cached_ms'] / r['peer_ms']:.2f}x) | {r['reload_ms']:.1f}"
                f" ({r['reload_ms'] / r['peer_ms']:.2f}x) | {r['peer_bytes']:,.0f} /"
                f" {r['cached_bytes']:,.0f} | {r['model_mb']:.1f}, {r['bytes_per_key']:.0f} |"
                f" {r['peer_cpu']:.1f} / {r['cached_cpu']:.2f} / {r['reload_cpu']:.1f} |"
                f" {r['cached_lo']:.2f}-{r['cached_hi']:.2f} /"
                f" {r['cached_cpu_lo']:.2f}-{r['cached_cpu_hi']:.2f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
