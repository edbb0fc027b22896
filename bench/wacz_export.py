"""WACZ export: time and size of ``harvester export --format wacz`` for a whole archive of
``--articles`` articles and for one story, beside peers over the same WARC files.

The archive: ``--articles`` invented articles (``bench/import_warc.write_synthetic``: team-written
pages over 20 outlets, every tenth a copy of an earlier story) imported with ``import_warcs``
(so it holds requests, responses, metadata and text records, stories and a catalog, as a
harvested archive does). Building it is not timed.

Sides, each ``--repeat`` times (the best run reported), each writing a new package:

* **ours, whole archive**: ``write_wacz`` with no filter: the WARC files copied stored, the
  CDXJ index, pages.jsonl with every article's clean text, datapackage.json with sha256s;
* **py-wacz create**: ``wacz create -o OUT FILES`` (the ``wacz`` package's own writer, in
  process) over the same WARC files; it indexes every record and writes pages only for records
  it detects as pages (none here: it needs ``--detect-pages`` and text extraction of its own,
  which we do not ask of it), so it does less than ours;
* **zip copy**: the WARC files alone stored into a ZIP (the floor: reading and writing the bytes);
* **ours, one story**: ``write_wacz --story`` of the story with the most members: the records
  found by the catalog's offsets, no file scanned.

Run from the repository root::

    .venv/bin/python bench/wacz_export.py                    # 2,000 articles
    .venv/bin/python bench/wacz_export.py --articles 10000   # the issue's size
    .venv/bin/python bench/wacz_export.py --json             # JSON on stdout only
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from import_warc import write_synthetic

from harvester.catalog import CATALOG_NAME, SqliteCatalog
from harvester.config import ArchiveSettings, Settings
from harvester.importer import import_warcs
from harvester.pipeline import Harvester
from harvester.storage import new_record_id
from harvester.warc.cdxj import archive_warc_files
from harvester.warc.wacz import WaczSelection, write_wacz


def build_archive(root: Path, articles: int) -> None:
    source = root.parent / "source.warc.gz"
    write_synthetic(source, articles)
    with Harvester(Settings(archive=ArchiveSettings(dir=root))) as harvester:
        report = import_warcs(harvester, [source])
    # kept: imported articles' responses stay in the source file, which the archive names
    print(f"archive: {report.articles} articles imported into {root}", file=sys.stderr)


def best(repeat: int, run: Callable[[Path], object], out_dir: Path, name: str) -> tuple[float, int]:
    """Best wall time of ``repeat`` runs of ``run(output)`` and the output's size."""
    times, size = [], 0
    for i in range(repeat):
        out = out_dir / f"{name}-{i}.wacz"
        started = time.perf_counter()
        run(out)
        times.append(time.perf_counter() - started)
        size = out.stat().st_size
        out.unlink()
    return min(times), size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="JSON on stdout only")
    parser.add_argument("--keep", type=Path, help="build the archive here and keep it (reused)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp) / "archive"
        if not (root / CATALOG_NAME).exists():
            root.parent.mkdir(parents=True, exist_ok=True)
            build_archive(root, args.articles)
        out_dir = Path(tmp) / "out"
        out_dir.mkdir()
        files = [*archive_warc_files(root), root.parent / "source.warc.gz"]
        with SqliteCatalog(root / CATALOG_NAME, readonly=True) as catalog:
            stories = Counter(r.story for r in catalog.articles())
            articles = sum(stories.values())
            story, members = stories.most_common(1)[0]

            def ours(selection: WaczSelection) -> Callable[[Path], object]:
                return lambda out: write_wacz(
                    root, catalog, out, selection=selection, new_id=new_record_id
                )

            results = {}
            whole = ours(WaczSelection())
            results["ours, whole archive"] = best(args.repeat, whole, out_dir, "whole")
            results["ours, one story"] = best(
                args.repeat, ours(WaczSelection(story=story)), out_dir, "story"
            )

        def pywacz(out: Path) -> None:
            from wacz.main import main as wacz_main

            with contextlib.redirect_stdout(sys.stderr):  # its progress lines
                code = wacz_main(["create", "-o", str(out), *map(str, files)])
            if code not in (0, None):
                raise SystemExit(f"wacz create failed ({code})")

        def zip_copy(out: Path) -> None:
            with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
                for path in files:
                    zf.write(path, f"archive/{path.name}")

        results["py-wacz create"] = best(args.repeat, pywacz, out_dir, "pywacz")
        results["zip copy"] = best(args.repeat, zip_copy, out_dir, "zip")
        warc_bytes = sum(p.stat().st_size for p in files)

    summary = {
        "articles": articles,
        "warc_files": len(files),
        "warc_bytes": warc_bytes,
        "story_members": members,
        "sides": {k: {"seconds": round(t, 3), "bytes": b} for k, (t, b) in results.items()},
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    mib = 1024 * 1024
    print(
        f"WACZ export, {articles} articles ({len(files)} WARC files, {warc_bytes / mib:.2f} MiB); "
        f"one story = {members} articles; best of {args.repeat}\n"
    )
    print("| side | seconds | package MiB | vs py-wacz create |")
    print("|---|--:|--:|--:|")
    peer = results["py-wacz create"][0]
    for side, (seconds, size) in results.items():
        print(f"| {side} | {seconds:.2f} | {size / mib:.2f} | {seconds / peer:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
