"""Metadata quality and speed: harvester's DOM metadata (``read_metadata``, selectolax) versus
trafilatura's metadata pass (``bare_extraction(with_metadata=True)``), on the fundus pages.

Scores against fundus's hand-written per-site parsers (ground_truth_flat.jsonl):
title exact match after whitespace normalisation and case folding; authors as an exact set
(case-folded); publishing date on the same day. Time: each side summed over all pages with
``time.perf_counter``, order alternated per page. Note trafilatura's call also extracts the main
text (its metadata pass cannot run alone), so the time column is an upper bound for it; the
point of the comparison is that harvester's pipeline replaced that pass (see extract_quality.py
for the text-extraction cost).

Run from the repository root: ``.venv/bin/python bench/metadata_quality.py``
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import sys
import time
from pathlib import Path

import trafilatura
from trafilatura.settings import Document

from harvester.extract.content import decode_html
from harvester.extract.metadata import read_metadata


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def data_root() -> Path:
    """../shared/data next to the repository, or $HARVESTER_SHARED_DATA."""
    env = os.environ.get("HARVESTER_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> int:
    """Print a Markdown table; skip with a message when the data is absent."""
    root = data_root() / "fundus-parser-tests"
    if not root.exists():
        print(f"shared data not found at {root}: benchmark skipped")
        return 0
    logging.disable(logging.CRITICAL)
    rows = [
        json.loads(line) for line in (root / "ground_truth_flat.jsonl").read_text().splitlines()
    ]
    hits = {"harvester": [0, 0, 0], "trafilatura": [0, 0, 0]}
    seconds = {"harvester": 0.0, "trafilatura": 0.0}
    for index, row in enumerate(rows):
        html = decode_html(gzip.decompress((root / "test_data" / row["html"]).read_bytes()))
        want_date = (row["publishing_date"] or "")[:10]
        want_authors = {_norm(a) for a in row["authors"] or []}
        order = ("harvester", "trafilatura") if index % 2 == 0 else ("trafilatura", "harvester")
        found: dict[str, tuple[str | None, set[str], str]] = {}
        for name in order:
            start = time.perf_counter()
            if name == "harvester":
                meta = read_metadata(html, url=row["url"])
                found[name] = (meta.title, {_norm(a) for a in meta.authors}, meta.published or "")
            else:
                doc = trafilatura.bare_extraction(html, url=row["url"], with_metadata=True)
                if isinstance(doc, Document):
                    authors = {_norm(a) for a in (doc.author or "").split("; ") if a}
                    found[name] = (doc.title, authors, doc.date or "")
                else:
                    found[name] = (None, set(), "")
            seconds[name] += time.perf_counter() - start
        for name, (title, authors, date) in found.items():
            hits[name][0] += _norm(title) == _norm(row["title"])
            hits[name][1] += authors == want_authors
            hits[name][2] += date[:10] == want_date
    n = len(rows)
    print("| extractor | pages | title | authors | date | time (s) |")
    print("|---|--:|--:|--:|--:|--:|")
    for name, (title, authors, date) in hits.items():
        print(
            f"| {name} | {n} | {title / n:.3f} | {authors / n:.3f} | {date / n:.3f} "
            f"| {seconds[name]:.1f} |"
        )
    print(
        f"\ntrafilatura {trafilatura.__version__}, Python {sys.version.split()[0]}; "
        "trafilatura's time includes its text extraction."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
