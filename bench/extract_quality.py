"""Main-text extraction quality and speed: harvester versus plain ``trafilatura.extract``.

Both extractors run side by side in one process on the same raw page bytes:

* harvester: ``extract_page(decode_html(raw, None), url, context, PageHints())`` with the shipped
  rule packs and wire registry (config/), i.e. main text + metadata + attribution + boilerplate
  rules, in process (no worker, no budget); the cleaned blocks joined by blank lines are its
  text, a ``Rejected`` counts as empty output. Learned templates are not applied: they need an
  outlet's history, which these one-page-per-site corpora do not have.
* trafilatura: ``trafilatura.extract(raw, url=url, include_comments=False, include_tables=True,
  no_fallback=False, deduplicate=False)`` (main text only, the configuration trafilatura uses for
  its own evaluation).

Corpora (read from the shared data folder, never copied into the repository):

* ``trafilatura-eval``: 990 pages with "with"/"without" snippets; after whitespace normalisation a
  snippet counts when it is a substring of the output. TP/FN/FP/TN are summed over all pages and
  give precision, recall and F (the scoring of trafilatura's own evaluation).
* ``fundus``: 258 news articles with hand-checked body text; per page bag-of-tokens precision,
  recall and F1 against the reference body. Reported: mean precision over pages with output, mean
  recall and mean F1 over all pages (empty output scores 0).

Timing: pages are gunzipped up front; a few pages warm both extractors up untimed; then for every
page both extractors run, the one going first alternating from page to page, and
``time.perf_counter`` sums each extractor's time over the whole corpus. A page that raises counts
as empty output for that extractor and as an error in the report.

Run from the repository root (``make bench`` runs the first form)::

    .venv/bin/python bench/extract_quality.py
    .venv/bin/python bench/extract_quality.py --corpus fundus --limit 50 --json bench/results/x.json

The data folder defaults to ``../shared/data`` next to the repository; set
``HARVESTER_SHARED_DATA`` to use another one. Without it the benchmark prints a note and exits 0.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import logging
import os
import platform
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trafilatura

from harvester.extract.article import ContextSpec, PageHints, extract_page, load_context
from harvester.extract.content import decode_html
from harvester.models import Rejected

DATA_ENV = "HARVESTER_SHARED_DATA"
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CORPUS_DIRS = {"trafilatura-eval": "trafilatura-eval", "fundus": "fundus-parser-tests"}
OURS = "harvester"
PEER = "trafilatura"
WARMUP_PAGES = 5
PROGRESS_EVERY = 100
SHINGLE_SIZE = 4

_WHITESPACE = re.compile(r"\s+")
# Chinese and Japanese are written without spaces: each ideograph or kana is one token there.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])[^\W_])+")

# (raw page bytes, url) -> (main text or "", note such as harvester's rejection reason)
Extractor = Callable[[bytes, str], tuple[str, str | None]]


# --------------------------------------------------------------------------- extractors


_CONFIG = Path(__file__).resolve().parents[1] / "config"
_SPEC = ContextSpec(boilerplate=_CONFIG / "boilerplate", wires=_CONFIG / "wires.toml")


def run_ours(raw: bytes, url: str) -> tuple[str, str | None]:
    """harvester's extraction as the pipeline calls it; a rejection is empty output."""
    result = extract_page(decode_html(raw, None), url, load_context(_SPEC), PageHints())
    if isinstance(result, Rejected):
        return "", result.reason
    return "\n\n".join(result.blocks), None


def run_peer(raw: bytes, url: str) -> tuple[str, str | None]:
    """trafilatura's main text, configured as in trafilatura's own evaluation."""
    text = trafilatura.extract(
        raw,
        url=url,
        include_comments=False,
        include_tables=True,
        no_fallback=False,
        deduplicate=False,
    )
    return (text, None) if text else ("", "no output")


EXTRACTORS: dict[str, Extractor] = {OURS: run_ours, PEER: run_peer}


# --------------------------------------------------------------------------- corpora


@dataclass(frozen=True, kw_only=True)
class Page:
    """One benchmark page: identifier, URL handed to the extractors, raw bytes, reference."""

    key: str
    url: str
    raw: bytes
    with_snippets: tuple[str, ...] = ()
    without_snippets: tuple[str, ...] = ()
    body: str = ""


def _gunzip(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes())


def load_trafilatura_eval(folder: Path, limit: int | None) -> list[Page]:
    """evaldata.json entries with their gunzipped HTML, in file order."""
    entries: dict[str, dict[str, Any]] = json.loads(
        (folder / "evaldata.json").read_text(encoding="utf-8")
    )
    pages: list[Page] = []
    for key, entry in entries.items():
        if limit is not None and len(pages) >= limit:
            break
        path = folder / "html" / f"{entry['file']}.gz"
        if not path.is_file():
            print(f"warning: {path} missing, page skipped", file=sys.stderr)
            continue
        pages.append(
            Page(
                key=key,
                # Some keys are labels ("hard::site-slug.html"), not URLs: hand over no URL then.
                url=key if key.startswith(("http://", "https://")) else "",
                raw=_gunzip(path),
                with_snippets=tuple(entry.get("with", ())),
                without_snippets=tuple(entry.get("without", ())),
            )
        )
    return pages


def load_fundus(folder: Path, limit: int | None) -> list[Page]:
    """ground_truth_flat.jsonl rows with their gunzipped HTML, in file order."""
    pages: list[Page] = []
    with (folder / "ground_truth_flat.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            if limit is not None and len(pages) >= limit:
                break
            if not line.strip():
                continue
            row = json.loads(line)
            path = folder / "test_data" / row["html"]
            if not path.is_file():
                print(f"warning: {path} missing, page skipped", file=sys.stderr)
                continue
            pages.append(
                Page(
                    key=row["html"], url=row["url"] or "", raw=_gunzip(path), body=row["body_text"]
                )
            )
    return pages


# --------------------------------------------------------------------------- running


@dataclass(kw_only=True)
class Outcome:
    """What one extractor produced on one page, and how long it took."""

    text: str
    seconds: float
    error: str | None = None
    note: str | None = None


@dataclass(kw_only=True)
class Run:
    """One extractor over one corpus: per-page outcomes (page order) and the summed time."""

    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def errors(self) -> int:
        return sum(o.error is not None for o in self.outcomes)

    @property
    def empty(self) -> int:
        return sum(not o.text.strip() for o in self.outcomes)


def _call(extractor: Extractor, page: Page) -> Outcome:
    start = time.perf_counter()
    try:
        text, note = extractor(page.raw, page.url)
        error = None
    # Any failure on a hostile page is that extractor's empty output, counted and reported.
    except Exception as exc:  # noqa: BLE001
        text, note, error = "", None, f"{type(exc).__name__}: {exc}"[:300]
    return Outcome(text=text, seconds=time.perf_counter() - start, error=error, note=note)


def run_side_by_side(
    corpus: str, pages: Sequence[Page], extractors: dict[str, Extractor]
) -> dict[str, Run]:
    """Warm up, then run every extractor on every page, alternating which one goes first."""
    for page in pages[:WARMUP_PAGES]:
        for extractor in extractors.values():
            _call(extractor, page)
    gc.collect()
    names = list(extractors)
    runs = {name: Run() for name in names}
    for index, page in enumerate(pages):
        for name in names if index % 2 == 0 else reversed(names):
            outcome = _call(extractors[name], page)
            runs[name].outcomes.append(outcome)
            runs[name].seconds += outcome.seconds
        if (index + 1) % PROGRESS_EVERY == 0 or index + 1 == len(pages):
            print(f"[{corpus}] {index + 1}/{len(pages)} pages", file=sys.stderr, flush=True)
    return runs


# --------------------------------------------------------------------------- scoring


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def _f1(precision: float, recall: float) -> float:
    return _ratio(2 * precision * recall, precision + recall)


def normalise(text: str) -> str:
    """Whitespace normalisation of trafilatura's evaluation."""
    return _WHITESPACE.sub(" ", text).strip()


def snippet_counts(page: Page, text: str) -> tuple[int, int, int, int]:
    """(TP, FN, FP, TN) of one page; empty output finds nothing."""
    found = normalise(text)
    if not found:
        return 0, len(page.with_snippets), 0, len(page.without_snippets)
    tp = sum(normalise(s) in found for s in page.with_snippets)
    fp = sum(normalise(s) in found for s in page.without_snippets)
    return tp, len(page.with_snippets) - tp, fp, len(page.without_snippets) - fp


def score_snippets(pages: Sequence[Page], run: Run) -> dict[str, Any]:
    """Snippet precision / recall / accuracy / F summed over the corpus."""
    tp = fn = fp = tn = 0
    per_page: list[dict[str, int]] = []
    for page, outcome in zip(pages, run.outcomes, strict=True):
        counts = snippet_counts(page, outcome.text)
        tp, fn, fp, tn = (a + b for a, b in zip((tp, fn, fp, tn), counts, strict=True))
        per_page.append(dict(zip(("tp", "fn", "fp", "tn"), counts, strict=True)))
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return {
        "metric": "snippet P/R/F summed over pages",
        "precision": precision,
        "recall": recall,
        "f": _f1(precision, recall),
        "accuracy": _ratio(tp + tn, tp + fn + fp + tn),
        "counts": {"tp": tp, "fn": fn, "fp": fp, "tn": tn},
        "per_page": per_page,
    }


def tokens(text: str) -> list[str]:
    """Case-folded word tokens; one token per CJK character."""
    return _TOKEN.findall(text.casefold())


def shingles(words: Sequence[str], size: int = SHINGLE_SIZE) -> list[tuple[str, ...]]:
    """Overlapping word n-grams; a text shorter than ``size`` is one shingle."""
    if len(words) < size:
        return [tuple(words)] if words else []
    return [tuple(words[i : i + size]) for i in range(len(words) - size + 1)]


def overlap_prf(predicted: Sequence[Any], reference: Sequence[Any]) -> tuple[float, float, float]:
    """Multiset precision, recall and F1 of two token (or shingle) sequences."""
    if not predicted or not reference:
        return 0.0, 0.0, 0.0
    common = sum((Counter(predicted) & Counter(reference)).values())
    precision, recall = common / len(predicted), common / len(reference)
    return precision, recall, _f1(precision, recall)


def score_body(pages: Sequence[Page], run: Run) -> dict[str, Any]:
    """Mean per-page body-token P/R/F1 (plus 4-gram shingle F1 for reference)."""
    per_page: list[dict[str, float]] = []
    for page, outcome in zip(pages, run.outcomes, strict=True):
        predicted, reference = tokens(outcome.text), tokens(page.body)
        p, r, f = overlap_prf(predicted, reference)
        shingle_f = overlap_prf(shingles(predicted), shingles(reference))[2]
        per_page.append({"p": p, "r": r, "f": f, "shingle_f": shingle_f, "out": bool(predicted)})
    with_output = [row["p"] for row in per_page if row["out"]]
    count = len(per_page)
    return {
        "metric": "body-token F1, mean over pages",
        "precision": _ratio(sum(with_output), len(with_output)),
        "recall": _ratio(sum(row["r"] for row in per_page), count),
        "f": _ratio(sum(row["f"] for row in per_page), count),
        "shingle_f": _ratio(sum(row["shingle_f"] for row in per_page), count),
        "per_page": per_page,
    }


@dataclass(frozen=True, kw_only=True)
class Corpus:
    name: str
    loader: Callable[[Path, int | None], list[Page]]
    scorer: Callable[[Sequence[Page], Run], dict[str, Any]]


CORPORA = {
    "trafilatura-eval": Corpus(
        name="trafilatura-eval", loader=load_trafilatura_eval, scorer=score_snippets
    ),
    "fundus": Corpus(name="fundus", loader=load_fundus, scorer=score_body),
}


def evaluate(corpus: Corpus, folder: Path, limit: int | None) -> dict[str, Any]:
    """Load, run both extractors, score; the JSON-ready result of one corpus."""
    pages = corpus.loader(folder, limit)
    runs = run_side_by_side(corpus.name, pages, EXTRACTORS)
    result: dict[str, Any] = {"corpus": corpus.name, "folder": str(folder), "pages": len(pages)}
    extractors: dict[str, Any] = {}
    for name, run in runs.items():
        scores = corpus.scorer(pages, run)
        per_page = scores.pop("per_page")
        extractors[name] = {
            **scores,
            "seconds": run.seconds,
            "empty": run.empty,
            "errors": run.errors,
            "error_pages": [
                {"page": p.key, "error": o.error}
                for p, o in zip(pages, run.outcomes, strict=True)
                if o.error
            ],
            "per_page": [
                {
                    "page": p.key,
                    "chars": len(o.text),
                    "seconds": round(o.seconds, 6),
                    "note": o.error or o.note,
                    **scores_row,
                }
                for p, o, scores_row in zip(pages, run.outcomes, per_page, strict=True)
            ],
        }
    result["extractors"] = extractors
    result["time_ratio"] = _ratio(runs[OURS].seconds, runs[PEER].seconds)
    per_page_ratios = [
        _ratio(a.seconds, b.seconds)
        for a, b in zip(runs[OURS].outcomes, runs[PEER].outcomes, strict=True)
        if b.seconds > 0
    ]
    result["median_ratio"] = statistics.median(per_page_ratios) if per_page_ratios else 0.0
    return result


# --------------------------------------------------------------------------- reporting


def markdown_table(results: Sequence[dict[str, Any]]) -> str:
    """The summary as a Markdown table with a short legend."""
    lines = [
        "| corpus | extractor | pages | empty | errors | precision | recall | F "
        "| time (s) | ms/page | time ratio | median page ratio |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for result in results:
        pages = result["pages"]
        for name, row in result["extractors"].items():
            ratio = result["time_ratio"] if name == OURS else 1.0
            median = result["median_ratio"] if name == OURS else 1.0
            lines.append(
                f"| {result['corpus']} | {name} | {pages} | {row['empty']} | {row['errors']} "
                f"| {row['precision']:.3f} | {row['recall']:.3f} | {row['f']:.3f} "
                f"| {row['seconds']:.1f} | {1000 * _ratio(row['seconds'], pages):.1f} "
                f"| {ratio:.2f} | {median:.2f} |"
            )
    lines += [
        "",
        f"F: summed snippet F-score (trafilatura-eval), mean per-page body-token F1 (fundus). "
        f"time ratio = {OURS} time / {PEER} time over the corpus (above 1: {OURS} slower); "
        f"median page ratio = median over pages of the per-page ratio. "
        f"{OURS} {_version('harvester')}, {PEER} {trafilatura.__version__}, "
        f"Python {platform.python_version()}, {WARMUP_PAGES} warm-up pages, order alternated "
        f"per page.",
    ]
    return "\n".join(lines)


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def environment() -> dict[str, Any]:
    return {
        "harvester": _version("harvester"),
        "trafilatura": trafilatura.__version__,
        "lxml": _version("lxml"),
        "selectolax": _version("selectolax"),
        "python": platform.python_version(),
        "machine": platform.platform(),
        "warmup_pages": WARMUP_PAGES,
        "peer_call": (
            "trafilatura.extract(raw_bytes, url=url, include_comments=False, include_tables=True, "
            "no_fallback=False, deduplicate=False)"
        ),
        "ours_call": "extract_page(decode_html(raw_bytes, None), url, context, PageHints())",
    }


# --------------------------------------------------------------------------- command line


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--limit", type=_positive, help="only the first N pages of each corpus")
    parser.add_argument("--corpus", choices=[*CORPORA, "all"], default="all")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write full results here")
    return parser.parse_args(argv)


def data_root() -> Path:
    override = os.environ.get(DATA_ENV)
    return Path(override).expanduser() if override else DEFAULT_DATA


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    root = data_root()
    if not root.is_dir():
        print(f"shared data not found at {root}: benchmark skipped")
        return 0
    # Log records would cost both sides time and flood the terminal; the report says it all.
    logging.disable(logging.CRITICAL)
    names = list(CORPORA) if args.corpus == "all" else [args.corpus]
    results: list[dict[str, Any]] = []
    for name in names:
        folder = root / CORPUS_DIRS[name]
        if not folder.is_dir():
            print(f"shared data not found at {folder}: benchmark skipped")
            continue
        results.append(evaluate(CORPORA[name], folder, args.limit))
    if not results:
        return 0
    print(markdown_table(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"environment": environment(), "limit": args.limit, "corpora": results}
        args.json.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"\nfull results: {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
