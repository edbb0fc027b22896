"""Parse RSS and Atom feeds into :class:`FeedItem` values, safely and without any I/O.

Contract of :func:`parse_feed` (pure: no files, no network)::

    formats     RSS 0.91/0.92/2.0 (<rss><channel><item>), RSS 0.90/1.0 (<rdf:RDF> with <item>
                siblings of <channel>), Atom 1.0 (<feed><entry>); elements are matched by local
                name, so namespaced and un-namespaced documents both work
    url         RSS: the first usable <link> (text, or an alternate atom:link href), else the
                <guid> when isPermaLink is not "false" and it is an absolute http(s) URL, else
                rdf:about.  Atom: the first link with rel="alternate" or no rel; failing that, a
                link whose rel is not self/edit/enclosure/replies/... .  Links resolve against
                xml:base (nested) and the feed URL, then go through ``normalise_url``.  Items
                without a usable http(s) URL are skipped; a URL seen earlier in the feed is
                skipped (the first item wins); at most ``max_items`` items are returned
    bounds      the document is parsed incrementally (64 KiB at a time) and parsing stops as
                soon as ``max_items`` items are kept or ``EXAMINE_FACTOR * max_items`` item
                elements were looked at (duplicates and link-less items count too), and every
                item is freed once read: the work and memory of one call are bounded by the
                item cap, not by the document (a 20 MiB feed of a million items costs what its
                first few thousand cost)
    published   RSS pubDate / dc:date / Atom published / updated (first parsable wins), RFC 822
                or ISO 8601; a date without zone is UTC; always timezone-aware UTC, else None
    source      RSS <source url="...">name</source>; Atom <source><title/><link/></source>
    guid        RSS <guid> (else rdf:about), Atom <id>
    text        titles are whitespace-collapsed; Atom type="html" titles lose their tags

Safety (raises :class:`DiscoveryError` with a one-line message)::

    - data larger than MAX_FEED_BYTES is refused before parsing
    - any ``<!ENTITY`` declaration before the root element is refused before parsing (billion
      laughs, external entities), whatever the document's encoding (BOM, UTF-16/32, declared
      encoding); a prolog longer than 64 KiB is refused too
    - lxml parses with resolve_entities=False, no_network=True, load_dtd=False, recover=True and
      huge_tree=False, and a parsed internal DTD that still declares entities is refused; an
      external DTD (RSS 0.91's Netscape DOCTYPE) is never loaded, its entities stay undefined
    - not XML, or a root other than rss / RDF / feed: "not an RSS or Atom feed: ..."
"""

from __future__ import annotations

import codecs
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree

from harvester.discover.urls import normalise_url
from harvester.errors import DiscoveryError

__all__ = ["EXAMINE_FACTOR", "MAX_FEED_BYTES", "FeedItem", "parse_feed"]

MAX_FEED_BYTES = 20 * 2**20
"""Feeds larger than this many bytes are refused unparsed."""

# Why 4: a real feed repeats an item or lists one without a link now and then; a feed of
# nothing but duplicates or link-less items must not cost more than four times a normal one.
EXAMINE_FACTOR = 4
"""At most ``EXAMINE_FACTOR * max_items`` item elements are examined per call."""

_MAX_PROLOG_CHARS = 64 * 2**10
# The parser is fed this much at a time, so it stops soon after the caller has enough.
_PARSE_CHUNK = 64 * 2**10
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"
# The feed formats' own namespaces: their <title>, <guid>, <source> ... win over same-named
# extension elements (media:title, dc:source ...).
_FEED_NAMESPACES = frozenset(
    {"", "http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/",
     "http://backend.userland.com/rss2", "http://www.w3.org/2005/Atom"}
)  # fmt: skip
_ROOTS = ("rss", "rdf", "feed")
_RSS_DATES = ("pubDate", "date", "published", "updated", "issued", "modified")
_ATOM_DATES = ("published", "issued", "updated", "modified", "created", "date")
# Atom link relations that never point at the entry's article page.
_NOT_ARTICLE_RELS = frozenset(
    {"self", "edit", "edit-media", "enclosure", "replies", "license", "hub", "first", "last",
     "next", "previous", "prev"}
)  # fmt: skip
# Byte-order marks, longest first (the UTF-32-LE mark starts with the UTF-16-LE one).
_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
_ENCODING_DECL_RE = re.compile(rb"""encoding\s*=\s*["']([A-Za-z][A-Za-z0-9._:-]{0,39})["']""")
_NAME_START_RE = re.compile(r"[A-Za-z_:]|[^\x00-\x7f]")
_TAG_RE = re.compile(r"<[^>]*>")
_XML_SPACE = " \t\r\n"

# lxml elements are untyped here (no stubs): name the role instead of writing a bare Any.
_Element = Any


@dataclass(frozen=True, kw_only=True)
class FeedItem:
    """One item of a feed: where the article is, and what the feed says about it."""

    url: str
    title: str | None = None
    published: datetime | None = None
    source_name: str | None = None
    source_url: str | None = None
    guid: str | None = None


def parse_feed(data: bytes, *, feed_url: str, max_items: int = 5000) -> tuple[FeedItem, ...]:
    """Parse an RSS or Atom document into at most ``max_items`` items, in feed order.

    ``feed_url`` (the feed's own absolute http(s) URL) resolves relative links.  Raises
    DiscoveryError when the data is too large, unsafe (entity declarations), not XML, or not a
    feed; ValueError when ``feed_url`` is not an http(s) URL or ``max_items`` is negative.
    """
    if max_items < 0:
        raise ValueError(f"max_items must be >= 0, got {max_items}")
    base = normalise_url(feed_url)
    if len(data) > MAX_FEED_BYTES:
        raise DiscoveryError(f"feed is too large: {len(data)} bytes > {MAX_FEED_BYTES}")
    root, ended = _parse_xml(_check_prolog(bytes(data)))
    kind = _local_name(root).lower()
    if kind not in _ROOTS:
        raise DiscoveryError(f"not an RSS or Atom feed: root <{_qualified_name(root)}>")
    if max_items == 0:
        return ()
    make_item = _atom_item if kind == "feed" else _rss_item
    items: list[FeedItem] = []
    seen: set[str] = set()
    for examined, element in enumerate(_item_elements(root, kind, ended), start=1):
        item = make_item(element, base)
        _release(element)
        if item is not None and item.url not in seen:
            seen.add(item.url)
            items.append(item)
        if len(items) >= max_items or examined >= EXAMINE_FACTOR * max_items:
            break
    return tuple(items)


# --- safety: the bytes before the root element ---------------------------------------------


def _check_prolog(data: bytes) -> bytes:
    """Refuse entity declarations before the root; return the data minus leading whitespace."""
    bom_len, codec = _sniff_encoding(data)
    window = data[bom_len : bom_len + 4 * _MAX_PROLOG_CHARS]  # >= 64 Ki characters in any codec
    text = window.decode(codec, errors="replace")
    stripped = text.lstrip(_XML_SPACE)
    if not stripped:
        raise DiscoveryError("not an RSS or Atom feed: empty document")
    if not stripped.startswith("<"):
        raise DiscoveryError("not an RSS or Atom feed: not XML")
    end = _prolog_end(text)
    if end > _MAX_PROLOG_CHARS or (end == len(text) and len(window) < len(data) - bom_len):
        raise DiscoveryError("refused feed: XML prolog longer than 64 KiB")
    views = [text[:end]]
    declared = _declared_encoding(data[:1024]) if codec == "latin-1" else None
    if declared is not None:
        # Read the head again as the declaration says (e.g. UTF-7, UTF-16 without a mark), in
        # case the parser honours it: an entity declaration must not hide behind an encoding.
        try:
            other = data[: 4 * _MAX_PROLOG_CHARS].decode(declared, errors="replace")
        except LookupError:  # a codec that is not a text encoding (e.g. "base64")
            other = ""
        views.append(other[: min(_prolog_end(other), _MAX_PROLOG_CHARS)])
    if any("<!entity" in view.lower() for view in views):
        raise DiscoveryError("refused feed: the XML prolog declares entities (<!ENTITY)")
    unit = 4 if codec.startswith("utf-32") else 2 if codec.startswith("utf-16") else 1
    skipped = (len(text) - len(stripped)) * unit
    return data[:bom_len] + data[bom_len + skipped :]


def _sniff_encoding(data: bytes) -> tuple[int, str]:
    """Return (length of the byte-order mark, codec) guessed from the first bytes.

    Without a mark, NUL patterns reveal UTF-16/32; anything else is read as latin-1, which is
    faithful for the ASCII markup of every ASCII-compatible encoding.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return len(bom), codec
    head = data[:4]
    if len(head) == 4:
        if head[:3] == b"\0\0\0":
            return 0, "utf-32-be"
        if head[1:] == b"\0\0\0":
            return 0, "utf-32-le"
        if head[0] == 0 and head[2] == 0:
            return 0, "utf-16-be"
        if head[1] == 0 and head[3] == 0:
            return 0, "utf-16-le"
    return 0, "latin-1"


def _declared_encoding(head: bytes) -> str | None:
    """The codec named by the XML declaration, when Python knows it."""
    match = _ENCODING_DECL_RE.search(head.replace(b"\0", b""))
    if match is None:
        return None
    try:
        return codecs.lookup(match.group(1).decode("ascii")).name
    except LookupError:
        return None


def _prolog_end(text: str) -> int:
    """Index where the root element starts (len(text) when it never does).

    Comments, processing instructions and declarations (with quoted strings and an internal
    subset) are skipped whole, so markup inside them cannot end the prolog early.
    """
    i, n = 0, len(text)
    while i < n:
        lt = text.find("<", i)
        if lt < 0:
            return n
        if text.startswith("<?", lt):
            i = _after(text, "?>", lt + 2)
        elif text.startswith("<!--", lt):
            i = _after(text, "-->", lt + 4)
        elif text.startswith("<!", lt):
            i = _after_declaration(text, lt + 2)
        elif _NAME_START_RE.match(text, lt + 1):
            return lt
        else:
            i = lt + 1
    return n


def _after(text: str, terminator: str, start: int) -> int:
    end = text.find(terminator, start)
    return len(text) if end < 0 else end + len(terminator)


def _after_declaration(text: str, i: int) -> int:
    """Index just past a ``<!...>`` declaration that starts before ``i``."""
    depth, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in "\"'":
            i = _after(text, char, i + 1)
        elif text.startswith("<!--", i):
            i = _after(text, "-->", i + 4)
        elif text.startswith("<?", i):
            i = _after(text, "?>", i + 2)
        else:
            if char == "[":
                depth += 1
            elif char == "]":
                depth = max(0, depth - 1)
            elif char == ">" and depth == 0:
                return i + 1
            i += 1
    return n


def _parse_xml(data: bytes) -> tuple[_Element, Iterator[_Element]]:
    """Start parsing ``data``: its root element, and an iterator over its elements as they end.

    Parsing goes on only as far as the iterator is consumed (``_PARSE_CHUNK`` bytes at a time),
    so a caller that stops early never pays for the rest of the document. The root is returned
    once its start tag is parsed, i.e. after the prolog and its DTD, which is checked here for
    entity declarations. Raises DiscoveryError when there is no root, the XML is unusable or
    the DTD declares entities; an error after the root only ends the iteration (recover mode:
    what was read so far stands).
    """
    parser = etree.XMLPullParser(
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        recover=True,
    )
    chunks = (data[i : i + _PARSE_CHUNK] for i in range(0, len(data), _PARSE_CHUNK))
    root: _Element = None
    ended: list[_Element] = []
    try:
        while root is None:
            chunk = next(chunks, None)
            if chunk is None:
                parser.close()
            else:
                parser.feed(chunk)
            for event, element in parser.read_events():
                if root is None:
                    root = element  # the first event is the root's start
                elif event == "end":
                    ended.append(element)
            if chunk is None:
                break
    except (etree.LxmlError, ValueError) as exc:
        reason = (str(exc).splitlines() or ["unparsable"])[0][:200]
        raise DiscoveryError(f"not an RSS or Atom feed: {reason}") from None
    if root is None:
        raise DiscoveryError("not an RSS or Atom feed: no root element")
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise DiscoveryError("refused feed: the document type declares entities")
    return root, _rest(parser, chunks, ended)


def _rest(parser: Any, chunks: Iterator[bytes], ended: list[_Element]) -> Iterator[_Element]:
    """The elements ending after the root started: those already parsed, then the rest."""
    yield from ended
    ended.clear()
    try:
        for chunk in chunks:
            parser.feed(chunk)
            yield from (element for event, element in parser.read_events() if event == "end")
        parser.close()
        yield from (element for event, element in parser.read_events() if event == "end")
    except (etree.LxmlError, ValueError):
        return


def _release(element: _Element) -> None:
    """Free an element that was read, and its earlier siblings (memory stays flat)."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


# --- items ----------------------------------------------------------------------------------


def _item_elements(root: _Element, kind: str, ended: Iterator[_Element]) -> Iterator[_Element]:
    """Yield the item/entry elements in document order, each once it has been parsed whole:
    Atom entries that are children of the root; RSS/RDF items that are children of the root
    or of a <channel> child of the root."""
    wanted = "entry" if kind == "feed" else "item"
    for element in ended:
        if _local_name(element) != wanted:
            continue
        parent = element.getparent()
        if parent is root or (
            kind != "feed"
            and parent is not None
            and _local_name(parent) == "channel"
            and parent.getparent() is root
        ):
            yield element


def _rss_item(item: _Element, feed_url: str) -> FeedItem | None:
    guid_element = _child(item, "guid")
    guid = _text(guid_element)
    about: str | None = item.get(_RDF_ABOUT)
    url = _rss_link(item, feed_url, guid_element, guid, about)
    if url is None:
        return None
    source = _child(item, "source", feed_namespace_only=True)
    source_name = source_url = None
    if source is not None:
        if _child(source, "title") is not None:  # an Atom-style <source> in an RSS item
            source_name, source_url = _atom_source(source, feed_url)
        else:
            source_name = _text(source)
            source_url = _resolve(source.get("url"), source, feed_url)
    return FeedItem(
        url=url,
        title=_text(_child(item, "title")),
        published=_first_date(item, _RSS_DATES),
        source_name=source_name,
        source_url=source_url,
        guid=guid or _text_or_none(about),
    )


def _rss_link(
    item: _Element, feed_url: str, guid_element: _Element, guid: str | None, about: str | None
) -> str | None:
    for child in _children(item, "link"):
        href: str | None = child.get("href")
        if href is None:
            url = _resolve(_raw_text(child), child, feed_url)
        elif (child.get("rel") or "alternate").strip().lower() == "alternate":
            url = _resolve(href, child, feed_url)
        else:
            continue
        if url is not None:
            return url
    if guid is not None:
        permalink = (guid_element.get("isPermaLink") or "true").strip().lower() != "false"
        if permalink and _has_http_scheme(guid):
            url = _resolve(guid, guid_element, feed_url)
            if url is not None:
                return url
    if about:
        return _resolve(about, item, feed_url)
    return None


def _has_http_scheme(raw: str) -> bool:
    """True when ``raw`` is written as an absolute http(s) URL (not relative, no other scheme)."""
    try:
        return urlsplit(raw.strip()).scheme.lower() in ("http", "https")
    except ValueError:
        return False


def _atom_item(entry: _Element, feed_url: str) -> FeedItem | None:
    url = _atom_link(entry, feed_url)
    if url is None:
        return None
    source = _child(entry, "source", feed_namespace_only=True)
    source_name, source_url = (None, None) if source is None else _atom_source(source, feed_url)
    return FeedItem(
        url=url,
        title=_atom_text(_child(entry, "title")),
        published=_first_date(entry, _ATOM_DATES),
        source_name=source_name,
        source_url=source_url,
        guid=_text(_child(entry, "id")),
    )


def _atom_link(
    entry: _Element, feed_url: str, *, fallback: frozenset[str] = frozenset()
) -> str | None:
    """The alternate (or rel-less) link; else a link whose rel is in ``fallback`` or unknown."""
    others: list[_Element] = []
    for link in _children(entry, "link"):
        rel = (link.get("rel") or "alternate").strip().lower()
        if rel == "alternate":
            url = _resolve(link.get("href"), link, feed_url)
            if url is not None:
                return url
        elif rel in fallback or rel not in _NOT_ARTICLE_RELS:
            others.append(link)
    for link in others:
        url = _resolve(link.get("href"), link, feed_url)
        if url is not None:
            return url
    return None


def _atom_source(source: _Element, feed_url: str) -> tuple[str | None, str | None]:
    """(title, link) of an Atom <source>; its link may fall back to rel="self"."""
    url = _atom_link(source, feed_url, fallback=frozenset({"self"}))
    return _atom_text(_child(source, "title")), url


# --- element helpers ------------------------------------------------------------------------


def _local_name(element: _Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):  # comments, processing instructions, entity references
        return ""
    return tag.rpartition("}")[2].rpartition(":")[2]


def _namespace(element: _Element) -> str:
    tag = element.tag
    return tag[1:].partition("}")[0] if isinstance(tag, str) and tag.startswith("{") else ""


def _qualified_name(element: _Element) -> str:
    prefix = element.prefix
    local = _local_name(element)
    return f"{prefix}:{local}" if isinstance(prefix, str) and prefix else local


def _children(element: _Element, name: str) -> Iterator[_Element]:
    return (child for child in element if _local_name(child) == name)


def _child(element: _Element, name: str, *, feed_namespace_only: bool = False) -> _Element:
    """The first child called ``name``, preferring the feed formats' namespaces; or None.

    With ``feed_namespace_only``, an extension element of that name (e.g. dc:source) is ignored.
    """
    other = None
    for child in _children(element, name):
        if _namespace(child) in _FEED_NAMESPACES:
            return child
        if other is None and not feed_namespace_only:
            other = child
    return other


def _raw_text(element: _Element) -> str:
    """The text content of ``element``: no comments; known HTML entities decoded, others dropped."""
    parts: list[str] = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str):
            parts.append(_raw_text(child))
        elif isinstance(child, etree._Entity):
            decoded = html.unescape(child.text or "")
            if decoded != child.text:
                parts.append(decoded)
        parts.append(child.tail or "")
    return "".join(parts)


def _text_or_none(text: str | None) -> str | None:
    return text.strip() or None if text is not None else None


def _text(element: _Element) -> str | None:
    """Whitespace-collapsed text of ``element``; None when absent or blank."""
    if element is None:
        return None
    return " ".join(_raw_text(element).split()) or None


def _atom_text(element: _Element) -> str | None:
    """Like :func:`_text`, but an Atom ``type="html"`` construct loses its markup."""
    if element is None:
        return None
    if (element.get("type") or "").strip().lower() == "html":
        plain = html.unescape(_TAG_RE.sub(" ", _raw_text(element)))
        return " ".join(plain.split()) or None
    return _text(element)


def _base_of(element: _Element, feed_url: str) -> str:
    """The base URL of ``element``: the feed URL refined by every xml:base down to it."""
    base = feed_url
    chain = [element, *element.iterancestors()]
    for node in reversed(chain):
        xml_base: str | None = node.get(_XML_BASE)
        if xml_base is not None and xml_base.strip():
            base = urljoin(base, xml_base.strip())
    return base


def _resolve(raw: str | None, element: _Element, feed_url: str) -> str | None:
    """Normalised absolute http(s) URL for ``raw`` as written in ``element``, or None."""
    if raw is None or not raw.strip():
        return None
    try:
        return normalise_url(raw, _base_of(element, feed_url))
    except ValueError:
        return None


def _first_date(element: _Element, names: tuple[str, ...]) -> datetime | None:
    for name in names:
        for child in _children(element, name):
            parsed = _parse_date(_text(child))
            if parsed is not None:
                return parsed
    return None


def _parse_date(text: str | None) -> datetime | None:
    """Parse an ISO 8601 or RFC 822 date into an aware UTC datetime (naive means UTC)."""
    if not text:
        return None
    iso = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
