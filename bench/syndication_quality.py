"""Story assignment and original resolution on the labelled syndication set.

Builds the set of tests/syndication_set.py from ../shared/data (real article bodies from
fundus-parser-tests, invented outlets and copies; nothing is copied into the repository),
serves every page on local mock servers (one per outlet, 127.0.0.2-127.0.0.10), harvests them
in arrival order with ``Harvester`` into a throwaway archive, and prints a Markdown table:

* pairwise story precision / recall / F1: over all unordered pairs of pages, a pair is positive
  when both pages belong to the same story (harvester: ``record.story`` of the latest catalog
  records);
* original-outlet accuracy: the fraction of pages whose ``record.original.outlet`` is the
  outlet of the story's original;

for harvester and for the trivial baseline (same story iff the first 200 characters of the text
are equal; its original is the outlet of the earliest-published page of its cluster), then the
composition of the set by kind and harvester's per-kind numbers.

Run from the repository root: ``.venv/bin/python bench/syndication_quality.py
[--stories N] [--seed S]``
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1] / "tests"))

from syndication_set import baseline_numbers, build_set, run_pipeline  # noqa: E402


def data_root() -> Path:
    """../shared/data next to the repository, or $HARVESTER_SHARED_DATA."""
    env = os.environ.get("HARVESTER_SHARED_DATA")
    return Path(env) if env else HERE.parents[1].parent / "shared" / "data"


def _row(name: str, numbers: dict[str, Any]) -> str:
    return (
        f"| {name} | {numbers['pages']} | {numbers['stories']} | {numbers['predicted_stories']} "
        f"| {numbers['precision']:.3f} | {numbers['recall']:.3f} | {numbers['f1']:.3f} "
        f"| {numbers['original_accuracy']:.3f} |"
    )


def main(argv: list[str] | None = None) -> int:
    """Print the tables; skip with a message when the data is absent."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stories", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--budget", type=float, default=600.0, help="harvest time cap (s)")
    args = parser.parse_args(argv)
    root = data_root()
    if not (root / "fundus-parser-tests" / "ground_truth_flat.jsonl").exists():
        print(f"shared data not found at {root}: benchmark skipped")
        return 0
    logging.disable(logging.WARNING)
    syn = build_set(root, stories=args.stories, seed=args.seed)
    baseline = baseline_numbers(syn)

    def progress(done: int, total: int) -> None:
        if done % 25 == 0 or done == total:
            print(f"harvested {done}/{total}", file=sys.stderr)

    with tempfile.TemporaryDirectory() as tmp:
        result = run_pipeline(syn, Path(tmp), budget=args.budget, progress=progress)
    print(f"Syndication set: {args.stories} stories, seed {args.seed}.\n")
    print(
        "| system | pages | stories | predicted stories | precision | recall | F1 | original acc. |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|")
    print(_row("harvester", result))
    print(_row("first 200 characters", baseline))
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(result["outcomes"].items()))
    print(
        f"\nharvested {result['harvested']} of {result['pages']} pages as articles in "
        f"{result['seconds']:.1f} s ({outcomes})."
    )
    composition = syn.composition()
    early = syn.arrived_before_original()
    print("\n| kind | pages | arrive before original | harvester original acc. | pair recall |")
    print("|---|--:|--:|--:|--:|")
    for kind, count in sorted(composition.items(), key=lambda kv: (-kv[1], kv[0])):
        arrived = sum(1 for p in syn.pages if p.kind == kind and p.path in early)
        accuracy = result["original_accuracy_by_kind"][kind]
        recall = result["pairs_recall_by_kind"][kind]
        print(f"| {kind} | {count} | {arrived} | {accuracy:.3f} | {recall:.3f} |")
    forms = ", ".join(f"{k} {v}" for k, v in sorted(syn.attributions().items()))
    print(f"\nAttribution forms: {forms}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
