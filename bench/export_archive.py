"""Export at scale: throughput and peak memory of `harvester export` as the archive grows.

Builds synthetic catalogs of N articles (team-written filler text, ~2.5 KB per article, stories of
three members) directly in SQLite -- export reads only the catalog, so no WARC files are needed --
then runs, each in a fresh child process so peak RSS is the export's own:

* ``harvester export`` (streamed in keyset batches) as JSON lines, CSV and Parquet, to /dev/null;
* the peer: the same records loaded the simple way (``SqliteCatalog.articles()``: one query,
  every row fetched, then serialised), which is what export did before it streamed.

    .venv/bin/python bench/export_archive.py [--sizes 10000,50000,100000] [--json]

Reports records/s and peak RSS per size; flat memory means the peak does not grow with N.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = [
    "harbour",
    "council",
    "ferry",
    "strike",
    "vote",
    "budget",
    "minister",
    "river",
    "flood",
    "port",
    "expansion",
    "rail",
    "union",
    "court",
    "appeal",
    "recount",
    "ballots",
    "health",
    "trial",
    "vaccine",
    "market",
    "shares",
    "drought",
    "water",
    "mayor",
    "police",
    "school",
    "bridge",
    "storm",
    "energy",
    "grid",
    "wind",
    "farm",
    "tariff",
    "export",
    "grain",
    "harvest",
    "museum",
    "library",
]


def filler(rng: random.Random, paragraphs: int = 6) -> str:
    return "\n\n".join(
        " ".join(rng.choice(WORDS) for _ in range(60)).capitalize() + "." for _ in range(paragraphs)
    )


def build(root: Path, n: int) -> None:
    """A catalog of ``n`` articles in stories of three (an original and two copies)."""
    from harvester.catalog import CATALOG_NAME, SqliteCatalog

    root.mkdir(parents=True, exist_ok=True)
    with SqliteCatalog(root / CATALOG_NAME):
        pass  # the schema
    rng = random.Random(n)
    db = sqlite3.connect(root / CATALOG_NAME)
    rows = []
    docs = []
    for i in range(n):
        story = f"s-{i // 3:016x}"
        url = f"https://outlet{i % 7}.example/news/{i}"
        lead = i % 3 == 0
        record = {
            "url": url,
            "final_url": url,
            "outlet": f"Outlet {i % 7}",
            "title": f"Story {i // 3}",
            "authors": ["A. Writer"],
            "published": "2026-11-01T10:00:00+00:00",
            "fetched": "2026-11-01T10:05:00Z",
            "language": "en",
            "text": filler(rng),
            "story": story,
            "is_original": lead,
            "original": {"url": None, "outlet": "Outlet 0", "seen": True, "evidence": []},
            "warc": {"file": "warc/2026/11/x.warc.gz", "offset": i * 4000, "record_id": f"<{i}>"},
        }
        rows.append(
            (url, url, record["outlet"], story, f"<{i}>", "warc/2026/11/x.warc.gz", i * 4000,
             json.dumps(record), "[]", "{}")
        )  # fmt: skip
        docs.append((url, record["outlet"], int(lead), None, "2026-11-01T10:05:00Z", 0.0,
                     f"h{i}", b"", "[]", story))  # fmt: skip
        if len(rows) >= 5000:
            _flush(db, rows, docs)
    _flush(db, rows, docs)
    db.close()


def _flush(
    db: sqlite3.Connection, rows: list[tuple[object, ...]], docs: list[tuple[object, ...]]
) -> None:
    with db:
        db.executemany(
            "INSERT INTO articles (url, final_url, outlet, story, capture_record_id,"
            " metadata_file, metadata_offset, record, blocks, payload)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.executemany(
            "INSERT INTO docs (final_url, outlet, wire, published, fetched, time, text_hash,"
            " fingerprint, evidence, story) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            docs,
        )
    rows.clear()
    docs.clear()


_CLI = (
    "from harvester.cli import main; import sys\n"
    "sys.exit(main(['export', '--archive', {root!r}, '--output', '/dev/null', *{extra!r}]))\n"
)
_LOAD_ALL = (
    "import json, pathlib; from harvester.catalog import SqliteCatalog\n"
    "c = SqliteCatalog(pathlib.Path({root!r}) / 'index.sqlite', readonly=True)\n"
    "records = list(c.articles())\n"
    "with open('/dev/null', 'w') as out:\n"
    "    for r in records: out.write(json.dumps(r.to_json(), ensure_ascii=False) + '\\n')\n"
)
MODES = {
    "jsonl": (_CLI, []),
    "csv": (_CLI, ["--format", "csv"]),
    "parquet": (_CLI, ["--format", "parquet"]),
    "jsonl --unique": (_CLI, ["--unique"]),
    "load-all (peer)": (_LOAD_ALL, []),
}


def run_child(code: str) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of a fresh interpreter running ``code``; the child reports its
    own ru_maxrss at exit, so each measurement is that process's peak alone."""
    probe = (
        "import atexit, resource, sys\n"
        "atexit.register(lambda: sys.__stderr__.write("
        "'PEAK %d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n" + code
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    peaks = [int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("PEAK ")]
    if done.returncode != 0 or not peaks:
        raise SystemExit(f"export child failed ({done.returncode}): {done.stderr[-500:]}")
    return seconds, peaks[-1] / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sizes = sorted(int(x) for x in args.sizes.split(","))
    results = []
    with tempfile.TemporaryDirectory(prefix="harvester-export-") as tmp:
        for n in sizes:
            root = Path(tmp) / f"a{n}"
            started = time.perf_counter()
            build(root, n)
            print(f"built {n} articles in {time.perf_counter() - started:.1f}s", file=sys.stderr)
            for name, (code, extra) in MODES.items():
                seconds, peak = run_child(code.format(root=str(root), extra=extra))
                results.append(
                    {"articles": n, "mode": name, "seconds": round(seconds, 2),
                     "records_per_s": round(n / seconds), "peak_rss_mb": round(peak)}
                )  # fmt: skip
                print(
                    f"{n:>8} {name:16s} {seconds:7.2f}s {n / seconds:9.0f}/s {peak:7.0f} MB",
                    file=sys.stderr,
                )
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"{'articles':>8}  {'mode':16s} {'records/s':>10} {'peak RSS':>9}")
        for r in results:
            rate, peak = r["records_per_s"], r["peak_rss_mb"]
            print(f"{r['articles']:>8}  {r['mode']:16s} {rate:>10} {peak:>6} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
