"""import-warc throughput: ``import_warcs`` beside a bare warcio read loop over the same files.

Corpora:

* **real**: every file under ``../shared/data/warc`` (41 files, 2.2 MB, broken ones included;
  the folder named by ``HARVESTER_SHARED_DATA`` instead when set). Skipped with a message where
  the folder is absent.
* **synthetic**: one gzip WARC written at run time with ``--pages`` team-written invented
  articles (``tests/pages.py``: ``invented_story`` in ``article_page``), a ``request`` and a
  ``response`` record per page, spread over 20 outlets; every tenth page is a verbatim copy of
  an earlier story on another outlet (so stories are joined as in real syndication).

Sides, each over the same file list, each import into a fresh temporary archive:

* **bare warcio**: ``ArchiveIterator(stream, arc2warc=True)``, every record's
  ``content_stream().read()``; a file warcio gives up on stops there (as the import does).
* **import (worker)**: ``import_warcs`` with the default ``[extract] budget`` (20 s): extraction
  runs in harvester's worker process, as ``harvester import-warc`` will.
* **import (in-process)**: the same with ``budget = "off"``: extraction in this process.

Where the time goes: the harvester's ports are wrapped with wall-clock timers for the run
(non-overlapping): ``extraction`` (``extractor.extract``: charset decoding is before it;
trafilatura main text, DOM metadata, attribution, boilerplate rule packs; in worker mode this
includes the round trip to the worker), ``templates`` (``templates.observe_and_clean``: learned
outlet templates, the second cleaning stage, plus re-cleaning earlier articles when a template
is learned), ``placement`` (``stories.place`` + ``stories.resolve``: fingerprints' candidate
index, story merges, catalog doc rows), ``warc write`` (``store.writer.write``: metadata +
conversion records, gzip, flush and fsync per article), ``catalog`` (``add_capture`` and
``add_article``); ``other pipeline`` is the rest of ``process_imported`` (building records,
re-resolving story members); ``reading`` is everything outside ``process_imported``: warcio
parsing and digest checks, de-chunking, content decoding, the duplicate check. With
``--profile`` the in-process run also runs under cProfile (slower; the timers of that run are
not reported, only the top functions by own time).

Run from the repository root::

    .venv/bin/python bench/import_warc.py                   # real files + 2,000 synthetic pages
    .venv/bin/python bench/import_warc.py --pages 10000     # the full 10,000-page WARC
    .venv/bin/python bench/import_warc.py --json bench/results/import.json
    .venv/bin/python bench/import_warc.py --json            # JSON on stdout only

Progress goes to stderr, the Markdown tables to stdout.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import json
import logging
import os
import platform
import pstats
import resource
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from pages import article_page, invented_story  # noqa: E402
from warcio.archiveiterator import ArchiveIterator  # noqa: E402
from warcio.recordbuilder import RecordBuilder  # noqa: E402
from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402

from harvester.config import ArchiveSettings, ExtractSettings, Settings  # noqa: E402
from harvester.extract.article import PageHints  # noqa: E402
from harvester.importer import ImportReport, import_warcs  # noqa: E402
from harvester.pipeline import Harvester  # noqa: E402

OUTLETS = 20
COPY_EVERY = 10
STAGES = ("reading", "extraction", "templates", "placement", "warc write", "catalog")
DEFAULT_PAGES = 2000
WARM_UP = article_page()


def shared_warc_dir() -> Path:
    """../shared/data/warc next to the repository, or $HARVESTER_SHARED_DATA/warc."""
    env = os.environ.get("HARVESTER_SHARED_DATA")
    data = Path(env) if env else REPO.parent / "shared" / "data"
    return data / "warc"


def real_files(root: Path) -> list[Path]:
    return sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix not in (".json", ".md", ".cdxj")
    )


def write_synthetic(path: Path, pages: int) -> int:
    """A gzip WARC with ``pages`` request + response pairs; returns the record count."""
    builder = RecordBuilder()
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for i in range(pages):
            outlet = f"outlet{i % OUTLETS:02d}.example"
            story = i - 5 if i % COPY_EVERY == COPY_EVERY - 1 else i
            title, paragraphs = invented_story(story)
            body = article_page(title=title, paragraphs=paragraphs).encode("utf-8")
            url = f"https://{outlet}/news/2026/03/story-{i:06d}.html"
            date = f"2026-03-{1 + i * 28 // max(pages, 1):02d}T{i % 24:02d}:00:00Z"
            request = builder.create_warc_record(
                url,
                "request",
                payload=io.BytesIO(b""),
                length=0,
                http_headers=StatusAndHeaders(
                    f"GET /news/2026/03/story-{i:06d}.html HTTP/1.1",
                    [("Host", outlet), ("User-Agent", "bench")],
                    is_http_request=True,
                ),
                warc_headers_dict={"WARC-Date": date},
            )
            response = builder.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=StatusAndHeaders(
                    "200 OK",
                    [
                        ("Content-Type", "text/html; charset=utf-8"),
                        ("Content-Length", str(len(body))),
                    ],
                    protocol="HTTP/1.1",
                ),
                warc_headers_dict={"WARC-Date": date},
            )
            writer.write_record(request)
            writer.write_record(response)
    return 2 * pages


def bare_read(paths: list[Path]) -> dict[str, Any]:
    """Every record's content through warcio, nothing else."""
    records = failed = 0
    size = 0
    started = time.perf_counter()
    for path in paths:
        try:
            with path.open("rb") as stream, redirect_stderr(io.StringIO()):
                for record in ArchiveIterator(stream, arc2warc=True):
                    size += len(record.content_stream().read())
                    records += 1
        # the real corpus has files warcio gives up on (that is what they test)
        except Exception:  # noqa: BLE001
            failed += 1
    seconds = time.perf_counter() - started
    return {
        "records": records,
        "seconds": seconds,
        "records_per_s": records / seconds if seconds else 0.0,
        "content_bytes": size,
        "files_stopped_early": failed,
    }


class Timers:
    """Wall-clock accumulators around the harvester's ports (wrapped per instance)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, owner: Any, name: str, stage: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - start
                self.calls[stage] += 1

        setattr(owner, name, timed)

    def install(self, harvester: Harvester) -> None:
        self.wrap(harvester, "process_imported", "pipeline")
        self.wrap(harvester.extractor, "extract", "extraction")
        self.wrap(harvester.templates, "observe_and_clean", "templates")
        self.wrap(harvester.templates, "clean", "templates")
        self.wrap(harvester.stories, "place", "placement")
        self.wrap(harvester.stories, "resolve", "placement")
        self.wrap(harvester.store.writer, "write", "warc write")
        # add_capture and add_article go through add_page too
        self.wrap(harvester.store.catalog, "add_page", "catalog")


@contextmanager
def quiet() -> Iterator[None]:
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(previous)


def run_import(paths: list[Path], *, budget: float | None, profile: bool = False) -> dict[str, Any]:
    """import_warcs over ``paths`` into a fresh archive; timings and the report's counts."""
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        settings = Settings(
            archive=ArchiveSettings(dir=Path(tmp) / "archive"),
            extract=replace(ExtractSettings(), budget=budget),
        )
        timers = Timers()
        profiler = cProfile.Profile() if profile else None
        with quiet(), Harvester(settings) as harvester:
            # Start the extraction worker (and warm the imports) before the clock runs.
            harvester.extractor.extract(WARM_UP, "https://warm.example/", PageHints())
            timers.install(harvester)
            started = time.perf_counter()
            if profiler is not None:
                profiler.enable()
            report = import_warcs(harvester, paths)
            if profiler is not None:
                profiler.disable()
            seconds = time.perf_counter() - started
        archive_bytes = sum(
            p.stat().st_size for p in (Path(tmp) / "archive").rglob("*") if p.is_file()
        )
    result = summarize(report, seconds, timers)
    result["archive_bytes"] = archive_bytes
    if profiler is not None:
        result["profile_top"] = profile_top(profiler)
    return result


def summarize(report: ImportReport, seconds: float, timers: Timers) -> dict[str, Any]:
    pipeline = timers.seconds.get("pipeline", 0.0)
    stages = {
        "reading": seconds - pipeline,
        **{s: timers.seconds.get(s, 0.0) for s in STAGES[1:]},
    }
    stages["other pipeline"] = pipeline - sum(timers.seconds.get(s, 0.0) for s in STAGES[1:])
    return {
        "records": report.records,
        "seconds": seconds,
        "records_per_s": report.records / seconds if seconds else 0.0,
        "imported": report.articles + report.not_articles,
        "imported_per_s": (report.articles + report.not_articles) / seconds if seconds else 0.0,
        "articles": report.articles,
        "not_articles": report.not_articles,
        "duplicates": report.duplicates,
        "broken": report.broken,
        "files": len(report.files),
        "files_not_ok": sum(1 for f in report.files if not f.ok),
        "stages": stages,
        "calls": dict(timers.calls),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def profile_top(profiler: cProfile.Profile, limit: int = 15) -> list[dict[str, Any]]:
    """The functions with the most own time."""
    stats = pstats.Stats(profiler)
    rows = []
    for (file, line, name), (_cc, calls, own, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append(
            {
                "function": f"{Path(file).name}:{line}({name})",
                "calls": calls,
                "own_s": own,
                "cumulative_s": cumulative,
            }
        )
    rows.sort(key=lambda r: r["own_s"], reverse=True)
    return rows[:limit]


def run_corpus(name: str, paths: list[Path], *, profile: bool) -> dict[str, Any]:
    print(f"{name}: bare warcio read...", file=sys.stderr)
    bare = bare_read(paths)
    print(f"{name}: import, extraction in the worker process...", file=sys.stderr)
    worker = run_import(paths, budget=20.0)
    print(f"{name}: import, extraction in-process...", file=sys.stderr)
    inproc = run_import(paths, budget=None)
    out: dict[str, Any] = {"bare": bare, "worker": worker, "in_process": inproc}
    if profile:
        print(f"{name}: import in-process under cProfile...", file=sys.stderr)
        out["profile_top"] = run_import(paths, budget=None, profile=True)["profile_top"]
    return out


def table(name: str, result: dict[str, Any]) -> str:
    bare, worker, inproc = result["bare"], result["worker"], result["in_process"]
    lines = [
        f"### {name}",
        "",
        "| side | records | seconds | records/s | pages imported | pages/s | time / bare |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| bare warcio read | {bare['records']} | {bare['seconds']:.2f} | "
        f"{bare['records_per_s']:,.0f} | - | - | 1 |",
    ]
    for label, side in (("import (worker)", worker), ("import (in-process)", inproc)):
        ratio = side["seconds"] / bare["seconds"] if bare["seconds"] else float("nan")
        lines.append(
            f"| {label} | {side['records']} | {side['seconds']:.2f} | "
            f"{side['records_per_s']:,.0f} | {side['imported']} | {side['imported_per_s']:,.1f} "
            f"| {ratio:,.0f} |"
        )
    lines += [
        "",
        f"articles {inproc['articles']}, not articles {inproc['not_articles']}, "
        f"duplicates {inproc['duplicates']}, broken {inproc['broken']}, "
        f"files not ok {inproc['files_not_ok']} of {inproc['files']}",
        "",
        "| stage | worker s | worker % | in-process s | in-process % | ms/page (in-process) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    pages = max(inproc["imported"], 1)
    for stage in (*STAGES, "other pipeline"):
        w, i = worker["stages"][stage], inproc["stages"][stage]
        lines.append(
            f"| {stage} | {w:.2f} | {100 * w / worker['seconds']:.0f} | {i:.2f} | "
            f"{100 * i / inproc['seconds']:.0f} | {1000 * i / pages:.2f} |"
        )
    if "profile_top" in result:
        lines += ["", "| top own time (cProfile, in-process) | calls | own s | cumulative s |"]
        lines.append("|---|---:|---:|---:|")
        for row in result["profile_top"]:
            lines.append(
                f"| `{row['function']}` | {row['calls']} | {row['own_s']:.2f} | "
                f"{row['cumulative_s']:.2f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pages",
        type=int,
        default=DEFAULT_PAGES,
        help=f"pages in the synthetic WARC (default {DEFAULT_PAGES}; 0 skips it)",
    )
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="OUT",
        help="write the full results to OUT (tables still printed); bare --json: JSON on stdout",
    )
    parser.add_argument(
        "--profile", action="store_true", help="add a cProfile run (in-process) per corpus"
    )
    args = parser.parse_args(argv)
    results: dict[str, Any] = {
        "environment": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "warcio": version("warcio"),
            "trafilatura": version("trafilatura"),
        },
        "settings": {"pages": args.pages, "profile": args.profile},
        "corpora": {},
    }
    tables = []
    root = shared_warc_dir()
    if root.is_dir():
        files = real_files(root)
        results["corpora"]["real"] = run_corpus("real", files, profile=args.profile)
        results["corpora"]["real"]["files"] = len(files)
        results["corpora"]["real"]["bytes"] = sum(p.stat().st_size for p in files)
        tables.append(table(f"real WARCs ({len(files)} files, {root})", results["corpora"]["real"]))
    else:
        out = sys.stderr if args.json == "-" else sys.stdout
        print(f"shared data not found at {root}: real-WARC corpus skipped", file=out)
    if args.pages > 0:
        with tempfile.TemporaryDirectory(prefix="bench-import-src-") as tmp:
            path = Path(tmp) / "synthetic.warc.gz"
            print(f"writing a synthetic WARC of {args.pages} pages...", file=sys.stderr)
            started = time.perf_counter()
            write_synthetic(path, args.pages)
            written = time.perf_counter() - started
            result = run_corpus("synthetic", [path], profile=args.profile)
            result["pages"] = args.pages
            result["bytes"] = path.stat().st_size
            result["write_seconds"] = written
        results["corpora"]["synthetic"] = result
        tables.append(
            table(
                f"synthetic WARC ({args.pages} pages, {result['bytes'] / 2**20:.1f} MiB gzip)",
                result,
            )
        )
    if args.json != "-":
        print("\n\n".join(tables))
    if args.json == "-":
        print(json.dumps(results, indent=2))
    elif args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
