"""Kill trials: SIGKILL a running `harvester run --once` at a random moment, restart it, and
check that nothing was lost or duplicated and that the catalog agrees with the WARC files.

Used by tests/test_kill.py (the slow tier, 20 trials) and bench/kill_trials.py (100 trials).
The newsroom is built here (invented stories, three loopback hosts); the daemon runs in a
child process exactly as a user runs it.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from mockserver import MockServer, free_loopback_host
from pages import article_page, invented_story, rss_feed
from warcio.archiveiterator import ArchiveIterator

HOSTS = (11, 12, 13)
PER_HOST = 12
WARCIO = Path(sys.executable).with_name("warcio")


@dataclass
class TrialResult:
    """What one kill trial found; ``problems`` is empty when every invariant held."""

    kill_after: float
    archived_before_kill: int
    archived_after: int
    problems: list[str] = field(default_factory=list)


@contextmanager
def newsroom() -> Iterator[list[MockServer]]:
    """Three hosts, each with a feed of PER_HOST invented stories (small delays so that a run
    takes a couple of seconds and a kill lands mid-work)."""
    with ExitStack() as stack:
        servers = [stack.enter_context(MockServer(free_loopback_host(n))) for n in HOSTS]
        for h, srv in enumerate(servers):
            srv.robots("User-agent: *\nAllow: /\n")
            items = []
            for n in range(PER_HOST):
                title, paragraphs = invented_story(1000 + h * 100 + n)
                srv.route(
                    f"/story/{n}", article_page(title=title, paragraphs=paragraphs), delay=0.1
                )
                items.append((title, srv.url(f"/story/{n}")))
            srv.route("/rss.xml", rss_feed(items), content_type="application/rss+xml")
        yield servers


def write_config(directory: Path, servers: list[MockServer]) -> Path:
    outlets = "".join(
        f'[[outlets]]\nname = "Outlet {i}"\nhome = "{srv.url("/")}"\n'
        f'feeds = ["{srv.url("/rss.xml")}"]\n'
        for i, srv in enumerate(servers)
    )
    hosts = ", ".join(f'"{srv.host}"' for srv in servers)
    path = directory / "harvester.toml"
    path.write_text(
        f'[archive]\ndir = "archive"\nrotate_size = "64KB"\n'
        f"[fetch]\nper_host_delay = 0\nretry_delay = 0.2\nallow_hosts = [{hosts}]\n{outlets}",
        encoding="utf-8",
    )
    return path


def _daemon(config: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "HARVESTER_CONFIG"}
    return subprocess.Popen(
        [sys.executable, "-m", "harvester", "run", "--once", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )


def _finished_urls(catalog: Path) -> set[str]:
    """Article URLs the catalog holds (read-only, as a downstream reader would)."""
    if not catalog.exists():
        return set()
    db = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True)
    try:
        return {str(r[0]) for r in db.execute("SELECT DISTINCT final_url FROM articles")}
    except sqlite3.OperationalError:
        return set()  # killed before the schema was written
    finally:
        db.close()


def run_trial(directory: Path, servers: list[MockServer], rng: random.Random) -> TrialResult:
    """One trial in a fresh ``directory``: start, SIGKILL after a random delay, restart, check."""
    directory.mkdir(parents=True, exist_ok=True)
    config = write_config(directory, servers)
    archive = directory / "archive"
    kill_after = rng.uniform(0.0, 3.0)
    first = _daemon(config)
    # From the moment a writer is up (start-up time varies with the machine's load, and `run`
    # starts one worker process per core), so the kills spread over the run itself.
    for _ in range(600):
        if list((archive / "writers").glob("*.lock")) or first.poll() is not None:
            break
        time.sleep(0.02)
    time.sleep(kill_after)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    finished = _finished_urls(archive / "index.sqlite")
    mark = {srv.host: len(srv.requests) for srv in servers}
    second = _daemon(config)
    _, err = second.communicate(timeout=120)
    result = TrialResult(
        kill_after=kill_after,
        archived_before_kill=len(finished),
        archived_after=len(_finished_urls(archive / "index.sqlite")),
    )
    if second.returncode != 0:
        result.problems.append(f"restart exited {second.returncode}: {err.decode()[-500:]}")
    if b"Traceback" in err:
        result.problems.append("traceback on restart")
    expected = {srv.url(f"/story/{n}") for srv in servers for n in range(PER_HOST)}
    have = _finished_urls(archive / "index.sqlite")
    if lost := expected - have:
        result.problems.append(f"lost articles: {sorted(lost)}")
    # no finished article is fetched again
    for srv in servers:
        again = [
            r.path
            for r in srv.requests[mark[srv.host] :]
            if srv.url(r.path) in finished and r.path.startswith("/story/")
        ]
        if again:
            result.problems.append(f"finished articles fetched again: {again}")
    result.problems.extend(check_archive(archive))
    return result


def check_archive(archive: Path) -> list[str]:
    """Every invariant between the WARC files and the catalog; a list of violations."""
    problems: list[str] = []
    files = sorted((archive / "warc").rglob("*.warc.gz"))
    if opened := list((archive / "warc").rglob("*.open")):
        problems.append(f".open files left: {opened}")
    if files:
        done = subprocess.run(
            [str(WARCIO), "check", *map(str, files)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            problems.append(f"warcio check failed: {(done.stdout + done.stderr)[-500:]}")
    records, responses = _read_records(archive, files)
    if dupes := [key for key, n in responses.items() if n > 1]:
        problems.append(f"duplicate response records (URL, payload): {dupes}")
    problems.extend(_catalog_agrees(archive, records))
    return problems


_Records = dict[tuple[str, int], tuple[str, str, str, str | None]]


def _read_records(archive: Path, files: list[Path]) -> tuple[_Records, Counter[tuple[str, str]]]:
    """Every record by (file, offset): (type, record id, target URI, refers-to); and the count
    of response records per (URL, payload digest)."""
    records: _Records = {}
    responses: Counter[tuple[str, str]] = Counter()
    for path in files:
        name = path.relative_to(archive).as_posix()
        with path.open("rb") as stream:
            iterator = ArchiveIterator(stream)
            for record in iterator:
                record.content_stream().read()
                headers = record.rec_headers
                uri = headers.get_header("WARC-Target-URI") or ""
                rid = headers.get_header("WARC-Record-ID") or ""
                records[(name, iterator.get_record_offset())] = (
                    record.rec_type,
                    rid,
                    uri,
                    headers.get_header("WARC-Refers-To"),
                )
                if record.rec_type == "response":
                    responses[(uri, headers.get_header("WARC-Payload-Digest") or "")] += 1
    return records, responses


def _catalog_agrees(archive: Path, records: _Records) -> list[str]:
    """Each catalog row points at its record, and each capture record has a catalog row."""
    problems: list[str] = []
    db = sqlite3.connect(f"file:{archive / 'index.sqlite'}?mode=ro", uri=True)
    try:
        captures = db.execute(
            "SELECT file, offset, record_id, record_type FROM captures"
        ).fetchall()
        articles = db.execute(
            "SELECT metadata_file, metadata_offset, capture_record_id FROM articles"
        ).fetchall()
    finally:
        db.close()
    indexed = set()
    for file, offset, rid, rtype in captures:
        found = records.get((file, offset))
        if found is None or found[1] != rid or found[0] != rtype:
            problems.append(f"catalog capture {rid} not at {file}:{offset}")
        indexed.add(rid)
    for (file, offset), (rtype, rid, _, _) in records.items():
        if rtype in ("response", "revisit") and rid not in indexed:
            problems.append(f"{rtype} {rid} in {file}:{offset} missing from the catalog")
    for file, offset, capture in articles:
        found = records.get((file, offset))
        if found is None or found[0] != "metadata" or found[3] != capture:
            problems.append(f"catalog article metadata not at {file}:{offset}")
    return problems
