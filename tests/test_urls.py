"""Tests for harvester.discover.urls: normalise_url rules, one by one, plus properties."""

from __future__ import annotations

import pytest
from hypothesis import given, reject
from hypothesis import strategies as st

from harvester.discover.urls import TRACKING_PARAMS, is_http_url, normalise_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # scheme and host are lower-cased; the path keeps its case
        ("HTTP://News.Example.COM/World/Story", "http://news.example.com/World/Story"),
        ("HtTpS://EXAMPLE.org/a", "https://example.org/a"),
        # default ports go, other ports stay (canonical digits)
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),
        ("https://example.com:80/a", "https://example.com:80/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("http://example.com:0080/a", "http://example.com/a"),
        ("http://example.com:/a", "http://example.com/a"),
        # the fragment is dropped
        ("http://example.com/a#section-2", "http://example.com/a"),
        ("http://example.com/a?x=1#", "http://example.com/a?x=1"),
        # empty path -> "/", empty query dropped
        ("http://example.com", "http://example.com/"),
        ("http://example.com?", "http://example.com/"),
        ("http://example.com/a?", "http://example.com/a"),
        ("http://example.com/a?#top", "http://example.com/a"),
        ("http://example.com?x=1", "http://example.com/?x=1"),
        # duplicate slashes collapse
        ("http://example.com//a///b", "http://example.com/a/b"),
        ("http://example.com//", "http://example.com/"),
        # dot segments
        ("http://example.com/a/./b/../c", "http://example.com/a/c"),
        ("http://example.com/../../a", "http://example.com/a"),
        ("http://example.com/a/b/..", "http://example.com/a/"),
        ("http://example.com/a/.", "http://example.com/a/"),
        ("http://example.com/a/%2e%2E/b", "http://example.com/b"),
        ("http://example.com/a/.../b", "http://example.com/a/.../b"),
        # a trailing slash is neither added nor removed
        ("http://example.com/a/", "http://example.com/a/"),
        ("http://example.com/a", "http://example.com/a"),
        ("http://example.com/a//", "http://example.com/a/"),
        # percent-encoding: upper-case hex, unreserved characters decoded, reserved kept
        ("http://example.com/a%2fb", "http://example.com/a%2Fb"),
        ("http://example.com/%7Euser/%41%62%2D%2e%5F", "http://example.com/~user/Ab-._"),
        ("http://example.com/a%20b%3a", "http://example.com/a%20b%3A"),
        ("http://example.com/?q=%2f%7e", "http://example.com/?q=%2F~"),
        # raw characters that may not appear in a URL are encoded (UTF-8); a stray % too
        ("http://example.com/caf\u00e9 bar", "http://example.com/caf%C3%A9%20bar"),
        ("http://example.com/100%", "http://example.com/100%25"),
        ("http://example.com/a%zzb", "http://example.com/a%25zzb"),
        # IDNA
        ("http://B\u00fccher.example/x", "http://xn--bcher-kva.example/x"),
        ("https://\u65b0\u95fb.Example/", "https://xn--efvy88h.example/"),
        ("http://Stra\u00dfe.example/", "http://strasse.example/"),
        # IPv6 and userinfo
        ("http://[2001:DB8::1]:80/a", "http://[2001:db8::1]/a"),
        ("http://[::1]:8080", "http://[::1]:8080/"),
        ("http://User@Example.com/a", "http://User@example.com/a"),
        # surrounding whitespace
        ("  http://example.com/a \n", "http://example.com/a"),
    ],
)
def test_normalise_url(url: str, expected: str) -> None:
    assert normalise_url(url) == expected


def test_idna_failure_keeps_the_original_host() -> None:
    label = "\u00e9" * 70  # longer than the 63 characters an IDNA label may have
    assert normalise_url(f"http://{label}.example/") == f"http://{label}.example/"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://e.com/a?utm_source=rss&id=7&utm_medium=feed", "http://e.com/a?id=7"),
        ("http://e.com/a?UTM_Campaign=x&id=7", "http://e.com/a?id=7"),
        ("http://e.com/a?utm_source=rss", "http://e.com/a"),
        ("http://e.com/a?fbclid=abc&b=2&GCLID=1&a=1", "http://e.com/a?b=2&a=1"),
        ("http://e.com/a?utm%5Fsource=x&k=v", "http://e.com/a?k=v"),
        ("http://e.com/a?_ga=1&_gl=2&mc_cid=3&mc_eid=4&ref_src=5&cmpid=6&ocid=7", "http://e.com/a"),
        # the others keep their order and their spelling ("+", "=", empty values, no value)
        ("http://e.com/a?z=1&a=b+c&m=&flag&q=a%20b", "http://e.com/a?z=1&a=b+c&m=&flag&q=a%20b"),
        ("http://e.com/a?b=2&&a=1&", "http://e.com/a?b=2&a=1"),
        # "utm" alone or in a value is not a tracking key
        ("http://e.com/a?utm=1&x=utm_source", "http://e.com/a?utm=1&x=utm_source"),
        ("http://e.com/a?reference=1", "http://e.com/a?reference=1"),
    ],
)
def test_tracking_params_are_removed(url: str, expected: str) -> None:
    assert normalise_url(url) == expected


def test_tracking_params_contents() -> None:
    required = {"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid"}
    required |= {"yclid", "igshid", "_ga", "_gl", "ref_src", "cmpid", "ocid"}
    assert required <= TRACKING_PARAMS
    assert all(key == key.lower() for key in TRACKING_PARAMS)
    assert isinstance(TRACKING_PARAMS, frozenset)


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("/b/c", "http://example.com/a/x", "http://example.com/b/c"),
        ("c?x=1", "http://example.com/a/x", "http://example.com/a/c?x=1"),
        ("../c", "http://example.com/a/b/x", "http://example.com/a/c"),
        ("//other.example/p", "https://example.com/", "https://other.example/p"),
        ("?page=2", "http://example.com/list?page=1", "http://example.com/list?page=2"),
        ("", "http://example.com/a#frag", "http://example.com/a"),
        ("https://Other.example/p", "http://example.com/", "https://other.example/p"),
    ],
)
def test_relative_urls_resolve_against_base(url: str, base: str, expected: str) -> None:
    assert normalise_url(url, base) == expected


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/a",
        "mailto:desk@example.com",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "data:text/plain,hi",
        "//example.com/a",  # no scheme and no base
        "/relative/path",
        "example.com/a",
        "http:///a",
        "http://",
        "https://user@/a",
        "http://:80/a",
        "http://[]/a",
        "http://example.com:99999/",
        "http://example.com:8o/",
        "http://exa mple.com/",
        "http://[::1/a",
        "",
    ],
)
def test_rejected_urls(url: str) -> None:
    with pytest.raises(ValueError, match=r"URL|host|port|IPv6"):
        normalise_url(url)
    assert not is_http_url(url)


def test_absolute_url_ignores_base() -> None:
    assert normalise_url("http://example.com/a;", "https://other.example/x/") == (
        "http://example.com/a;"
    )
    with pytest.raises(ValueError, match="no host"):
        normalise_url("http:relative", "http://example.com/")  # RFC 3986: a scheme is absolute


def test_relative_against_non_http_base_is_rejected() -> None:
    with pytest.raises(ValueError, match="not an http"):
        normalise_url("a/b", "ftp://example.com/")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.com/", True),
        ("HTTPS://example.com", True),
        ("https://example.com:8443/x?y#z", True),
        ("ftp://example.com/", False),
        ("example.com", False),
        ("http://", False),
        ("", False),
    ],
)
def test_is_http_url(url: str, expected: bool) -> None:
    assert is_http_url(url) is expected


# --- properties -----------------------------------------------------------------------------

_HOSTS = st.sampled_from(
    [
        "example.com",
        "News.Example.COM",
        "b\u00fccher.example",
        "xn--bcher-kva.example",
        "Stra\u00dfe.example",
        "127.0.0.1",
        "[::1]",
        "[2001:DB8::A]",
    ]
)
_PORTS = st.sampled_from(["", ":80", ":443", ":8080", ":0", ":00443"])
# Segments mix unreserved, reserved and unsafe characters, escapes (valid, lower-case, broken)
# and dot segments; no "/", "?" or "#" (the structure is built around them).
_SEGMENT_CHARS = "aZ09-._~!$&'()*+,;=:@ %2fFeE\u00e9\u00fc\"<>\\^`{|}\t"
_SEGMENTS = st.one_of(
    st.text(alphabet=_SEGMENT_CHARS, max_size=8),
    st.sampled_from([".", "..", "", "%2e", "%2E%2e", "%7e", "%7E", "%41", "%", "%2", "%zz"]),
)
_PATHS = st.lists(_SEGMENTS, max_size=6).map(lambda parts: "/" + "/".join(parts))
_QUERY_TEXT = st.text(alphabet="aZ09-._~!$'()*+,;:@/? %2fFeE\u00e9\"<>", max_size=6)
_PARAMS = st.one_of(
    st.tuples(_QUERY_TEXT, _QUERY_TEXT).map("=".join),
    _QUERY_TEXT,
    st.sampled_from(["utm_medium=email", "FBCLID=1", "gclid=", "_ga=2.1", "id=%7e"]),
)
_QUERIES = st.none() | st.lists(_PARAMS, max_size=5).map("&".join)
_FRAGMENTS = st.none() | st.text(max_size=10)


@st.composite
def _urls(draw: st.DrawFn) -> tuple[str, str | None, str | None]:
    """(scheme://host[:port]/path, query or None, fragment or None)."""
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "hTTpS"]))
    head = f"{scheme}://{draw(_HOSTS)}{draw(_PORTS)}{draw(_PATHS)}"
    return head, draw(_QUERIES), draw(_FRAGMENTS)


def _join(head: str, query: str | None, fragment: str | None) -> str:
    return (
        head + ("" if query is None else "?" + query) + ("" if fragment is None else "#" + fragment)
    )


@given(_urls())
def test_property_idempotent(parts: tuple[str, str | None, str | None]) -> None:
    once = normalise_url(_join(*parts))
    assert normalise_url(once) == once
    assert is_http_url(once)


@given(_urls())
def test_property_fragment_never_survives(parts: tuple[str, str | None, str | None]) -> None:
    head, query, fragment = parts
    assert "#" not in normalise_url(_join(head, query, fragment))
    # Whatever the fragment says, the result is the same.  (Always with a "#": without one,
    # whitespace at the end of the path or query would be trimmed as the end of the URL.)
    result = normalise_url(_join(head, query, fragment or ""))
    assert "#" not in result
    assert result == normalise_url(_join(head, query, "fragment-text"))


@given(_urls(), st.sampled_from(["utm_source=x", "UTM_SOURCE=x", "utm_source=", "fbclid=x"]))
def test_property_tracking_param_changes_nothing(
    parts: tuple[str, str | None, str | None], tracker: str
) -> None:
    head, query, fragment = parts
    fragment = fragment or ""  # keep a "#" so that no trailing whitespace is trimmed
    expected = normalise_url(_join(head, query, fragment))
    appended = tracker if query is None else f"{query}&{tracker}"
    prepended = tracker if query is None else f"{tracker}&{query}"
    assert normalise_url(_join(head, appended, fragment)) == expected
    assert normalise_url(_join(head, prepended, fragment)) == expected


@given(st.text(max_size=40))
def test_property_any_suffix_is_idempotent(suffix: str) -> None:
    once = normalise_url("http://example.com/" + suffix)
    assert normalise_url(once) == once
    assert "#" not in once


@given(st.text(alphabet="ab./?#&=%~ \u00e9", max_size=20), _urls())
def test_property_relative_resolution_is_idempotent(
    relative: str, parts: tuple[str, str | None, str | None]
) -> None:
    try:
        once = normalise_url(relative, _join(*parts))
    except ValueError:  # e.g. "//%": a network-path reference with an invalid host
        reject()
    assert normalise_url(once) == once
    assert normalise_url(once, "http://unrelated.example/") == once
