"""Tests for harvester.discover.sections: article links on section pages and the URL heuristic.

Every page here is written for these tests (fictional outlets under example.* domains).
"""

from __future__ import annotations

import html as htmllib
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.discover.sections import SectionLink, article_links, looks_like_article

PAGE_URL = "https://news.example.com/world/"


def page(body: str, *, head: str = "") -> str:
    return f"<!doctype html><html><head><title>World</title>{head}</head><body>{body}</body></html>"


def urls(links: tuple[SectionLink, ...]) -> list[str]:
    return [link.url for link in links]


SECTION_PAGE = page(
    """
    <header class="site">
      <a href="/">Example News</a>
      <a href="/2026/03/01/header-promo-story-about-nothing">Promo in the banner</a>
    </header>
    <nav><ul>
      <li><a href="/world/">World</a></li>
      <li><a href="/world/europe-and-the-wider-neighbourhood-today">Europe menu</a></li>
    </ul></nav>
    <main>
      <h1>World</h1>
      <article class="teaser">
        <header><h2><a href="/world/2026/03/03/harbour-strike-enters-second-week">
          Harbour   strike
          enters <em>second</em> week
        </a></h2></header>
        <footer><a href="/author/jane-roe">Jane Roe</a></footer>
      </article>
      <article><a href="https://news.example.com/world/ferry-talks-resume-after-long-pause">
        Ferry talks resume</a></article>
      <article><a href="//www.news.example.com/world/story/12345678">Id-style story</a></article>
      <article><a href="../europe/2026-03-02/river-levels">Dated segment story</a></article>
      <article><a href="/world/flood-defences.html">Flood defences</a></article>
      <article><a href="https://other.example.org/world/2026/03/03/elsewhere-story-about-it">
        External</a></article>
      <a href="#comments">Comments</a>
      <a href="javascript:void(0)">Share</a>
      <a href="mailto:desk@news.example.com">Email the desk</a>
      <a href="tel:+15550100">Call</a>
      <a href="/world/">World again</a>
      <a href="/world/?page=2">Next page</a>
      <a href="/tag/harbour-strike-news-updates">Tag page</a>
      <a href="/images/2026/03/03/harbour-strike-photo-large.jpg">Photo</a>
    </main>
    <aside><a href="/world/most-read-story-of-the-whole-week">Most read</a></aside>
    <footer>
      <a href="/privacy">Privacy</a>
      <a href="/world/2026/03/03/footer-promo-story-about-nothing">Footer promo</a>
    </footer>
    """
)


def test_section_page_keeps_article_links_in_page_order() -> None:
    links = article_links(SECTION_PAGE, page_url=PAGE_URL)
    assert links == (
        SectionLink(
            url="https://news.example.com/world/2026/03/03/harbour-strike-enters-second-week",
            text="Harbour strike enters second week",
        ),
        SectionLink(
            url="https://news.example.com/world/ferry-talks-resume-after-long-pause",
            text="Ferry talks resume",
        ),
        SectionLink(url="https://www.news.example.com/world/story/12345678", text="Id-style story"),
        SectionLink(
            url="https://news.example.com/europe/2026-03-02/river-levels",
            text="Dated segment story",
        ),
        SectionLink(
            url="https://news.example.com/world/flood-defences.html", text="Flood defences"
        ),
    )


def test_furniture_links_are_dropped_even_when_they_look_like_articles() -> None:
    found = set(urls(article_links(SECTION_PAGE, page_url=PAGE_URL, include=(".",))))
    for furniture in (
        "/2026/03/01/header-promo-story-about-nothing",
        "/world/europe-and-the-wider-neighbourhood-today",
        "/world/most-read-story-of-the-whole-week",
        "/privacy",
        "/world/2026/03/03/footer-promo-story-about-nothing",
        "/",
    ):
        assert "https://news.example.com" + furniture not in found
    # A <header>/<footer> scoped to an <article> is not site furniture.
    assert "https://news.example.com/author/jane-roe" in found


def test_aria_landmark_roles_are_furniture() -> None:
    html = page(
        '<div role="navigation"><a href="/world/menu-link-that-looks-like-story">a</a></div>'
        '<div role="Complementary"><a href="/world/sidebar-link-that-looks-like-story">b</a></div>'
        '<div class="content"><a href="/world/body-link-that-is-a-story">c</a></div>'
    )
    assert urls(article_links(html, page_url=PAGE_URL)) == [
        "https://news.example.com/world/body-link-that-is-a-story"
    ]


def test_same_link_in_furniture_and_body_is_kept_once() -> None:
    html = page(
        '<nav><a href="/world/storm-hits-the-coast-tonight">Storm: long menu title</a></nav>'
        '<a href="/world/storm-hits-the-coast-tonight">Storm hits</a>'
    )
    assert article_links(html, page_url=PAGE_URL) == (
        SectionLink(
            url="https://news.example.com/world/storm-hits-the-coast-tonight", text="Storm hits"
        ),
    )


def test_external_and_other_subdomain_links_are_dropped() -> None:
    html = page(
        '<a href="https://other.example.org/2026/03/03/a-story-on-another-site">x</a>'
        '<a href="https://sport.news.example.com/2026/03/03/a-story-on-a-subdomain">x</a>'
        '<a href="https://news.example.com:8443/2026/03/03/a-story-on-another-port">x</a>'
        '<a href="http://NEWS.example.com/2026/03/03/plain-http-same-host">x</a>'
        '<a href="https://www.news.example.com/2026/03/03/www-variant-same-host">x</a>'
    )
    assert urls(article_links(html, page_url=PAGE_URL)) == [
        "http://news.example.com/2026/03/03/plain-http-same-host",
        "https://www.news.example.com/2026/03/03/www-variant-same-host",
    ]


def test_www_page_accepts_bare_host_links() -> None:
    html = page('<a href="https://news.example.com/world/bare-host-link-story-here">x</a>')
    assert urls(article_links(html, page_url="https://www.news.example.com/world/")) == [
        "https://news.example.com/world/bare-host-link-story-here"
    ]


def test_page_itself_is_dropped_in_any_spelling() -> None:
    page_url = "https://news.example.com/world/2026/03/03/the-page-itself-is-a-story"
    html = page(
        '<a href="">empty</a>'
        '<a href="#top">top</a>'
        '<a href="?utm_source=x">self with tracking</a>'
        '<a href="http://www.news.example.com/world/2026/03/03/the-page-itself-is-a-story/">'
        "www, http and slash</a>"
        '<a href="/world/2026/03/03/another-story-entirely-here">other</a>'
    )
    assert urls(article_links(html, page_url=page_url)) == [
        "https://news.example.com/world/2026/03/03/another-story-entirely-here"
    ]


def test_tracking_duplicates_are_merged_with_the_longest_text() -> None:
    html = page(
        '<a href="/world/ceasefire-talks-open-in-geneva?utm_source=home&amp;utm_medium=x">'
        "<img alt='' src='/i.jpg'></a>"
        '<a href="/world/other-story-about-the-markets">Markets</a>'
        '<a href="/world/ceasefire-talks-open-in-geneva#comments">Ceasefire talks open</a>'
        '<a href="/world/ceasefire-talks-open-in-geneva?fbclid=1">Talks</a>'
        '<a href="/world/ceasefire-talks-open-in-geneva?id=1">Different query</a>'
    )
    assert article_links(html, page_url=PAGE_URL) == (
        SectionLink(
            url="https://news.example.com/world/ceasefire-talks-open-in-geneva",
            text="Ceasefire talks open",
        ),
        SectionLink(
            url="https://news.example.com/world/other-story-about-the-markets", text="Markets"
        ),
        SectionLink(
            url="https://news.example.com/world/ceasefire-talks-open-in-geneva?id=1",
            text="Different query",
        ),
    )


def test_empty_anchor_text_is_none() -> None:
    html = page('<a href="/world/photo-only-teaser-for-story"> <img src="/x.png"> \n</a>')
    assert article_links(html, page_url=PAGE_URL) == (
        SectionLink(url="https://news.example.com/world/photo-only-teaser-for-story", text=None),
    )


def test_base_href_resolves_relative_links() -> None:
    html = page(
        '<a href="2026/03/03/relative-to-the-base-href">rel</a>'
        '<a href="/world/root-relative-keeps-base-host">root</a>',
        head='<base href="https://www.news.example.com/archive/"><base href="/ignored/">',
    )
    assert urls(article_links(html, page_url=PAGE_URL)) == [
        "https://www.news.example.com/archive/2026/03/03/relative-to-the-base-href",
        "https://www.news.example.com/world/root-relative-keeps-base-host",
    ]


def test_relative_base_href_and_unusable_base_href() -> None:
    body = '<a href="fire-crews-battle-hillside-blaze">x</a>'
    relative = page(body, head='<base href="/regional/">')
    assert urls(article_links(relative, page_url=PAGE_URL)) == [
        "https://news.example.com/regional/fire-crews-battle-hillside-blaze"
    ]
    unusable = page(body, head='<base href="javascript:alert(1)">')
    assert urls(article_links(unusable, page_url=PAGE_URL)) == [
        "https://news.example.com/world/fire-crews-battle-hillside-blaze"
    ]


def test_base_href_on_another_host_makes_relative_links_external() -> None:
    html = page(
        '<a href="storm-warning-for-the-coast">x</a>', head='<base href="https://cdn.example.net/">'
    )
    assert article_links(html, page_url=PAGE_URL) == ()


INCLUDE_PAGE = page(
    '<a href="/world/europe">Europe</a>'
    '<a href="/video/2026/03/03/watch-the-harbour-strike-live">Video</a>'
    '<a href="/world/a/123">Short id</a>'
    '<a href="/world/2026/03/03/harbour-strike-enters-second-week?live=1">Live</a>'
)


def test_include_patterns_replace_the_heuristic() -> None:
    links = article_links(INCLUDE_PAGE, page_url=PAGE_URL, include=(r"^/world/a/\d+$", "europe"))
    assert urls(links) == [
        "https://news.example.com/world/europe",
        "https://news.example.com/world/a/123",
    ]


def test_include_matches_path_and_query_not_host() -> None:
    assert urls(article_links(INCLUDE_PAGE, page_url=PAGE_URL, include=(r"\?live=1$",))) == [
        "https://news.example.com/world/2026/03/03/harbour-strike-enters-second-week?live=1"
    ]
    assert article_links(INCLUDE_PAGE, page_url=PAGE_URL, include=("news\\.example",)) == ()


def test_exclude_patterns_drop_links() -> None:
    links = article_links(INCLUDE_PAGE, page_url=PAGE_URL, exclude=("^/video/",))
    assert urls(links) == [
        "https://news.example.com/world/2026/03/03/harbour-strike-enters-second-week?live=1"
    ]
    both = article_links(INCLUDE_PAGE, page_url=PAGE_URL, include=("/world/",), exclude=("live",))
    assert urls(both) == [
        "https://news.example.com/world/europe",
        "https://news.example.com/world/a/123",
    ]


@pytest.mark.parametrize(
    ("include", "exclude"), [(("(unclosed",), ()), ((), ("[z-a]",)), (("ok", "*bad"), ())]
)
def test_invalid_patterns_raise_value_error(
    include: tuple[str, ...], exclude: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError, match="pattern"):
        article_links("", page_url=PAGE_URL, include=include, exclude=exclude)


def test_a_bare_string_pattern_is_refused() -> None:
    with pytest.raises(ValueError, match="sequence"):
        article_links("", page_url=PAGE_URL, include="/world/")


def test_max_links_bounds_the_result() -> None:
    html = page("".join(f'<a href="/world/story-number-{i}-of-many">{i}</a>' for i in range(50)))
    assert len(article_links(html, page_url=PAGE_URL)) == 50
    links = article_links(html, page_url=PAGE_URL, max_links=3)
    assert urls(links) == [
        f"https://news.example.com/world/story-number-{i}-of-many" for i in range(3)
    ]
    assert article_links(html, page_url=PAGE_URL, max_links=0) == ()
    with pytest.raises(ValueError, match="max_links"):
        article_links(html, page_url=PAGE_URL, max_links=-1)


def test_max_links_still_prefers_longer_text_of_kept_links() -> None:
    html = page(
        '<a href="/world/first-story-on-the-page">First</a>'
        '<a href="/world/second-story-on-the-page">Second</a>'
        '<a href="/world/first-story-on-the-page">First story, full headline</a>'
    )
    assert article_links(html, page_url=PAGE_URL, max_links=1) == (
        SectionLink(
            url="https://news.example.com/world/first-story-on-the-page",
            text="First story, full headline",
        ),
    )


def test_invalid_page_url_raises() -> None:
    with pytest.raises(ValueError):
        article_links(page(""), page_url="ftp://news.example.com/world/")
    with pytest.raises(ValueError):
        article_links(page(""), page_url="/world/")


def test_empty_and_broken_html() -> None:
    assert article_links("", page_url=PAGE_URL) == ()
    assert article_links("<a href='/world/unclosed-anchor-in-broken-html", page_url=PAGE_URL) == ()
    broken = "<div><a href=/world/unquoted-attribute-story-link>Unclosed <b>markup"
    assert urls(article_links(broken, page_url=PAGE_URL)) == [
        "https://news.example.com/world/unquoted-attribute-story-link"
    ]


def test_odd_hrefs_are_skipped_without_error() -> None:
    html = page(
        '<a href="http://[::1">bad ipv6</a>'
        '<a href="https://news.example.com:99999/2026/03/03/bad-port-story">bad port</a>'
        '<a href="data:text/html,hi">data</a>'
        '<a href=" JavaScript:alert(1)">js</a>'
        '<a href="  /world/whitespace-around-the-href-story  ">ok</a>'
    )
    assert urls(article_links(html, page_url=PAGE_URL)) == [
        "https://news.example.com/world/whitespace-around-the-href-story"
    ]


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example.com/world/2026/03/03/harbour-strike",
        "https://news.example.com/2026/3/3/strike",
        "https://news.example.com/world/2026-03-03/strike",
        "https://news.example.com/world/strike-2026-03-03",
        "https://news.example.com/world/harbour-strike-enters-week",
        "https://news.example.com/world/harbour_strike_enters_week/",
        "https://news.example.com/world/story/12345",
        "https://news.example.com/world/europe-68123456",
        "https://news.example.com/a/1234567/",
        "https://news.example.com/world/harbour-strike.html",
        "https://news.example.com/2026/flood-defences.htm",
        "https://news.example.com/world/%D0%BD%D0%BE%D0%B2%D0%B8%D0%BD%D0%B0-%D0%BE-%D0%B7%D0%B0%D0%B1%D0%B0%D1%81%D1%82%D0%BE%D0%B2%D0%BA%D0%B5-%D0%B2-%D0%BF%D0%BE%D1%80%D1%82%D1%83",
        "/world/contact-tracing-app-launches-nationwide",
        "/world/page-turner-novel-wins-prize",
    ],
)
def test_looks_like_article_positives(url: str) -> None:
    assert looks_like_article(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example.com/",
        "https://news.example.com",
        "https://news.example.com/?s=strike",
        "https://news.example.com/world/",
        "https://news.example.com/sport",
        "https://news.example.com/middle-east",
        "https://news.example.com/world/us-politics/",
        "https://news.example.com/world/2026/03/03/",
        "https://news.example.com/world/2026-03-03",
        "https://news.example.com/world/2026",
        "https://news.example.com/world/2",
        "https://news.example.com/tag/harbour-strike-news-updates",
        "https://news.example.com/topics/climate-change-and-energy-policy",
        "https://news.example.com/author/jane-roe-senior-correspondent",
        "https://news.example.com/category/world/2026/03/03/x",
        "https://news.example.com/world/page/12345",
        "https://news.example.com/search?q=harbour+strike+second+week",
        "https://news.example.com/login?next=/world/harbour-strike-enters-week",
        "https://news.example.com/subscribe",
        "https://news.example.com/about-us",
        "https://news.example.com/contact",
        "https://news.example.com/privacy-policy",
        "https://news.example.com/terms-and-conditions",
        "https://news.example.com/world/rss.xml",
        "https://news.example.com/feeds/world-news-latest-headlines",
        "https://news.example.com/world/2026/03/03/harbour-strike/feed/",
        "https://news.example.com/rss",
        "https://news.example.com/images/2026/03/03/harbour-strike-photo-large.jpg",
        "https://news.example.com/media/harbour-strike-photo-gallery.PNG",
        "https://news.example.com/docs/annual-report-2026-full-text.pdf",
        "https://news.example.com/video/2026/03/03/harbour-strike-live.mp4",
        "https://news.example.com/index.html",
        "https://news.example.com/world/europe.html",
    ],
)
def test_looks_like_article_negatives(url: str) -> None:
    assert not looks_like_article(url)


# --- properties -------------------------------------------------------------------------------

_HOSTS = ["news.example.com", "www.news.example.com", "other.example.org", "NEWS.example.com"]
_PATHS = [
    "/world/2026/03/03/harbour-strike",
    "/world/ferry-talks-resume-after-pause",
    "/world/story/12345678",
    "/world/",
    "/",
    "/tag/x",
    "/world/flood.html",
]
_href = st.one_of(
    st.builds(
        lambda scheme, host, path, query, fragment: f"{scheme}://{host}{path}{query}{fragment}",
        st.sampled_from(["http", "https", "HTTPS"]),
        st.sampled_from(_HOSTS),
        st.sampled_from(_PATHS),
        st.sampled_from(["", "?utm_source=x", "?id=1", "?fbclid=2&id=1"]),
        st.sampled_from(["", "#c", "#"]),
    ),
    st.sampled_from(_PATHS),
    st.sampled_from(["#top", "javascript:void(0)", "mailto:a@b.c", "tel:1", "../x-y-z-w", ""]),
    st.text(max_size=30),
)
_wrapper = st.sampled_from(
    ["{}", "<nav>{}</nav>", "<article><header>{}</header></article>", "<p>{}</p>"]
)


@settings(max_examples=200, deadline=None)
@given(
    anchors=st.lists(st.tuples(_href, st.text(max_size=20), _wrapper), max_size=25),
    include=st.sampled_from([(), (".",), ("world",)]),
)
def test_property_links_are_on_the_page_host_and_unique(
    anchors: list[tuple[str, str, str]], include: tuple[str, ...]
) -> None:
    body = "".join(
        wrapper.format(f'<a href="{htmllib.escape(href)}">{htmllib.escape(text)}</a>')
        for href, text, wrapper in anchors
    )
    links = article_links(page(body), page_url=PAGE_URL, include=include)
    found = urls(links)
    assert len(found) == len(set(found))
    for link in links:
        parts = urlsplit(link.url)
        assert parts.scheme in ("http", "https")
        assert parts.hostname in ("news.example.com", "www.news.example.com")
        assert parts.port is None
        assert not parts.fragment
        assert link.text is None or (link.text == link.text.strip() and link.text)
