"""Near-duplicate candidate lookup at scale: harvester versus datasketch MinHash LSH.

Both sides index the same N synthetic articles, one at a time, each article being looked up
before it is inserted (what ``StoryBook.place`` does):

* ours: ``fingerprint(text)`` (normalisation, 5-word shingles, "0 mod 10" samples, paragraph
  and text hashes), ``CandidateIndex.query(fp.samples, limit=50, min_shared=2)``, then
  ``CandidateIndex.add(doc, fp.samples, time)``;
* peer: ``normalise_text(text)`` (the same normalisation, so only the sketch and the index
  differ), the same 5-word shingles as UTF-8 bytes, ``MinHash(num_perm=128)`` (permutations
  built once and reused, its fastest documented use) via ``update_batch``, then
  ``MinHashLSH(threshold=0.5, num_perm=128).query`` and ``.insert``.

Each side runs in its own child process (this script with ``--side ours|peer``), so the peak
RSS (``ru_maxrss``) is that side's alone; the sides run one after the other, never
concurrently. Time is ``time.perf_counter`` summed over the per-article work (sketch + query +
insert); generating the texts is not timed. One process on one core, so articles/s is per core.

Corpus (deterministic, ``--seed``): a vocabulary of 20,000 synthetic words drawn with Zipf
frequencies; articles of 150-500 words in paragraphs of sentences, with numbers, quotes and
apostrophes. About 10% of the articles are near-copies of an earlier original (one of the 20,000
before it): ``edited`` (5% of words replaced, every number changed, curly quotes and dashes,
sometimes a new lead paragraph or a closing comment), ``truncated`` (the first 30-70% of the
paragraphs plus a "read more" line), or ``both``. Article ``i`` depends only on ``(seed, i)``,
so the peer's first ``--peer-n`` articles are exactly ours.

Reported: articles/s; µs per article split into sketch, query and insert; peak RSS of the
side's process; index memory (RSS growth over the indexing loop, and ours' own
``memory_bytes()``); stored bytes per article (ours: ``len(Fingerprint.to_bytes())``, the
catalog's BLOB; peer: the pickled ``LeanMinHash``, averaged over every 1,000th article); recall
of the known near-copies (the copy's source among the lookup's results, by kind); the mean number
of candidates a lookup returns.

Run from the repository root (needs numpy, datasketch and psutil in the venv)::

    .venv/bin/python bench/dedup_index.py                      # N = 1,000,000, both sides
    .venv/bin/python bench/dedup_index.py --n 100000 --peer-n 50000 --json bench/results/d.json

Progress goes to stderr and the Markdown table to stdout.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import pickle
import platform
import random
import resource
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

KINDS = ("edited", "truncated", "both")
VOCABULARY = 20_000
COPY_RATE = 0.10
SOURCE_WINDOW = 20_000  # a copy's source is one of the previous 20,000 articles
SPACING = 2.5  # seconds between articles: 1M articles span ~29 days, inside a 30-day window
LIMIT = 50
MIN_SHARED = 2
PICKLE_EVERY = 1_000
TABLE = 1 << 16


class Corpus:
    """Synthetic articles; article ``i`` is a function of ``(seed, i)`` alone."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        rng = random.Random(f"{seed}:vocabulary")
        words: set[str] = set()
        while len(words) < VOCABULARY:
            words.add("".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 11))))
        ranked = sorted(words)
        rng.shuffle(ranked)
        # Zipf(1) frequencies as a ~2**16-entry table sampled uniformly (faster than bisecting
        # cumulative weights; small enough to stay in cache); the rarest words get one entry each.
        harmonic = sum(1.0 / (k + 1) for k in range(VOCABULARY))
        self.table = list(
            itertools.chain.from_iterable(
                itertools.repeat(word, max(1, round(TABLE / ((k + 1) * harmonic))))
                for k, word in enumerate(ranked)
            )
        )

    def _rng(self, i: int) -> random.Random:
        return random.Random(f"{self.seed}:{i}")

    def is_copy(self, i: int) -> bool:
        return i > 0 and self._rng(i).random() < COPY_RATE

    def _sentence(self, rng: random.Random, n: int) -> str:
        words = rng.choices(self.table, k=n)
        roll = rng.random()
        if roll < 0.25:
            words[rng.randrange(n)] = str(rng.randint(2, 2_500))
        elif roll < 0.35:
            k = rng.randrange(n)
            words[k] += "'s"
        if rng.random() < 0.15 and n > 6:
            a = rng.randrange(n - 4)
            words[a] = '"' + words[a]
            words[a + 3] += '"'
        if rng.random() < 0.3:
            words[rng.randrange(n - 1)] += ","
        if rng.random() < 0.1 and n > 8:
            words[rng.randrange(2, n - 2)] += " -"
        return words[0].capitalize() + " " + " ".join(words[1:]) + "."

    def _paragraphs(self, rng: random.Random, words: int) -> list[str]:
        paragraphs: list[str] = []
        while words > 0:
            sentences = []
            budget = min(words, rng.randint(25, 70))
            words -= budget
            while budget > 0:
                n = min(budget, rng.randint(8, 25))
                budget -= n
                sentences.append(self._sentence(rng, max(n, 3)))
            paragraphs.append(" ".join(sentences))
        return paragraphs

    def original(self, i: int) -> list[str]:
        rng = self._rng(i)
        rng.random()  # the copy decision
        return self._paragraphs(rng, rng.randint(150, 500))

    def article(self, i: int) -> tuple[str, int | None, str | None]:
        """(text, source article or None, kind of copy or None)."""
        if not self.is_copy(i):
            return "\n\n".join(self.original(i)), None, None
        rng = self._rng(i)
        rng.random()
        source = rng.randrange(max(0, i - SOURCE_WINDOW), i)
        while self.is_copy(source):
            source = rng.randrange(max(0, i - SOURCE_WINDOW), i)
        paragraphs = self.original(source)
        kind = rng.choice(KINDS)
        if kind in ("truncated", "both"):
            keep = max(1, round(len(paragraphs) * rng.uniform(0.3, 0.7)))
            paragraphs = paragraphs[:keep]
            paragraphs.append("Read the full story on our partner's site.")
        if kind in ("edited", "both"):
            paragraphs = [self._edit(rng, p) for p in paragraphs]
            if rng.random() < 0.5:
                paragraphs.insert(0, self._sentence(rng, rng.randint(12, 25)))
            if rng.random() < 0.3:
                paragraphs.append(self._sentence(rng, rng.randint(10, 20)))
        return "\n\n".join(paragraphs), source, kind

    def _edit(self, rng: random.Random, paragraph: str) -> str:
        tokens = paragraph.split(" ")
        for k, token in enumerate(tokens):
            if token.rstrip(".,'\"s").isdigit():
                tokens[k] = str(rng.randint(2, 2_500)) + token.lstrip("0123456789")
            elif rng.random() < 0.05:
                tokens[k] = rng.choice(self.table)
        text = " ".join(tokens)
        text = text.replace(" -", " \u2014").replace("'s", "\u2019s")
        if text.count('"') % 2 == 0:
            parts = text.split('"')
            text = "".join(
                part + ("\u201c" if k % 2 == 0 else "\u201d") if k < len(parts) - 1 else part
                for k, part in enumerate(parts)
            )
        return text.replace(". ", ".  ", 1)


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _progress(side: str, i: int, n: int, started: float) -> None:
    if n >= 10 and (i + 1) % (n // 10) == 0:
        print(
            f"{side}: {i + 1:,}/{n:,} articles, {time.monotonic() - started:.0f}s",
            file=sys.stderr,
            flush=True,
        )


def run_spilled(n: int, seed: int) -> dict[str, Any]:
    """``run_ours`` with the index's postings in mapped files (what the daemon does)."""
    with tempfile.TemporaryDirectory() as tmp:
        return run_ours(n, seed, spill_dir=Path(tmp))


def _anon() -> int:
    """The anonymous part of this process's RSS (heap and arrays, not mapped files)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    return 0


def run_ours(n: int, seed: int, spill_dir: Path | None = None) -> dict[str, Any]:
    from harvester.dedup.fingerprint import fingerprint
    from harvester.dedup.index import CandidateIndex

    corpus = Corpus(seed)
    index = CandidateIndex(spill_dir=spill_dir)
    fingerprint(corpus.article(0)[0])  # warm the normaliser's tables
    timing = {"sketch": 0.0, "query": 0.0, "insert": 0.0}
    found: Counter[str] = Counter()
    copies: Counter[str] = Counter()
    stored = candidates = samples = 0
    rss_before, anon_before = _rss(), _anon()
    started = time.monotonic()
    clock = time.perf_counter
    for i in range(n):
        text, source, kind = corpus.article(i)
        t0 = clock()
        fp = fingerprint(text)
        t1 = clock()
        result = index.query(fp.samples, limit=LIMIT, min_shared=MIN_SHARED)
        t2 = clock()
        index.add(i, fp.samples, i * SPACING)
        t3 = clock()
        timing["sketch"] += t1 - t0
        timing["query"] += t2 - t1
        timing["insert"] += t3 - t2
        stored += len(fp.to_bytes())
        samples += len(fp.samples)
        candidates += len(result)
        if kind is not None:
            copies[kind] += 1
            if any(doc == source for doc, _ in result):
                found[kind] += 1
        _progress("ours", i, n, started)
    return {
        "side": "ours" if spill_dir is None else "spilled",
        "n": n,
        "timing": timing,
        "peak_rss": _peak_rss(),
        "index_rss": _rss() - rss_before,
        "index_anon": _anon() - anon_before,
        "index_spilled": index.spilled_bytes(),
        "index_own": index.memory_bytes(),
        "stored_bytes": stored / n,
        "samples": samples / n,
        "candidates": candidates / n,
        "found": dict(found),
        "copies": dict(copies),
        "docs": len(index),
    }


def run_peer(n: int, seed: int) -> dict[str, Any]:
    from datasketch import LeanMinHash, MinHash, MinHashLSH

    from harvester.dedup.fingerprint import SHINGLE_WORDS, normalise_text

    corpus = Corpus(seed)
    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    template = MinHash(num_perm=128)
    timing = {"sketch": 0.0, "query": 0.0, "insert": 0.0}
    found: Counter[str] = Counter()
    copies: Counter[str] = Counter()
    pickled: list[int] = []
    candidates = 0
    rss_before = _rss()
    started = time.monotonic()
    clock = time.perf_counter
    for i in range(n):
        text, source, kind = corpus.article(i)
        t0 = clock()
        words = normalise_text(text).split()
        shingles = [
            " ".join(words[k : k + SHINGLE_WORDS]).encode("utf-8")
            for k in range(max(len(words) - SHINGLE_WORDS + 1, 1 if words else 0))
        ]
        m = MinHash(num_perm=128, permutations=template.permutations, scheme=template.scheme)
        m.update_batch(shingles)
        t1 = clock()
        result = lsh.query(m)
        t2 = clock()
        lsh.insert(i, m)
        t3 = clock()
        timing["sketch"] += t1 - t0
        timing["query"] += t2 - t1
        timing["insert"] += t3 - t2
        if i % PICKLE_EVERY == 0:
            pickled.append(len(pickle.dumps(LeanMinHash(m))))
        candidates += len(result)
        if kind is not None:
            copies[kind] += 1
            if source in result:
                found[kind] += 1
        _progress("peer", i, n, started)
    return {
        "side": "peer",
        "n": n,
        "timing": timing,
        "peak_rss": _peak_rss(),
        "index_rss": _rss() - rss_before,
        "index_own": None,
        "stored_bytes": sum(pickled) / len(pickled),
        "samples": 128,
        "candidates": candidates / n,
        "found": dict(found),
        "copies": dict(copies),
        "docs": n,
    }


def _child(side: str, n: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, __file__, "--side", side, "--n", str(n), "--seed", str(seed)]
        subprocess.run([*cmd, "--result", str(out)], check=True)
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value / 1e6:,.0f} MB"


def _recall(r: dict[str, Any], kind: str | None = None) -> str:
    kinds = KINDS if kind is None else (kind,)
    total = sum(r["copies"].get(k, 0) for k in kinds)
    hit = sum(r["found"].get(k, 0) for k in kinds)
    return f"{hit / total:.3f}" if total else "-"


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        "| side | articles | articles/s (1 core) | µs/article: sketch + query + insert "
        "| peak RSS | index memory (RSS growth) | stored bytes/article | near-copy recall: "
        "all (edited / truncated / both) | candidates/lookup |",
        "|---|---:|---:|---|---:|---:|---:|---|---:|",
    ]
    names = {
        "ours": "harvester fingerprint + CandidateIndex",
        "spilled": "same, postings in mapped files (`spill_dir`, as the daemon runs it)",
        "peer": "datasketch MinHash(128) + MinHashLSH(0.5)",
    }
    for r in results:
        t = r["timing"]
        total = sum(t.values())
        per = {k: v / r["n"] * 1e6 for k, v in t.items()}
        own = f" (own estimate {_mb(r['index_own'])})" if r["index_own"] is not None else ""
        if r.get("index_anon") is not None:
            own += f"; anonymous {_mb(r['index_anon'])}"
        if r.get("index_spilled"):
            own += f"; {_mb(r['index_spilled'])} in mapped files"
        rows.append(
            f"| {names[r['side']]} | {r['n']:,} | {r['n'] / total:,.0f} "
            f"| {per['sketch']:.0f} + {per['query']:.0f} + {per['insert']:.0f} "
            f"= {total / r['n'] * 1e6:.0f} | {_mb(r['peak_rss'])} | {_mb(r['index_rss'])}{own} "
            f"| {r['stored_bytes']:.0f} | {_recall(r)} ({_recall(r, 'edited')} / "
            f"{_recall(r, 'truncated')} / {_recall(r, 'both')}) | {r['candidates']:.2f} |"
        )
    return "\n".join(rows)


def _environment() -> str:
    import numpy

    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = [f"Python {platform.python_version()}", f"numpy {numpy.__version__}"]
    try:
        versions.append(f"datasketch {version('datasketch')}")
    except PackageNotFoundError:
        versions.append("datasketch absent")
    return f"{', '.join(versions)}; {cpu}, {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="articles for ours")
    parser.add_argument("--peer-n", type=int, help="articles for datasketch (default: --n)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--sides", default="ours,spilled,peer", help="comma-separated: ours, spilled, peer"
    )
    parser.add_argument("--json", type=Path, help="write the full results here")
    parser.add_argument("--side", choices=("ours", "spilled", "peer"), help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.side:  # child process: one side, result as JSON
        gc.collect()
        run = {"ours": run_ours, "spilled": run_spilled, "peer": run_peer}[args.side]
        result = run(args.n, args.seed)
        args.result.write_text(json.dumps(result))
        return 0
    sides = [s.strip() for s in args.sides.split(",") if s.strip()]
    results = []
    for side in sides:
        n = args.n if side != "peer" else (args.peer_n or args.n)
        print(f"{side}: {n:,} articles...", file=sys.stderr, flush=True)
        results.append(_child(side, n, args.seed))
    print(f"Environment: {_environment()}\n")
    print(table(results))
    peer = next((r for r in results if r["side"] == "peer"), None)
    if peer is not None and peer["n"] != args.n:
        print(
            f"\nThe datasketch side ran on the first {peer['n']:,} of the {args.n:,} articles "
            "(--peer-n); its per-article numbers are for that smaller index, and its memory "
            "would grow with N."
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"environment": _environment(), "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
