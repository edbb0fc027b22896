"""Page metadata from the DOM (selectolax): title, authors, published date, site name, language,
canonical link, Open Graph type and the JSON-LD objects.

Pure and fast: one lexbor parse, CSS look-ups, no date guessing over the whole text (trafilatura's
``with_metadata`` pass costs about as much as its whole text extraction; this costs a few percent
of it). Sources are tried strongest first: JSON-LD, then Open Graph / article meta, then the
document's own elements.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

__all__ = ["HeadTags", "PageMeta", "iso_date", "read_head", "read_metadata"]

_ARTICLE_TYPES = frozenset(
    {"article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle", "blogposting",
     "opinionnewsarticle", "backgroundnewsarticle", "reviewnewsarticle", "report",
     "liveblogposting"}
)  # fmt: skip
# (attribute, value) of the <meta> elements read, strongest first: ``meta[name="x"]`` is
# ("name", "x"); values are matched exactly, as CSS attribute selectors match them.
_DATE_META = (
    ("property", "article:published_time"),
    ("name", "article:published_time"),
    ("property", "og:published_time"),
    ("itemprop", "datePublished"),
    ("name", "pubdate"),
    ("name", "publishdate"),
    ("name", "publish-date"),
    ("name", "parsely-pub-date"),
    ("name", "sailthru.date"),
    ("name", "dc.date"),
    ("name", "DC.date.issued"),
    ("name", "dcterms.created"),
    ("name", "date"),
)
_AUTHOR_META = (
    ("name", "author"),
    ("property", "article:author"),
    ("name", "parsely-author"),
    ("name", "sailthru.author"),
    ("name", "dc.creator"),
    ("name", "byl"),
)
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_URL_DATE = re.compile(r"/(20\d{2}|19\d{2})[/-](\d{1,2})[/-](\d{1,2})(?:/|$|[^\d])")
_BY_PREFIX = re.compile(r"^\s*(?:by|von|par|por|автор:?)\s+", re.IGNORECASE)
_AUTHOR_SPLIT = re.compile(r"\s*(?:;|\|| and | und | et | y | и |,(?=\s*[A-ZÀ-ÖØ-ÞА-Я]))\s*")
_TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ", " · ")


# The <meta> attributes whose values name a meta element for _meta; http-equiv values match
# in any ASCII case (the CSS ``i`` flag), the others exactly.
_META_KEYS = ("name", "property", "itemprop")
_JSON_LD_TYPE = "application/ld+json"
# What metadata reads (attribution reads any case); lexbor matches ``type`` values in any
# ASCII case either way (HTML lists ``type`` among the case-insensitive attributes), so this
# asks lexbor rather than comparing strings.
_JSON_LD_EXACT = f'script[type="{_JSON_LD_TYPE}"]'


@dataclass(frozen=True, kw_only=True)
class HeadTags:
    """What metadata and attribution both read from a page's ``<meta>`` and JSON-LD elements,
    read once (selectolax builds an attribute dict per call, and JSON-LD parses are costly).

    ``metas``: the attributes of every ``<meta>`` element, in document order (the elements
    ``tree.css("meta")`` gives). ``json_ld``: every script matching
    ``script[type="application/ld+json" i]`` whose text parses as JSON, in document order,
    as ``(exact, document)`` where ``exact`` tells the script matches
    ``script[type="application/ld+json"]`` (the selector metadata reads; attribution reads
    every one). The documents are shared: readers must not modify them.
    """

    metas: tuple[Mapping[str, str | None], ...] = ()
    json_ld: tuple[tuple[bool, Any], ...] = ()
    # The first element of ``metas`` per (attribute, value), see _meta.
    first: Mapping[tuple[str, str], Mapping[str, str | None]] = field(
        default_factory=dict, repr=False, compare=False
    )


def read_head(tree: LexborHTMLParser) -> HeadTags:
    """The :class:`HeadTags` of a parsed page (read only; nothing is modified)."""
    metas = tuple(node.attributes for node in tree.css("meta"))
    first: dict[tuple[str, str], Mapping[str, str | None]] = {}
    for attrs in metas:
        for key in _META_KEYS:
            value = attrs.get(key)
            if value is not None:
                first.setdefault((key, value), attrs)
        equiv = attrs.get("http-equiv")
        if equiv is not None and equiv.isascii():
            first.setdefault(("http-equiv", equiv.lower()), attrs)
    documents: list[tuple[bool, Any]] = []
    for script in tree.css(f'script[type="{_JSON_LD_TYPE}" i]'):
        try:
            document = json.loads(script.text(deep=True) or "")
        except (ValueError, RecursionError):
            continue  # malformed JSON-LD is common; the page's other metadata still counts
        documents.append((script.css_matches(_JSON_LD_EXACT), document))
    return HeadTags(metas=metas, json_ld=tuple(documents), first=first)


@dataclass(frozen=True, kw_only=True)
class PageMeta:
    """What the DOM says about a page."""

    title: str | None = None
    authors: tuple[str, ...] = ()
    published: str | None = None
    sitename: str | None = None
    description: str | None = None
    language: str | None = None
    canonical: str | None = None
    og_type: str | None = None
    json_ld: tuple[dict[str, Any], ...] = ()
    anchors: frozenset[str] = frozenset()


def iso_date(value: str | None) -> str | None:
    """An ISO 8601 publication time from a date or datetime string (other forms: None).

    With a time and an offset: UTC, to the second (``2026-03-03T09:30:00+00:00``), because
    the story stage orders copies by it; otherwise the date alone (``2026-03-03``): a time
    without an offset cannot be placed on the timeline.
    """
    if not value:
        return None
    text = value.strip()
    match = _ISO_DATE.search(text)
    if not match:
        return None
    try:
        day = datetime(int(match[1]), int(match[2]), int(match[3])).date().isoformat()
    except ValueError:
        return None
    try:
        moment = datetime.fromisoformat(text[match.start() :].replace("Z", "+00:00"))
    except ValueError:
        return day
    if moment.tzinfo is None or len(text[match.start() :]) <= 10:
        return day
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _attr(node: LexborNode | None, name: str) -> str | None:
    if node is None:
        return None
    value = node.attributes.get(name)
    return " ".join(value.split()) if value and value.strip() else None


def _meta(head: HeadTags, key: str, value: str) -> str | None:
    """The ``content`` of the first ``meta[key="value"]`` (``http-equiv``: ``value`` in lower
    case, matched in any ASCII case), as ``css_first`` finds it, or None."""
    attrs = head.first.get((key, value))
    if attrs is None:
        return None
    content = attrs.get("content")
    return " ".join(content.split()) if content and content.strip() else None


def _text(node: LexborNode | None) -> str | None:
    if node is None:
        return None
    text = " ".join(node.text(deep=True).split())
    return text or None


def _anchor_texts(tree: LexborHTMLParser) -> frozenset[str]:
    """The texts of the page's links (``a[href]``), whitespace collapsed, empty ones left
    out: what :func:`_text` gives for each, iterated in C (pages have hundreds of links)."""
    texts = map(" ".join, map(str.split, map(LexborNode.text, tree.css("a[href]"))))
    return frozenset(texts).difference(("",))


def _walk_json_ld(value: Any) -> Iterator[dict[str, Any]]:
    """Every object in a JSON-LD document (lists and @graph flattened, nested kept whole)."""
    if isinstance(value, list):
        for item in value:
            yield from _walk_json_ld(item)
    elif isinstance(value, dict):
        yield value
        if "@graph" in value:
            yield from _walk_json_ld(value["@graph"])


def _json_ld(head: HeadTags) -> tuple[dict[str, Any], ...]:
    objects: list[dict[str, Any]] = []
    for exact, document in head.json_ld:
        if not exact:
            continue
        try:
            objects.extend(_walk_json_ld(document))
        except RecursionError:
            continue  # nested too deep to walk: what was walked counts, as for bad JSON
    return tuple(objects)


def _types(obj: dict[str, Any]) -> set[str]:
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.lower() for k in kinds if isinstance(k, str)}


def _names(value: Any) -> list[str]:
    """Names from a JSON-LD author/publisher value (string, object, or list of them)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        name = value.get("name")
        return [name] if isinstance(name, str) else []
    if isinstance(value, list):
        return [n for item in value for n in _names(item)]
    return []


def _split_authors(values: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        if value.startswith(("http://", "https://")):
            continue  # article:author is often a profile URL, not a name
        for part in _AUTHOR_SPLIT.split(_BY_PREFIX.sub("", value)):
            name = " ".join(part.split()).strip(" ,.")
            if name and len(name) <= 80 and name.casefold() not in {a.casefold() for a in out}:
                out.append(name)
    return tuple(out)


def _strip_site(title: str, sitename: str | None) -> str:
    """``Story | Site`` -> ``Story`` (only when the other side is short or the site's name)."""
    for sep in _TITLE_SEPARATORS:
        if sep in title:
            head, _, tail = title.rpartition(sep)
            if head and (
                (sitename and tail.strip().casefold() == sitename.casefold())
                or len(tail) <= max(24, len(head) // 3)
            ):
                return head.strip()
    return title.strip()


def _language(tree: LexborHTMLParser, head: HeadTags) -> str | None:
    root = tree.css_first("html")
    for value in (
        _attr(root, "lang"),
        _meta(head, "http-equiv", "content-language"),
        _meta(head, "property", "og:locale"),
    ):
        if value:
            code = value.replace("_", "-").split("-")[0].lower()
            if re.fullmatch(r"[a-z]{2,3}", code):
                return code
    return None


def read_metadata(
    html: str,
    *,
    url: str = "",
    tree: LexborHTMLParser | None = None,
    head: HeadTags | None = None,
) -> PageMeta:
    """Metadata of one page. Never raises on bad markup (fields are then None/empty).

    ``tree``: ``html`` already parsed (read, not modified), which saves a parse; ``head``:
    :func:`read_head` of that tree, which saves reading it again.
    """
    tree = LexborHTMLParser(html) if tree is None else tree
    head = read_head(tree) if head is None else head
    json_ld = _json_ld(head)
    article = next((o for o in json_ld if _types(o) & _ARTICLE_TYPES), None)
    publisher = article.get("publisher") if article else None

    sitename = _meta(head, "property", "og:site_name") or next(iter(_names(publisher)), None)
    title: str | None = None
    if article and isinstance(article.get("headline"), str):
        title = " ".join(article["headline"].split()) or None
    title = title or _meta(head, "property", "og:title")
    title = title or _meta(head, "name", "twitter:title")
    if not title:
        h1s = tree.css("h1")
        title = _text(h1s[0]) if len(h1s) == 1 else _text(tree.css_first("title"))
    if title:
        title = _strip_site(title, sitename)

    authors = _split_authors(_names(article.get("author")) if article else [])
    if not authors:
        authors = _split_authors([v for k, s in _AUTHOR_META if (v := _meta(head, k, s))][:1])
    if not authors:
        byline = tree.css_first('[itemprop="author"], [rel="author"], .byline, .author-name')
        authors = _split_authors([t] if (t := _text(byline)) and len(t) <= 120 else [])

    published = None
    if article:
        for key in ("datePublished", "dateCreated", "uploadDate"):
            if isinstance(article.get(key), str) and (published := iso_date(article[key])):
                break
    for key, value in _DATE_META:
        if published:
            break
        published = iso_date(_meta(head, key, value))
    if not published:
        time_node = tree.css_first("article time[datetime], main time[datetime], time[datetime]")
        published = iso_date(_attr(time_node, "datetime"))
    if not published and (match := _URL_DATE.search(url)):
        published = iso_date(f"{match[1]}-{int(match[2]):02d}-{int(match[3]):02d}")

    canonical = tree.css_first('link[rel="canonical" i]')
    return PageMeta(
        title=title,
        authors=authors,
        published=published,
        sitename=sitename,
        description=_meta(head, "name", "description") or _meta(head, "property", "og:description"),
        language=_language(tree, head),
        canonical=_attr(canonical, "href"),
        og_type=_meta(head, "property", "og:type"),
        json_ld=json_ld,
        anchors=_anchor_texts(tree),
    )
