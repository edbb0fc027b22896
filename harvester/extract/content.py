"""Main-text extraction: decoded HTML in, the main-text blocks or a Rejected reason out (pure).

trafilatura finds the main text and most metadata; selectolax answers the cheap DOM questions
(``<html lang>``, canonical link, Open Graph type, meta tags) without a second full parse by lxml.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

import trafilatura
from selectolax.lexbor import LexborHTMLParser
from trafilatura.settings import Document

from harvester.extract.metadata import HeadTags, PageMeta, read_head, read_metadata
from harvester.models import Rejected

__all__ = [
    "MAX_ATTRIBUTES",
    "MIN_ARTICLE_CHARS",
    "MainText",
    "article_gate",
    "decode_html",
    "extract_main",
    "hostile_markup",
    "is_html",
]

# Why 80: below that the "main text" is a caption, a consent banner or an error line; a wire
# flash or a short blog post (one or two sentences) is longer and is still an article.
MIN_ARTICLE_CHARS = 80
# Why 0.5: on section and index pages most of the "main text" trafilatura finds is link anchors
# (headlines); in articles, in-text links are a small share of the words.
MAX_LINK_TEXT_SHARE = 0.5
# Only the head of a document declares its charset (HTML spec: the first 1024 bytes).
_SNIFF_BYTES = 4096
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
_HTML_TYPES = ("text/html", "application/xhtml+xml")
# Longest first: the UTF-32-LE mark starts with the UTF-16-LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# WHATWG Encoding: the labels "iso-8859-1", "latin1" and "us-ascii" all mean windows-1252.
_WHATWG_ALIASES = {"iso8859-1": "cp1252", "latin-1": "cp1252", "ascii": "cp1252"}
# Encodings in which ASCII markup is not ASCII bytes: a UTF-8 check says nothing about them.
_WIDE = ("utf-16", "utf-32")
# libxml2's HTML parser (under trafilatura) drops everything after an </html> end tag, while
# browsers (HTML5 tree building) ignore a stray one and keep the rest in the body. (Found with
# "</html>" or "</HTML>"; mixed case such as "</Html>" mid-page is not looked for.)
_HTML_END_TAG = re.compile(r"</html\b[^>]*>", re.IGNORECASE)
_HIGH_BYTES = bytes(range(0x80, 0x100))
_REPLACEMENT_UTF8 = "\ufffd".encode()
# An element with more attributes than this is an attack, not markup: HTML parsers check each
# new attribute against the element's others (quadratic), so 10^5 of them cost 20 s and more.
MAX_ATTRIBUTES = 2000
# A start tag with more than MAX_ATTRIBUTES attributes: only a tag running 2 * MAX_ATTRIBUTES
# characters without a ">" is a candidate (cheap to find), and there the attributes are counted
# (each has one parse: no backtracking blowup). A bomb hiding ">" in quoted values is left to
# the [extract] budget.
_LONG_TAG = re.compile(rf"<[A-Za-z][^>]{{{2 * MAX_ATTRIBUTES},}}")
_ATTRIBUTE = r"""\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?"""
_ATTRIBUTE_BOMB = re.compile(rf"<[A-Za-z][^\s/>]*(?:{_ATTRIBUTE}){{{MAX_ATTRIBUTES + 1}}}")
_HOSTILE = f"hostile markup: an element with more than {MAX_ATTRIBUTES} attributes"
# One search for both checks of extract_main: a _LONG_TAG candidate (looked ahead, at most
# as far as _LONG_TAG's minimum: no longer a scan than _LONG_TAG's own), or the start of an
# html end tag.
_MARKUP_SCAN = re.compile(rf"<(?:(?=[A-Za-z][^>]{{{2 * MAX_ATTRIBUTES}}})|/html|/HTML)")


def is_html(content_type: str | None, content: bytes) -> bool:
    """True when the header says HTML, or says nothing and the bytes look like HTML."""
    if content_type:
        return content_type.split(";")[0].strip().lower() in _HTML_TYPES
    head = content[:_SNIFF_BYTES].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<body" in head


def _codec(name: str | bytes | None) -> str | None:
    if not name:
        return None
    text = name.decode("ascii", "ignore") if isinstance(name, bytes) else name
    try:
        codec = codecs.lookup(text.strip())
    except LookupError:
        return None
    if not getattr(codec, "_is_text_encoding", True) or codec.name == "utf-7":
        return None  # "base64", "zlib": not text encodings; UTF-7: no browser decodes it
    return _WHATWG_ALIASES.get(codec.name, codec.name)


def _non_ascii(content: bytes) -> int:
    """How many bytes of ``content`` are not ASCII."""
    return len(content) - len(content.translate(None, _HIGH_BYTES))


def _mostly_utf8(content: bytes, lenient: str) -> bool:
    """True when nearly all non-ASCII bytes form UTF-8 sequences (a UTF-8 page with a few bad
    bytes), False for legacy 8-bit text (each bad spot replaces at most 3 bytes)."""
    bad = lenient.count("\ufffd") - content.count(_REPLACEMENT_UTF8)
    return _non_ascii(content) > 4 * bad


def decode_html(content: bytes, content_type: str | None = None) -> str:
    """Bytes to text. Never raises: bytes that fit no encoding become U+FFFD.

    In order: a byte-order mark (UTF-8/16/32) decides; a declared UTF-16/32 (header, then
    ``<meta charset>``) is used as declared; bytes that are well-formed UTF-8 with non-ASCII in
    them are UTF-8 whatever the declarations say (a header claiming ISO-8859-1 for UTF-8 bytes
    is a common server default; well-formed UTF-8 by accident in a legacy encoding is
    vanishingly rare); then the first declared charset the bytes fit (the HTTP header before
    ``<meta>``; ISO-8859-1 and ASCII read as windows-1252, as browsers do); then UTF-8 with the
    bad bytes replaced when UTF-8 was declared or nearly all non-ASCII bytes form UTF-8 (a page
    with a few invalid bytes stays readable); else windows-1252, the WHATWG fallback.
    """
    for bom, name in _BOMS:
        if content.startswith(bom):
            return content[len(bom) :].decode(name, "replace")
    header = _HEADER_CHARSET.search(content_type or "")
    meta = _META_CHARSET.search(content[:_SNIFF_BYTES])
    candidates = (header.group(1) if header else None, meta.group(1) if meta else None)
    declared = [codec for codec in map(_codec, candidates) if codec]
    for codec in declared:
        if codec.startswith(_WIDE):
            return content.decode(codec, "replace")
    try:
        strict: str | None = content.decode("utf-8")
    except UnicodeDecodeError:
        strict = None
    if strict is not None and not content.isascii():
        return strict
    for codec in declared:
        try:
            return content.decode(codec)
        except UnicodeError:
            continue
    if strict is not None:
        return strict  # ASCII
    lenient = content.decode("utf-8", "replace")
    if "utf-8" in declared or _mostly_utf8(content, lenient):
        return lenient
    return content.decode("cp1252", "replace")


def hostile_markup(html: str) -> str | None:
    """Why ``html`` is built to stall an HTML parser, or None (a linear scan, ~0.2 ms for a
    typical news page).

    Deep nesting is left to lxml (which stops at depth 256, so such a page has no main text)
    and to the ``[extract] budget``, which also catches what this cheap check misses.
    """
    return _scan_markup(html).hostile


@dataclass(frozen=True, kw_only=True)
class _MarkupScan:
    """What one pass over the markup found: why it is hostile (or None), and where the first
    ``</html`` or ``</HTML`` starts (-1: nowhere)."""

    hostile: str | None
    html_end: int


def _scan_markup(html: str) -> _MarkupScan:
    """:func:`hostile_markup` and the first html end tag, in one regex search over the ``<``s.

    The candidates are those of ``_LONG_TAG`` (which consumes a candidate's run up to the
    next ``>``, so a ``<`` inside it starts no other): the search goes on after the run. An
    end tag inside a run is looked for with ``str.find`` there, as the whole-text ``find``
    of :func:`_without_stray_html_end` sees it.
    """
    html_end = -1
    pos = 0
    while (m := _MARKUP_SCAN.search(html, pos)) is not None:
        start = m.start()
        if m.end() - start > 1:  # "</html" or "</HTML"
            if html_end < 0:
                html_end = start
            pos = m.end()
            continue
        close = html.find(">", start)
        pos = close if close >= 0 else len(html)
        if html_end < 0:
            inside = [i for i in (html.find("</html", start, pos), html.find("</HTML", start, pos))]
            html_end = min((i for i in inside if i >= 0), default=-1)
        if _ATTRIBUTE_BOMB.match(html, start):
            return _MarkupScan(hostile=_HOSTILE, html_end=html_end)
    return _MarkupScan(hostile=None, html_end=html_end)


def _without_stray_html_end(html: str, html_end: int | None = None) -> str:
    """``html`` minus its ``</html>`` end tags when one is followed by more than whitespace
    (libxml2 would drop what follows; a lone final ``</html>`` is left alone, unscanned).

    ``html_end``: where the first ``</html`` or ``</HTML`` starts (-1: nowhere), when known.
    """
    if html_end is None:
        found = [i for i in (html.find("</html"), html.find("</HTML")) if i >= 0]
        html_end = min(found, default=-1)
    if html_end < 0 or not html[html_end:].partition(">")[2].strip():
        return html
    return _HTML_END_TAG.sub("", html)


@dataclass(frozen=True, kw_only=True)
class MainText:
    """The main-text blocks of a page (before any cleaning), its metadata, its DOM (the lexbor
    parse the metadata came from, for later read-only passes: one parse per page) and the
    head tags read from it (for attribution)."""

    blocks: tuple[str, ...]
    meta: PageMeta
    dom: LexborHTMLParser | None = field(default=None, repr=False, compare=False)
    head: HeadTags | None = field(default=None, repr=False, compare=False)


def _blocks(text: str) -> tuple[str, ...]:
    """trafilatura puts one block per line; whitespace inside a block is collapsed."""
    return tuple(b for line in text.splitlines() if (b := " ".join(line.split())))


def extract_main(html: str, *, url: str) -> MainText | Rejected:
    """The page's main-text blocks and metadata, or why there is no main text.

    trafilatura finds the main content (without its own metadata pass: ``read_metadata`` is
    faster and, on the fundus pages, more accurate); a leading block equal to the title is
    dropped because the title is its own field. Hostile markup (an attribute bomb) is refused
    before any parse; ``</html>`` end tags are dropped for trafilatura's parser, which would
    lose whatever follows a stray one.
    """
    scan = _scan_markup(html)
    if scan.hostile is not None:
        return Rejected(reason=scan.hostile)
    try:
        doc = trafilatura.bare_extraction(
            _without_stray_html_end(html, scan.html_end),
            url=url,
            with_metadata=False,
            include_comments=False,
            include_tables=True,
            # Keep repeated lines: wire credits and datelines are provenance evidence.
            deduplicate=False,
        )
    # trafilatura raises assorted lxml/ValueError types on hostile markup; a page it cannot
    # parse is simply not an article.
    except Exception as exc:  # noqa: BLE001
        return Rejected(reason=f"extraction failed ({type(exc).__name__})")
    if not isinstance(doc, Document) or not doc.text:
        return Rejected(reason="no main text found")
    # Metadata only for pages with text: its parse would be wasted on the rest (and a page
    # nested 50,000 deep, which lxml gives up on, costs lexbor seconds).
    dom = LexborHTMLParser(html)
    head = read_head(dom)
    meta = read_metadata(html, url=url, tree=dom, head=head)
    blocks = _blocks(doc.text)
    if blocks and meta.title and " ".join(meta.title.split()) == blocks[0]:
        blocks = blocks[1:]
    return MainText(blocks=blocks, meta=meta, dom=dom, head=head)


def article_gate(blocks: tuple[str, ...], meta: PageMeta) -> Rejected | None:
    """Why these (cleaned) blocks are not an article, or None when they are one."""
    size = sum(len(b) for b in blocks) + 2 * max(0, len(blocks) - 1)
    if size < MIN_ARTICLE_CHARS:
        return Rejected(reason=f"too little text ({size} < {MIN_ARTICLE_CHARS} characters)")
    linked = sum(len(b) for b in blocks if b in meta.anchors)
    if linked > MAX_LINK_TEXT_SHARE * sum(len(b) for b in blocks):
        return Rejected(reason="mostly links (a section or index page)")
    return None
