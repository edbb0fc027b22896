"""SSRF: every hop (robots.txt, the article, each redirect) is checked on the address connected.

End to end through ``HttpFetcher`` and, where "nothing archived" matters, through
``Harvester.harvest``. Nothing here reaches the internet: the ``net`` fixture replaces the
resolver (``socket.getaddrinfo``) with a scripted one for test names and NXDOMAIN for every other
name, and wraps the socket opener under the guard (``httpcore.SyncBackend.connect_tcp``) as a
tripwire that records every address the guard connects to and only lets connections to 127/8
through (``PUBLIC`` stands for a public server and is played by a local MockServer).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpcore
import pytest
from conftest import with_fetch
from mockserver import MockServer, free_loopback_host
from pages import article_page

from harvester.config import Settings
from harvester.errors import RefusedError
from harvester.models import Archived, Fetched, FetchRequest, FetchResult, Refused
from harvester.net.fetch import HttpFetcher
from harvester.net.guard import AddressPolicy, GuardedBackend
from harvester.pipeline import Harvester, Outcome
from harvester.warc.reader import iter_records

pytestmark = pytest.mark.faults

PUBLIC = "93.184.216.34"  # a public address; the tripwire hands its connections to a local server
ROBOTS_OK = "User-agent: *\nAllow: /\n"
GUARD_LOGGER = "harvester.net.guard"


# -- the scripted network -----------------------------------------------------------------------


@dataclass
class Net:
    """The resolver and socket opener under the guard, scripted and recorded."""

    # name -> successive DNS answers; the last answer repeats
    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    # public address -> the loopback address of the MockServer that plays it
    plays: dict[str, str] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)  # names resolved (IP literals are not)
    connected: list[str] = field(default_factory=list)  # addresses the guard opened sockets on

    def resolve(self, name: str, *answers: list[str]) -> None:
        self.answers[name] = [list(a) for a in answers]


@pytest.fixture
def net(monkeypatch: pytest.MonkeyPatch) -> Net:
    state = Net()
    real_getaddrinfo = socket.getaddrinfo
    real_connect = httpcore.SyncBackend.connect_tcp

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        try:
            ipaddress.ip_address(name)
        except ValueError:
            pass
        else:  # a numeric address: no DNS involved
            return real_getaddrinfo(host, port, *args, **kwargs)
        state.lookups.append(name)
        script = state.answers.get(name)
        if not script:
            raise socket.gaierror(socket.EAI_NONAME, f"{name}: not in the test resolver")
        answer = script.pop(0) if len(script) > 1 else script[0]
        out: list[Any] = []
        for address in answer:
            if ":" in address:
                out.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                out.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return out

    def connect_tcp(  # noqa: PLR0917 (httpcore.SyncBackend.connect_tcp's signature)
        self: httpcore.SyncBackend,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        state.connected.append(host)
        target = state.plays.get(host, host)
        try:
            local = ipaddress.ip_address(target) in ipaddress.ip_network("127.0.0.0/8")
        except ValueError:
            local = False
        if not local:
            raise httpcore.ConnectError(f"tripwire: the test network does not reach {host}")
        return real_connect(self, target, port, timeout, local_address, socket_options)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", connect_tcp)
    return state


@pytest.fixture
def locked(settings: Settings) -> Settings:
    """No allow_hosts, no private networks: only public addresses may be fetched."""
    return with_fetch(settings, allow_hosts=(), allow_private_networks=False)


@pytest.fixture
def s3() -> Iterator[MockServer]:
    """A newsroom on 127.0.0.3."""
    with MockServer(free_loopback_host(3)) as srv:
        srv.robots(ROBOTS_OK)
        srv.route("/story", article_page())
        yield srv


@pytest.fixture
def s4() -> Iterator[MockServer]:
    """An internal service on 127.0.0.4 that must never be asked anything."""
    with MockServer(free_loopback_host(4)) as srv:
        srv.robots(ROBOTS_OK)
        srv.route("/secret", "internal")
        yield srv


def fetch(settings: Settings, url: str) -> FetchResult:
    with HttpFetcher(settings.fetch) as fetcher:
        return fetcher.fetch(url)


def harvest(settings: Settings, url: str) -> tuple[Outcome, set[str]]:
    """Harvest ``url``; the outcome and the URLs the catalog holds a capture for among ``url``
    and every hop of the outcome's chain."""
    with Harvester(settings) as harvester:
        outcome = harvester.harvest(FetchRequest(url=url))
        chain = getattr(outcome, "chain", ())
        urls = {url, *(e.url for e in chain)}
        captured = {u for u in urls if harvester.store.catalog.latest_capture(u) is not None}
    return outcome, captured


def warc_targets(root: Path) -> set[str]:
    """WARC-Target-URI of every response/revisit record in the archive (writer closed)."""
    targets: set[str] = set()
    for path in sorted((root / "warc").rglob("*.warc.gz")):
        for record in iter_records(path):
            if record.type in ("response", "revisit"):
                targets.add(record.header("WARC-Target-URI") or "")
    return targets


def assert_refused(result: FetchResult | Outcome, *why: str) -> str:
    assert isinstance(result, Refused), result
    for part in why:
        assert part in result.reason, result.reason
    return result.reason


def guard_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == GUARD_LOGGER and r.levelno >= logging.WARNING
    ]


# -- literal addresses: refused before any connection ---------------------------------------------


def refused_literal(
    settings: Settings, net: Net, url: str, *why: str, server: MockServer | None = None
) -> str:
    reason = assert_refused(fetch(settings, url), *why)
    assert net.connected == [], "the guard opened a socket"
    assert net.lookups == [], "an IP literal went to the resolver"
    if server is not None:
        assert server.requests == []
    return reason


def test_loopback_literal_refused(
    server: MockServer, locked: Settings, net: Net, caplog: pytest.LogCaptureFixture
) -> None:
    server.route("/a", article_page())
    with caplog.at_level(logging.WARNING, logger=GUARD_LOGGER):
        refused_literal(
            locked, net, server.url("/a"), "non-public address 127.0.0.2 (loopback)", server=server
        )
    assert any("127.0.0.2" in m for m in guard_warnings(caplog))


@pytest.mark.parametrize("host", ["0.0.0.0", "0"])  # noqa: S104 (addresses under test)
def test_unspecified_address_refused(
    server: MockServer, locked: Settings, net: Net, host: str
) -> None:
    # Linux delivers a connection to 0.0.0.0 to the local host.
    url = f"http://{host}:{server.port}/a"
    refused_literal(locked, net, url, "non-public address 0.0.0.0", server=server)


def test_ipv6_loopback_refused(locked: Settings, net: Net) -> None:
    refused_literal(locked, net, "http://[::1]:8080/a", "non-public address ::1 (loopback)")


def test_ipv6_link_local_refused(locked: Settings, net: Net) -> None:
    refused_literal(locked, net, "http://[fe80::1]/a", "non-public address fe80::1 (link-local)")


def test_cloud_metadata_address_refused(locked: Settings, net: Net) -> None:
    refused_literal(
        locked,
        net,
        "http://169.254.169.254/latest/meta-data/",
        "non-public address 169.254.169.254 (link-local",
    )


@pytest.mark.parametrize("address", ["10.0.0.1", "172.16.0.1", "172.31.255.254", "192.168.1.1"])
def test_private_ranges_refused(locked: Settings, net: Net, address: str) -> None:
    refused_literal(locked, net, f"http://{address}/a", f"non-public address {address} (private)")


def test_cgnat_refused(locked: Settings, net: Net) -> None:
    refused_literal(
        locked, net, "http://100.64.0.1/a", "non-public address 100.64.0.1 (carrier-grade NAT)"
    )


@pytest.mark.parametrize("address", ["fc00::1", "fd12:3456:789a::1"])
def test_unique_local_ipv6_refused(locked: Settings, net: Net, address: str) -> None:
    refused_literal(locked, net, f"http://[{address}]/a", f"{address} (unique-local)")


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("::ffff:127.0.0.2", "IPv4-mapped of 127.0.0.2: loopback"),
        ("::ffff:7f00:2", "IPv4-mapped of 127.0.0.2: loopback"),
        ("::ffff:10.0.0.1", "IPv4-mapped of 10.0.0.1: private"),
        ("::ffff:169.254.169.254", "IPv4-mapped of 169.254.169.254: link-local"),
    ],
)
def test_ipv4_mapped_ipv6_refused(
    server: MockServer, settings: Settings, net: Net, address: str, why: str
) -> None:
    # 127.0.0.2 is in allow_hosts by name; its IPv4-mapped spelling is not (and on Linux an
    # AF_INET6 socket to ::ffff:127.0.0.2 would reach the server).
    server.route("/a", article_page())
    url = f"http://[{address}]:{server.port}/a"
    refused_literal(settings, net, url, why, server=server)


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("64:ff9b::7f00:2", "NAT64 of 127.0.0.2: loopback"),
        ("64:ff9b::127.0.0.2", "NAT64 of 127.0.0.2: loopback"),
        ("64:ff9b::a00:1", "NAT64 of 10.0.0.1: private"),
        ("64:ff9b::a9fe:a9fe", "NAT64 of 169.254.169.254: link-local"),
        ("64:ff9b:1::a00:1", "local-use NAT64"),
    ],
)
def test_nat64_of_private_ipv4_refused(
    server: MockServer, settings: Settings, net: Net, address: str, why: str
) -> None:
    url = f"http://[{address}]:{server.port}/a"
    refused_literal(settings, net, url, why, server=server)


def test_nat64_of_public_ipv4_allowed_by_the_policy() -> None:
    # On an IPv6-only network with DNS64 every public site resolves to 64:ff9b::/96.
    policy = AddressPolicy()
    assert policy.check("news.example", ["64:ff9b::5db8:d822"]) == ["64:ff9b::5db8:d822"]


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("2002:7f00:2::1", "6to4 of 127.0.0.2: loopback"),
        ("2002:a00:1::1", "6to4 of 10.0.0.1: private"),
        ("::127.0.0.2", "reserved"),  # IPv4-compatible (deprecated)
        ("2001::1", "Teredo"),
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
    ],
)
def test_other_ipv6_forms_of_private_addresses_refused(
    locked: Settings, net: Net, address: str, why: str
) -> None:
    refused_literal(locked, net, f"http://[{address}]/a", why)


@pytest.mark.parametrize("host", ["2130706434", "0x7f000002", "017700000002"])
def test_decimal_ip_spelling_refused(
    server: MockServer, settings: Settings, net: Net, host: str
) -> None:
    # One number for the whole address (decimal, hex, octal): 127.0.0.2, which is in allow_hosts
    # as "127.0.0.2" -- another spelling is not.
    server.route("/a", article_page())
    url = f"http://{host}:{server.port}/a"
    refused_literal(settings, net, url, "non-public address 127.0.0.2 (loopback)", server=server)


DOTTED_QUADS_HTTPX_REJECTS = ["0177.0.0.2", "0177.00.0.2", "127.0.0.256"]


@pytest.mark.parametrize("host", ["0177.0.2", "0177.0.0x2", "0177.2"])
def test_octal_ip_spelling_refused(
    server: MockServer, settings: Settings, net: Net, host: str
) -> None:
    server.route("/a", article_page())
    url = f"http://{host}:{server.port}/a"
    refused_literal(settings, net, url, "non-public address 127.0.0.2 (loopback)", server=server)


@pytest.mark.parametrize("host", DOTTED_QUADS_HTTPX_REJECTS)
def test_octal_dotted_quad_is_never_requested(
    server: MockServer, settings: Settings, net: Net, host: str
) -> None:
    # httpx itself rejects a four-part dotted quad that is not canonical ("Invalid IPv4
    # address") before the guard sees it: nothing is connected or resolved (and the outcome is
    # a refusal, see test_octal_dotted_quad_is_a_refusal).
    server.route("/a", article_page())
    result = fetch(settings, f"http://{host}:{server.port}/a")
    assert not isinstance(result, Fetched)
    assert host in result.reason
    assert net.connected == [] and net.lookups == [] and server.requests == []


@pytest.mark.parametrize("host", DOTTED_QUADS_HTTPX_REJECTS)
def test_octal_dotted_quad_is_a_refusal(
    server: MockServer, settings: Settings, net: Net, host: str
) -> None:
    result = fetch(settings, f"http://{host}:{server.port}/a")
    assert isinstance(result, Refused), result


@pytest.mark.parametrize("host", ["0x7f.0.0.2", "0X7F.0x0.0.0x2", "0x7f.0x2"])
def test_hex_ip_spelling_refused(
    server: MockServer, settings: Settings, net: Net, host: str
) -> None:
    server.route("/a", article_page())
    url = f"http://{host}:{server.port}/a"
    refused_literal(settings, net, url, "non-public address 127.0.0.2 (loopback)", server=server)


@pytest.mark.parametrize("host", ["127.2", "127.0.2", "127.0.0.2."])
def test_short_and_trailing_dot_ip_spellings_refused(
    server: MockServer, settings: Settings, net: Net, host: str
) -> None:
    server.route("/a", article_page())
    url = f"http://{host}:{server.port}/a"
    refused_literal(settings, net, url, "non-public address 127.0.0.2 (loopback)", server=server)


@pytest.mark.parametrize("host", ["1.2.3.4.5", "0x7g.1", "127.0.65536", "4294967296"])
def test_malformed_numeric_host_refused_without_dns(locked: Settings, net: Net, host: str) -> None:
    refused_literal(locked, net, f"http://{host}/a", "not a valid IPv4 address")


# -- names: checked on the DNS answer the socket uses -------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [["127.0.0.2"], ["10.0.0.1"], ["169.254.169.254"], ["::1"], ["fd00::1"], ["::ffff:127.0.0.2"]],
)
def test_hostname_resolving_to_private_address_refused(
    server: MockServer, locked: Settings, net: Net, answer: list[str]
) -> None:
    server.route("/a", article_page())
    net.resolve("evil.example", answer)
    result = fetch(locked, f"http://evil.example:{server.port}/a")
    assert_refused(result, f"evil.example resolves to non-public address {answer[0]}")
    assert net.lookups == ["evil.example"]
    assert net.connected == []
    assert server.requests == []


def test_localhost_name_refused(locked: Settings, net: Net) -> None:
    net.resolve("localhost", ["127.0.0.1", "::1"])
    assert_refused(fetch(locked, "http://localhost:8080/a"), "non-public address 127.0.0.1")
    assert net.connected == []


def test_mixed_dns_answer_connects_to_the_public_address_only(
    server: MockServer, locked: Settings, net: Net
) -> None:
    server.route("/a", article_page())
    net.plays[PUBLIC] = server.host
    net.resolve("news.example", ["10.0.0.1", "127.0.0.2", PUBLIC])
    result = fetch(locked, f"http://news.example:{server.port}/a")
    assert isinstance(result, Fetched), result
    assert set(net.connected) == {PUBLIC}
    assert [r.path for r in server.requests] == ["/robots.txt", "/a"]


def test_dns_rebinding_public_then_private_refused_on_the_new_answer(
    locked: Settings, net: Net, caplog: pytest.LogCaptureFixture
) -> None:
    # The first answer is public (robots.txt is fetched); the server closes that connection, so
    # the article needs a new one, whose lookup answers 127.0.0.4. The refusal must come from
    # that fresh answer, not from the earlier (public) one.
    with MockServer(free_loopback_host(2)) as public, MockServer(free_loopback_host(4)) as inner:
        public.route("/robots.txt", ROBOTS_OK, headers=[("Connection", "close")])
        public.route("/a", article_page())
        inner.route("/a", "internal")
        net.plays[PUBLIC] = public.host
        net.resolve("rebind.example", [PUBLIC], ["127.0.0.4"])
        with caplog.at_level(logging.WARNING, logger=GUARD_LOGGER):
            result = fetch(locked, f"http://rebind.example:{public.port}/a")
        assert_refused(result, "rebind.example resolves to non-public address 127.0.0.4")
        assert net.lookups == ["rebind.example", "rebind.example"]
        assert net.connected == [PUBLIC]
        assert [r.path for r in public.requests] == ["/robots.txt"]
        assert inner.requests == []
    assert any("127.0.0.4" in m for m in guard_warnings(caplog))


def test_dns_rebinding_between_check_and_connect_cannot_move_the_socket(
    server: MockServer, locked: Settings, net: Net
) -> None:
    # Every lookup after the first answers private: a guard that checked one answer and let the
    # socket resolve again would connect to 127.0.0.4. One lookup per connection, and the
    # socket is opened on the address that was checked.
    server.route("/a", article_page())
    net.plays[PUBLIC] = server.host
    net.resolve("rebind.example", [PUBLIC], ["127.0.0.4"])
    result = fetch(locked, f"http://rebind.example:{server.port}/a")
    assert isinstance(result, Fetched), result
    assert net.lookups == ["rebind.example"]  # robots.txt and /a share the connection
    assert net.connected == [PUBLIC]
    assert result.final.peer_ip == server.host


def test_guarded_backend_resolves_every_connection_afresh(server: MockServer, net: Net) -> None:
    net.plays[PUBLIC] = server.host
    net.resolve("rebind.example", [PUBLIC], ["10.0.0.1"])
    backend = GuardedBackend(AddressPolicy())
    stream = backend.connect_tcp("rebind.example", server.port, timeout=2.0)
    stream.close()
    with pytest.raises(RefusedError, match=r"non-public address 10\.0\.0\.1 \(private\)"):
        backend.connect_tcp("rebind.example", server.port, timeout=2.0)
    assert net.connected == [PUBLIC]


def test_unix_socket_never_connected() -> None:
    with pytest.raises(RefusedError, match="unix socket"):
        GuardedBackend(AddressPolicy()).connect_unix_socket("/var/run/docker.sock")


# -- allow_hosts / allow_private_networks -------------------------------------------------------


def test_allow_hosts_opens_the_named_host(s3: MockServer, settings: Settings, net: Net) -> None:
    allowed = with_fetch(settings, allow_hosts=("127.0.0.3",))
    outcome, captured = harvest(allowed, s3.url("/story"))
    assert isinstance(outcome, Archived), outcome
    assert captured == {s3.url("/story")}
    assert s3.url("/story") in warc_targets(allowed.archive.dir)


def test_allow_hosts_refuses_hosts_it_does_not_name(
    s4: MockServer, settings: Settings, net: Net, caplog: pytest.LogCaptureFixture
) -> None:
    allowed = with_fetch(settings, allow_hosts=("127.0.0.3",))
    with caplog.at_level(logging.WARNING, logger=GUARD_LOGGER):
        outcome, captured = harvest(allowed, s4.url("/secret"))
    assert_refused(outcome, "non-public address 127.0.0.4")
    assert captured == set()
    assert warc_targets(allowed.archive.dir) == set()
    assert s4.requests == [] and net.connected == []
    assert any("127.0.0.4" in m for m in guard_warnings(caplog))


def test_allow_hosts_redirect_to_unnamed_host_refused_first_hop_archived(
    s3: MockServer, s4: MockServer, settings: Settings, net: Net, caplog: pytest.LogCaptureFixture
) -> None:
    allowed = with_fetch(settings, allow_hosts=("127.0.0.3",))
    s3.redirect("/hop", s4.url("/secret"))
    with caplog.at_level(logging.WARNING, logger=GUARD_LOGGER):
        outcome, captured = harvest(allowed, s3.url("/hop"))
    assert_refused(outcome, "non-public address 127.0.0.4")
    assert isinstance(outcome, Refused)
    assert [(e.url, e.status) for e in outcome.chain] == [(s3.url("/hop"), 302)]
    assert captured == {s3.url("/hop")}
    assert warc_targets(allowed.archive.dir) == {s3.url("/hop")}
    assert s4.requests == []
    assert set(net.connected) == {"127.0.0.3"}
    assert any("127.0.0.4" in m for m in guard_warnings(caplog))


def test_allow_hosts_userinfo_redirect_does_not_borrow_the_allowed_name(
    s3: MockServer, s4: MockServer, settings: Settings, net: Net
) -> None:
    allowed = with_fetch(settings, allow_hosts=("127.0.0.3",))
    s3.redirect("/hop", f"http://127.0.0.3@127.0.0.4:{s4.port}/secret")
    assert_refused(fetch(allowed, s3.url("/hop")), "non-public address 127.0.0.4")
    assert s4.requests == []


def test_allow_hosts_does_not_cover_other_spellings_of_the_address(
    s3: MockServer, settings: Settings, net: Net
) -> None:
    allowed = with_fetch(settings, allow_hosts=("127.0.0.3",))
    for host in ("2130706435", "127.3", "127.0.0.3.", "[::ffff:127.0.0.3]"):
        assert_refused(fetch(allowed, f"http://{host}:{s3.port}/story"), "127.0.0.3")
    assert s3.requests == [] and net.connected == []


def test_allow_hosts_name_resolving_to_private_allowed_other_names_not(
    s3: MockServer, settings: Settings, net: Net
) -> None:
    allowed = with_fetch(settings, allow_hosts=("intranet.example",))
    net.resolve("intranet.example", ["127.0.0.3"])
    net.resolve("evil.example", ["127.0.0.3"])
    assert isinstance(fetch(allowed, f"http://intranet.example:{s3.port}/story"), Fetched)
    served = len(s3.requests)
    assert_refused(fetch(allowed, f"http://evil.example:{s3.port}/story"), "evil.example resolves")
    assert len(s3.requests) == served


def test_allow_private_networks_opens_them_all(
    s3: MockServer, s4: MockServer, settings: Settings, net: Net
) -> None:
    opened = with_fetch(settings, allow_hosts=(), allow_private_networks=True)
    s3.redirect("/hop", s4.url("/secret"))
    net.resolve("intranet.example", ["127.0.0.3"])
    assert isinstance(fetch(opened, s3.url("/story")), Fetched)
    hop = fetch(opened, s3.url("/hop"))
    assert isinstance(hop, Fetched) and hop.final.content == b"internal"
    assert isinstance(fetch(opened, f"http://intranet.example:{s3.port}/story"), Fetched)
    assert isinstance(fetch(opened, f"http://2130706436:{s4.port}/secret"), Fetched)
    assert len(s4.requests_for("/secret")) == 2


# -- redirect targets ---------------------------------------------------------------------------


def test_redirect_to_cloud_metadata_from_allowed_host_refused(
    s3: MockServer, settings: Settings, net: Net, caplog: pytest.LogCaptureFixture
) -> None:
    allowed = with_fetch(settings, allow_hosts=("127.0.0.3",))
    metadata = "http://169.254.169.254/latest/meta-data/"
    s3.redirect("/hop", metadata)
    with caplog.at_level(logging.WARNING, logger=GUARD_LOGGER):
        outcome, captured = harvest(allowed, s3.url("/hop"))
    assert_refused(outcome, "non-public address 169.254.169.254")
    assert captured == {s3.url("/hop")}
    assert metadata not in warc_targets(allowed.archive.dir)
    assert set(net.connected) == {"127.0.0.3"}
    assert any("169.254.169.254" in m for m in guard_warnings(caplog))


def test_scheme_relative_redirect_to_cloud_metadata_refused(
    s3: MockServer, settings: Settings, net: Net
) -> None:
    allowed = with_fetch(settings, allow_hosts=("127.0.0.3",))
    s3.redirect("/hop", "//169.254.169.254/latest/meta-data/iam/security-credentials/")
    assert_refused(fetch(allowed, s3.url("/hop")), "169.254.169.254")
    assert set(net.connected) == {"127.0.0.3"}


def test_robots_txt_redirect_to_private_host_refused(
    s4: MockServer, settings: Settings, net: Net
) -> None:
    allowed = with_fetch(settings, allow_hosts=("127.0.0.3",))
    with MockServer(free_loopback_host(3)) as s3:
        s3.redirect("/robots.txt", s4.url("/robots.txt"))
        s3.route("/story", article_page())
        assert_refused(fetch(allowed, s3.url("/story")), "non-public address 127.0.0.4")
        assert s3.requests_for("/story") == []
    assert s4.requests == []


NON_HTTP_TARGETS = [
    "file:///etc/passwd",
    "FILE:///etc/passwd",
    "ftp://127.0.0.4/pub/x",
    "gopher://127.0.0.4/_GET%20/secret",
    "data:text/html,<h1>hi</h1>",
    "javascript:alert(document.cookie)",
    "  javascript:alert(1)",
]


def location(target: str, other: MockServer) -> str:
    return target.replace("127.0.0.4", f"127.0.0.4:{other.port}")


@pytest.mark.parametrize("respect_robots", [True, False], ids=["robots", "no-robots"])
@pytest.mark.parametrize("target", NON_HTTP_TARGETS)
def test_redirect_to_non_http_scheme_refused_after_the_first_hop(
    *,
    s3: MockServer,
    s4: MockServer,
    settings: Settings,
    net: Net,
    target: str,
    respect_robots: bool,
) -> None:
    allowed = with_fetch(settings, allow_hosts=("127.0.0.3",), respect_robots=respect_robots)
    s3.redirect("/hop", location(target, s4))
    result = fetch(allowed, s3.url("/hop"))
    assert_refused(result, "not an http(s) URL")
    assert isinstance(result, Refused)
    assert [e.status for e in result.chain] == [302]
    assert set(net.connected) == {"127.0.0.3"}  # never followed anywhere
    assert s4.requests == []


def test_redirect_to_non_http_scheme_nothing_archived(
    s3: MockServer, settings: Settings, net: Net
) -> None:
    allowed = with_fetch(settings, allow_hosts=("127.0.0.3",))
    s3.redirect("/hop", "file:///etc/passwd")
    outcome, captured = harvest(allowed, s3.url("/hop"))
    assert_refused(outcome, "not an http(s) URL")
    assert captured == {s3.url("/hop")}
    assert warc_targets(allowed.archive.dir) == {s3.url("/hop")}
