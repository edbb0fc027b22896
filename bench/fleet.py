"""A fleet on PostgreSQL: 1, 2 and 3 daemons on one newsroom; do they find what one finds, politely?

Each side starts ``N`` daemons together, each ``python -m harvester run --once --processes 1
--catalog <url> --config <file> --round-start T`` (the command line a worker of ``run
--processes N --once`` gets from its supervisor; the shared ``--round-start`` makes them one
round, so each outlet is polled once by one of them and each exits when the fleet is done).
They share one archive directory (each writes WARC files of its own) and one PostgreSQL
database, a fresh one per side, on one private cluster (``tests/pgcluster.py``: loopback TCP,
``fsync=off``). The servers run in this process.

Newsrooms (``--newsroom``):

* **demo**: the bundled demo newsroom (``harvester.demo``: five outlets on 127.0.0.2-6, two wire
  services, a republisher, a local paper, an aggregator; six stories and their verbatim,
  edited and excerpted copies; discovery by RSS, a Google News sitemap and a section page; one
  story disallowed by robots.txt), served by ``NewsroomServer``, whose ``timings(host)`` gives
  every answer's start and end. The demo's ``per_host_delay`` (0.05 s).
* **invented**: a bigger one on 127.0.3.2 and up, served by ``tests/mockserver.py`` servers
  (whose ``spans`` give every answer's start and end): ``--wires`` wire outlets with
  ``--stories`` stories each (``tests/pages.py``'s ``invented_story``, distinct texts), and
  ``--republishers`` outlets that each run every third wire story (verbatim with a credit line,
  edited: a paragraph dropped and a local one added, or an excerpt of the first two paragraphs
  with a link to the original; a day after the original) plus ``--local`` stories of their own.
  Every outlet has robots.txt and an RSS feed. ``--delay`` between requests to a host (0.1 s).

Measured per side, from the catalog and the servers' logs:

* **coverage**: articles archived (``Archive(root, catalog=url).articles()``) of those listed,
  articles listed twice, response captures per URL above one, articles any server answered
  more than once, and how the response captures divide between the daemons (each WARC file
  carries its writer's id);
* **stories**: whether the partition (each story as the set of its members' final URLs; story
  ids depend on arrival order) and each story's original (the URL its members name) equal the
  first side's (by default one daemon; the last side, one daemon again, is the control for
  arrival order), and, for the invented newsroom, the truth (each wire story with its
  copies; local stories alone; the wire's page the original);
* **wall time**: from the start of the daemons to the last exit; each daemon's exit code, and
  any daemon still running after ``--timeout`` (killed, and reported);
* **politeness**: per host, the most requests being answered at once (must be 1:
  ``per_host_connections``), the shortest gap between the end of one answer and the start of
  the next (the ``per_host_delay`` rule; the server's times, so a gap can come out a few
  milliseconds short of the client's), how many gaps were more than 10 ms short of the delay,
  and robots.txt fetches per host (one per fleet).

Run from the repository root (needs PostgreSQL's server programs: ``make deps``)::

    .venv/bin/python bench/fleet.py                         # both newsrooms, 1, 2 and 3 daemons
    .venv/bin/python bench/fleet.py --newsroom demo --daemons 1,2
    .venv/bin/python bench/fleet.py --json bench/results/fleet.json

Progress goes to stderr and the Markdown tables to stdout. Exit 1 when a side lost or
duplicated an article, broke politeness, left a daemon running, or found other stories or
originals than the first side (stories do not depend on arrival order:
``harvester/dedup/stories.py``); else 0. Stories that differ from the truth are reported, not
judged (a text too short to match is a story of its own).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

DAEMONS = (1, 2, 3, 1)  # the last: a second one-daemon side, the control for arrival order
TIMEOUT = 300.0  # a side's daemons must all exit within this long
GAP_SLACK = 0.010  # a gap this much shorter than the delay counts as a violation
RSS_TYPE = "application/rss+xml"


def _toml_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


# -- newsrooms ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OutletPlan:
    """One outlet as the config lists it."""

    name: str
    home: str
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    wire: bool = False
    aliases: tuple[str, ...] = ()


@dataclass(kw_only=True)
class Truth:
    """What a newsroom lists: every article URL, and (when known) each story's members and
    its original."""

    articles: set[str] = field(default_factory=set)
    stories: dict[frozenset[str], str] = field(default_factory=dict)


class Newsroom(Protocol):
    """A running newsroom: its outlets, what it lists, and its servers' logs."""

    name: str
    delay: float
    outlets: list[OutletPlan]
    truth: Truth
    hosts: list[str]
    allow_hosts: list[str]

    def mark(self) -> None:
        """Start the request logs afresh (what came before is not this side's)."""

    def spans(self, host: str) -> list[tuple[float, float]]:
        """(start, end) of every answer ``host`` gave since the mark."""

    def paths(self, host: str) -> list[str]:
        """Every path ``host`` was asked for since the mark."""


class DemoNewsroom:
    """The bundled demo newsroom on NewsroomServer (see the module docstring)."""

    name = "demo"

    def __init__(self, stack: contextlib.ExitStack) -> None:
        from harvester.demo import PER_HOST_DELAY, demo_settings
        from harvester.demo.newsroom import COPIES, OUTLETS, STORIES, render_sites
        from harvester.demo.server import NewsroomServer

        server = stack.enter_context(NewsroomServer([o.host for o in OUTLETS]))
        if not callable(getattr(server, "timings", None)):
            raise SystemExit("harvester.demo.server.NewsroomServer has no timings(host)")
        bases = {o.key: server.base_url(o.host) for o in OUTLETS}
        for key, pages in render_sites(bases).items():
            server.publish(next(o.host for o in OUTLETS if o.key == key), pages)
        server.start()
        self._server = server
        self.delay = PER_HOST_DELAY
        settings = demo_settings(bases, Path("unused"))
        self.outlets = [
            OutletPlan(
                name=o.name,
                home=o.home,
                feeds=o.feeds,
                sitemaps=o.sitemaps,
                sections=o.sections,
                wire=o.wire,
                aliases=o.aliases,
            )
            for o in settings.outlets
        ]
        self.allow_hosts = list(settings.fetch.allow_hosts)
        self.hosts = [o.host for o in OUTLETS]
        self.truth = Truth()
        for story in STORIES:
            original = bases[story.outlet] + story.path
            copies = {bases[c.outlet] + c.path for c in COPIES if c.story == story.key}
            self.truth.stories[frozenset({original} | copies)] = original
            self.truth.articles |= {original} | copies
        self._marks: dict[str, tuple[int, int]] = {}

    def mark(self) -> None:
        self._marks = {
            h: (len(self._server.timings(h)), len(self._server.requested(h))) for h in self.hosts
        }

    def spans(self, host: str) -> list[tuple[float, float]]:
        return list(self._server.timings(host)[self._marks.get(host, (0, 0))[0] :])

    def paths(self, host: str) -> list[str]:
        return list(self._server.requested(host)[self._marks.get(host, (0, 0))[1] :])


def _page(title: str, paragraphs: Sequence[str], *, published: str, extra: str = "") -> str:
    """An article page: tests/pages.py's template, with ``extra`` HTML after the text."""
    from pages import article_page

    page: str = article_page(title=title, paragraphs=tuple(paragraphs), published=published)
    return page.replace("</article>", extra + "</article>", 1)


COPY_KINDS = ("verbatim", "edited", "excerpt")


def _copy_page(
    how: str, *, title: str, paragraphs: Sequence[str], number: int, original: str, wire: str
) -> str:
    """A republisher's copy of wire story ``number``, a day after the original."""
    text = list(paragraphs)
    extra = f'<p>Originally published by <a href="{original}">{wire}</a>.</p>'
    if how == "edited":
        text = [*text[:2], *text[3:], f"Local reaction to report {number} follows."]
    elif how == "excerpt":
        text = text[:2]
        extra = f'<p>Read the full story at <a href="{original}">{wire}</a>.</p>'
    return _page(title, text, published="2026-03-03", extra=extra)


class InventedNewsroom:
    """Wires, their republishers and the republishers' own stories (see the module docstring)."""

    name = "invented"

    def __init__(self, stack: contextlib.ExitStack, args: argparse.Namespace) -> None:
        from mockserver import MockServer
        from pages import invented_story, rss_feed

        self.delay = args.delay
        count = args.wires + args.republishers
        servers = [stack.enter_context(MockServer(f"127.0.3.{n + 2}")) for n in range(count)]
        self._servers = {s.host: s for s in servers}
        self.hosts = [s.host for s in servers]
        self.allow_hosts = list(self.hosts)
        wires, republishers = servers[: args.wires], servers[args.wires :]
        feeds: dict[str, list[tuple[str, str]]] = {s.host: [] for s in servers}
        self.truth = Truth()
        self.outlets = []
        number = 0
        for w, wire in enumerate(wires):
            name = f"Wire {chr(ord('A') + w)} Press"
            self.outlets.append(
                OutletPlan(
                    name=name,
                    home=wire.url("/"),
                    feeds=(wire.url("/rss.xml"),),
                    wire=True,
                )
            )
            for k in range(args.stories):
                number += 1
                title, paragraphs = invented_story(number)
                path = f"/wire/{number:05d}.html"
                original = wire.url(path)
                wire.route(path, _page(title, paragraphs, published="2026-03-02"))
                feeds[wire.host].append((title, original))
                members = {original}
                for r, outlet in enumerate(republishers):
                    if (k + r) % 3:
                        continue
                    how = COPY_KINDS[(k + r) % 9 // 3]
                    copy_path = f"/news/{number:05d}-{how}.html"
                    page = _copy_page(
                        how,
                        title=title,
                        paragraphs=paragraphs,
                        number=number,
                        original=original,
                        wire=name,
                    )
                    outlet.route(copy_path, page)
                    feeds[outlet.host].append((title, outlet.url(copy_path)))
                    members.add(outlet.url(copy_path))
                self.truth.stories[frozenset(members)] = original
                self.truth.articles |= members
        for r, outlet in enumerate(republishers):
            self.outlets.append(
                OutletPlan(
                    name=f"Republisher {r + 1}",
                    home=outlet.url("/"),
                    feeds=(outlet.url("/rss.xml"),),
                )
            )
            for _ in range(args.local):
                number += 1
                title, paragraphs = invented_story(number)
                url = outlet.url(f"/local/{number:05d}.html")
                outlet.route(urlsplit(url).path, _page(title, paragraphs, published="2026-03-03"))
                feeds[outlet.host].append((title, url))
                self.truth.stories[frozenset({url})] = url
                self.truth.articles.add(url)
        for server in servers:
            server.robots("User-agent: *\nDisallow: /private/\n")
            items = feeds[server.host]
            server.route("/rss.xml", rss_feed(items, title=server.host), content_type=RSS_TYPE)
        self._marks: dict[str, tuple[int, int]] = {}

    def mark(self) -> None:
        self._marks = {h: (len(s.spans), len(s.requests)) for h, s in self._servers.items()}

    def spans(self, host: str) -> list[tuple[float, float]]:
        start = self._marks.get(host, (0, 0))[0]
        return [(a, b) for _, a, b in self._servers[host].spans[start:]]

    def paths(self, host: str) -> list[str]:
        start = self._marks.get(host, (0, 0))[1]
        return [r.path for r in self._servers[host].requests[start:]]


# -- one side: N daemons ------------------------------------------------------------------------


def write_config(path: Path, newsroom: Newsroom, archive: Path) -> Path:
    """The side's config file (the catalog comes on the command line)."""
    lines = [
        "[archive]",
        f"dir = {json.dumps(str(archive))}",
        'prefix = "fleet"',
        "[fetch]",
        f"per_host_delay = {newsroom.delay}",
        "timeout = 5",
        "deadline = 15",
        "retry_delay = 0.5",
        f"allow_hosts = {_toml_list(newsroom.allow_hosts)}",
    ]
    for o in newsroom.outlets:
        lines += [
            "[[outlets]]",
            f"name = {json.dumps(o.name)}",
            f"home = {json.dumps(o.home)}",
            f"feeds = {_toml_list(o.feeds)}",
            f"sitemaps = {_toml_list(o.sitemaps)}",
            f"sections = {_toml_list(o.sections)}",
            f"wire = {'true' if o.wire else 'false'}",
            f"aliases = {_toml_list(o.aliases)}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_side(newsroom: Newsroom, n: int, url: str, tmp: Path, timeout: float) -> dict[str, Any]:
    """``n`` daemons started together on one round; what they did and how long it took."""
    archive = tmp / "archive"
    config = write_config(tmp / "harvester.toml", newsroom, archive)
    env = {k: v for k, v in os.environ.items() if k != "HARVESTER_CONFIG"}
    newsroom.mark()
    round_start = repr(time.time())
    started = time.monotonic()
    procs, logs = [], []
    for k in range(n):
        logs.append(tmp / f"daemon-{k}.log")
        cmd = [sys.executable, "-m", "harvester", "run", "--once", "--processes", "1"]
        cmd += ["--catalog", url, "--config", str(config), "--round-start", round_start]
        with logs[-1].open("wb") as err:
            procs.append(
                subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=REPO)
            )
    ended: dict[int, float] = {}
    codes: dict[int, int | None] = {}
    while len(ended) < n and time.monotonic() - started < timeout:
        for k, proc in enumerate(procs):
            if k not in ended and proc.poll() is not None:
                ended[k], codes[k] = time.monotonic(), proc.returncode
        time.sleep(0.05)
    hung = [k for k in range(n) if k not in ended]
    for k in hung:
        procs[k].kill()
        procs[k].wait()
        codes[k] = None
    wall = max(ended.values(), default=time.monotonic()) - started
    problems: Counter[str] = Counter()
    for log in logs:
        for line in log.read_text(errors="replace").splitlines():
            parts = line.split(" ", 4)
            if len(parts) == 5 and parts[2] in ("WARNING", "ERROR", "CRITICAL"):
                problems[f"{parts[2]} {parts[4][:160]}"] += 1
            elif "Traceback" in line:
                problems["Traceback"] += 1
    return {
        "daemons": n,
        "wall_s": wall,
        "exit_s": [round(ended[k] - started, 2) if k in ended else None for k in range(n)],
        "codes": [codes[k] for k in range(n)],
        "hung": hung,
        "log_problems": dict(problems.most_common()),
        "archive": archive,
    }


def read_archive(root: Path, url: str) -> dict[str, Any]:
    """What the side archived: newest record per final URL, articles listed twice, response
    captures per URL and per writer (from the catalog)."""
    import psycopg

    from harvester import Archive
    from harvester.writers import writer_of

    listed: Counter[str] = Counter()
    found = {}
    with Archive(root, catalog=url) as archive:
        for article in archive.articles():
            listed[article.final_url] += 1
            found[article.final_url] = article
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT url, file FROM captures WHERE record_type = 'response'"
        ).fetchall()
    captures = Counter(str(u) for u, _ in rows)
    writers = Counter(str(writer_of(Path(str(f)).name)) for _, f in rows)
    return {"found": found, "listed": listed, "captures": captures, "writers": writers}


def partition(found: Mapping[str, Any]) -> dict[frozenset[str], frozenset[str | None]]:
    """Each story as the set of its members' final URLs, with the original URL(s) they name."""
    members: dict[str, set[str]] = {}
    for record in found.values():
        members.setdefault(record.story, set()).add(record.final_url)
    return {
        frozenset(urls): frozenset(found[u].original.url for u in urls) for urls in members.values()
    }


def politeness(newsroom: Newsroom) -> dict[str, Any]:
    """Per host from the servers' logs: most answers at once, shortest gap, gaps short of the
    delay, robots.txt fetches."""
    concurrent, gap, short, answers = 0, float("inf"), 0, 0
    robots: Counter[int] = Counter()
    for host in newsroom.hosts:
        spans = sorted(newsroom.spans(host))
        answers += len(spans)
        for k, (start, _) in enumerate(spans):
            concurrent = max(concurrent, 1 + sum(1 for _, end in spans[:k] if end > start))
        for (_, end), (start, _) in itertools.pairwise(spans):
            gap = min(gap, start - end)
            short += start - end < newsroom.delay - GAP_SLACK
        robots[sum(1 for p in newsroom.paths(host) if p == "/robots.txt")] += 1
    return {
        "answers": answers,
        "max_concurrent_per_host": concurrent,
        "min_gap_s": None if gap == float("inf") else gap,
        "gaps_short_of_delay": short,
        "robots_per_host": dict(robots),
    }


def measure(
    newsroom: Newsroom, n: int, cluster: Any, args: argparse.Namespace, say: Any
) -> dict[str, Any]:
    """One side on a fresh database; its results (and its partition, for comparing)."""
    db = f"fleet_{newsroom.name}_{n}_{int(time.time() * 1000) % 10**8}"
    cluster.drop_database(db)
    url = cluster.create_database(db)
    with tempfile.TemporaryDirectory(prefix=f"fleet-{newsroom.name}-{n}-") as tmp:
        side = run_side(newsroom, n, url, Path(tmp), args.timeout)
        polite = politeness(newsroom)
        state = read_archive(side.pop("archive"), url)
    found = state["found"]
    listed = newsroom.truth.articles
    article_paths = {(urlsplit(u).hostname, urlsplit(u).path) for u in listed}
    fetched = Counter(
        (host, p)
        for host in newsroom.hosts
        for p in newsroom.paths(host)
        if (host, p) in article_paths
    )
    side.update(
        newsroom=newsroom.name,
        listed=len(listed),
        archived=len(set(found) & listed),
        missing=sorted(listed - set(found))[:5],
        missing_count=len(listed - set(found)),
        extra=sorted(set(found) - listed)[:5],
        listed_twice=sum(1 for c in state["listed"].values() if c > 1),
        captured_twice=sum(1 for c in state["captures"].values() if c > 1),
        fetched_twice=sum(1 for c in fetched.values() if c > 1),
        captures_per_writer=sorted(state["writers"].values(), reverse=True),
        politeness=polite,
        stories=len({r.story for r in found.values()}),
    )
    side["partition"] = partition(found)
    say(
        f"{newsroom.name}, {n} daemon(s): {side['wall_s']:.1f} s, {side['archived']}/"
        f"{side['listed']} archived, {side['stories']} stories, exit codes {side['codes']}"
    )
    return side


def compare(side: dict[str, Any], base: dict[str, Any], truth: Truth) -> None:
    """Add to ``side`` whether its stories and originals equal ``base``'s and the truth's."""
    mine, theirs = side["partition"], base["partition"]
    side["same_partition"] = set(mine) == set(theirs)
    side["same_originals"] = mine == theirs
    # paths are enough to tell the newsroom's articles apart (ports change between runs)
    side["partition_diff"] = [
        sorted(urlsplit(u).path for u in urls) for urls in list(set(mine) ^ set(theirs))[:4]
    ]
    if truth.stories:
        expected = {urls: frozenset({original}) for urls, original in truth.stories.items()}
        side["partition_is_truth"] = set(mine) == set(expected)
        side["originals_are_truth"] = mine == expected
        side["stories_wrong"] = len(set(mine) ^ set(expected))
        side["originals_wrong"] = sum(
            1 for urls, o in mine.items() if urls in expected and o != expected[urls]
        )


def ok(side: dict[str, Any]) -> bool:
    p = side["politeness"]
    return (
        not side["hung"]
        and all(c == 0 for c in side["codes"])
        and side["missing_count"] == 0
        and side["listed_twice"] == 0
        and side["captured_twice"] == 0
        and side["fetched_twice"] == 0  # the newsroom never fails: no retry is due
        and p["max_concurrent_per_host"] <= 1
        and p["gaps_short_of_delay"] == 0
        and set(p["robots_per_host"]) == {1}
        # stories never depend on which daemon fetched what (harvester/dedup/stories.py)
        and side.get("same_partition", True)
        and side.get("same_originals", True)
    )


# -- reporting ----------------------------------------------------------------------------------


def _yes(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "**no**")


def table(sides: list[dict[str, Any]]) -> str:
    lines = [
        "| newsroom | daemons | wall (s) | each exits at (s) | exit codes | archived / listed "
        "| listed twice / captured twice / fetched twice | response captures per daemon "
        "| stories | partition = first side's | originals = first side's "
        "| partition = truth | originals = truth "
        "| most at once per host | shortest gap (s) / delay | gaps short | robots.txt per host |",
        "|---|--:|--:|---|---|--:|--:|---|--:|---|---|---|---|--:|--:|--:|---|",
    ]
    for s in sides:
        p = s["politeness"]
        robots = ", ".join(f"{k}: {v} hosts" for k, v in sorted(p["robots_per_host"].items()))
        gap = "-" if p["min_gap_s"] is None else f"{p['min_gap_s']:.3f}"
        lines.append(
            f"| {s['newsroom']} | {s['label']} | {s['wall_s']:.1f} "
            f"| {' '.join('-' if t is None else f'{t:.1f}' for t in s['exit_s'])} "
            f"| {' '.join(str(c) for c in s['codes'])} | {s['archived']} / {s['listed']} "
            f"| {s['listed_twice']} / {s['captured_twice']} / {s['fetched_twice']} "
            f"| {' + '.join(map(str, s['captures_per_writer']))} | {s['stories']} "
            f"| {_yes(s.get('same_partition'))} | {_yes(s.get('same_originals'))} "
            f"| {_yes(s.get('partition_is_truth'))} | {_yes(s.get('originals_are_truth'))} "
            f"| {p['max_concurrent_per_host']} | {gap} / {s['delay']:g} "
            f"| {p['gaps_short_of_delay']} of {p['answers']} | {robots} |"
        )
    notes = []
    for s in sides:
        label = f"{s['newsroom']}, {s['label']} daemon(s)"
        if s["hung"]:
            notes.append(f"- {label}: daemon(s) {s['hung']} still running after the timeout")
        if s["missing_count"]:
            notes.append(f"- {label}: {s['missing_count']} not archived, e.g. {s['missing']}")
        if s.get("partition_diff") and not s.get("same_partition"):
            notes.append(
                f"- {label}: story sets not in the first side's partition, or only there: "
                f"{s['partition_diff']}"
            )
        if s.get("stories_wrong"):
            notes.append(
                f"- {label}: {s['stories_wrong']} story set(s) differ from the truth, "
                f"{s.get('originals_wrong', 0)} right set(s) with a wrong original"
            )
        for problem, count in list(s["log_problems"].items())[:6]:
            notes.append(f"- {label}: {count} x `{problem}`")
    return "\n".join([*lines, "", *notes])


def _environment(server: str) -> str:
    from harvester.version import __version__

    return (
        f"harvester {__version__}, Python {platform.python_version()}, PostgreSQL {server}; "
        f"{os.cpu_count()} cores"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--newsroom", choices=("demo", "invented", "both"), default="both")
    parser.add_argument(
        "--daemons",
        default=",".join(map(str, DAEMONS)),
        help="daemons per side, in order; the first side is the one the others are compared "
        "with, and a count given twice runs twice (1,2,3,1: the last is the control)",
    )
    parser.add_argument("--wires", type=int, default=3, help="invented: wire outlets (3)")
    parser.add_argument("--stories", type=int, default=30, help="invented: stories per wire (30)")
    parser.add_argument(
        "--republishers", type=int, default=9, help="invented: republishing outlets (9)"
    )
    parser.add_argument("--local", type=int, default=10, help="invented: own stories each (10)")
    parser.add_argument("--delay", type=float, default=0.1, help="invented: per-host delay (0.1)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="per side, s (300)")
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        counts = [int(n) for n in args.daemons.split(",")]
    except ValueError:
        parser.error("--daemons: comma-separated numbers, e.g. 1,2,3")
    if not counts or min(counts) < 1 or max(counts) > 16 or args.wires + args.republishers > 250:
        parser.error("need 1 <= daemons <= 16 and at most 250 outlets")
    from pgcluster import PgCluster, PgClusterError

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    names = ("demo", "invented") if args.newsroom == "both" else (args.newsroom,)
    sides: list[dict[str, Any]] = []
    try:
        cluster_cm = PgCluster()
    except PgClusterError as exc:
        print(f"PostgreSQL not available: {exc}: benchmark skipped")
        return 0
    with cluster_cm as cluster, contextlib.ExitStack() as stack:
        import psycopg

        with psycopg.connect(cluster.url()) as conn:
            server = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        for name in names:
            newsroom: Newsroom = (
                DemoNewsroom(stack) if name == "demo" else InventedNewsroom(stack, args)
            )
            say(f"{name}: {len(newsroom.outlets)} outlets, {len(newsroom.truth.articles)} articles")
            mine = []
            for k, n in enumerate(counts):
                side = measure(newsroom, n, cluster, args, say)
                side["delay"] = newsroom.delay
                side["label"] = f"{n} (again)" if n in counts[:k] else str(n)
                mine.append(side)
            for side in mine:
                compare(side, mine[0], newsroom.truth)
            sides += mine
    print(f"Environment: {_environment(server)}\n")
    print(table(sides))
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        plain = [
            {k: v for k, v in s.items() if k != "partition"}
            | {"partition": [sorted(urls) for urls in s["partition"]]}
            for s in sides
        ]
        out.write_text(json.dumps({"environment": _environment(server), "sides": plain}, indent=2))
    return 0 if all(ok(s) for s in sides) else 1


if __name__ == "__main__":
    sys.exit(main())
