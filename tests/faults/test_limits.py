"""Size, time and credentials: oversize bodies archived with WARC-Truncated or not at all (as
configured), bombs in codings we never offered, 30-hop redirect chains, peak memory near the
cap, and an outlet's credentials that never leave its origin nor reach the archive."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import with_fetch
from mockserver import DRIP, ENDLESS, MockServer, free_loopback_host
from pages import article_page, invented_story

from harvester.config import Outlet, Settings, load_settings
from harvester.errors import ConfigError
from harvester.models import Archived, Fetched, FetchFailed, FetchRequest, Refused
from harvester.net.fetch import REDACTED, HttpFetcher
from harvester.pipeline import Harvester
from harvester.warc.reader import iter_records

pytestmark = pytest.mark.faults


def warc_records(archive: Path) -> list[object]:
    return [r for p in sorted((archive / "warc").rglob("*.warc.gz")) for r in iter_records(p)]


def test_oversize_body_is_refused_and_not_archived_by_default(
    server: MockServer, settings: Settings
) -> None:
    server.route("/big", "x" * 5000)
    s = with_fetch(settings, max_page_bytes=1000)
    with Harvester(s) as harvester:
        outcome = harvester.harvest(FetchRequest(url=server.url("/big")))
    assert isinstance(outcome, Refused) and "larger than 1000 bytes" in outcome.reason
    assert not [r for r in warc_records(s.archive.dir) if r.type == "response"]  # type: ignore[attr-defined]


def test_oversize_body_is_archived_with_warc_truncated_when_configured(
    server: MockServer, settings: Settings
) -> None:
    title, paragraphs = invented_story(400)
    page = article_page(title=title, paragraphs=paragraphs * 20)
    server.route("/big", page)
    s = with_fetch(settings, max_page_bytes=4000, oversize="truncate")
    with Harvester(s) as harvester:
        outcome = harvester.harvest(FetchRequest(url=server.url("/big")))
    assert isinstance(outcome, Archived)
    (response,) = [r for r in warc_records(s.archive.dir) if r.type == "response"]  # type: ignore[attr-defined]
    assert response.header("WARC-Truncated") == "length"  # type: ignore[attr-defined]
    assert response.content == page.encode()[:4000]  # type: ignore[attr-defined]
    meta = [json.loads(r.content) for r in warc_records(s.archive.dir) if r.type == "metadata"]  # type: ignore[attr-defined]
    assert meta[0]["truncated"] == "length"


def test_a_drip_past_the_deadline_is_archived_truncated_by_time(
    server: MockServer, settings: Settings
) -> None:
    server.route("/drip", "abcdefghij" * 100, behaviour=DRIP, drip_interval=0.05)
    s = with_fetch(settings, deadline=0.5, oversize="truncate")
    with HttpFetcher(s.fetch) as fetcher:
        result = fetcher.fetch(server.url("/drip"))
    assert isinstance(result, Fetched)
    assert result.final.truncated == "time"
    assert 0 < len(result.final.body) < 1000
    with HttpFetcher(with_fetch(s, oversize="refuse").fetch) as fetcher:
        refused = fetcher.fetch(server.url("/drip"))
    assert isinstance(refused, FetchFailed) and "deadline" in refused.reason


def test_endless_body_truncated_at_the_cap(server: MockServer, settings: Settings) -> None:
    server.route("/endless", b"<html>", behaviour=ENDLESS)
    s = with_fetch(settings, max_page_bytes=200_000, oversize="truncate")
    with HttpFetcher(s.fetch) as fetcher:
        result = fetcher.fetch(server.url("/endless"))
    assert isinstance(result, Fetched)
    assert len(result.final.body) == 200_000 and result.final.truncated == "length"


def test_gzip_bomb_is_refused_even_in_truncate_mode(server: MockServer, settings: Settings) -> None:
    bomb = gzip.compress(b"\0" * 20_000_000)
    server.route("/bomb", bomb, headers=[("Content-Encoding", "gzip")])
    s = with_fetch(settings, max_page_bytes=1_000_000, oversize="truncate")
    with HttpFetcher(s.fetch) as fetcher:
        result = fetcher.fetch(server.url("/bomb"))
    assert isinstance(result, Refused) and "decodes to more than" in result.reason


@pytest.mark.parametrize("coding", ["br", "zstd"])
def test_codings_never_offered_are_not_decoded(
    server: MockServer, settings: Settings, coding: str
) -> None:
    # We offer only gzip and deflate: a server that sends brotli or zstd anyway gets its bytes
    # archived as they came (capped), never expanded, so no bomb can go off.
    server.route("/odd", b"\x1b\xff" * 1000, headers=[("Content-Encoding", coding)])
    with HttpFetcher(settings.fetch) as fetcher:
        result = fetcher.fetch(server.url("/odd"))
    assert isinstance(result, Fetched)
    assert (
        result.final.request_headers
        and dict(result.final.request_headers)["Accept-Encoding"] == "gzip, deflate"
    )
    assert result.final.content == result.final.body == b"\x1b\xff" * 1000


def test_a_30_hop_redirect_chain_stops_at_max_redirects(
    server: MockServer, settings: Settings
) -> None:
    for n in range(30):
        server.redirect(f"/hop/{n}", server.url(f"/hop/{n + 1}"))
    server.route("/hop/30", article_page())
    with HttpFetcher(settings.fetch) as fetcher:
        result = fetcher.fetch(server.url("/hop/0"))
    assert isinstance(result, FetchFailed) and "more than 10 redirects" in result.reason
    assert len(server.requests_for("/hop/11")) == 0  # never asked past the limit


def test_peak_memory_stays_near_the_cap(server: MockServer, settings: Settings) -> None:
    server.route("/endless", b"<html>", behaviour=ENDLESS)
    cap = 4_000_000
    s = with_fetch(settings, max_page_bytes=cap)
    with HttpFetcher(s.fetch) as fetcher:
        tracemalloc.start()
        try:
            result = fetcher.fetch(server.url("/endless"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert isinstance(result, Refused)
    assert peak < 3 * cap, f"peak {peak} bytes for a {cap}-byte cap"


def test_outlet_credentials_stay_with_their_origin_and_out_of_the_archive(
    settings: Settings,
) -> None:
    with (
        MockServer(free_loopback_host(3)) as own,
        MockServer(free_loopback_host(4)) as other,
    ):
        own.robots("User-agent: *\nAllow: /\n")
        other.robots("User-agent: *\nAllow: /\n")
        title, paragraphs = invented_story(401)
        own.route("/story", article_page(title=title, paragraphs=paragraphs))
        own.redirect("/moved", other.url("/story"))
        other.route("/story", article_page(title=title, paragraphs=paragraphs))
        outlet = Outlet(
            name="Paywalled",
            home=own.url("/"),
            headers=(("Authorization", "Bearer s3cret-t0ken"),),
            cookies=(("session", "c00kie-val"),),
        )
        s = replace(settings, outlets=(outlet,))
        with Harvester(s) as harvester:
            assert isinstance(harvester.harvest(FetchRequest(url=own.url("/story"))), Archived)
            harvester.harvest(FetchRequest(url=own.url("/moved")))
        seen_own = own.requests_for("/story")[0].headers
        assert seen_own["authorization"] == "Bearer s3cret-t0ken"
        assert seen_own["cookie"] == "session=c00kie-val"
        assert all("authorization" not in r.headers for r in other.requests)
        assert all("cookie" not in r.headers for r in other.requests)
    # never written anywhere in the archive: WARC records (decompressed) nor the catalog
    for path in s.archive.dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if path.name.endswith(".warc.gz"):
                data = gzip.decompress(data)
            assert b"s3cret-t0ken" not in data and b"c00kie-val" not in data, path
    requests = [r for r in warc_records(s.archive.dir) if r.type == "request"]  # type: ignore[attr-defined]
    assert any(REDACTED in str(r.http_headers) for r in requests)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('headers = { "Host" = "evil.example" }', "'Host' is not an allowed name"),
        ('headers = { "X-Key" = "a\\r\\nInjected: 1" }', "value must be one line"),
        ('headers = { "Bad Name" = "x" }', "'Bad Name' is not an allowed name"),
        ('cookies = { "s" = "v\\nx" }', "value must be one line"),
        ('headers = "Authorization: x"', "must be a table"),
    ],
)
def test_credential_config_is_validated(tmp_path: Path, table: str, message: str) -> None:
    config = tmp_path / "h.toml"
    config.write_text(
        f'[[outlets]]\nname = "A"\nhome = "https://a.example/"\n{table}\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=message):
        load_settings(config)


def test_oversize_setting_is_validated(tmp_path: Path) -> None:
    config = tmp_path / "h.toml"
    config.write_text('[fetch]\noversize = "sometimes"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="key 'oversize': must be one of refuse, truncate"):
        load_settings(config)
