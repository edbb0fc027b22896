"""Faults in the archive and in the crawl: disk full (WARC or catalog), a locked catalog, a
deleted or older catalog, a poll that outlives its interval, hosts that never answer or answer
slowly, and no listening socket. Each asserts that nothing acknowledged is lost, nothing is
duplicated, and the catalog agrees with the WARC files (tests/killtrial.py's checker)."""

from __future__ import annotations

import errno
import itertools
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import pytest
from killtrial import check_archive
from mockserver import HANG, MockServer, free_loopback_host
from pages import article_page, invented_story, rss_feed

from harvester import daemon
from harvester.archive import Archive
from harvester.catalog import CATALOG_NAME, SqliteCatalog
from harvester.catalog import sqlite as catalog_module
from harvester.config import Outlet, Settings
from harvester.daemon import run_daemon
from harvester.errors import ArchiveUnavailableError
from harvester.warc import writer as writer_module

pytestmark = pytest.mark.faults


def newsroom(srv: MockServer, name: str, first: int, count: int, **route: object) -> Outlet:
    items = []
    for n in range(first, first + count):
        title, paragraphs = invented_story(n)
        srv.route(f"/news/{n}", article_page(title=title, paragraphs=paragraphs), **route)  # type: ignore[arg-type]
        items.append((title, srv.url(f"/news/{n}")))
    srv.route("/rss.xml", rss_feed(items), content_type="application/rss+xml")
    return Outlet(name=name, home=srv.url("/"), feeds=(srv.url("/rss.xml"),))


def crawl_settings(settings: Settings, *outlets: Outlet, **fetch: object) -> Settings:
    changes: dict[str, object] = {"retry_delay": 0.05, "workers": 4, **fetch}
    return replace(settings, outlets=outlets, fetch=replace(settings.fetch, **changes))  # type: ignore[arg-type]


def archived_urls(settings: Settings) -> list[str]:
    with Archive(settings.archive.dir) as archive:
        return [a.final_url for a in archive.articles()]


@pytest.fixture
def fast_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(daemon, "PAUSE_MIN", 0.05)
    monkeypatch.setattr(daemon, "PAUSE_MAX", 0.2)


def test_disk_full_while_writing_a_warc_pauses_then_resumes(
    server: MockServer,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fast_pause: None,
) -> None:
    outlet = newsroom(server, "Courier", 100, 6)
    real_fsync = os.fsync
    failures = {"left": 5}

    def full_disk(fd: int) -> None:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(writer_module.os, "fsync", full_disk)
    s = crawl_settings(settings, outlet)
    with caplog.at_level(logging.INFO, logger="harvester"):
        assert run_daemon(s, once=True) == 0
    assert failures["left"] == 0
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("archive unavailable: cannot write WARC file") for m in messages)
    assert "archive writable again: fetching resumed" in messages
    assert sorted(archived_urls(s)) == sorted(server.url(f"/news/{n}") for n in range(100, 106))
    assert check_archive(s.archive.dir) == []  # valid WARCs, no duplicates, catalog agrees


def test_disk_full_in_the_catalog_rolls_the_warc_batch_back(
    server: MockServer,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    fast_pause: None,
) -> None:
    outlet = newsroom(server, "Courier", 110, 5)
    real = SqliteCatalog.add_page
    failures = {"left": 3, "articles": 0}

    def full(self: SqliteCatalog, captures: object, article: object = None) -> None:
        # A page's captures and its article are indexed in one transaction: refuse it whole.
        if failures["left"] > 0 and article is not None:
            failures["left"] -= 1
            failures["articles"] += 1
            raise ArchiveUnavailableError("cannot write catalog: database or disk is full")
        real(self, captures, article)  # type: ignore[arg-type]

    monkeypatch.setattr(SqliteCatalog, "add_page", full)
    s = crawl_settings(settings, outlet)
    assert run_daemon(s, once=True) == 0
    assert failures == {"left": 0, "articles": 3}
    assert len(archived_urls(s)) == 5
    # the refused pages were cut back out (captures and article records): no record without
    # its catalog row, no second response record for a page tried again
    assert check_archive(s.archive.dir) == []


def test_a_catalog_locked_by_another_process_pauses_the_crawl(
    server: MockServer,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fast_pause: None,
) -> None:
    outlet = newsroom(server, "Courier", 120, 8, delay=0.15)
    s = crawl_settings(settings, outlet, workers=1)
    assert run_daemon(replace(s, outlets=()), once=True) == 0  # the archive exists
    monkeypatch.setattr(catalog_module, "BUSY_TIMEOUT", 0.2)
    result: list[int] = []
    runner = threading.Thread(target=lambda: result.append(run_daemon(s, once=True)))
    with caplog.at_level(logging.INFO, logger="harvester"):
        runner.start()
        for _ in range(300):
            if sum(r.path.startswith("/news/") for r in server.requests) >= 2:
                break
            time.sleep(0.02)
        holder = sqlite3.connect(s.archive.dir / CATALOG_NAME, timeout=5)
        holder.execute("BEGIN EXCLUSIVE")  # another process holds the catalog's write lock
        time.sleep(1.0)
        holder.rollback()
        holder.close()
        runner.join(60)
    assert result == [0]
    assert any("archive unavailable" in r.getMessage() for r in caplog.records)
    assert len(archived_urls(s)) == 8
    assert check_archive(s.archive.dir) == []


@pytest.mark.parametrize("older", [False, True], ids=["deleted", "restored-from-backup"])
def test_a_deleted_or_older_catalog_is_reconciled_at_start(
    server: MockServer, settings: Settings, tmp_path: Path, older: bool
) -> None:
    first = newsroom(server, "Courier", 130, 3)
    s = crawl_settings(settings, first)
    assert run_daemon(s, once=True) == 0
    backup = tmp_path / "backup.sqlite"
    shutil.copy(s.archive.dir / CATALOG_NAME, backup)
    more = newsroom(server, "Courier", 133, 3)  # the feed now lists three more stories
    assert run_daemon(replace(s, outlets=(more,)), once=True) == 0
    expected = archived_urls(s)
    assert len(expected) == 6
    for path in s.archive.dir.glob(CATALOG_NAME + "*"):
        path.unlink()
    if older:
        shutil.copy(backup, s.archive.dir / CATALOG_NAME)
    hits = {n: len(server.requests_for(f"/news/{n}")) for n in range(130, 136)}
    assert run_daemon(replace(s, outlets=(more,)), once=True) == 0
    assert archived_urls(s) == expected  # same articles, same order
    assert {n: len(server.requests_for(f"/news/{n}")) for n in range(130, 136)} == hits
    assert check_archive(s.archive.dir) == []


def test_a_poll_that_outlives_its_interval_never_runs_twice_at_once(
    server: MockServer, settings: Settings
) -> None:
    outlet = replace(newsroom(server, "Courier", 140, 1), poll_every=0.1, poll_min=0.1)
    server.route(
        "/rss.xml",
        rss_feed([("x", server.url("/news/140"))]),
        content_type="application/rss+xml",
        delay=0.4,  # each poll takes four intervals
    )
    s = crawl_settings(settings, outlet)
    stop = threading.Timer(2.5, lambda: os.kill(os.getpid(), 15))
    stop.start()
    try:
        assert run_daemon(s, once=False) == 0
    finally:
        stop.cancel()
    feeds = sorted((start, end) for target, start, end in server.spans if target == "/rss.xml")
    assert len(feeds) >= 3
    assert all(b_start >= a_end for (_, a_end), (b_start, _) in itertools.pairwise(feeds))


@pytest.fixture
def hosts() -> Iterator[list[MockServer]]:
    with ExitStack() as stack:
        servers = [stack.enter_context(MockServer(free_loopback_host(n))) for n in range(3, 9)]
        for srv in servers:
            srv.robots("User-agent: *\nAllow: /\n")
        yield servers


def test_silent_and_slow_hosts_do_not_hold_up_fast_ones(
    hosts: list[MockServer], settings: Settings
) -> None:
    *fast, slow, silent = hosts
    outlets = [newsroom(srv, f"Fast {i}", 150 + 10 * i, 4) for i, srv in enumerate(fast)]
    outlets.append(newsroom(slow, "Slow", 200, 4, delay=1.0))
    outlets.append(newsroom(silent, "Silent", 210, 2, behaviour=HANG, hang_seconds=30))
    s = crawl_settings(settings, *outlets, workers=8, timeout=2.0, deadline=3.0, retries=0)
    started = time.monotonic()
    assert run_daemon(s, once=True) == 0
    fast_done = max(end for srv in fast for target, _, end in srv.spans if "/news/" in target)
    slow_done = max(end for target, _, end in slow.spans if "/news/" in target)
    urls = set(archived_urls(s))
    assert {
        srv.url(f"/news/{150 + 10 * i + k}") for i, srv in enumerate(fast) for k in range(4)
    } <= urls
    assert {slow.url(f"/news/{200 + k}") for k in range(4)} <= urls
    assert not any("/news/21" in u for u in urls)  # the silent host gave nothing
    # the fast hosts finished long before the slow host (whose four pages take 4 s at least)
    assert fast_done - started < slow_done - started - 2.0


def test_the_daemon_listens_on_no_socket(server: MockServer, tmp_path: Path) -> None:
    import subprocess
    import sys

    from conftest import outlet_config

    server.route("/rss.xml", rss_feed([]), content_type="application/rss+xml")
    config = outlet_config(tmp_path, server)
    proc = subprocess.Popen(
        [sys.executable, "-m", "harvester", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != "HARVESTER_CONFIG"},
    )
    try:
        time.sleep(2.0)
        inodes = {str(fd.readlink()) for fd in Path(f"/proc/{proc.pid}/fd").iterdir()}
        sockets = {i[len("socket:[") : -1] for i in inodes if i.startswith("socket:[")}
        listening = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with Path(table).open(encoding="ascii") as f:
                for line in f.readlines()[1:]:
                    fields = line.split()
                    if fields[3] == "0A":  # TCP_LISTEN
                        listening.add(fields[9])
        assert not sockets & listening, "the daemon opened a listening socket"
    finally:
        proc.terminate()
        proc.communicate(timeout=15)
