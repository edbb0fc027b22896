"""The fetcher against local servers: limits, redirects, robots, the SSRF guard, decoding."""

from __future__ import annotations

import gzip
import time
from datetime import UTC, datetime

import httpx
import pytest
from conftest import with_fetch
from mockserver import (
    CHUNKED,
    DRIP,
    ENDLESS,
    GZIP,
    HANG,
    LYING_LENGTH,
    NO_LENGTH,
    MockServer,
    free_loopback_host,
)
from pages import article_page

from harvester.config import FetchSettings, Settings
from harvester.models import Fetched, FetchFailed, Refused
from harvester.net.fetch import HttpFetcher
from harvester.net.guard import AddressPolicy, is_public_address


def fetch(settings: Settings, url: str) -> Fetched | Refused | FetchFailed:
    with HttpFetcher(settings.fetch) as fetcher:
        return fetcher.fetch(url)


def test_fetches_page_with_headers_in_order(server: MockServer, settings: Settings) -> None:
    server.route("/a", article_page(), headers=[("X-First", "1"), ("X-Second", "2")])
    result = fetch(settings, server.url("/a"))
    assert isinstance(result, Fetched)
    final = result.final
    assert final.status == 200
    assert b"Harbour authority" in final.content
    names = [k.lower() for k, _ in final.response_headers]
    assert names.index("x-first") < names.index("x-second")
    sent = dict((k.lower(), v) for k, v in final.request_headers)
    assert sent["user-agent"] == settings.fetch.user_agent
    assert final.peer_ip == "127.0.0.2"
    agents = {r.headers["user-agent"] for r in server.requests}
    assert agents == {settings.fetch.user_agent}


def test_gzip_body_kept_as_transferred_and_decoded(server: MockServer, settings: Settings) -> None:
    server.route("/z", article_page(), behaviour=GZIP)
    result = fetch(settings, server.url("/z"))
    assert isinstance(result, Fetched)
    assert gzip.decompress(result.final.body) == result.final.content
    assert result.final.content.startswith(b"<!DOCTYPE html>")


@pytest.mark.parametrize("behaviour", [CHUNKED, NO_LENGTH])
def test_bodies_without_length_read_completely(
    server: MockServer, settings: Settings, behaviour: str
) -> None:
    page = article_page()
    server.route("/c", page, behaviour=behaviour)
    result = fetch(settings, server.url("/c"))
    assert isinstance(result, Fetched)
    assert result.final.content == page.encode()


def test_redirect_chain_recorded_hop_by_hop(server: MockServer, settings: Settings) -> None:
    server.redirect("/old", "/newer", status=301)
    server.redirect("/newer", server.url("/final"), status=302)
    server.route("/final", article_page())
    result = fetch(settings, server.url("/old"))
    assert isinstance(result, Fetched)
    assert [e.status for e in result.chain] == [301, 302, 200]
    assert result.final.url == server.url("/final")


def test_redirect_loop_fails(server: MockServer, settings: Settings) -> None:
    server.redirect("/a", "/b")
    server.redirect("/b", "/a")
    result = fetch(settings, server.url("/a"))
    assert isinstance(result, FetchFailed)
    assert "redirect loop" in result.reason


def test_more_than_ten_redirects_fail(server: MockServer, settings: Settings) -> None:
    for i in range(12):
        server.redirect(f"/r{i}", f"/r{i + 1}")
    server.route("/r12", article_page())
    result = fetch(settings, server.url("/r0"))
    assert isinstance(result, FetchFailed)
    assert "more than 10 redirects" in result.reason
    assert len(result.chain) == 11
    assert not server.requests_for("/r12")


def test_ten_redirects_are_followed(server: MockServer, settings: Settings) -> None:
    for i in range(10):
        server.redirect(f"/r{i}", f"/r{i + 1}")
    server.route("/r10", article_page())
    result = fetch(settings, server.url("/r0"))
    assert isinstance(result, Fetched)
    assert result.final.status == 200


def test_declared_length_over_cap_refused(server: MockServer, settings: Settings) -> None:
    server.route("/big", b"x" * 5000)
    result = fetch(with_fetch(settings, max_page_bytes=1000), server.url("/big"))
    assert isinstance(result, Refused)
    assert "larger than 1000 bytes" in result.reason


def test_endless_chunked_body_refused_at_cap(server: MockServer, settings: Settings) -> None:
    server.route("/endless", b"<html>", behaviour=ENDLESS)
    result = fetch(with_fetch(settings, max_page_bytes=300_000), server.url("/endless"))
    assert isinstance(result, Refused)
    assert "larger than 300000 bytes" in result.reason


def test_gzip_bomb_refused_on_decoded_size(server: MockServer, settings: Settings) -> None:
    bomb = gzip.compress(b"\0" * 5_000_000)
    server.route("/bomb", bomb, headers=[("Content-Encoding", "gzip")])
    assert len(bomb) < 100_000
    result = fetch(with_fetch(settings, max_page_bytes=1_000_000), server.url("/bomb"))
    assert isinstance(result, Refused)


def test_drip_hits_overall_deadline(server: MockServer, settings: Settings) -> None:
    server.route("/drip", b"x" * 500, behaviour=DRIP, drip_interval=0.05)
    result = fetch(with_fetch(settings, deadline=0.3, timeout=2.0), server.url("/drip"))
    assert isinstance(result, FetchFailed)
    assert "deadline" in result.reason


def test_silent_server_times_out(server: MockServer, settings: Settings) -> None:
    server.route("/hang", behaviour=HANG)
    result = fetch(with_fetch(settings, timeout=0.3), server.url("/hang"))
    assert isinstance(result, FetchFailed)
    assert "timeout" in result.reason


def test_lying_content_length_is_a_failure(server: MockServer, settings: Settings) -> None:
    server.route("/lie", b"short body", behaviour=LYING_LENGTH)
    result = fetch(settings, server.url("/lie"))
    assert isinstance(result, FetchFailed)


def test_connection_refused_is_a_failure(settings: Settings) -> None:
    with MockServer(free_loopback_host(3)) as srv:
        url = srv.url("/gone")
    result = fetch(settings, url)
    assert isinstance(result, FetchFailed)
    assert "robots.txt unreachable" in result.reason


def test_loopback_refused_without_permission(server: MockServer, settings: Settings) -> None:
    server.route("/a", article_page())
    locked = with_fetch(settings, allow_hosts=())
    result = fetch(locked, server.url("/a"))
    assert isinstance(result, Refused)
    assert "non-public address 127.0.0.2" in result.reason
    assert server.requests == []


def test_allow_private_networks_permits_loopback(server: MockServer, settings: Settings) -> None:
    server.route("/a", article_page())
    opened = with_fetch(settings, allow_hosts=(), allow_private_networks=True)
    assert isinstance(fetch(opened, server.url("/a")), Fetched)


def test_redirect_to_private_host_refused(server: MockServer, settings: Settings) -> None:
    # 127.0.0.2 is allowed, 127.0.0.3 is not: the second hop must be refused, not fetched.
    with MockServer(free_loopback_host(3)) as other:
        other.route("/secret", "internal")
        server.redirect("/hop", other.url("/secret"))
        only_two = with_fetch(settings, allow_hosts=("127.0.0.2",))
        result = fetch(only_two, server.url("/hop"))
        assert isinstance(result, Refused)
        assert other.requests == []
        assert [e.status for e in result.chain] == [302]


def test_robots_disallow_is_never_requested(server: MockServer, settings: Settings) -> None:
    server.route("/private/page", article_page())
    result = fetch(settings, server.url("/private/page"))
    assert isinstance(result, Refused)
    assert "robots.txt" in result.reason
    assert server.requests_for("/private/page") == []
    assert len(server.requests_for("/robots.txt")) == 1


def test_robots_fetched_once_per_host(server: MockServer, settings: Settings) -> None:
    server.route("/a", article_page())
    server.route("/b", article_page())
    with HttpFetcher(settings.fetch) as fetcher:
        fetcher.fetch(server.url("/a"))
        fetcher.fetch(server.url("/b"))
    assert len(server.requests_for("/robots.txt")) == 1


class SkippingClock:
    """Real time, but monotonic time can be moved forward (cache expiry tests)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def test_robots_5xx_means_disallow_for_a_while(settings: Settings) -> None:
    from harvester.net import fetch as fetch_module

    with MockServer(free_loopback_host(4)) as srv:
        srv.route("/robots.txt", "down", status=503)
        srv.route("/a", article_page())
        clock = SkippingClock()
        with HttpFetcher(settings.fetch, clock=clock) as fetcher:
            result = fetcher.fetch(srv.url("/a"))
            # not fetched, and a transient failure (the daemon retries it), not a refusal
            assert isinstance(result, FetchFailed)
            assert "unavailable (HTTP 503): everything disallowed for now" in result.reason
            assert isinstance(fetcher.fetch(srv.url("/a")), FetchFailed)
            assert len(srv.requests_for("/robots.txt")) == 1  # cached ...
            srv.route("/robots.txt", "User-agent: *\nAllow: /\n")
            clock.advance(fetch_module.ROBOTS_ERROR_TTL + 1)  # ... for a while
            assert isinstance(fetcher.fetch(srv.url("/a")), Fetched)
        assert len(srv.requests_for("/robots.txt")) == 2
        assert len(srv.requests_for("/a")) == 1


def test_robots_txt_is_fetched_again_after_a_day(settings: Settings) -> None:
    from harvester.net import fetch as fetch_module

    with MockServer(free_loopback_host(4)) as srv:
        srv.robots("User-agent: *\nAllow: /\n")
        srv.route("/a", article_page())
        clock = SkippingClock()
        with HttpFetcher(settings.fetch, clock=clock) as fetcher:
            fetcher.fetch(srv.url("/a"))
            clock.advance(fetch_module.ROBOTS_TTL - 1)
            fetcher.fetch(srv.url("/a"))
            assert len(srv.requests_for("/robots.txt")) == 1
            srv.robots("User-agent: *\nDisallow: /\n")
            clock.advance(2)
            assert isinstance(fetcher.fetch(srv.url("/a")), Refused)
        assert len(srv.requests_for("/robots.txt")) == 2


def test_robots_404_means_allow(settings: Settings) -> None:
    with MockServer(free_loopback_host(4)) as srv:
        srv.route("/a", article_page())
        assert isinstance(fetch(settings, srv.url("/a")), Fetched)


def test_respect_robots_false_skips_robots(server: MockServer, settings: Settings) -> None:
    server.route("/private/page", article_page())
    result = fetch(with_fetch(settings, respect_robots=False), server.url("/private/page"))
    assert isinstance(result, Fetched)
    assert server.requests_for("/robots.txt") == []


def test_per_host_delay_waits_between_requests(server: MockServer, settings: Settings) -> None:
    server.route("/a", article_page())
    slept: list[float] = []
    delayed = with_fetch(settings, per_host_delay=5.0)
    with HttpFetcher(delayed.fetch, sleep=slept.append) as fetcher:
        fetcher.fetch(server.url("/a"))
        fetcher.fetch(server.url("/a"))
    # robots.txt, /a, /a: the second and third requests each waited for the delay
    assert len(slept) == 2
    assert all(0 < s <= 5.0 for s in slept)


def test_non_http_scheme_refused(settings: Settings) -> None:
    assert isinstance(fetch(settings, "ftp://127.0.0.2/file"), Refused)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),  # noqa: S104 (an address under test, not a bind)
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("2001:4860:4860::8888", True),
        ("224.0.0.1", False),
    ],
)
def test_public_address_classification(address: str, public: bool) -> None:
    import ipaddress

    assert is_public_address(ipaddress.ip_address(address)) is public


def test_address_policy_allow_hosts() -> None:
    policy = AddressPolicy(allow_hosts=("intranet.example",))
    assert policy.check("intranet.example", ["10.0.0.5"]) == ["10.0.0.5"]
    from harvester.errors import RefusedError

    with pytest.raises(RefusedError, match=r"non-public address 10\.0\.0\.5"):
        policy.check("other.example", ["10.0.0.5"])
    # mixed answers keep only the public addresses
    assert policy.check("mixed.example", ["10.0.0.5", "93.184.216.34"]) == ["93.184.216.34"]


def test_mock_transport_seam() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        return httpx.Response(200, html="<html><body>ok</body></html>")

    settings = FetchSettings(per_host_delay=0.0)
    with HttpFetcher(settings, transport=httpx.MockTransport(handler)) as fetcher:
        result = fetcher.fetch("https://news.example/story")
    assert isinstance(result, Fetched)
    assert result.final.content == b"<html><body>ok</body></html>"


def test_503_then_200_is_retried_after_the_servers_wait(
    server: MockServer, settings: Settings
) -> None:
    from mockserver import FAIL_THEN_OK

    server.route("/busy", article_page(), behaviour=FAIL_THEN_OK, fail_times=1, retry_after="2")
    slept: list[float] = []
    with HttpFetcher(settings.fetch, sleep=slept.append) as fetcher:
        result = fetcher.fetch(server.url("/busy"))
    assert isinstance(result, Fetched)
    assert result.final.status == 200
    assert len(server.requests_for("/busy")) == 2
    assert 2.0 in slept


def test_long_retry_after_pauses_that_host_only(server: MockServer, settings: Settings) -> None:
    from mockserver import FAIL_THEN_OK

    server.route(
        "/later", article_page(), behaviour=FAIL_THEN_OK, fail_times=5, fail_status=429,
        retry_after="600",
    )  # fmt: skip
    with MockServer(free_loopback_host(3)) as other:
        other.route("/fine", article_page())
        with HttpFetcher(settings.fetch, sleep=lambda s: None) as fetcher:
            first = fetcher.fetch(server.url("/later"))
            assert isinstance(first, Fetched) and first.final.status == 429
            second = fetcher.fetch(server.url("/later"))
            assert isinstance(second, FetchFailed) and "Retry-After" in second.reason
            assert isinstance(fetcher.fetch(other.url("/fine")), Fetched)
    assert len(server.requests_for("/later")) == 1


def test_retry_after_http_date() -> None:
    from datetime import UTC, datetime

    from harvester.net.fetch import _retry_after

    now = datetime(2026, 3, 3, 9, 0, 0, tzinfo=UTC)
    assert _retry_after("Tue, 03 Mar 2026 09:00:30 GMT", now) == 30.0
    assert _retry_after("120", now) == 120.0
    assert _retry_after("soon", now) is None
    assert _retry_after("Tue, 03 Mar 2026 08:00:00 GMT", now) == 0.0


def test_crawl_delay_is_honoured_up_to_a_cap(settings: Settings) -> None:
    with MockServer(free_loopback_host(6)) as srv:
        srv.robots("User-agent: *\nCrawl-delay: 4\n")
        srv.route("/a", article_page())
        slept: list[float] = []
        with HttpFetcher(settings.fetch, sleep=slept.append) as fetcher:
            fetcher.fetch(srv.url("/a"))
            fetcher.fetch(srv.url("/a"))
        assert slept and 3.0 < max(slept) <= 4.0
    with MockServer(free_loopback_host(7)) as srv:
        srv.robots("User-agent: *\nCrawl-delay: 3600\n")
        srv.route("/a", article_page())
        slept = []
        with HttpFetcher(settings.fetch, sleep=slept.append) as fetcher:
            fetcher.fetch(srv.url("/a"))
            fetcher.fetch(srv.url("/a"))
        assert slept and max(slept) <= 30.0


class ManualClock:
    """Time that moves only when the test says so."""

    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)

    def monotonic(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class CountingLedger:
    """A fleet ledger in memory that counts its round trips (one writer, no waits)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.held: dict[str, str] = {}  # token -> netloc
        self.delays: list[float] = []

    def host_acquire(
        self, netloc: str, owner: str, *, slots: int, hold: float
    ) -> tuple[str | None, float]:
        self.calls.append("acquire")
        if sum(n == netloc for n in self.held.values()) >= slots:
            return None, 0.05
        token = f"t{len(self.calls)}"
        self.held[token] = netloc
        return token, 0.0

    def host_release(self, token: str, netloc: str, *, delay: float) -> None:
        self.calls.append("release")
        self.delays.append(delay)
        del self.held[token]

    def host_pause(self, netloc: str, seconds: float) -> None:
        self.calls.append("pause")

    def robots_lookup(self, origin: str, owner: str, *, hold: float) -> None:
        return None

    def robots_store(self, origin: str, *, status: int, body: bytes, ttl: float) -> None:
        pass


def _ok(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/robots.txt":
        return httpx.Response(404)
    if request.url.path == "/busy":
        return httpx.Response(503, headers={"Retry-After": "600"})
    return httpx.Response(200, html="<html><body>ok</body></html>")


def test_one_slot_per_host_is_kept_between_this_writers_requests() -> None:
    """per_host_connections = 1: the writer holding a host's fleet slot keeps it for its next
    requests there (no catalog round trips) until FLEET_KEEP has passed, then gives it back
    with the delay still owed, and takes a new one."""
    from harvester.net.fetch import FLEET_KEEP

    clock = ManualClock()
    ledger = CountingLedger()
    settings = FetchSettings(per_host_delay=0.5)
    with HttpFetcher(
        settings, clock=clock, sleep=lambda s: None, transport=httpx.MockTransport(_ok),
        fleet=ledger, owner="w1",
    ) as fetcher:  # fmt: skip
        fetcher.keep_fleet_slots = True  # (the daemon, whose lease loop gives idle ones back)
        for n in range(5):
            assert isinstance(fetcher.fetch(f"https://news.example/{n}"), Fetched)
        assert ledger.calls == ["acquire"]  # robots.txt and five pages in one slot
        assert isinstance(fetcher.fetch("https://other.example/a"), Fetched)
        assert ledger.calls == ["acquire", "acquire"]  # another host: a slot of its own
        clock.advance(FLEET_KEEP)
        fetcher.release_idle()  # (the daemon's lease loop)
        assert ledger.calls == ["acquire", "acquire", "release", "release"]
        assert ledger.held == {}
        assert isinstance(fetcher.fetch("https://news.example/again"), Fetched)
        assert ledger.calls[-1] == "acquire"
    assert ledger.calls[-1] == "release"  # closing gives back what is kept
    assert ledger.held == {}


def test_a_kept_slot_is_given_back_with_the_delay_owed_and_on_a_pause() -> None:
    clock = ManualClock()
    ledger = CountingLedger()
    settings = FetchSettings(per_host_delay=0.5)
    with HttpFetcher(
        settings, clock=clock, sleep=lambda s: None, transport=httpx.MockTransport(_ok),
        fleet=ledger, owner="w1",
    ) as fetcher:  # fmt: skip
        fetcher.keep_fleet_slots = True
        assert isinstance(fetcher.fetch("https://news.example/a"), Fetched)
        clock.advance(1.0)  # the host rests longer than its delay + FLEET_LINGER
        fetcher.release_idle()
        assert ledger.calls == ["acquire", "release"]
        assert ledger.delays == [0.0]  # the delay has passed meanwhile
        busy = fetcher.fetch("https://news.example/busy")  # a long Retry-After
        assert isinstance(busy, Fetched) and busy.final.status == 503
        assert ledger.calls[-3:] == ["acquire", "pause", "release"]  # not kept: the host rests
        assert ledger.held == {}


def test_a_fetcher_that_gives_nothing_back_on_its_own_keeps_no_slot() -> None:
    """A one-off fetch or an embedded Harvester has no loop giving idle slots back: each
    request returns its slot, so another writer (a daemon, a second fetch) is not held up."""
    ledger = CountingLedger()
    with HttpFetcher(
        FetchSettings(per_host_delay=0.0), clock=ManualClock(), sleep=lambda s: None,
        transport=httpx.MockTransport(_ok), fleet=ledger, owner="w1",
    ) as fetcher:  # fmt: skip
        for n in range(2):
            assert isinstance(fetcher.fetch(f"https://news.example/{n}"), Fetched)
            assert ledger.held == {}
    assert ledger.calls == ["acquire", "release"] * 3  # robots.txt and two pages


def test_several_slots_per_host_go_to_the_catalog_every_request() -> None:
    """With more than one slot per host other writers may be asking it too: the fleet-wide
    delay needs the catalog at every request."""
    ledger = CountingLedger()
    settings = FetchSettings(per_host_delay=0.0, per_host_connections=2)
    with HttpFetcher(
        settings, clock=ManualClock(), sleep=lambda s: None,
        transport=httpx.MockTransport(_ok), fleet=ledger, owner="w1",
    ) as fetcher:  # fmt: skip
        for n in range(3):
            assert isinstance(fetcher.fetch(f"https://news.example/{n}"), Fetched)
    assert ledger.calls == ["acquire", "release"] * 4  # robots.txt and three pages


def test_origin_pools_share_one_ssl_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pool per origin must not load the CA bundle again (about 20 ms of CPU a pool: a
    300-outlet crawl spent 4 ms a page on it)."""
    import ssl

    from harvester.net.pools import OriginPools

    pools = OriginPools(AddressPolicy(), idle_close=100.0, monotonic=ManualClock().monotonic)
    loads = []
    original = ssl.SSLContext.load_verify_locations

    def counting(self: ssl.SSLContext, *args: object, **kwargs: object) -> None:
        loads.append(args)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    made = [pools._new_pool() for _ in range(5)]
    assert loads == []
    assert {id(t._pool._ssl_context) for t in made} == {id(pools._ssl)}  # type: ignore[attr-defined]
    pools.close()


def test_each_origin_has_a_pool_of_its_own_and_idle_pools_close(server: MockServer) -> None:
    from harvester.net.pools import _SWEEP_EVERY, OriginPools

    clock = ManualClock()
    pools = OriginPools(
        AddressPolicy(allow_private_networks=True), idle_close=100.0, monotonic=clock.monotonic
    )
    server.route("/a", "a")
    with MockServer(free_loopback_host(4)) as other:
        other.route("/b", "b")
        with httpx.Client(transport=pools) as client:
            assert client.get(server.url("/a")).text == "a"
            assert client.get(other.url("/b")).text == "b"
            assert len(pools._pools) == 2
            clock.advance(101.0)
            for _ in range(_SWEEP_EVERY - 3):
                assert client.get(other.url("/b")).status_code == 200
            assert len(pools._pools) == 2  # no sweep yet
            assert client.get(other.url("/b")).status_code == 200  # the sweep: server's pool goes
            assert len(pools._pools) == 1
            assert client.get(server.url("/a")).text == "a"  # and comes back when asked
        with pytest.raises(httpx.ConnectError):
            pools.handle_request(httpx.Request("GET", server.url("/a")))
