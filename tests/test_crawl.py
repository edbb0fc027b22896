"""The daemon's crawl loop: a multi-host newsroom, the persisted frontier, per-host politeness
asserted from the servers' request logs, retries, conditional requests, adaptive intervals,
per-outlet section patterns, progress lines."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import pytest
from mockserver import FAIL_THEN_OK, MockServer, free_loopback_host
from pages import article_page, invented_story, rss_feed

from harvester import daemon
from harvester.catalog import CATALOG_NAME, SqliteCatalog
from harvester.config import Outlet, Settings, load_settings
from harvester.daemon import Crawler, PollReport, next_interval, run_daemon
from harvester.errors import ConfigError
from harvester.pipeline import Harvester


def story_page(n: int) -> str:
    title, paragraphs = invented_story(n)
    return article_page(title=title, paragraphs=paragraphs)


@pytest.fixture
def hosts() -> Iterator[list[MockServer]]:
    """Three newsroom hosts (127.0.0.3-5), each with a robots.txt that disallows /private/."""
    with ExitStack() as stack:
        servers = [stack.enter_context(MockServer(free_loopback_host(n))) for n in (3, 4, 5)]
        for srv in servers:
            srv.robots("User-agent: *\nDisallow: /private/\n")
        yield servers


def feed_outlet(srv: MockServer, name: str, first: int, count: int, **route: object) -> Outlet:
    """``count`` invented stories at /news/<n>, listed in /rss.xml (each twice: plain and with
    tracking parameters), plus a robots-disallowed item."""
    items = []
    for n in range(first, first + count):
        srv.route(f"/news/{n}", story_page(n), **route)  # type: ignore[arg-type]
        items.append((f"Story {n}", srv.url(f"/news/{n}")))
        items.append((f"Story {n} again", srv.url(f"/news/{n}?utm_source=rss&fbclid=x")))
    srv.route("/private/secret", story_page(999))
    items.append(("Secret", srv.url("/private/secret")))
    srv.route("/rss.xml", rss_feed(items), content_type="application/rss+xml")
    return Outlet(name=name, home=srv.url("/"), feeds=(srv.url("/rss.xml"),))


def newsroom_settings(settings: Settings, *outlets: Outlet, **fetch: object) -> Settings:
    changes: dict[str, object] = {"retry_delay": 0.1, "workers": 8, **fetch}
    return replace(settings, outlets=outlets, fetch=replace(settings.fetch, **changes))  # type: ignore[arg-type]


def exported(settings: Settings, capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    from harvester.cli import main

    capsys.readouterr()
    assert main(["export", "--archive", str(settings.archive.dir)]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_multi_host_newsroom_is_crawled_politely(
    hosts: list[MockServer], settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, c = hosts
    outlets = (
        feed_outlet(a, "Alpha", 100, 5, delay=0.05),
        feed_outlet(b, "Beta", 200, 5, delay=0.05),
        feed_outlet(c, "Gamma", 300, 5, delay=0.05),
    )
    # One page fails twice with a 500, then is fine: the frontier retries it.
    c.route("/news/302", story_page(302), behaviour=FAIL_THEN_OK, fail_times=2, fail_status=500)
    delay = 0.1
    s = newsroom_settings(settings, *outlets, per_host_delay=delay)
    assert run_daemon(s, once=True) == 0

    records = exported(s, capsys)
    assert len(records) == 15
    assert {r["outlet"] for r in records} == {"Alpha", "Beta", "Gamma"}
    assert any(str(r["final_url"]).endswith("/news/302") for r in records)
    for srv in hosts:
        # robots.txt disallow honoured: never requested
        assert srv.requests_for("/private/secret") == []
        # tracking-parameter duplicates fetched once
        for path in {r.path.split("?")[0] for r in srv.requests if r.path.startswith("/news/")}:
            expected = 3 if path == "/news/302" else 1
            assert len(srv.requests_for(path)) == expected, path
        # at most one request at a time per host, and the delay between them (server's log)
        spans = sorted(srv.spans, key=lambda span: span[1])
        for (_, prev_start, end), (target, start, _) in itertools.pairwise(spans):
            assert start >= end, f"overlapping requests to {srv.host}: {target}"
            # The client waits `delay` after it has read the previous answer, which the server
            # had received before: start-to-start can never be shorter than the delay.
            gap = start - prev_start
            assert gap >= delay, f"{target} came {gap:.3f}s after the last request began"
    # ... while different hosts were fetched at the same time (the pool is real)
    every = sorted(
        ((srv.host, start, end) for srv in hosts for _, start, end in srv.spans),
        key=lambda span: span[1],
    )
    assert any(x[0] != y[0] and y[1] < x[2] for x, y in itertools.combinations(every, 2)), (
        "no two hosts were ever fetched concurrently"
    )


def test_frontier_survives_a_restart(
    hosts: list[MockServer], settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    a = hosts[0]
    outlet = feed_outlet(a, "Alpha", 400, 4)
    s = newsroom_settings(settings, outlet)
    # Discover without fetching (no workers started), then stop: the URLs wait in the catalog.
    with Harvester(s) as harvester:
        report = Crawler(harvester, clock=harvester.clock).poll(outlet)
    assert report.queued == 5  # robots.txt is consulted when a URL is fetched, not queued
    with SqliteCatalog(s.archive.dir / CATALOG_NAME, readonly=True) as catalog:
        pending = catalog.frontier("pending")
    assert sorted(i.url for i in pending) == sorted(
        [a.url("/private/secret"), *(a.url(f"/news/{n}") for n in range(400, 404))]
    )
    assert all(i.discovery and i.discovery["via"] == a.url("/rss.xml") for i in pending)
    # The feed is gone now; the next run still fetches what the first one found.
    a.route("/rss.xml", "gone", status=404)
    assert run_daemon(s, once=True) == 4  # every outlet's discovery failed ...
    assert len(exported(s, capsys)) == 4  # ... and yet the queued URLs were all fetched
    with SqliteCatalog(s.archive.dir / CATALOG_NAME, readonly=True) as catalog:
        assert catalog.frontier_counts() == {"pending": 0, "failed": 0}
    # discovery context from the first run's feed made it into the metadata
    from harvester.warc.reader import iter_records

    metas = [
        json.loads(r.content)
        for p in sorted(s.archive.dir.rglob("*.warc.gz"))
        for r in iter_records(p)
        if r.type == "metadata"
    ]
    assert {m["discovery"]["title"] for m in metas} == {f"Story {n}" for n in range(400, 404)}
    assert a.requests_for("/private/secret") == []


def outlet_listing_a_dead_host(a: MockServer) -> tuple[Outlet, str]:
    """An outlet whose feed lists one URL on a host that refuses connections."""
    with MockServer(free_loopback_host(6)) as dead:
        gone = dead.url("/news/1")
    a.route("/rss.xml", rss_feed([("Gone", gone)]), content_type="application/rss+xml")
    return Outlet(name="Alpha", home=a.url("/"), feeds=(a.url("/rss.xml"),)), gone


def test_unreachable_article_host_is_retried_then_given_up(
    hosts: list[MockServer], settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    a = hosts[0]
    outlet, gone = outlet_listing_a_dead_host(a)
    s = newsroom_settings(settings, outlet, retries=2, retry_delay=0.05)
    with caplog.at_level(logging.INFO, logger="harvester"):
        assert run_daemon(s, once=True) == 0
    messages = [r.getMessage() for r in caplog.records]
    assert sum(m.startswith(f"will retry {gone}") for m in messages) == 2
    assert any(m.startswith(f"giving up on {gone} after 3 tries") for m in messages)
    with SqliteCatalog(s.archive.dir / CATALOG_NAME, readonly=True) as catalog:
        failed = catalog.frontier("failed")
    assert [i.url for i in failed] == [gone]
    assert failed[0].attempts == 3 and failed[0].last_error
    # a given-up URL rests: the next poll does not queue it again at once
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="harvester"):
        assert run_daemon(s, once=True) == 0
    assert not any(
        m.startswith(f"will retry {gone}") for m in (r.getMessage() for r in caplog.records)
    )


def test_conditional_requests_use_stored_validators(
    hosts: list[MockServer], settings: Settings
) -> None:
    a = hosts[0]
    outlet = feed_outlet(a, "Alpha", 500, 2)
    a.route(
        "/rss.xml",
        rss_feed([("Story 500", a.url("/news/500")), ("Story 501", a.url("/news/501"))]),
        content_type="application/rss+xml",
        headers=[("ETag", '"v1"'), ("Last-Modified", "Tue, 03 Mar 2026 09:30:00 GMT")],
        conditional=True,
    )
    s = newsroom_settings(settings, outlet)
    with Harvester(s) as harvester:
        crawler = Crawler(harvester, clock=harvester.clock)
        first = crawler.poll(outlet)
        second = crawler.poll(outlet)
    assert first.found == 2 and first.not_modified == 0
    assert second.found == 0 and second.not_modified == 1 and not second.failed
    feeds = a.requests_for("/rss.xml")
    assert "if-none-match" not in feeds[0].headers
    assert feeds[1].headers["if-none-match"] == '"v1"'
    assert feeds[1].headers["if-modified-since"] == "Tue, 03 Mar 2026 09:30:00 GMT"


def test_validators_are_not_sent_after_the_full_refresh_period(
    hosts: list[MockServer], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = hosts[0]
    outlet = feed_outlet(a, "Alpha", 510, 1)
    a.route(
        "/rss.xml",
        rss_feed([("Story 510", a.url("/news/510"))]),
        content_type="application/rss+xml",
        headers=[("ETag", '"v1"')],
        conditional=True,
    )
    monkeypatch.setattr(daemon, "FULL_REFRESH", 0.0)
    with Harvester(newsroom_settings(settings, outlet)) as harvester:
        crawler = Crawler(harvester, clock=harvester.clock)
        crawler.poll(outlet)
        again = crawler.poll(outlet)
    assert again.found == 1
    assert all("if-none-match" not in r.headers for r in a.requests_for("/rss.xml"))


def test_future_last_modified_is_not_trusted(hosts: list[MockServer], settings: Settings) -> None:
    a = hosts[0]
    outlet = feed_outlet(a, "Alpha", 520, 1)
    a.route(
        "/rss.xml",
        rss_feed([("Story 520", a.url("/news/520"))]),
        content_type="application/rss+xml",
        headers=[("Last-Modified", "Fri, 01 Jan 2100 00:00:00 GMT")],
        conditional=True,
    )
    with Harvester(newsroom_settings(settings, outlet)) as harvester:
        crawler = Crawler(harvester, clock=harvester.clock)
        crawler.poll(outlet)
        crawler.poll(outlet)
    assert all("if-modified-since" not in r.headers for r in a.requests_for("/rss.xml"))


@pytest.mark.parametrize(
    ("found", "queued", "expected"),
    [
        (10, 10, 300.0),  # everything new: poll twice as often
        (10, 5, 300.0),  # half new: still falling behind
        (10, 2, 600.0),  # some new: keep the pace
        (10, 0, 900.0),  # nothing new: slow down by half
        (0, 0, 900.0),  # 304 / empty: slow down
    ],
)
def test_next_interval_follows_the_share_of_new_items(
    found: int, queued: int, expected: float
) -> None:
    report = PollReport(outlet="x", found=found, queued=queued)
    assert next_interval(600.0, (60.0, 3600.0), report) == expected


def test_next_interval_stays_within_bounds() -> None:
    busy = PollReport(outlet="x", found=10, queued=10)
    quiet = PollReport(outlet="x", found=10, queued=0)
    interval = 600.0
    for _ in range(20):
        interval = next_interval(interval, (100.0, 1000.0), busy)
    assert interval == 100.0
    for _ in range(20):
        interval = next_interval(interval, (100.0, 1000.0), quiet)
    assert interval == 1000.0


def test_interval_bounds_default_and_configured() -> None:
    assert Outlet(name="x", home="http://x/", poll_every=600).interval_bounds == (150.0, 2400.0)
    configured = Outlet(name="x", home="http://x/", poll_every=600, poll_min=60, poll_max=900)
    assert configured.interval_bounds == (60.0, 900.0)


def test_schedule_after_adapts_and_persists_the_interval(
    hosts: list[MockServer], settings: Settings
) -> None:
    a = hosts[0]
    outlet = replace(feed_outlet(a, "Alpha", 530, 2), poll_every=600.0)
    with Harvester(newsroom_settings(settings, outlet)) as harvester:
        crawler = Crawler(harvester, clock=harvester.clock)
        first = crawler.schedule_after(outlet, crawler.poll(outlet))  # 2 of 2 new
        assert 300.0 <= first <= 330.0
        second = crawler.schedule_after(outlet, crawler.poll(outlet))  # nothing new
        assert 450.0 <= second <= 495.0
        state = crawler.outlet_states()["Alpha"]
    assert state.interval == 450.0


def test_section_url_patterns_from_config(hosts: list[MockServer], tmp_path: Path) -> None:
    a = hosts[0]
    for path in ("/politics/2026/vote-recount-ordered", "/sport/2026/cup-final-tonight"):
        a.route(path, story_page(len(path)))
    a.route(
        "/latest/",
        "<!DOCTYPE html><html><body><main>"
        "<a href='/politics/2026/vote-recount-ordered'>Recount</a>"
        "<a href='/sport/2026/cup-final-tonight'>Cup</a>"
        "</main></body></html>",
    )
    config = tmp_path / "h.toml"
    config.write_text(
        f"""[archive]
dir = "arch"
[fetch]
per_host_delay = 0
allow_hosts = ["{a.host}"]
[[outlets]]
name = "Alpha"
home = "{a.url("/")}"
sections = ["{a.url("/latest/")}"]
section_include = ["/(politics|sport)/"]
section_exclude = ["/sport/"]
""",
        encoding="utf-8",
    )
    s = load_settings(config)
    assert s.outlets[0].section_exclude == ("/sport/",)
    assert run_daemon(s, once=True) == 0
    assert len(a.requests_for("/politics/2026/vote-recount-ordered")) == 1
    assert a.requests_for("/sport/2026/cup-final-tonight") == []


def test_bad_section_pattern_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "h.toml"
    config.write_text(
        '[[outlets]]\nname = "A"\nhome = "https://a.example/"\nsection_include = ["(unclosed"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"outlet 'A': key 'section_include': bad regular"):
        load_settings(config)


@pytest.mark.parametrize(
    ("table", "text", "message"),
    [
        ("fetch", "workers = 0", "key 'workers': must be between 1 and 256"),
        ("fetch", "per_host_connections = 99", "must be between 1 and 16"),
        ("fetch", "retries = -1", "key 'retries': must be between 0 and 10"),
        ("fetch", 'retry_delay = "soon"', "key 'retry_delay'"),
    ],
)
def test_crawl_settings_are_validated(tmp_path: Path, table: str, text: str, message: str) -> None:
    config = tmp_path / "h.toml"
    config.write_text(f"[{table}]\n{text}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings(config)


def test_poll_min_above_poll_max_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "h.toml"
    config.write_text(
        '[[outlets]]\nname = "A"\nhome = "https://a.example/"\npoll_min = "2h"\npoll_max = "1h"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="poll_min"):
        load_settings(config)


def test_progress_line_on_long_once_runs(
    hosts: list[MockServer],
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a = hosts[0]
    outlet = feed_outlet(a, "Alpha", 600, 3, delay=0.2)
    monkeypatch.setattr(daemon, "PROGRESS_EVERY", 0.1)
    with caplog.at_level(logging.INFO, logger="harvester"):
        assert run_daemon(newsroom_settings(settings, outlet), once=True) == 0
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("progress:")]
    assert lines, "no progress line"
    assert "outlets polled" in lines[-1] and "archived" in lines[-1]
    finished = [r.getMessage() for r in caplog.records if r.getMessage().startswith("run finished")]
    assert finished and "3 archived" in finished[0]


def test_follow_attribution_queues_the_original(
    hosts: list[MockServer], settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    wire, paper = hosts[0], hosts[1]
    title, paragraphs = invented_story(700)
    wire.route("/wire/700", article_page(title=title, paragraphs=paragraphs))
    credit = f"This article was originally published at {wire.url('/wire/700')}"
    paper.route(
        "/copy/700",
        article_page(title=title, paragraphs=(*paragraphs, credit)),
    )
    paper.route(
        "/rss.xml",
        rss_feed([(title, paper.url("/copy/700"))]),
        content_type="application/rss+xml",
    )
    outlets = (
        Outlet(name="Alpha Wire", home=wire.url("/"), wire=True),
        Outlet(name="Paper", home=paper.url("/"), feeds=(paper.url("/rss.xml"),)),
    )
    s = newsroom_settings(settings, *outlets)
    s = replace(s, dedup=replace(s.dedup, follow_attribution=True))
    assert run_daemon(s, once=True) == 0
    assert len(wire.requests_for("/wire/700")) == 1
    records = {str(r["final_url"]): r for r in exported(s, capsys)}
    assert set(records) == {wire.url("/wire/700"), paper.url("/copy/700")}
    assert records[paper.url("/copy/700")]["story"] == records[wire.url("/wire/700")]["story"]


def test_child_sitemaps_are_fetched_conditionally(
    hosts: list[MockServer], settings: Settings
) -> None:
    a = hosts[0]
    a.route("/2026/03/01/harbour-deal-signed", story_page(801))
    urlset = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{a.url('/2026/03/01/harbour-deal-signed')}</loc></url></urlset>"
    )
    a.route(
        "/news.xml",
        urlset,
        content_type="application/xml",
        headers=[("ETag", '"n1"')],
        conditional=True,
    )
    index = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{a.url('/news.xml')}</loc></sitemap></sitemapindex>"
    )
    a.route("/sitemap.xml", index, content_type="application/xml", headers=[("ETag", '"i1"')])
    outlet = Outlet(name="Alpha", home=a.url("/"), sitemaps=(a.url("/sitemap.xml"),))
    with Harvester(newsroom_settings(settings, outlet)) as harvester:
        crawler = Crawler(harvester, clock=harvester.clock)
        assert crawler.poll(outlet).found == 1
        again = crawler.poll(outlet)
    assert again.found == 0 and not again.failed
    assert all("if-none-match" not in r.headers for r in a.requests_for("/sitemap.xml"))
    children = a.requests_for("/news.xml")
    assert "if-none-match" not in children[0].headers
    assert children[1].headers["if-none-match"] == '"n1"'


def test_a_given_up_url_is_queued_again_after_its_rest(
    hosts: list[MockServer], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harvester import frontier

    a = hosts[0]
    outlet, gone = outlet_listing_a_dead_host(a)
    s = newsroom_settings(settings, outlet, retries=0, retry_delay=0.05)
    monkeypatch.setattr(frontier, "GIVE_UP_REST", 3.0)
    assert run_daemon(s, once=True) == 0
    with SqliteCatalog(s.archive.dir / CATALOG_NAME, readonly=True) as catalog:
        failed = catalog.frontier("failed")
    assert [i.url for i in failed] == [gone]
    with Harvester(s) as harvester:
        crawler = Crawler(harvester, clock=harvester.clock)
        assert crawler.poll(outlet).queued == 0  # still resting
    import time

    time.sleep(max(0.0, failed[0].not_before - time.time()) + 0.05)
    with Harvester(s) as harvester:
        crawler = Crawler(harvester, clock=harvester.clock)
        assert crawler.poll(outlet).queued == 1  # rested: discovery queues it again
    with SqliteCatalog(s.archive.dir / CATALOG_NAME, readonly=True) as catalog:
        again = catalog.frontier("pending")
    assert [(i.url, i.attempts) for i in again] == [(gone, 0)]
