"""Kill trials at scale: SIGKILL `harvester run --once` at a random moment, restart, check.

The same trial as tests/test_kill.py (which runs 20 in the slow tier), here 100 times by default:
a three-host local newsroom (invented stories, loopback only), the daemon in a child process (one
worker process per core) killed a random 0-3 s after its first writer registered, restarted to
completion, then checked for lost articles, finished articles fetched again, invalid or unclosed
WARC files, duplicate response records for one URL and payload, and any disagreement between the
catalog and the WARC files.

    .venv/bin/python bench/kill_trials.py [--trials 100] [--seed 1] [--json]

Needs no shared data. Exit 0 when every trial held every invariant, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from killtrial import PER_HOST, newsroom, run_trial


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="machine-readable summary")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    total = PER_HOST * 3
    started = time.monotonic()
    results = []
    with tempfile.TemporaryDirectory(prefix="harvester-kill-") as tmp, newsroom() as servers:
        for n in range(args.trials):
            for srv in servers:
                with srv._lock:
                    srv.requests.clear()
            result = run_trial(Path(tmp) / f"trial-{n}", servers, rng)
            results.append(result)
            state = "ok" if not result.problems else "FAIL: " + "; ".join(result.problems)
            print(
                f"trial {n + 1:3d}/{args.trials}: killed after {result.kill_after:.2f}s with "
                f"{result.archived_before_kill}/{total} archived -> {state}",
                file=sys.stderr,
            )
    failed = [r for r in results if r.problems]
    mid_run = sum(0 < r.archived_before_kill < total for r in results)
    summary = {
        "trials": len(results),
        "failed_trials": len(failed),
        "killed_mid_run": mid_run,
        "killed_before_first_article": sum(r.archived_before_kill == 0 for r in results),
        "killed_after_all_archived": sum(r.archived_before_kill == total for r in results),
        "median_archived_at_kill": statistics.median(r.archived_before_kill for r in results),
        "lost_articles": sum("lost articles" in p for r in results for p in r.problems),
        "seconds": round(time.monotonic() - started, 1),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key:30s} {value}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
