"""The story desk's server time: p50/p95 per page at 10,000 and 100,000 archived articles.

Pages timed (``harvester serve``'s application, in process, through httpx's ASGI transport:
routing, the catalog's queries, the view, the Jinja2 rendering, the security middleware; no
socket): the stories page (home, newest first), a story with 20 copies (its members, diffs,
relations, timeline; computed every time, and again from the desk's page cache, which holds
a story's or an outlet's page until the archive changes), an outlet page (the busiest
outlet: its chart, whom it copies, who copies it), a word search and a phrase search. Each
is asked ``--requests`` times in turn after a warm-up; page weight is the body's size in bytes.

Peer, in the same process on the same catalog: ``/static/desk.css`` (the framework and the
middleware, no catalog): the "x peer" column says how much of a page is the page itself.

Input (synthetic, made fast): articles of 150-250 words drawn from a Zipf vocabulary of 20,000
invented words, on 200 outlets over 90 days; about 30% are copies in stories of 2-6 articles
(an original and its copies, each copy run 5 minutes to 2 days later); one story has an
original and 20 copies (edited, trimmed, with added commentary). Rows go in through the
catalog's own SQL (article rows with their schema-5 columns and the full-text trigger, doc
rows), 5,000 to a transaction. Fingerprints are real for the 20-copy story (the story page
relates each copy to the original) and a shared placeholder elsewhere. The catalog grows in
one SQLite file: first 10,000 articles, then filled up to 100,000.

Targets (issue 14): p95 under 100 ms for the pages and under 250 ms for search at 100,000.

    python bench/web.py                      # 10,000 and 100,000
    python bench/web.py --sizes 10000 --requests 50 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from harvester.catalog import ArticleRow, DocRow, SqliteCatalog
from harvester.catalog.sql import SqlCatalog, article_columns
from harvester.config import load_settings
from harvester.dedup.fingerprint import fingerprint
from harvester.models import Evidence, ExportRecord, Original, WarcLocation
from harvester.web import Desk, create_app

SIZES = (10_000, 100_000)
REQUESTS = 200
OUTLETS = 200
VOCABULARY = 20_000
DAYS = 90
START = 1_780_000_000.0
BATCH = 5_000
BIG_STORY = "s-" + "b" * 16


def _words(seed: int) -> list[str]:
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "pe", "dan", "sel", "mor",
                 "tri", "gal", "ben", "os", "ul", "fen", "har", "bor"]  # fmt: skip
    seen: set[str] = set()
    while len(seen) < VOCABULARY:
        seen.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(seen)


class Corpus:
    """Deterministic synthetic article texts."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.words = _words(seed)
        weights = [1.0 / (rank + 1) for rank in range(VOCABULARY)]
        total = 0.0
        self.cum = []
        for w in weights:
            total += w
            self.cum.append(total)

    def text(self, n_words: int) -> str:
        words = self.rng.choices(self.words, cum_weights=self.cum, k=n_words)
        paragraphs, at = [], 0
        while at < len(words):
            size = self.rng.randint(30, 60)
            paragraphs.append(" ".join(words[at : at + size]).capitalize() + ".")
            at += size
        return "\n\n".join(paragraphs)


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Filler:
    """Writes synthetic articles into one catalog, growing."""

    def __init__(self, root: Path, seed: int) -> None:
        self.root = root
        self.catalog = SqliteCatalog(root / "index.sqlite")
        self.corpus = Corpus(seed)
        self.rng = random.Random(seed + 1)
        self.count = 0
        self.placeholder = fingerprint("placeholder text for the synthetic archive").to_bytes()
        self.open_stories: list[tuple[str, str, str, float, str]] = []
        self.big_phrase = ""
        self.big_at = 100

    def _row(
        self,
        i: int,
        *,
        outlet: str,
        story: str,
        text: str,
        ran: float,
        original: tuple[str, str, bool] | None,
        fp: bytes,
    ) -> tuple[ArticleRow, DocRow]:
        url = f"https://{outlet}.test/{i}"
        is_original = original is None
        source_url, source_outlet, _ = original or (url, outlet, True)
        credit = Evidence(
            kind="credit-line", text=f"({source_outlet})", source=source_outlet, url=source_url
        )
        evidence = () if is_original else (credit,)
        record = ExportRecord(
            url=url,
            final_url=url,
            outlet=outlet,
            title=" ".join(text.split()[:8]).title(),
            authors=(),
            published=_iso(ran),
            fetched=_iso(ran + 60),
            language="en",
            text=text,
            story=story,
            is_original=is_original,
            original=Original(url=source_url, outlet=source_outlet, seen=True, evidence=evidence),
            warc=WarcLocation(file="warc/none.warc.gz", offset=i, record_id=f"<urn:uuid:{i}>"),
        )
        article = ArticleRow(
            record=record,
            capture_record_id=f"<urn:uuid:{i}>",
            metadata_file="warc/none.warc.gz",
            metadata_offset=i,
            blocks=(),
            payload={"removed": [{"kind": "newsletter", "text": "Sign up", "rule": "en#1"}]},
        )
        doc = DocRow(
            doc=0,
            final_url=url,
            outlet=outlet,
            wire=outlet.startswith("wire"),
            published=record.published,
            fetched=record.fetched,
            time=ran + 60,
            text_hash=f"h{i}",
            fingerprint=fp,
            evidence=evidence,
            story=story,
        )
        return article, doc

    def _next(self, i: int) -> list[tuple[ArticleRow, DocRow]]:
        # 100,000 articles over DAYS days, whatever the size filled.
        ran = START + i * DAYS * 86400 / 100_000
        outlet = f"outlet{self.rng.randint(0, OUTLETS - 1):03d}"
        if i == self.big_at:
            return self._big_story(i, ran)
        if self.open_stories and self.rng.random() < 0.3:
            story, source_url, source_outlet, source_ran, text = self.rng.choice(self.open_stories)
            ran = max(ran, source_ran + self.rng.uniform(300, 2 * 86400))
            source = (source_url, source_outlet, True)
            return [self._row(i, outlet=outlet, story=story, text=text, ran=ran,
                              original=source, fp=self.placeholder)]  # fmt: skip
        if self.rng.random() < 0.25:
            outlet = f"wire{self.rng.randint(0, 4)}"
        text = self.corpus.text(self.rng.randint(150, 250))
        story = f"s-{i:016x}"
        row = self._row(i, outlet=outlet, story=story, text=text, ran=ran, original=None,
                        fp=self.placeholder)  # fmt: skip
        self.open_stories.append((story, row[0].record.final_url, outlet, ran, text))
        if len(self.open_stories) > 2000:
            self.open_stories.pop(0)
        return [row]

    def _big_story(self, i: int, ran: float) -> list[tuple[ArticleRow, DocRow]]:
        text = self.corpus.text(400)
        paragraphs = text.split("\n\n")
        self.big_phrase = " ".join(paragraphs[1].split()[3:6])
        rows = [self._row(i, outlet="wire0", story=BIG_STORY, text=text, ran=ran, original=None,
                          fp=fingerprint(text).to_bytes())]  # fmt: skip
        source = (rows[0][0].record.final_url, "wire0", True)
        for k in range(20):
            copy = list(paragraphs)
            if k % 3 == 0:
                copy[0] = copy[0].replace(copy[0].split()[2], "changed", 1)
            if k % 3 == 1:
                copy = copy[:-2]
            if k % 3 == 2:
                copy.append("Editor's note: this copy adds a paragraph of commentary at its end.")
            body = "\n\n".join(copy)
            rows.append(self._row(i + 1 + k, outlet=f"outlet{k:03d}", story=BIG_STORY, text=body,
                                  ran=ran + 600 * (k + 1), original=source,
                                  fp=fingerprint(body).to_bytes()))  # fmt: skip
        return rows

    def fill(self, upto: int) -> float:
        """Fill the catalog up to ``upto`` articles; returns the seconds it took."""
        started = time.perf_counter()
        while self.count < upto:
            rows: list[tuple[ArticleRow, DocRow]] = []
            while self.count < upto and len(rows) < BATCH:
                made = self._next(self.count)
                rows.extend(made)
                self.count += len(made)
            self._write(rows)
        self.catalog._db.execute("ANALYZE")
        return time.perf_counter() - started

    def _write(self, rows: list[tuple[ArticleRow, DocRow]]) -> None:
        with self.catalog._tx(write=True) as tx:
            tx.executemany(
                "INSERT INTO articles (url, final_url, outlet, story, capture_record_id,"
                " metadata_file, metadata_offset, record, blocks, payload,"
                " is_original, original_outlet, original_url, ran)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(*SqlCatalog._article_values(a), *article_columns(a.record)) for a, _ in rows],
            )
            tx.executemany(
                'INSERT INTO docs (final_url, outlet, wire, published, fetched, "time",'
                " text_hash, fingerprint, evidence, story, placed)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
                [
                    (
                        d.final_url,
                        d.outlet,
                        int(d.wire),
                        d.published,
                        d.fetched,
                        d.time,
                        d.text_hash,
                        d.fingerprint,
                        json.dumps([e.to_json() for e in d.evidence]),
                        d.story,
                    )
                    for _, d in rows
                ],
            )


async def _time(client: httpx.AsyncClient, path: str, n: int) -> dict[str, Any]:
    for _ in range(3):
        warm = await client.get(path)
        if warm.status_code != 200:
            raise RuntimeError(f"{path}: HTTP {warm.status_code}: {warm.text[:200]}")
    times = []
    size = 0
    for _ in range(n):
        started = time.perf_counter()
        answer = await client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        size = len(answer.content)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 2),
        "bytes": size,
    }


def measure(filler: Filler, requests: int) -> dict[str, Any]:
    """Every page, timed in process over the catalog as filled so far."""
    root = filler.root
    busiest = filler.catalog._rows(
        "SELECT outlet FROM docs GROUP BY outlet ORDER BY COUNT(*) DESC LIMIT 1"
    )[0][0]
    common = filler.corpus.words[40]
    rare = filler.corpus.words[900]
    pages = {
        "peer: /static/desk.css": "/static/desk.css",
        "stories (home)": "/",
        "story with 20 copies": f"/story/{BIG_STORY}",
        f"outlet ({busiest})": f"/outlet/{busiest}",
        f"search: {common} {rare}": f"/search?q={common}+{rare}",
        "search: a phrase": "/search?q=" + '"' + filler.big_phrase.replace(" ", "+") + '"',
    }
    with SqliteCatalog(root / "index.sqlite", readonly=True) as catalog:
        desk = Desk(catalog=catalog, root=root, settings=load_settings(None).with_archive_dir(root))
        app = create_app(desk, page_cache=0)  # every page computed
        cached = create_app(desk)

        async def run() -> dict[str, Any]:
            transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
            again = httpx.ASGITransport(app=cached)  # type: ignore[arg-type]
            async with (
                httpx.AsyncClient(transport=transport, base_url="http://desk") as client,
                httpx.AsyncClient(transport=again, base_url="http://desk") as repeat,
            ):
                timed = {name: await _time(client, path, requests) for name, path in pages.items()}
                timed["story with 20 copies, again (cached)"] = await _time(
                    repeat, f"/story/{BIG_STORY}", requests
                )
                timed["outlet, again (cached)"] = await _time(
                    repeat, f"/outlet/{busiest}", requests
                )
                return timed

        results = asyncio.run(run())
    peer = results["peer: /static/desk.css"]["p50_ms"]
    for value in results.values():
        value["x_peer"] = round(value["p50_ms"] / peer, 1) if peer else None
    return results


def table(size: int, fill_s: float, results: dict[str, Any]) -> str:
    lines = [
        f"\n{size:,} articles (filled in {fill_s:.0f} s)",
        f"{'page':<40} {'p50 ms':>8} {'p95 ms':>8} {'x peer':>7} {'bytes':>9}",
    ]
    for name, r in results.items():
        lines.append(
            f"{name[:40]:<40} {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} {r['x_peer']:>7}"
            f" {r['bytes']:>9,}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="10000,100000")
    parser.add_argument("--requests", type=int, default=REQUESTS, help="per page (200)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", default=None, help="where the catalog goes (the temp dir)")
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    args = parser.parse_args(argv)
    try:
        sizes = sorted({int(s) for s in args.sizes.split(",")})
    except ValueError:
        parser.error("--sizes: comma-separated numbers")
    print(
        f"harvester story desk, in process; Python {platform.python_version()}, "
        f"{os.cpu_count()} cores; {args.requests} requests per page"
    )
    out: dict[str, Any] = {"requests": args.requests, "sizes": {}}
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        filler = Filler(Path(tmp), args.seed)
        try:
            for size in sizes:
                fill_s = filler.fill(size)
                results = measure(filler, args.requests)
                print(table(size, fill_s, results), flush=True)
                out["sizes"][str(size)] = {"fill_seconds": round(fill_s, 1), "pages": results}
        finally:
            filler.catalog.close()
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
