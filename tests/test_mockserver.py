"""Tests for tests/mockserver.py: every behaviour, HEAD, routing and the request log."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from mockserver import (
    BEHAVIOURS,
    CHUNKED,
    DRIP,
    ENDLESS,
    FAIL_THEN_OK,
    GZIP,
    HANG,
    LYING_LENGTH,
    NO_LENGTH,
    MockServer,
    free_loopback_host,
)

TIMEOUT = httpx.Timeout(5.0)


@pytest.fixture
def server() -> Iterator[MockServer]:
    with MockServer(free_loopback_host(1)) as srv:
        yield srv
    assert_no_threads_left(srv)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=TIMEOUT) as c:
        yield c


def assert_no_threads_left(srv: MockServer) -> None:
    left = [t.name for t in threading.enumerate() if t.name.startswith(srv.thread_prefix)]
    assert left == []


def wait_until_idle(srv: MockServer, timeout: float = 5.0) -> None:
    """Wait (bounded) until the server has finished with every connection."""
    deadline = time.monotonic() + timeout
    while srv.open_connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert srv.open_connections == 0


def raw_exchange(srv: MockServer, request: bytes) -> bytes:
    """Send raw bytes, read until the server closes the connection."""
    with socket.create_connection((srv.host, srv.port), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


# -- basics -------------------------------------------------------------------------------------


def test_free_loopback_host() -> None:
    assert free_loopback_host(2) == "127.0.0.2"
    with pytest.raises(ValueError):
        free_loopback_host(0)


def test_url_host_port(server: MockServer) -> None:
    assert server.host == "127.0.0.1"
    assert server.port > 0
    assert server.url("/a?b=1") == f"http://127.0.0.1:{server.port}/a?b=1"
    assert server.url("x") == f"http://127.0.0.1:{server.port}/x"


def test_unknown_behaviour_rejected(server: MockServer) -> None:
    with pytest.raises(ValueError, match="unknown behaviour"):
        server.route("/x", behaviour="sulk")
    assert "fail-then-ok" in BEHAVIOURS


def test_normal(server: MockServer, client: httpx.Client) -> None:
    server.route("/page", "<p>héllo</p>", headers=[("X-One", "1"), ("X-Two", "2")])
    r = client.get(server.url("/page"))
    assert r.status_code == 200
    assert r.content == "<p>héllo</p>".encode()
    assert r.headers["content-length"] == str(len(r.content))
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["x-one"] == "1"
    assert r.headers["x-two"] == "2"
    assert "transfer-encoding" not in r.headers


def test_status_and_custom_content_type(server: MockServer, client: httpx.Client) -> None:
    server.route("/gone", b"bye", status=410, content_type="text/plain")
    server.route("/typed", b"{}", headers=[("Content-Type", "application/json")])
    r = client.get(server.url("/gone"))
    assert (r.status_code, r.text, r.headers["content-type"]) == (410, "bye", "text/plain")
    r = client.get(server.url("/typed"))
    assert r.headers.get_list("content-type") == ["application/json"]


def test_unknown_path_is_404(server: MockServer, client: httpx.Client) -> None:
    r = client.get(server.url("/nope"))
    assert r.status_code == 404
    assert b"Not Found" in r.content
    assert r.headers["content-type"].startswith("text/html")


def test_query_matching(server: MockServer, client: httpx.Client) -> None:
    server.route("/search?q=a", "exact")
    server.route("/search", "any")
    assert client.get(server.url("/search?q=a")).text == "exact"
    assert client.get(server.url("/search?q=b")).text == "any"
    assert client.get(server.url("/search")).text == "any"
    assert client.get(server.url("/other?q=a")).status_code == 404


def test_route_replace(server: MockServer, client: httpx.Client) -> None:
    server.route("/r", "one")
    assert client.get(server.url("/r")).text == "one"
    server.route("/r", "two")
    assert client.get(server.url("/r")).text == "two"


def test_head_answers_headers_only(server: MockServer, client: httpx.Client) -> None:
    server.route("/h", b"12345")
    server.route("/hz", b"z" * 1000, behaviour=GZIP)
    r = client.head(server.url("/h"))
    assert (r.status_code, r.content, r.headers["content-length"]) == (200, b"", "5")
    r = client.head(server.url("/hz"))
    assert r.content == b""
    assert r.headers["content-length"] == str(len(gzip.compress(b"z" * 1000, mtime=0)))
    # the keep-alive connection is still usable after HEAD
    assert client.get(server.url("/h")).content == b"12345"


def test_keep_alive_and_request_body(server: MockServer, client: httpx.Client) -> None:
    server.route("/post", "ok")
    assert client.post(server.url("/post"), content=b"payload").text == "ok"
    assert client.get(server.url("/post")).text == "ok"
    first, second = server.requests_for("/post")
    assert (first.method, first.body) == ("POST", b"payload")
    assert second.method == "GET"
    assert first.client_port == second.client_port  # same connection reused


def test_chunked_request_body_is_read(server: MockServer, client: httpx.Client) -> None:
    server.route("/up", "ok")
    r = client.post(server.url("/up"), content=iter([b"ab", b"cd"]))
    assert r.text == "ok"
    assert server.requests_for("/up")[0].body == b"abcd"


# -- behaviours ---------------------------------------------------------------------------------


def test_chunked(server: MockServer, client: httpx.Client) -> None:
    body = b"0123456789" * 10
    server.route("/c", body, behaviour=CHUNKED)
    r = client.get(server.url("/c"))
    assert r.content == body
    assert r.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in r.headers


def test_chunked_wire_format_has_several_chunks(server: MockServer) -> None:
    server.route("/c", b"abcdefghij", behaviour=CHUNKED, chunk_size=4)
    raw = raw_exchange(server, b"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, payload = raw.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head
    assert payload == b"4\r\nabcd\r\n4\r\nefgh\r\n2\r\nij\r\n0\r\n\r\n"


def test_gzip(server: MockServer, client: httpx.Client) -> None:
    body = b"<html>" + b"wire story " * 200 + b"</html>"
    server.route("/z", body, behaviour=GZIP)
    r = client.get(server.url("/z"))
    assert r.content == body  # httpx decodes
    assert r.headers["content-encoding"] == "gzip"
    assert int(r.headers["content-length"]) == len(gzip.compress(body, mtime=0))
    with client.stream("GET", server.url("/z")) as s:
        raw = b"".join(s.iter_raw())
    assert gzip.decompress(raw) == body


def test_redirect(server: MockServer, client: httpx.Client) -> None:
    server.redirect("/old", "/new")
    server.redirect("/perm", server.url("/new"), status=301)
    server.route("/new", "landed")
    r = client.get(server.url("/old"))
    assert (r.status_code, r.headers["location"]) == (302, "/new")
    r = client.get(server.url("/old"), follow_redirects=True)
    assert r.text == "landed"
    assert [h.status_code for h in r.history] == [302]
    r = client.get(server.url("/perm"), follow_redirects=True)
    assert [h.status_code for h in r.history] == [301]
    assert [q.path for q in server.requests] == ["/old", "/old", "/new", "/perm", "/new"]


def test_fail_then_ok(server: MockServer, client: httpx.Client) -> None:
    route = server.route("/flaky", "finally", behaviour=FAIL_THEN_OK, fail_times=2, retry_after="1")
    statuses = []
    for _ in range(2):
        r = client.get(server.url("/flaky"))
        statuses.append(r.status_code)
        assert r.headers["retry-after"] == "1"
    r = client.get(server.url("/flaky"))
    assert statuses == [503, 503]
    assert (r.status_code, r.text) == (200, "finally")
    assert "retry-after" not in r.headers
    assert route.hits == 3


def test_fail_then_ok_custom_status_no_retry_after(
    server: MockServer, client: httpx.Client
) -> None:
    server.route("/f", "ok", behaviour=FAIL_THEN_OK, fail_status=429)
    r = client.get(server.url("/f"))
    assert r.status_code == 429
    assert "retry-after" not in r.headers
    assert client.get(server.url("/f")).status_code == 200


def test_drip_completes_slowly(server: MockServer, client: httpx.Client) -> None:
    server.route("/d", b"drip-drop", behaviour=DRIP, drip_interval=0.01)
    r = client.get(server.url("/d"))
    assert r.content == b"drip-drop"
    assert r.headers["content-length"] == "9"


def test_drip_trips_read_timeout_quietly(
    server: MockServer, capfd: pytest.CaptureFixture[str]
) -> None:
    server.route("/d", b"x" * 1000, behaviour=DRIP, drip_interval=0.3)
    with (
        httpx.Client(timeout=httpx.Timeout(5.0, read=0.1)) as c,
        c.stream("GET", server.url("/d")) as r,
    ):
        assert r.status_code == 200
        assert r.headers["content-length"] == "1000"
        with pytest.raises(httpx.ReadTimeout):
            r.read()
    wait_until_idle(server)  # the handler noticed the disconnect by itself
    assert capfd.readouterr().err == ""


def test_endless(server: MockServer, capfd: pytest.CaptureFixture[str]) -> None:
    server.route("/e", b"<html>", behaviour=ENDLESS)
    got = b""
    with (
        httpx.Client(timeout=TIMEOUT) as c,
        c.stream("GET", server.url("/e")) as r,
    ):
        assert r.headers["transfer-encoding"] == "chunked"
        for chunk in r.iter_raw():
            got += chunk
            if len(got) >= 1024 * 1024:
                break
    assert got.startswith(b"<html>xxx")
    assert len(got) >= 1024 * 1024
    wait_until_idle(server)
    assert capfd.readouterr().err == ""


def test_lying_length(server: MockServer, client: httpx.Client) -> None:
    server.route("/lie", b"short", behaviour=LYING_LENGTH)
    with client.stream("GET", server.url("/lie")) as r:
        assert r.headers["content-length"] == "105"
        with pytest.raises(httpx.RemoteProtocolError):
            r.read()


def test_no_length(server: MockServer, client: httpx.Client) -> None:
    body = b"read me until EOF " * 100
    server.route("/nl", body, behaviour=NO_LENGTH)
    r = client.get(server.url("/nl"))
    assert r.content == body
    assert "content-length" not in r.headers
    assert "transfer-encoding" not in r.headers
    assert r.headers["connection"] == "close"


def test_delay_trips_read_timeout(server: MockServer) -> None:
    server.route("/late", "late", delay=0.5)
    server.route("/soon", "soon", delay=0.01)
    with httpx.Client(timeout=httpx.Timeout(5.0, read=0.1)) as c:
        with pytest.raises(httpx.ReadTimeout):
            c.get(server.url("/late"))
        assert c.get(server.url("/soon")).text == "soon"


def test_hang_times_out_and_server_stops_promptly() -> None:
    srv = MockServer(free_loopback_host(4))
    with srv:
        srv.route("/hang", behaviour=HANG)
        with (
            httpx.Client(timeout=httpx.Timeout(5.0, read=0.5)) as c,
            pytest.raises(httpx.ReadTimeout),
        ):
            c.get(srv.url("/hang"))
        assert [r.path for r in srv.requests] == ["/hang"]  # logged before (not) answering
        assert srv.open_connections == 1  # handler still parked in the hang
    # __exit__ woke the handler (60 s hang) and joined it: nothing left behind
    assert srv.open_connections == 0
    assert_no_threads_left(srv)


def test_exit_with_idle_keep_alive_and_endless_clients() -> None:
    srv = MockServer(free_loopback_host(5))
    with httpx.Client(timeout=TIMEOUT) as c:
        with srv:
            srv.route("/a", "a")
            srv.route("/e", behaviour=ENDLESS)
            assert c.get(srv.url("/a")).text == "a"  # idle keep-alive connection stays open
            with c.stream("GET", srv.url("/e")) as r:
                next(r.iter_raw())
                srv.stop()  # server stops while the client is still reading
        assert_no_threads_left(srv)


# -- robots and the request log -----------------------------------------------------------------


def test_robots_and_request_log(server: MockServer, client: httpx.Client) -> None:
    server.robots("User-agent: *\nDisallow: /private\n")
    server.route("/a", "a")
    before = time.monotonic()
    r = client.get(server.url("/robots.txt"))
    assert r.text == "User-agent: *\nDisallow: /private\n"
    assert r.headers["content-type"] == "text/plain"
    client.get(server.url("/a?x=1"), headers={"X-Trace": "abc", "User-Agent": "harvester-test"})
    client.get(server.url("/missing"))
    assert [(q.method, q.path) for q in server.requests] == [
        ("GET", "/robots.txt"),
        ("GET", "/a?x=1"),
        ("GET", "/missing"),
    ]
    logged = server.requests_for("/a")[0]
    assert logged.host == "127.0.0.1"
    assert logged.headers["x-trace"] == "abc"
    assert logged.headers["user-agent"] == "harvester-test"
    assert all(k == k.lower() for k in logged.headers)
    assert before <= server.requests[0].time <= logged.time
    assert server.requests_for("/a?x=1") == [logged]
    assert server.requests_for("/a?x=2") == []
    assert len(server.requests_for("/robots.txt")) == 1


def test_two_servers_log_only_their_own_requests(client: httpx.Client) -> None:
    with MockServer(free_loopback_host(2)) as two, MockServer(free_loopback_host(3)) as three:
        two.route("/p", "two")
        three.route("/p", "three")
        assert client.get(two.url("/p")).text == "two"
        assert client.get(three.url("/p")).text == "three"
        assert client.get(three.url("/q")).status_code == 404
        assert [(r.host, r.path) for r in two.requests] == [("127.0.0.2", "/p")]
        assert [(r.host, r.path) for r in three.requests] == [
            ("127.0.0.3", "/p"),
            ("127.0.0.3", "/q"),
        ]
    assert_no_threads_left(two)
    assert_no_threads_left(three)


def test_concurrent_requests_are_all_logged(server: MockServer) -> None:
    server.route("/slow", "s", delay=0.05)

    def fetch(_: int) -> str:
        with httpx.Client(timeout=TIMEOUT) as c:
            return c.get(server.url("/slow")).text

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(fetch, range(8))) == ["s"] * 8
    assert len(server.requests_for("/slow")) == 8
