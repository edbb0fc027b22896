"""Tests for harvester.discover.feeds: RSS 0.9x/2.0, RDF, Atom, dates, bounds and XML safety.

Every feed here is written for these tests (fictional outlets under example.* domains).
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.discover import feeds
from harvester.discover.feeds import MAX_FEED_BYTES, FeedItem, parse_feed
from harvester.errors import DiscoveryError, HarvesterError

FEED_URL = "https://wire.example.com/feeds/world.xml"


def rss(items: str, *, prolog: str = '<?xml version="1.0" encoding="UTF-8"?>\n') -> bytes:
    return (
        f'{prolog}<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:atom="http://www.w3.org/2005/Atom">'
        "<channel><title>Example Wire: World</title><link>https://wire.example.com/</link>"
        '<atom:link rel="self" href="https://wire.example.com/feeds/world.xml"/>'
        f"{items}</channel></rss>"
    ).encode()


def atom(entries: str, *, attrs: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<feed xmlns="http://www.w3.org/2005/Atom"{attrs}><title>Example Daily</title>'
        f"<id>urn:example:daily</id>{entries}</feed>"
    ).encode()


def urls(items: tuple[FeedItem, ...]) -> list[str]:
    return [item.url for item in items]


# --- RSS 2.0 ---------------------------------------------------------------------------------


def test_rss2_item_fields() -> None:
    data = rss(
        "<item><title>  Harbour   strike enters\n second week </title>"
        "<link>https://Wire.Example.com:443/world/harbour-strike?utm_source=rss&amp;id=9#top</link>"
        "<guid isPermaLink='false'>wire-2024-0001</guid>"
        "<pubDate>Tue, 02 Jan 2024 10:30:00 +0200</pubDate>"
        '<source url="https://agency.example.net/rss">Example Agency</source></item>'
    )
    (item,) = parse_feed(data, feed_url=FEED_URL)
    assert item == FeedItem(
        url="https://wire.example.com/world/harbour-strike?id=9",
        title="Harbour strike enters second week",
        published=datetime(2024, 1, 2, 8, 30, tzinfo=UTC),
        source_name="Example Agency",
        source_url="https://agency.example.net/rss",
        guid="wire-2024-0001",
    )


def test_rss2_minimal_item_has_none_fields() -> None:
    (item,) = parse_feed(
        rss("<item><link>https://wire.example.com/a</link></item>"), feed_url=FEED_URL
    )
    assert item == FeedItem(url="https://wire.example.com/a")
    assert item.published is None
    assert item.source_name is None
    assert item.source_url is None


def test_rss_relative_links_resolve_against_the_feed_url() -> None:
    data = rss(
        "<item><link>/world/one</link></item>"
        "<item><link>two.html</link></item>"
        "<item><link>//cdn.example.org/three</link></item>"
        '<item><link>a</link><source url="/agency">Agency</source></item>'
    )
    assert urls(parse_feed(data, feed_url=FEED_URL)) == [
        "https://wire.example.com/world/one",
        "https://wire.example.com/feeds/two.html",
        "https://cdn.example.org/three",
        "https://wire.example.com/feeds/a",
    ]
    assert parse_feed(data, feed_url=FEED_URL)[3].source_url == "https://wire.example.com/agency"


def test_rss_xml_base_applies_to_links() -> None:
    data = rss('<item xml:base="https://mirror.example.org/news/"><link>story-1</link></item>')
    assert urls(parse_feed(data, feed_url=FEED_URL)) == ["https://mirror.example.org/news/story-1"]


def test_rss_guid_is_the_link_when_it_is_a_permalink() -> None:
    data = rss(
        "<item><title>default permalink</title><guid>https://wire.example.com/g1</guid></item>"
        '<item><guid isPermaLink="true">http://wire.example.com/g2</guid></item>'
        '<item><guid isPermaLink="false">https://wire.example.com/g3</guid></item>'
        '<item><guid isPermaLink=" FALSE ">https://wire.example.com/g4</guid></item>'
        "<item><guid>tag:wire.example.com,2024:g5</guid></item>"
        "<item><guid>relative/g6</guid></item>"
        "<item><guid>ftp://wire.example.com/g7</guid></item>"
    )
    items = parse_feed(data, feed_url=FEED_URL)
    assert urls(items) == ["https://wire.example.com/g1", "http://wire.example.com/g2"]
    assert items[0].guid == "https://wire.example.com/g1"


def test_rss_link_wins_over_guid_and_unusable_link_falls_back() -> None:
    data = rss(
        "<item><link>https://wire.example.com/by-link</link>"
        "<guid>https://wire.example.com/by-guid</guid></item>"
        "<item><link>javascript:void(0)</link><guid>https://wire.example.com/fallback</guid></item>"
        "<item><link>   </link><guid>https://wire.example.com/blank-link</guid></item>"
    )
    assert urls(parse_feed(data, feed_url=FEED_URL)) == [
        "https://wire.example.com/by-link",
        "https://wire.example.com/fallback",
        "https://wire.example.com/blank-link",
    ]


def test_rss_items_without_a_usable_link_are_skipped() -> None:
    data = rss(
        "<item><title>no link at all</title></item>"
        "<item><link>mailto:desk@wire.example.com</link></item>"
        "<item><link>file:///etc/hosts</link></item>"
        "<item><link>http://</link></item>"
        "<item><link>https://wire.example.com/kept</link></item>"
    )
    assert urls(parse_feed(data, feed_url=FEED_URL)) == ["https://wire.example.com/kept"]


def test_rss_atom_link_inside_an_item() -> None:
    data = rss(
        '<item><atom:link rel="enclosure" href="https://wire.example.com/a.mp3"/>'
        '<atom:link href="https://wire.example.com/story"/></item>'
    )
    assert urls(parse_feed(data, feed_url=FEED_URL)) == ["https://wire.example.com/story"]


def test_rss_feed_elements_win_over_extension_elements() -> None:
    data = rss(
        '<item xmlns:media="http://search.yahoo.com/mrss/"><media:title>media</media:title>'
        "<dc:source>https://dc.example.org/</dc:source><title>plain</title>"
        "<link>https://wire.example.com/a</link></item>"
        "<item><dc:title>only dc</dc:title><link>https://wire.example.com/b</link></item>"
    )
    first, second = parse_feed(data, feed_url=FEED_URL)
    assert (first.title, first.source_name, first.source_url) == ("plain", None, None)
    assert second.title == "only dc"


def test_rss_source_without_url_and_dc_date() -> None:
    data = rss(
        "<item><link>https://wire.example.com/a</link><source>Example Agency</source>"
        "<dc:date>2024-03-04T05:06:07Z</dc:date></item>"
    )
    (item,) = parse_feed(data, feed_url=FEED_URL)
    assert item.source_name == "Example Agency"
    assert item.source_url is None
    assert item.published == datetime(2024, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_rss_title_cdata_and_html_entities() -> None:
    data = rss(
        "<item><title><![CDATA[Markets <rally> & close]]></title>"
        "<link>https://wire.example.com/a</link></item>"
    )
    assert parse_feed(data, feed_url=FEED_URL)[0].title == "Markets <rally> & close"


def test_rss_091_with_netscape_doctype() -> None:
    data = (
        b'<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"\n'
        b' "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n'
        b'<rss version="0.91"><channel><title>Old Wire</title>'
        b"<item><title>Caf\xe9&nbsp;d&eacute;j&agrave;&#32;vu&unknownentity;</title>"
        b"<link>http://old.example.com/story?id=1</link></item>"
        b"</channel></rss>"
    )
    (item,) = parse_feed(data, feed_url="http://old.example.com/rss.xml")
    assert item.url == "http://old.example.com/story?id=1"
    assert item.title == "Café déjà vu"  # HTML entities of the (unloaded) DTD are decoded


def test_rss_092_without_xml_declaration() -> None:
    data = (
        b'<rss version="0.92"><channel><item><title>A</title>'
        b"<link>http://wire.example.com/a</link></item></channel></rss>"
    )
    assert urls(parse_feed(data, feed_url=FEED_URL)) == ["http://wire.example.com/a"]


def test_recover_mode_accepts_a_sloppy_feed() -> None:
    data = (
        b"<rss><channel><item><title>Profits & losses</title>"
        b"<link>https://wire.example.com/sloppy</link></item>"
        b"<item><link>https://wire.example.com/truncated</link><title>cut off</channel>"
    )
    assert urls(parse_feed(data, feed_url=FEED_URL)) == [
        "https://wire.example.com/sloppy",
        "https://wire.example.com/truncated",
    ]


# --- RDF (RSS 0.90 / 1.0) --------------------------------------------------------------------

RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://bulletin.example.org/">
    <title>Example Bulletin</title>
    <items><rdf:Seq><rdf:li rdf:resource="https://bulletin.example.org/1"/></rdf:Seq></items>
  </channel>
  <item rdf:about="https://bulletin.example.org/1">
    <title>First bulletin</title>
    <link>https://bulletin.example.org/1?utm_medium=rdf</link>
    <dc:date>2024-05-06T07:08:09+02:00</dc:date>
    <dc:source>ignored</dc:source>
  </item>
  <item rdf:about="https://bulletin.example.org/2"><title>About only</title></item>
  <item><title>Nothing usable</title></item>
</rdf:RDF>
"""


def test_rss1_rdf_items() -> None:
    first, second = parse_feed(RDF, feed_url="https://bulletin.example.org/rss")
    assert first == FeedItem(
        url="https://bulletin.example.org/1",
        title="First bulletin",
        published=datetime(2024, 5, 6, 5, 8, 9, tzinfo=UTC),
        guid="https://bulletin.example.org/1",
    )
    assert second.url == "https://bulletin.example.org/2"
    assert second.title == "About only"


def test_rss090_netscape_namespace() -> None:
    data = (
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        b' xmlns="http://my.netscape.com/rdf/simple/0.9/">'
        b"<channel><title>Ninety</title><link>http://n.example.com/</link></channel>"
        b"<item><title>One</title><link>http://n.example.com/1</link></item>"
        b"</rdf:RDF>"
    )
    assert urls(parse_feed(data, feed_url="http://n.example.com/rss")) == ["http://n.example.com/1"]


# --- Atom ------------------------------------------------------------------------------------


def test_atom_entry_fields() -> None:
    data = atom(
        "<entry><title type='html'>Rates &lt;b&gt;held&lt;/b&gt; &amp;amp; steady</title>"
        "<id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>"
        "<link rel='self' href='https://daily.example.com/api/1'/>"
        "<link rel='alternate' type='text/html' href='https://daily.example.com/rates-held'/>"
        "<published>2024-02-03T04:05:06.789-05:00</published>"
        "<updated>2024-02-04T00:00:00Z</updated>"
        "<source><id>urn:example:agency</id><title>Example Agency Wire</title>"
        "<link rel='self' href='https://agency.example.net/atom'/>"
        "<link href='https://agency.example.net/'/></source>"
        "</entry>"
    )
    (item,) = parse_feed(data, feed_url="https://daily.example.com/atom")
    assert item == FeedItem(
        url="https://daily.example.com/rates-held",
        title="Rates held & steady",
        published=datetime(2024, 2, 3, 9, 5, 6, 789000, tzinfo=UTC),
        source_name="Example Agency Wire",
        source_url="https://agency.example.net/",
        guid="urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a",
    )


def test_atom_xml_base_and_relative_links() -> None:
    data = atom(
        "<entry><link href='2024/one.html'/></entry>"
        "<entry xml:base='/sport/'><link href='two.html'/></entry>"
        "<entry xml:base='https://other.example.net/x/'>"
        "<link xml:base='deeper/' href='../three'/></entry>"
        "<entry><link href='../up.html'/></entry>",
        attrs=' xml:base="https://daily.example.com/news/"',
    )
    assert urls(parse_feed(data, feed_url="https://feeds.example.com/daily.atom")) == [
        "https://daily.example.com/news/2024/one.html",
        "https://daily.example.com/sport/two.html",
        "https://other.example.net/x/three",
        "https://daily.example.com/up.html",
    ]


def test_atom_relative_links_without_xml_base_use_the_feed_url() -> None:
    data = atom("<entry><link href='../story'/></entry>")
    assert urls(parse_feed(data, feed_url="https://daily.example.com/feeds/a.atom")) == [
        "https://daily.example.com/story"
    ]


def test_atom_link_preference() -> None:
    data = atom(
        # no rel means alternate, and it beats a related link written first
        "<entry><link rel='related' href='https://daily.example.com/related'/>"
        "<link href='https://daily.example.com/norel'/></entry>"
        # only self / enclosure / replies: not an article link -> skipped
        "<entry><link rel='self' href='https://daily.example.com/self'/>"
        "<link rel='enclosure' href='https://daily.example.com/a.mp3'/>"
        "<link rel='replies' href='https://daily.example.com/comments'/></entry>"
        # a related link is the fallback when there is no alternate
        "<entry><link rel='self' href='https://daily.example.com/self2'/>"
        "<link rel='related' href='https://daily.example.com/related2'/></entry>"
        # an unusable alternate falls through to the next one
        "<entry><link rel='alternate' href='mailto:x@daily.example.com'/>"
        "<link rel='ALTERNATE' href='https://daily.example.com/second-alt'/></entry>"
    )
    assert urls(parse_feed(data, feed_url="https://daily.example.com/atom")) == [
        "https://daily.example.com/norel",
        "https://daily.example.com/related2",
        "https://daily.example.com/second-alt",
    ]


def test_atom_xhtml_title_and_updated_fallback() -> None:
    data = atom(
        "<entry><title type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'>"
        "Storm <em>closes</em> ports</div></title>"
        "<link href='https://daily.example.com/storm'/>"
        "<updated>2024-06-07T08:09:10+00:00</updated></entry>"
    )
    (item,) = parse_feed(data, feed_url="https://daily.example.com/atom")
    assert item.title == "Storm closes ports"
    assert item.published == datetime(2024, 6, 7, 8, 9, 10, tzinfo=UTC)


def test_atom_with_prefix_and_without_namespace() -> None:
    prefixed = (
        b'<atom:feed xmlns:atom="http://www.w3.org/2005/Atom"><atom:entry>'
        b"<atom:title>P</atom:title><atom:link href='https://p.example.com/1'/>"
        b"</atom:entry></atom:feed>"
    )
    bare = (
        b"<feed version='0.3'><entry><title>B</title>"
        b"<link rel='alternate' type='text/html' href='https://b.example.com/1'/>"
        b"<issued>2004-01-02T03:04:05Z</issued></entry></feed>"
    )
    (p,) = parse_feed(prefixed, feed_url="https://p.example.com/")
    assert (p.url, p.title) == ("https://p.example.com/1", "P")
    (b,) = parse_feed(bare, feed_url="https://b.example.com/")
    assert (b.url, b.published) == (
        "https://b.example.com/1",
        datetime(2004, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("element", "expected"),
    [
        (
            "<pubDate>Tue, 02 Jan 2024 10:30:00 GMT</pubDate>",
            datetime(2024, 1, 2, 10, 30, tzinfo=UTC),
        ),
        (
            "<pubDate>Tue, 02 Jan 2024 10:30:00 +0100</pubDate>",
            datetime(2024, 1, 2, 9, 30, tzinfo=UTC),
        ),
        (
            "<pubDate>Tue, 02 Jan 2024 10:30:00 EST</pubDate>",
            datetime(2024, 1, 2, 15, 30, tzinfo=UTC),
        ),
        ("<pubDate>02 Jan 2024 10:30 -0000</pubDate>", datetime(2024, 1, 2, 10, 30, tzinfo=UTC)),
        ("<pubDate>Tue, 02 Jan 2024 10:30:00</pubDate>", datetime(2024, 1, 2, 10, 30, tzinfo=UTC)),
        ("<pubDate>Tue, 02 Jan 24 10:30:00 Z</pubDate>", datetime(2024, 1, 2, 10, 30, tzinfo=UTC)),
        ("<pubDate>2024-01-02T10:30:00Z</pubDate>", datetime(2024, 1, 2, 10, 30, tzinfo=UTC)),
        ("<pubDate>2024-01-02T10:30:00+05:30</pubDate>", datetime(2024, 1, 2, 5, 0, tzinfo=UTC)),
        ("<pubDate>2024-01-02 10:30:00</pubDate>", datetime(2024, 1, 2, 10, 30, tzinfo=UTC)),
        ("<pubDate>2024-01-02</pubDate>", datetime(2024, 1, 2, tzinfo=UTC)),
        (
            "<dc:date>2024-01-02T10:30:00.5z</dc:date>",
            datetime(2024, 1, 2, 10, 30, 0, 500000, tzinfo=UTC),
        ),
        # an unparsable pubDate falls back to dc:date
        (
            "<pubDate>yesterday</pubDate><dc:date>2024-01-02T10:30:00Z</dc:date>",
            datetime(2024, 1, 2, 10, 30, tzinfo=UTC),
        ),
        ("<pubDate>yesterday</pubDate>", None),
        ("<pubDate>Tue, 32 Jan 2024 10:30:00 GMT</pubDate>", None),
        ("<pubDate>0001-01-01T00:00:00+01:00</pubDate>", None),
        ("<pubDate></pubDate>", None),
        ("", None),
    ],
)
def test_dates(element: str, expected: datetime | None) -> None:
    (item,) = parse_feed(
        rss(f"<item><link>https://wire.example.com/d</link>{element}</item>"), feed_url=FEED_URL
    )
    assert item.published == expected
    if item.published is not None:
        assert item.published.tzinfo is UTC


# --- dedupe and bounds -----------------------------------------------------------------------


def test_duplicate_urls_keep_the_first_item() -> None:
    data = rss(
        "<item><title>first</title><link>https://wire.example.com/a</link></item>"
        "<item><title>tracking copy</title><link>https://wire.example.com/a?utm_source=x</link></item>"
        "<item><title>fragment copy</title><link>HTTPS://WIRE.example.com/a#comments</link></item>"
        "<item><title>other</title><link>https://wire.example.com/b</link></item>"
        "<item><title>by guid</title><guid>https://wire.example.com:443/b</guid></item>"
    )
    items = parse_feed(data, feed_url=FEED_URL)
    assert [(i.url, i.title) for i in items] == [
        ("https://wire.example.com/a", "first"),
        ("https://wire.example.com/b", "other"),
    ]


def _many_items(count: int) -> bytes:
    return rss(
        "".join(f"<item><link>https://wire.example.com/{n}</link></item>" for n in range(count))
    )


def test_max_items_bounds_the_result_and_the_work(counted_items: list[int]) -> None:
    items = parse_feed(_many_items(500), feed_url=FEED_URL, max_items=10)
    assert urls(items) == [f"https://wire.example.com/{n}" for n in range(10)]
    assert len(counted_items) == 10


def test_max_items_counts_kept_items_after_skips_and_duplicates() -> None:
    data = rss(
        "<item><title>skip</title></item>"
        "<item><link>https://wire.example.com/1</link></item>"
        "<item><link>https://wire.example.com/1</link></item>"
        "<item><link>https://wire.example.com/2</link></item>"
        "<item><link>https://wire.example.com/3</link></item>"
    )
    assert urls(parse_feed(data, feed_url=FEED_URL, max_items=2)) == [
        "https://wire.example.com/1",
        "https://wire.example.com/2",
    ]


def test_max_items_default_and_edges() -> None:
    assert len(parse_feed(_many_items(5005), feed_url=FEED_URL)) == 5000
    assert parse_feed(_many_items(3), feed_url=FEED_URL, max_items=0) == ()
    with pytest.raises(ValueError, match="max_items"):
        parse_feed(_many_items(3), feed_url=FEED_URL, max_items=-1)


def test_feed_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="not an http"):
        parse_feed(_many_items(1), feed_url="file:///srv/feed.xml")


def test_feed_item_is_frozen_and_keyword_only() -> None:
    item = FeedItem(url="https://wire.example.com/a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.url = "https://wire.example.com/b"  # type: ignore[misc]
    with pytest.raises(TypeError):
        FeedItem("https://wire.example.com/a")  # type: ignore[call-arg]


# --- encodings -------------------------------------------------------------------------------

_LATIN_ITEM = "<rss><channel><item><title>Caf\u00e9 \u00e0 Z\u00fcrich</title><link>https://e.example.com/1</link></item></channel></rss>"


@pytest.mark.parametrize(
    "data",
    [
        b"\n\n   \t" + _LATIN_ITEM.encode(),
        b'  \r\n<?xml version="1.0" encoding="UTF-8"?>' + _LATIN_ITEM.encode(),
        b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>' + _LATIN_ITEM.encode(),
        b"\xef\xbb\xbf \n<?xml version='1.0'?>" + _LATIN_ITEM.encode(),
        b'<?xml version="1.0" encoding="ISO-8859-1"?>' + _LATIN_ITEM.encode("latin-1"),
        b"<?xml version='1.0' encoding='windows-1252'?>" + _LATIN_ITEM.encode("cp1252"),
        ('<?xml version="1.0" encoding="UTF-16"?>' + _LATIN_ITEM).encode("utf-16"),
        (' \n<?xml version="1.0" encoding="UTF-16"?>' + _LATIN_ITEM).encode("utf-16-be"),
        ('<?xml version="1.0" encoding="UTF-16LE"?>' + _LATIN_ITEM).encode("utf-16-le"),
    ],
    ids=[
        "ws",
        "ws+decl",
        "bom",
        "bom+ws",
        "latin-1",
        "cp1252",
        "utf-16",
        "utf-16be-ws",
        "utf-16le",
    ],
)
def test_encodings_and_leading_whitespace(data: bytes) -> None:
    (item,) = parse_feed(data, feed_url="https://e.example.com/rss")
    assert item.title == "Café à Zürich"


# --- rejects ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html><head><title>Not a feed</title></head><body/></html>", "root <html>"),
        (
            b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>',
            "root <urlset>",
        ),
        (b"<x:channel xmlns:x='urn:x'/>", "root <x:channel>"),
        (b'{"items": []}', "not XML"),
        (b"plain text, no markup", "not XML"),
        (b"", "empty document"),
        (b" \n\t ", "empty document"),
        (b"<?xml version='1.0'?><!-- only a comment -->", "not an RSS or Atom feed"),
        (b"\x00\x01\x02\x03garbage", "not"),
    ],
)
def test_not_a_feed(data: bytes, message: str) -> None:
    with pytest.raises(DiscoveryError, match="not an RSS or Atom feed") as caught:
        parse_feed(data, feed_url=FEED_URL)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, HarvesterError)


def test_too_large_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_parse(data: bytes) -> Any:
        raise AssertionError("must not parse")

    monkeypatch.setattr(feeds, "_parse_xml", no_parse)
    data = _many_items(1)
    data += b" " * (MAX_FEED_BYTES + 1 - len(data))
    with pytest.raises(DiscoveryError, match="too large"):
        parse_feed(data, feed_url=FEED_URL)


def test_exactly_max_feed_bytes_is_accepted() -> None:
    data = _many_items(1)
    data += b" " * (MAX_FEED_BYTES - len(data))
    assert len(parse_feed(data, feed_url=FEED_URL)) == 1


SENTINEL = "sentinel-4f1c9e-not-for-feeds"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SENTINEL + "\n")
    return path


def _external_entity_feed(target: str) -> bytes:
    return (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE rss [<!ENTITY x SYSTEM "{target}">]>\n'
        "<rss><channel><item><title>&x;</title>"
        "<link>https://wire.example.com/a?&x;</link><guid>&x;</guid></item></channel></rss>"
    ).encode()


def test_external_entity_etc_passwd_is_refused() -> None:
    with pytest.raises(DiscoveryError, match="ENTITY") as caught:
        parse_feed(_external_entity_feed("file:///etc/passwd"), feed_url=FEED_URL)
    assert "root:" not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_external_entity_file_is_refused_and_never_read(secret_file: Path) -> None:
    with pytest.raises(DiscoveryError, match="ENTITY") as caught:
        parse_feed(_external_entity_feed(secret_file.as_uri()), feed_url=FEED_URL)
    assert SENTINEL not in str(caught.value)


def test_entity_defences_hold_without_the_prolog_check(
    monkeypatch: pytest.MonkeyPatch, secret_file: Path
) -> None:
    """Defence in depth: even past the byte check, the parser neither reads nor keeps it."""
    monkeypatch.setattr(feeds, "_check_prolog", lambda data: data)
    with pytest.raises(DiscoveryError, match="declares entities") as caught:
        parse_feed(_external_entity_feed(secret_file.as_uri()), feed_url=FEED_URL)
    assert SENTINEL not in str(caught.value)


def test_external_dtd_is_never_loaded(tmp_path: Path) -> None:
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY leak "{SENTINEL}">\n')
    data = (
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{dtd.as_uri()}">'
        "<rss><channel><item><title>a &leak; b</title><link>https://wire.example.com/a</link>"
        "<guid isPermaLink='false'>&leak;</guid></item></channel></rss>"
    ).encode()
    items = parse_feed(data, feed_url=FEED_URL)
    assert SENTINEL not in repr(items)
    assert urls(items) == ["https://wire.example.com/a"]


def _billion_laughs(levels: int = 10) -> str:
    lines = ['<!ENTITY lol0 "lol">']
    lines += [f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, levels)]
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n' + "\n".join(lines) + "\n]>\n"
        f"<rss><channel><item><title>&lol{levels - 1};</title>"
        "<link>https://wire.example.com/a</link></item></channel></rss>"
    )


def test_billion_laughs_is_refused_quickly() -> None:
    started = time.perf_counter()
    with pytest.raises(DiscoveryError, match="ENTITY"):
        parse_feed(_billion_laughs().encode(), feed_url=FEED_URL)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    "data",
    [
        _billion_laughs().encode("utf-16"),
        _billion_laughs().replace('<?xml version="1.0"?>', "").encode("utf-16-le"),
        _billion_laughs().replace('<?xml version="1.0"?>', "").encode("utf-32-be"),
        b"\xef\xbb\xbf" + _billion_laughs().encode(),
        # lower case, after a comment that mentions a root, after a quoted "<a" in the doctype
        b'<!-- <rss> --><!DOCTYPE rss [<!entity x "y">]><rss/>',
        b'<!DOCTYPE rss SYSTEM "<a>" [<!ENTITY x "y">]><rss/>',
        b'<?pi <rss> ?><!DOCTYPE rss [<!-- ]> --><!ENTITY x "y">]><rss/>',
        # parameter entities
        b'<!DOCTYPE rss [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><rss/>',
        # UTF-7 (which libxml2 honours): "+ADw-" is "<"
        b"<?xml version='1.0' encoding='UTF-7'?>+ADw-!DOCTYPE rss +AFs-+ADw-!ENTITY x"
        b" +ACI-y+ACI-+AD4-+AF0-+AD4-+ADw-rss/+AD4-",
    ],
    ids=["utf-16", "utf-16le-nobom", "utf-32be-nobom", "utf-8-bom", "comment", "quoted", "pi",
         "parameter", "utf-7"],
)  # fmt: skip
def test_entity_declarations_are_refused_in_any_disguise(data: bytes) -> None:
    with pytest.raises(DiscoveryError, match=r"ENTITY|entities"):
        parse_feed(data, feed_url=FEED_URL)


def test_entity_text_after_the_root_is_fine() -> None:
    data = rss(
        "<item><title>Explainer: what &lt;!ENTITY&gt; means</title>"
        "<description><![CDATA[<!DOCTYPE x [<!ENTITY y 'z'>]>]]></description>"
        "<link>https://wire.example.com/xml-explainer</link></item>"
    )
    (item,) = parse_feed(data, feed_url=FEED_URL)
    assert item.title == "Explainer: what <!ENTITY> means"


@pytest.mark.parametrize(
    "data",
    [
        b"<!--" + b"x" * (70 * 1024) + b"-->" + _many_items(1),
        b"<!--" + b"x" * (300 * 1024) + b"-->" + _many_items(1),
        ("<!--" + "x" * (64 * 1024) + '--><!DOCTYPE rss [<!ENTITY x "y">]><rss/>').encode("utf-32"),
    ],
    ids=["70KiB", "300KiB", "utf-32-entity-beyond-window"],
)
def test_prolog_longer_than_64_kib_is_refused(data: bytes) -> None:
    with pytest.raises(DiscoveryError, match="prolog"):
        parse_feed(data, feed_url=FEED_URL)


def test_short_prolog_with_doctype_and_stylesheet_is_fine() -> None:
    prolog = (
        '<?xml version="1.0"?>\n<?xml-stylesheet type="text/xsl" href="/feed.xsl"?>\n'
        "<!-- generated for tests -->\n<!DOCTYPE rss>\n"
    )
    data = rss("<item><link>https://wire.example.com/a</link></item>", prolog=prolog)
    assert urls(parse_feed(data, feed_url=FEED_URL)) == ["https://wire.example.com/a"]


# --- robustness ------------------------------------------------------------------------------

_XMLISH = st.lists(
    st.sampled_from(
        ["<rss>", "<channel>", "<item>", "</item>", "<link>", "</link>", "https://e.example.com/x",
         "<feed xmlns='http://www.w3.org/2005/Atom'>", "<entry>", "<link href='/y'/>", "<guid>",
         "</guid>", "<!DOCTYPE rss>", "<!--", "-->", "<?xml version='1.0'?>", "&amp;", "&x;",
         "<![CDATA[", "]]>", "<pubDate>", "Tue, 02 Jan 2024", "</pubDate>", " ", "\n", "\x00",
         "\u00e9", "xml:base='../'", "<!ENTITY", "'", '"', "<", ">", "]"]
    ),
    max_size=30,
).map("".join)  # fmt: skip


@given(st.one_of(st.binary(max_size=300), _XMLISH.map(str.encode)))
@settings(max_examples=300, deadline=None)
def test_property_arbitrary_bytes_give_items_or_discovery_error(data: bytes) -> None:
    try:
        items = parse_feed(data, feed_url=FEED_URL)
    except DiscoveryError as exc:
        assert "\n" not in str(exc)
        return
    for item in items:
        assert item.url.startswith(("http://", "https://"))
        assert "#" not in item.url
