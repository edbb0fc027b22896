"""Discover article links on an HTML section page (a news site's ``/world/`` page), without I/O.

Contract of :func:`article_links` (pure: no files, no network)::

    parse       selectolax's lexbor backend; every ``<a href>`` in document order
    resolve     hrefs resolve against the first ``<base href>`` (itself resolved against
                ``page_url``; ignored unless it gives an http(s) URL) or else ``page_url``, then
                go through ``normalise_url`` (tracking parameters and fragments dropped)
    keep        only http(s) links on the page's host (``www.host`` and ``host`` are the same
                host; the port must match too)
    drop        fragment-only hrefs (``#top``), non-http schemes (javascript:, mailto:, tel:,
                data: ...), links back to the page itself (any scheme, www or trailing slash),
                and links inside site furniture: ``<nav>``, ``<aside>``, a site-level
                ``<header>`` / ``<footer>`` and elements with the equivalent ARIA roles
    filter      ``include`` / ``exclude`` are regular expressions matched with ``re.search``
                against the normalised URL's path plus ``?query``.  With ``include``, a link must
                match one of them; without, :func:`looks_like_article` decides.  Any ``exclude``
                match drops the link.  An invalid pattern raises ValueError
    dedupe      by normalised URL: the first occurrence sets the position, the occurrence with
                the longest anchor text sets ``text``
    bound       at most ``max_links`` links (the first ones in page order); a negative bound
                raises ValueError
    text        the anchor's text, whitespace-collapsed, None when empty

``page_url`` must be an http(s) URL that ``normalise_url`` accepts (ValueError otherwise).

:func:`looks_like_article` is the URL heuristic used without include patterns; see its
docstring for the rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from harvester.discover.urls import normalise_url

__all__ = ["SectionLink", "article_links", "looks_like_article"]


@dataclass(frozen=True, kw_only=True)
class SectionLink:
    """One article link found on a section page."""

    url: str
    """The normalised absolute URL."""
    text: str | None
    """The anchor text (usually the headline), whitespace-collapsed; None when empty."""


# --- site furniture ---------------------------------------------------------------------------

# Navigation menus and sidebars ("most read", "related", promos) repeat on every page of the
# site; following them would make every section page discover the same links.
_FURNITURE_TAGS = frozenset({"nav", "aside"})
# <header>/<footer> are the site banner and footer only when they are not scoped to a sectioning
# element: HTML-AAM maps them to the banner / contentinfo roles only then.  A news listing often
# writes each teaser as <article><header><h2><a>Headline</a></h2></header>, and those headline
# links are exactly the ones wanted.
_BANNER_TAGS = frozenset({"header", "footer"})
_SCOPING_TAGS = frozenset({"article", "main", "section"})
# Explicit ARIA landmark roles mark furniture on sites built from <div>s.
_FURNITURE_ROLES = frozenset({"navigation", "complementary", "banner", "contentinfo"})


def _in_furniture(anchor: LexborNode) -> bool:
    """Return True when ``anchor`` sits inside navigation, a sidebar, or the site header/footer."""
    banner = False  # a <header>/<footer> below the current ancestor, not yet scoped
    node = anchor.parent
    while node is not None:
        tag = node.tag
        if tag in _FURNITURE_TAGS:
            return True
        if tag in _BANNER_TAGS:
            banner = True
        elif tag in _SCOPING_TAGS:
            banner = False
        role = node.attributes.get("role") if tag and not tag.startswith("-") else None
        if role and role.strip().lower() in _FURNITURE_ROLES:
            return True
        node = node.parent
    return banner


# --- the URL heuristic ------------------------------------------------------------------------

# Non-page resources: following them wastes a fetch and never yields a story.
_MEDIA_EXTENSIONS = frozenset(
    {
        "jpg", "jpeg", "png", "gif", "webp", "avif", "svg", "bmp", "ico", "tif", "tiff",
        "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "zip", "gz",
        "mp4", "m4v", "mov", "webm", "avi", "mkv", "mp3", "m4a", "aac", "ogg", "wav", "flac",
        "css", "js", "json", "woff", "woff2", "ttf",
    }
)  # fmt: skip
_FEED_EXTENSIONS = frozenset({"xml", "rss", "atom", "rdf"})
# Path segments of listing and utility pages.  Matched against whole segments only, so a story
# slug such as "contact-tracing-app-launches-nationwide" or "page-turner-..." is not caught;
# the multi-word spellings sites use for their legal/contact pages are listed explicitly.
_NON_ARTICLE_SEGMENTS = frozenset(
    {
        "tag", "tags", "topic", "topics", "author", "authors", "byline", "people",
        "category", "categories", "section", "sections", "page", "search",
        "login", "log-in", "signin", "sign-in", "logout", "register", "signup", "sign-up",
        "account", "subscribe", "subscription", "subscriptions", "newsletter", "newsletters",
        "about", "about-us", "contact", "contact-us", "privacy", "privacy-policy",
        "privacy-notice", "cookies", "cookie-policy", "cookies-policy", "terms",
        "terms-of-use", "terms-of-service", "terms-and-conditions", "feed", "feeds", "rss", "atom",
    }
)  # fmt: skip
# A publication date in the path is the strongest signal: section roots and utility pages
# never carry one.  Years are limited to 1990-2099 so that numeric ids are not taken for dates.
_YEAR = r"(?:199\d|20\d\d)"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_DATE_SEGMENTS_RE = re.compile(rf"/{_YEAR}/{_MONTH}/{_DAY}/(?=[^/])")
_DATE_IN_SEGMENT_RE = re.compile(rf"(?<!\d){_YEAR}-{_MONTH}-{_DAY}(?!\d)")
# Long numeric ids (CMS primary keys) end most non-slug article URLs; five digits keeps
# pagination ("/world/2") and years ("/2026") out.
_TRAILING_ID_RE = re.compile(r"(?:^|[-_.])\d{5,}$")
_WORD_SPLIT_RE = re.compile(r"[-_]+")
_LETTER_RE = re.compile(r"[^\W\d_]")
# Headline slugs are sentences: four joined words rules out section names ("middle-east",
# "us-politics", "climate-and-energy") while keeping nearly every story slug.
_MIN_SLUG_WORDS = 4
# A .html page is a story when its name reads like one; "index.html" or "world.html" are not.
_MIN_HTML_SLUG_WORDS = 2
_INDEX_STEMS = frozenset({"index", "default", "home", "main"})


def _words(segment: str) -> list[str]:
    return [word for word in _WORD_SPLIT_RE.split(segment) if word]


def _is_slug(segment: str, min_words: int) -> bool:
    words = _words(segment)
    return len(words) >= min_words and any(_LETTER_RE.search(word) for word in words)


def looks_like_article(url: str) -> bool:
    """Return True when ``url`` (absolute, or a path) looks like a single story, not a listing.

    Negative rules win: the home page, media and feed files (by extension), and any path with a
    listing or utility segment (tag, topic, author, category, page, search, login, subscribe,
    about, contact, privacy, terms, feed, rss ...).  Then a URL is an article when its path has
    a date (``/2026/03/03/`` followed by more path, or ``2026-03-03`` inside a segment that is
    not the last one or has more text than the date), a segment that is a slug of at least four
    words joined by ``-`` or ``_``, a last segment ending in a numeric id of five or more
    digits, or a ``.html`` / ``.htm`` name that is a slug of two or more words.  Anything else
    (section roots such as ``/world/`` or ``/sport``) is not.
    """
    path = unquote(urlsplit(url.strip()).path).lower()
    segments = [segment for segment in path.split("/") if segment]
    if not segments:
        return False  # the home page
    last = segments[-1]
    stem, dot, extension = last.rpartition(".")
    if not dot:
        stem, extension = last, ""
    if extension in _MEDIA_EXTENSIONS or extension in _FEED_EXTENSIONS:
        return False
    if any(segment in _NON_ARTICLE_SEGMENTS for segment in segments):
        return False
    if _DATE_SEGMENTS_RE.search(path):
        return True
    for index, segment in enumerate(segments):
        match = _DATE_IN_SEGMENT_RE.search(segment)
        # A bare date as the last segment is a day archive ("/world/2026-03-03").
        if match and (index < len(segments) - 1 or match.group() != segment):
            return True
    if extension in ("html", "htm"):
        return stem not in _INDEX_STEMS and _is_slug(stem, _MIN_HTML_SLUG_WORDS)
    if _TRAILING_ID_RE.search(stem):
        return True
    return any(_is_slug(segment, _MIN_SLUG_WORDS) for segment in segments)


# --- article_links ----------------------------------------------------------------------------

_WHITESPACE_RE = re.compile(r"\s+")


def _compile(patterns: Sequence[str], what: str) -> tuple[re.Pattern[str], ...]:
    if isinstance(patterns, str):
        raise ValueError(f"{what} must be a sequence of patterns, not a string")
    compiled: list[re.Pattern[str]] = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise ValueError(f"invalid {what} pattern {pattern!r}: {exc}") from exc
    return tuple(compiled)


def _site_key(url: str) -> tuple[str, int | None]:
    """The host (``www.`` removed) and explicit port of a normalised URL."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return host.removeprefix("www."), parts.port


def _page_key(url: str) -> tuple[str, int | None, str, str]:
    """What identifies the page itself: site, path without trailing slash, query (no scheme)."""
    parts = urlsplit(url)
    return (*_site_key(url), parts.path.rstrip("/") or "/", parts.query)


def _path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def _wanted(
    url: str, includes: tuple[re.Pattern[str], ...], excludes: tuple[re.Pattern[str], ...]
) -> bool:
    """Apply the include/exclude patterns, or the article heuristic when there is no include."""
    target = _path_and_query(url)
    if includes:
        if not any(pattern.search(target) for pattern in includes):
            return False
    elif not looks_like_article(url):
        return False
    return not any(pattern.search(target) for pattern in excludes)


def _collapse(text: str) -> str | None:
    return _WHITESPACE_RE.sub(" ", text).strip() or None


def _base_url(tree: LexborHTMLParser, page_url: str) -> str:
    """The document's base URL: the first ``<base href>`` when it resolves to http(s)."""
    base = tree.css_first("base[href]")
    href = base.attributes.get("href") if base is not None else None
    if href and href.strip():
        try:
            return normalise_url(href, page_url)
        except ValueError:
            pass  # a javascript: or malformed base is ignored, as browsers fall back
    return page_url


def article_links(
    html: str,
    *,
    page_url: str,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    max_links: int = 500,
) -> tuple[SectionLink, ...]:
    """Return the article links of the section page ``html`` (see the module docstring)."""
    if max_links < 0:
        raise ValueError(f"max_links must be >= 0, got {max_links}")
    includes = _compile(include, "include")
    excludes = _compile(exclude, "exclude")
    page = normalise_url(page_url)
    site = _site_key(page)
    page_key = _page_key(page)
    if max_links == 0 or not html.strip():
        return ()
    tree = LexborHTMLParser(html)
    base = _base_url(tree, page)

    order: list[str] = []
    texts: dict[str, str | None] = {}
    for anchor in tree.css("a[href]"):
        href = (anchor.attributes.get("href") or "").strip()
        if not href or href.startswith("#"):
            continue
        try:
            url = normalise_url(href, base)  # non-http schemes raise ValueError here
        except ValueError:
            continue
        if url in texts:
            if not _in_furniture(anchor):
                text = _collapse(anchor.text(deep=True))
                if text and len(text) > len(texts[url] or ""):
                    texts[url] = text
            continue
        if len(order) >= max_links:
            continue  # full: later anchors may still lengthen a kept link's text
        if _site_key(url) != site or _page_key(url) == page_key:
            continue
        if not _wanted(url, includes, excludes) or _in_furniture(anchor):
            continue
        order.append(url)
        texts[url] = _collapse(anchor.text(deep=True))
    return tuple(SectionLink(url=url, text=texts[url]) for url in order)
