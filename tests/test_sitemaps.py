"""Tests for harvester.discover.sitemaps: urlset, sitemap index, Google News, gzip, safety.

Every sitemap here is written for these tests (fictional outlets under example.* domains).
"""

from __future__ import annotations

import gzip
import re
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from harvester.discover.sitemaps import MAX_SITEMAP_BYTES, Sitemap, SitemapEntry, parse_sitemap
from harvester.errors import DiscoveryError

SITEMAP_URL = "https://wire.example.com/sitemap.xml"
SM_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>'


def urlset(body: str, *, ns: str = f' xmlns="{SM_NS}"', prolog: str = XML_DECL) -> bytes:
    return (f'{prolog}\n<urlset{ns} xmlns:news="{NEWS_NS}">{body}</urlset>').encode()


def url(loc: str, extra: str = "") -> str:
    return f"<url><loc>{loc}</loc>{extra}</url>"


def locs(sitemap: Sitemap) -> list[str]:
    return [entry.url for entry in sitemap.entries]


# --- urlset -------------------------------------------------------------------------------


def test_urlset_with_lastmod() -> None:
    data = urlset(
        url(
            "https://Wire.Example.com:443/world/harbour?utm_source=x",
            "<lastmod>2024-01-02</lastmod>",
        )
        + url(
            "https://wire.example.com/world/strike", "<lastmod>2024-01-02T10:30:00+02:00</lastmod>"
        )
        + url("https://wire.example.com/world/no-date")
    )
    sitemap = parse_sitemap(data, sitemap_url=SITEMAP_URL)
    assert sitemap.sitemaps == ()
    assert sitemap.entries == (
        SitemapEntry(
            url="https://wire.example.com/world/harbour",
            lastmod=datetime(2024, 1, 2, tzinfo=UTC),
        ),
        SitemapEntry(
            url="https://wire.example.com/world/strike",
            lastmod=datetime(2024, 1, 2, 8, 30, tzinfo=UTC),
        ),
        SitemapEntry(url="https://wire.example.com/world/no-date"),
    )


def test_urlset_without_namespace() -> None:
    data = urlset(url("https://wire.example.com/a"), ns="")
    assert locs(parse_sitemap(data, sitemap_url=SITEMAP_URL)) == ["https://wire.example.com/a"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-03", datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024-03-05", datetime(2024, 3, 5, tzinfo=UTC)),
        ("2024-03-05T10:20Z", datetime(2024, 3, 5, 10, 20, tzinfo=UTC)),
        ("2024-03-05T10:20:30-05:00", datetime(2024, 3, 5, 15, 20, 30, tzinfo=UTC)),
        ("2024-03-05T10:20:30.5+01:00", datetime(2024, 3, 5, 9, 20, 30, 500000, tzinfo=UTC)),
        (" 2024-03-05T23:30:00+0130 ", datetime(2024, 3, 5, 22, 0, tzinfo=UTC)),
    ],
)
def test_w3c_dates_become_utc(text: str, expected: datetime) -> None:
    data = urlset(url("https://wire.example.com/a", f"<lastmod>{text}</lastmod>"))
    (entry,) = parse_sitemap(data, sitemap_url=SITEMAP_URL).entries
    assert entry.lastmod == expected
    assert entry.lastmod is not None and entry.lastmod.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    ["yesterday", "2024-13-01", "2024-02-30", "24-01-01", "2024-01-01T25:00Z", "", "٢٠٢٤"],
)
def test_bad_dates_are_none_not_fatal(text: str) -> None:
    data = urlset(
        url("https://wire.example.com/a", f"<lastmod>{text}</lastmod>")
        + url("https://wire.example.com/b", "<lastmod>2024-01-01</lastmod>")
    )
    first, second = parse_sitemap(data, sitemap_url=SITEMAP_URL).entries
    assert first.lastmod is None
    assert second.lastmod == datetime(2024, 1, 1, tzinfo=UTC)


def test_relative_and_non_http_locs_skipped() -> None:
    data = urlset(
        url("/world/relative")
        + url("world/relative2")
        + url("ftp://wire.example.com/file")
        + url("javascript:alert(1)")
        + url("")
        + "<url><lastmod>2024-01-01</lastmod></url>"
        + url("http://wire.example.com/ok")
    )
    assert locs(parse_sitemap(data, sitemap_url=SITEMAP_URL)) == ["http://wire.example.com/ok"]


def test_duplicates_dropped_first_wins() -> None:
    data = urlset(
        url("https://wire.example.com/a", "<lastmod>2024-01-01</lastmod>")
        + url("https://WIRE.example.com/a#frag", "<lastmod>2024-02-02</lastmod>")
        + url("https://wire.example.com/b")
    )
    entries = parse_sitemap(data, sitemap_url=SITEMAP_URL).entries
    assert [e.url for e in entries] == ["https://wire.example.com/a", "https://wire.example.com/b"]
    assert entries[0].lastmod == datetime(2024, 1, 1, tzinfo=UTC)


def test_max_entries_bound() -> None:
    data = urlset("".join(url(f"https://wire.example.com/{i}") for i in range(100)))
    sitemap = parse_sitemap(data, sitemap_url=SITEMAP_URL, max_entries=7)
    assert locs(sitemap) == [f"https://wire.example.com/{i}" for i in range(7)]
    assert parse_sitemap(data, sitemap_url=SITEMAP_URL, max_entries=0).entries == ()
    with pytest.raises(ValueError, match="max_entries"):
        parse_sitemap(data, sitemap_url=SITEMAP_URL, max_entries=-1)


def test_bad_sitemap_url_is_value_error() -> None:
    with pytest.raises(ValueError, match="http"):
        parse_sitemap(urlset(""), sitemap_url="ftp://wire.example.com/sitemap.xml")


# --- sitemap index ------------------------------------------------------------------------


def test_sitemap_index() -> None:
    data = (
        f'<?xml version="1.0"?><sitemapindex xmlns="{SM_NS}">'
        "<sitemap><loc>https://wire.example.com/sitemap-news.xml</loc>"
        "<lastmod>2024-05-01T12:00:00Z</lastmod></sitemap>"
        "<sitemap><loc>https://wire.example.com/sitemap-2023.xml.gz</loc></sitemap>"
        "<sitemap><loc>/relative.xml</loc></sitemap>"
        "</sitemapindex>"
    ).encode()
    sitemap = parse_sitemap(data, sitemap_url=SITEMAP_URL)
    assert sitemap.entries == ()
    assert sitemap.sitemaps == (
        SitemapEntry(
            url="https://wire.example.com/sitemap-news.xml",
            lastmod=datetime(2024, 5, 1, 12, tzinfo=UTC),
        ),
        SitemapEntry(url="https://wire.example.com/sitemap-2023.xml.gz"),
    )


# --- Google News --------------------------------------------------------------------------


def test_google_news_entries() -> None:
    news = (
        "<news:news><news:publication><news:name>  Example\n Wire </news:name>"
        "<news:language>en</news:language></news:publication>"
        "<news:publication_date>2024-06-01T08:15:00+02:00</news:publication_date>"
        "<news:title>Harbour strike &amp; talks   resume</news:title></news:news>"
    )
    data = urlset(
        url("https://wire.example.com/world/harbour", news)
        + url("https://wire.example.com/world/plain", "<lastmod>2024-06-01</lastmod>")
    )
    first, second = parse_sitemap(data, sitemap_url=SITEMAP_URL).entries
    assert first == SitemapEntry(
        url="https://wire.example.com/world/harbour",
        news_title="Harbour strike & talks resume",
        news_published=datetime(2024, 6, 1, 6, 15, tzinfo=UTC),
        publication_name="Example Wire",
    )
    assert second.news_title is None and second.publication_name is None
    assert second.news_published is None


def test_google_news_bad_date_not_fatal() -> None:
    news = (
        "<news:news><news:publication_date>June 1st</news:publication_date>"
        "<news:title>T</news:title></news:news>"
    )
    (entry,) = parse_sitemap(
        urlset(url("https://wire.example.com/a", news)), sitemap_url=SITEMAP_URL
    ).entries
    assert entry.news_title == "T"
    assert entry.news_published is None


# --- gzip ---------------------------------------------------------------------------------


def test_gzip_sitemap() -> None:
    plain = urlset(url("https://wire.example.com/a") + url("https://wire.example.com/b"))
    assert parse_sitemap(gzip.compress(plain), sitemap_url=SITEMAP_URL) == parse_sitemap(
        plain, sitemap_url=SITEMAP_URL
    )


def test_corrupt_and_truncated_gzip_rejected() -> None:
    packed = gzip.compress(urlset(url("https://wire.example.com/a")))
    with pytest.raises(DiscoveryError, match="gzip"):
        parse_sitemap(packed[: len(packed) // 2], sitemap_url=SITEMAP_URL)
    with pytest.raises(DiscoveryError, match="gzip"):
        parse_sitemap(packed[:10] + b"\xff" * 40, sitemap_url=SITEMAP_URL)


def _zeros_gzip(total: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * 2**20
    parts = [compressor.compress(block) for _ in range(total // len(block))]
    parts.append(compressor.flush())
    return b"".join(parts)


def test_gzip_bomb_rejected() -> None:
    bomb = _zeros_gzip(200 * 2**20)
    assert len(bomb) < 1_000_000
    with pytest.raises(DiscoveryError, match=f"sitemap larger than {MAX_SITEMAP_BYTES} bytes"):
        parse_sitemap(bomb, sitemap_url=SITEMAP_URL)


def test_oversized_plain_data_rejected() -> None:
    with pytest.raises(DiscoveryError, match="sitemap larger than"):
        parse_sitemap(b" " * (MAX_SITEMAP_BYTES + 1), sitemap_url=SITEMAP_URL)


# --- safety and errors --------------------------------------------------------------------


def test_xxe_rejected_and_never_reads_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    prolog = f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    data = urlset(url("https://wire.example.com/&xxe;"), prolog=prolog)
    with pytest.raises(DiscoveryError, match="ENTITY") as info:
        parse_sitemap(data, sitemap_url=SITEMAP_URL)
    assert "TOP-SECRET-MARKER" not in str(info.value)
    # also when gzipped
    with pytest.raises(DiscoveryError, match="ENTITY"):
        parse_sitemap(gzip.compress(data), sitemap_url=SITEMAP_URL)


def test_billion_laughs_rejected() -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    prolog = f'<?xml version="1.0"?><!DOCTYPE urlset [{entities}]>'
    data = urlset(url("https://wire.example.com/a", "<lastmod>&lol9;</lastmod>"), prolog=prolog)
    with pytest.raises(DiscoveryError) as info:
        parse_sitemap(data, sitemap_url=SITEMAP_URL)
    assert "\n" not in str(info.value)


def test_utf16_entity_declaration_rejected() -> None:
    prolog = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE urlset [<!ENTITY a "b">]>'
    text = urlset(url("https://wire.example.com/a"), prolog=prolog).decode()
    with pytest.raises(DiscoveryError, match="ENTITY"):
        parse_sitemap(text.encode("utf-16"), sitemap_url=SITEMAP_URL)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<rss version='2.0'><channel/></rss>", "not a sitemap: root <rss>"),
        (b'<x:urlset xmlns:x="urn:other"/>', "not a sitemap: root <x:urlset>"),
        (b"", "not a sitemap"),
        (b"hello, world", "not a sitemap"),
    ],
)
def test_not_a_sitemap(data: bytes, message: str) -> None:
    with pytest.raises(DiscoveryError, match="^" + re.escape(message)) as info:
        parse_sitemap(data, sitemap_url=SITEMAP_URL)
    assert "\n" not in str(info.value)


def test_sitemap_is_frozen_and_keyword_only() -> None:
    entry = SitemapEntry(url="https://wire.example.com/a")
    with pytest.raises(AttributeError):
        entry.url = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        SitemapEntry("https://wire.example.com/a")  # type: ignore[call-arg]
    assert Sitemap(entries=(entry,), sitemaps=()).entries == (entry,)


def test_offset_dates_are_utc_aware() -> None:
    data = urlset(url("https://wire.example.com/a", "<lastmod>2024-01-01T00:30:00+01:00</lastmod>"))
    (entry,) = parse_sitemap(data, sitemap_url=SITEMAP_URL).entries
    assert entry.lastmod == datetime(2023, 12, 31, 23, 30, tzinfo=UTC)
    assert entry.lastmod is not None and entry.lastmod.tzinfo is UTC
