"""`harvester run`: feeds polled, new articles archived once, failures reported per outlet."""

from __future__ import annotations

import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import outlet_config
from mockserver import MockServer, free_loopback_host
from pages import WIRE_PARAGRAPHS, article_page, invented_story, rss_feed

from harvester.cli import main
from harvester.config import Outlet, Settings
from harvester.daemon import MAX_BACKOFF, backoff_delay, run_daemon
from harvester.pipeline import Harvester


def newsroom(srv: MockServer) -> None:
    srv.route("/a1", article_page(title="Terminal approved"))
    srv.route("/a2", article_page(title="Ferry strike ends", paragraphs=WIRE_PARAGRAPHS[::-1]))
    feed = rss_feed(
        [
            ("Terminal approved", srv.url("/a1")),
            ("Ferry strike ends", srv.url("/a2?utm_source=rss&utm_medium=feed")),
            ("Ferry strike ends (again)", srv.url("/a2")),
        ]
    )
    srv.route("/rss.xml", feed, content_type="application/rss+xml")


def with_outlets(settings: Settings, *outlets: Outlet) -> Settings:
    from dataclasses import replace

    return replace(settings, outlets=outlets)


def test_run_once_archives_new_items_once(server: MockServer, settings: Settings) -> None:
    newsroom(server)
    outlet = Outlet(name="Courier", home=server.url("/"), feeds=(server.url("/rss.xml"),))
    s = with_outlets(settings, outlet)
    assert run_daemon(s, once=True) == 0
    # tracking parameters stripped: /a2 fetched once although listed twice
    assert len(server.requests_for("/a1")) == 1
    assert len(server.requests_for("/a2")) == 1
    assert run_daemon(s, once=True) == 0
    assert len(server.requests_for("/a1")) == 1
    assert len(server.requests_for("/a2")) == 1
    assert len(server.requests_for("/rss.xml")) == 2


def test_discovery_context_in_metadata(
    server: MockServer, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    newsroom(server)
    outlet = Outlet(name="Courier", home=server.url("/"), feeds=(server.url("/rss.xml"),))
    run_daemon(with_outlets(settings, outlet), once=True)
    assert main(["export", "--archive", str(settings.archive.dir)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["outlet"] for r in records} == {"Courier"}
    assert {r["title"] for r in records} == {"Terminal approved", "Ferry strike ends"}
    from harvester.warc.reader import iter_records

    metas = [
        json.loads(r.content)
        for p in sorted(settings.archive.dir.rglob("*.warc.gz"))
        for r in iter_records(p)
        if r.type == "metadata"
    ]
    assert {m["discovery"]["title"] for m in metas} == {"Terminal approved", "Ferry strike ends"}
    assert all(m["discovery"]["published"].startswith("2026-03-03T09:30") for m in metas)


def test_unreachable_outlet_logged_and_others_still_polled(
    server: MockServer, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    newsroom(server)
    with MockServer(free_loopback_host(5)) as dead:
        dead_url = dead.url("/rss.xml")
    good = Outlet(name="Courier", home=server.url("/"), feeds=(server.url("/rss.xml"),))
    bad = Outlet(name="Gone Gazette", home=dead_url, feeds=(dead_url,))
    with caplog.at_level(logging.INFO, logger="harvester"):
        assert run_daemon(with_outlets(settings, bad, good), once=True) == 0
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(m.startswith("Gone Gazette: feed ") for m in errors)
    assert len(server.requests_for("/a1")) == 1


def test_all_outlets_failing_once_exits_4(settings: Settings) -> None:
    with MockServer(free_loopback_host(5)) as dead:
        dead_url = dead.url("/rss.xml")
    bad = Outlet(name="Gone Gazette", home=dead_url, feeds=(dead_url,))
    assert run_daemon(with_outlets(settings, bad), once=True) == 4


def test_backoff_grows_and_is_capped() -> None:
    delays = [backoff_delay(600, n) for n in range(1, 12)]
    assert delays[0] == 600
    assert delays[1] == 1200
    assert all(a <= b for a, b in itertools.pairwise(delays))
    assert delays[-1] == MAX_BACKOFF
    assert backoff_delay(5, 1) == 60  # never faster than a minute


def test_run_once_from_cli_with_config(server: MockServer, tmp_path: Path) -> None:
    newsroom(server)
    config = outlet_config(tmp_path, server)
    assert main(["run", "--once", "--config", str(config)]) == 0
    assert len(list((tmp_path / "arch").rglob("*.warc.gz"))) == 1


def test_daemon_stops_cleanly_on_sigterm(server: MockServer, tmp_path: Path) -> None:
    newsroom(server)
    config = outlet_config(tmp_path, server, outlet_extra='poll_every = "1h"')
    proc = _spawn_daemon(config)
    try:
        # wait (bounded) until the first poll has archived both articles
        for _ in range(200):
            if len(server.requests_for("/a2")) == 1 and len(server.requests_for("/a1")) == 1:
                break
            time.sleep(0.05)
        assert server.requests_for("/a1"), "the daemon never polled"
        time.sleep(0.3)
        assert proc.poll() is None, "the daemon exited on its own"
        stderr = _terminate(proc, timeout=10)
    finally:
        _kill_if_running(proc)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "daemon stopped" in stderr
    arch = tmp_path / "arch"
    assert len(list(arch.rglob("*.warc.gz"))) == 1
    assert not list(arch.rglob("*.open"))


def test_sitemaps_and_section_pages_are_polled(server: MockServer, settings: Settings) -> None:
    import gzip

    for n in (1, 2, 3):
        title, paragraphs = invented_story(60 + n)
        server.route(
            f"/2026/03/0{n}/story-about-the-harbour-{n}",
            article_page(title=title, paragraphs=paragraphs),
        )
    news = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        f"<url><loc>{server.url('/2026/03/01/story-about-the-harbour-1')}</loc><news:news>"
        "<news:publication><news:name>Courier</news:name><news:language>en</news:language>"
        "</news:publication><news:publication_date>2026-03-01T08:00:00Z</news:publication_date>"
        "<news:title>Harbour story one</news:title></news:news></url></urlset>"
    )
    server.route(
        "/news-sitemap.xml.gz", gzip.compress(news.encode()), content_type="application/gzip"
    )
    index = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{server.url('/news-sitemap.xml.gz')}</loc>"
        "<lastmod>2026-03-01</lastmod></sitemap></sitemapindex>"
    )
    server.route("/sitemap.xml", index, content_type="application/xml")
    section = (
        "<!DOCTYPE html><html><body><nav><a href='/about-us-and-our-newsroom-team'>About</a></nav>"
        f"<main><a href='{server.url('/2026/03/02/story-about-the-harbour-2')}'>Two</a>"
        "<a href='/2026/03/03/story-about-the-harbour-3?utm_source=home'>Three</a>"
        "</main></body></html>"
    )
    server.route("/world/", section)
    outlet = Outlet(
        name="Courier",
        home=server.url("/"),
        sitemaps=(server.url("/sitemap.xml"),),
        sections=(server.url("/world/"),),
    )
    assert run_daemon(with_outlets(settings, outlet), once=True) == 0
    for n in (1, 2, 3):
        assert len(server.requests_for(f"/2026/03/0{n}/story-about-the-harbour-{n}")) == 1
    assert server.requests_for("/about-us-and-our-newsroom-team") == []
    from harvester.warc.reader import iter_records

    metas = [
        json.loads(r.content)
        for p in sorted(settings.archive.dir.rglob("*.warc.gz"))
        for r in iter_records(p)
        if r.type == "metadata"
    ]
    via_sitemap = [m for m in metas if m["discovery"]["title"] == "Harbour story one"]
    assert via_sitemap and via_sitemap[0]["discovery"]["source_name"] == "Courier"


def test_status_reports_each_outlet(
    server: MockServer, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    newsroom(server)
    with MockServer(free_loopback_host(5)) as dead:
        dead_url = dead.url("/rss.xml")
    good = Outlet(name="Courier", home=server.url("/"), feeds=(server.url("/rss.xml"),))
    bad = Outlet(name="Gone Gazette", home=dead_url, feeds=(dead_url,))
    s = with_outlets(settings, good, bad)
    run_daemon(s, once=True)
    capsys.readouterr()
    assert main(["status", "--archive", str(s.archive.dir), "--format", "json"]) == 0
    status = json.loads(capsys.readouterr().out)
    by_name = {row["outlet"]: row for row in status["outlets"]}
    assert by_name["Courier"]["articles"] == 2
    assert by_name["Courier"]["failures"] == 0 and by_name["Courier"]["last_error"] is None
    assert by_name["Gone Gazette"]["failures"] == 1
    assert "robots.txt unreachable" in by_name["Gone Gazette"]["last_error"]
    assert by_name["Courier"]["next_poll"] > by_name["Courier"]["last_poll"]
    assert status["writers"] == []  # the daemon's writer registration left with it
    capsys.readouterr()
    assert main(["status", "--archive", str(s.archive.dir)]) == 0
    text = capsys.readouterr().out
    assert "Courier: 2 articles" in text and "last error:" in text
    with Harvester(s) as live:  # a writer at work: listed, live, with its leases
        capsys.readouterr()
        assert main(["status", "--archive", str(s.archive.dir), "--format", "json"]) == 0
        [writer] = json.loads(capsys.readouterr().out)["writers"]
        assert writer["writer"] == live.store.writer_id
        assert (writer["state"], writer["pid"]) == ("live", os.getpid())
        assert writer["leases"] == {"urls": 0, "polls": 0, "host_slots": 0}
        assert main(["status", "--archive", str(s.archive.dir)]) == 0
        assert f"writer {live.store.writer_id} (live; pid {os.getpid()}" in capsys.readouterr().out


def test_a_restarted_daemon_resumes_the_stored_schedule(server: MockServer, tmp_path: Path) -> None:
    newsroom(server)
    config = outlet_config(tmp_path, server, outlet_extra='poll_every = "1h"')

    def start() -> subprocess.Popen[str]:
        return _spawn_daemon(config)

    def wait_for(lines: str, proc: subprocess.Popen[str]) -> str:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert lines in err
        return err

    first = start()
    for _ in range(200):
        if server.requests_for("/a1") and server.requests_for("/a2"):
            break
        time.sleep(0.05)
    time.sleep(0.3)
    wait_for("daemon stopped", first)
    assert len(server.requests_for("/rss.xml")) == 1
    second = start()
    for _ in range(300):  # started up: registered as a writer of the archive
        if list((tmp_path / "arch" / "writers").glob("*.lock")):
            break
        time.sleep(0.05)
    time.sleep(2.0)  # long enough for an immediate poll to have happened; the feed is due in 1 h
    wait_for("daemon started", second)
    assert len(server.requests_for("/rss.xml")) == 1


def test_json_logs(server: MockServer, tmp_path: Path) -> None:
    newsroom(server)
    config = outlet_config(tmp_path, server)
    done = subprocess.run(
        [sys.executable, "-m", "harvester", "--log-format", "json", "run", "--once",
         "--config", str(config)],
        capture_output=True, text=True, timeout=120, check=False,
        env={k: v for k, v in os.environ.items() if k != "HARVESTER_CONFIG"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert lines and all({"time", "level", "logger", "message"} <= set(x) for x in lines)
    assert any("Courier: archived" in x["message"] for x in lines)


def _terminate(proc: subprocess.Popen[str], timeout: float) -> str:
    """SIGTERM, wait; the daemon's stderr."""
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=timeout)[1]


def _kill_if_running(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


def _wait_for_polls(archive: Path, outlets: set[str], timeout: float = 30.0) -> bool:
    """Wait until the catalog of ``archive`` says every outlet was polled once."""
    from harvester.catalog import CATALOG_NAME, SqliteCatalog
    from harvester.errors import ArchiveError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (archive / CATALOG_NAME).exists():
            try:
                with SqliteCatalog(archive / CATALOG_NAME, readonly=True) as catalog:
                    if outlets <= set(catalog.outlet_states()):
                        return True
            except ArchiveError:
                pass  # the daemon is still creating the catalog's tables: ask again
        time.sleep(0.1)
    return False


def _spawn_daemon(config: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harvester", "run", "--config", str(config), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "HARVESTER_CONFIG"},
    )


@pytest.mark.parametrize("processes", [1, 2], ids=["one-process", "two-processes"])
def test_sigterm_requeues_a_fetch_in_flight_and_exits_within_10s(
    server: MockServer, tmp_path: Path, processes: int
) -> None:
    from mockserver import HANG

    from harvester.catalog import CATALOG_NAME, SqliteCatalog

    title, paragraphs = invented_story(80)
    server.route("/slow", article_page(title=title, paragraphs=paragraphs), behaviour=HANG)
    server.route("/rss.xml", rss_feed([(title, server.url("/slow"))]), content_type="text/xml")
    config = outlet_config(tmp_path, server, processes=processes)
    proc = _spawn_daemon(config)
    try:
        for _ in range(400):
            if server.requests_for("/slow"):
                break
            time.sleep(0.05)
        assert server.requests_for("/slow"), "the daemon never fetched the page"
        sent = time.monotonic()
        stderr = _terminate(proc, timeout=15)
        took = time.monotonic() - sent
    finally:
        _kill_if_running(proc)
    assert proc.returncode == 0, stderr
    assert took < 10, f"took {took:.1f}s to stop"
    assert "Traceback" not in stderr
    assert stderr.count("daemon stopped") == processes, stderr
    with SqliteCatalog(tmp_path / "arch" / CATALOG_NAME, readonly=True) as catalog:
        assert [i.url for i in catalog.frontier("pending")] == [server.url("/slow")]
        # its lease was given back: any writer may take it at once
        left = catalog.fleet_due(outlets=[], round_start=0.0, horizon=time.time() + 1)
        assert (left.urls_due, left.urls_leased) == (1, 0)
        assert catalog.latest_capture(server.url("/slow")) is None
    assert not list((tmp_path / "arch").rglob("*.open"))


def test_offline_outlets_back_off_without_spinning(tmp_path: Path) -> None:
    """`make run` on a machine without internet: one clear error per outlet, a backoff, no
    crash, no busy loop."""
    config = tmp_path / "h.toml"
    config.write_text(
        '[archive]\ndir = "arch"\n'
        '[[outlets]]\nname = "Nowhere Times"\nhome = "https://nowhere.invalid/"\n'
        'feeds = ["https://nowhere.invalid/rss.xml"]\n'
        '[[outlets]]\nname = "Void Herald"\nhome = "https://void.invalid/"\n'
        'sitemaps = ["https://void.invalid/sitemap.xml"]\n',
        encoding="utf-8",
    )
    proc = _spawn_daemon(config)  # the default: one worker process per core
    try:
        polled = _wait_for_polls(tmp_path / "arch", {"Nowhere Times", "Void Herald"})
        time.sleep(1.0)  # time enough to spin, if it would
        assert proc.poll() is None, "the daemon exited on its own"
        stderr = _terminate(proc, timeout=15)
    finally:
        _kill_if_running(proc)
    assert polled, "the outlets were never polled"
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if " ERROR " in line]
    assert len([e for e in errors if "Nowhere Times: feed" in e]) == 1, errors
    assert len([e for e in errors if "Void Herald: sitemap" in e]) == 1, errors
    assert all("next poll in 900s" in e for e in errors), errors  # backoff, not a spin
