"""Where a harvested page's CPU goes: the daemon's main process profiled on the crawl benchmark.

Runs ``bench/crawl_throughput.py``'s harvester side once (its newsroom in a child process, the
same settings: ``run_daemon(once=True)``, 16 workers, 0.2 s per-host delay) under yappi with the
CPU clock over every thread of the main process (the fetch workers, the poller, the lease and
reap threads), then prints the top functions by cumulative CPU time per archived page. The
extraction worker (a separate process) is not in the profile: its CPU per page is printed beside
it, from the process accounting crawl_throughput uses.

    .venv/bin/python bench/profile_crawl.py [--hosts 8] [--per-host 25] [--top 40] [--sort tsub]

Needs yappi (the ``bench`` extra). Profiling slows the process down (~2x): read the shares, not
the absolute milliseconds.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

import yappi
from crawl_throughput import Newsroom, cpu_seconds, run_harvester, warc_summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--per-host", type=int, default=25)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--top", type=int, default=40, help="functions listed (40)")
    parser.add_argument("--sort", default="ttot", choices=("ttot", "tsub"), help="cumulative|own")
    parser.add_argument("--filter", default="", help="only functions whose module contains this")
    parser.add_argument("--builtins", action="store_true", help="profile C functions too")
    args = parser.parse_args(argv)

    newsroom = Newsroom(args.hosts, args.per_host, args.latency)
    try:
        with tempfile.TemporaryDirectory(prefix="profile-warm-") as tmp:
            run_harvester(newsroom.warmup, args.delay, args.workers, Path(tmp) / "archive")
        with tempfile.TemporaryDirectory(prefix="profile-crawl-") as tmp:
            root = Path(tmp) / "archive"
            logging.disable(logging.CRITICAL)
            yappi.set_clock_type("cpu")
            main0, kids0 = cpu_seconds(newsroom.pid)
            started = time.perf_counter()
            yappi.start(builtins=args.builtins, profile_threads=True)
            try:
                run_harvester(newsroom.sites, args.delay, args.workers, root)
            finally:
                yappi.stop()
                logging.disable(logging.NOTSET)
            wall = time.perf_counter() - started
            main1, kids1 = cpu_seconds(newsroom.pid)
            pages = warc_summary(root, {u for s in newsroom.sites for u in s.articles})["pages"]
    finally:
        newsroom.close()

    stats = yappi.get_func_stats()
    stats.sort(args.sort, "desc")
    total = sum(t.ttot for t in yappi.get_thread_stats())
    print(
        f"{pages} pages in {wall:.1f} s (profiled); "
        f"main process CPU {(main1 - main0) / pages * 1e3:.1f} ms/page, "
        f"extraction worker {(kids1 - kids0) / pages * 1e3:.1f} ms/page; "
        f"profiled threads {total / pages * 1e3:.1f} ms/page\n"
    )
    print("| function | calls/page | cumulative ms/page | own ms/page |")
    print("|---|--:|--:|--:|")
    shown = 0
    for entry in stats:
        where = f"{Path(entry.module).name}:{entry.lineno} {entry.name}"
        if args.filter and args.filter not in entry.module:
            continue
        print(
            f"| {where} | {entry.ncall / pages:.1f} | {entry.ttot / pages * 1e3:.2f}"
            f" | {entry.tsub / pages * 1e3:.2f} |"
        )
        shown += 1
        if shown >= args.top:
            break
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
