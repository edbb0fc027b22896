"""Main-text extraction: decoded HTML in, the main-text blocks or a Rejected reason out (pure).

trafilatura finds the main text and most metadata; selectolax answers the cheap DOM questions
(``<html lang>``, canonical link, Open Graph type, meta tags) without a second full parse by lxml.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import trafilatura
from trafilatura.settings import Document

from harvester.extract.metadata import PageMeta, read_metadata
from harvester.models import Rejected

__all__ = [
    "MIN_ARTICLE_CHARS",
    "MainText",
    "article_gate",
    "decode_html",
    "extract_main",
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
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


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
        return codecs.lookup(text.strip()).name
    except LookupError:
        return None


def decode_html(content: bytes, content_type: str | None = None) -> str:
    """Bytes to text: BOM, then the Content-Type charset, then ``<meta charset>``, then UTF-8,
    then windows-1252 (the WHATWG fallback). Never raises: invalid bytes become U+FFFD."""
    for bom, name in _BOMS:
        if content.startswith(bom):
            return content[len(bom) :].decode(name, "replace")
    header = _HEADER_CHARSET.search(content_type or "")
    meta = _META_CHARSET.search(content[:_SNIFF_BYTES])
    for candidate in (header.group(1) if header else None, meta.group(1) if meta else None):
        codec = _codec(candidate)
        if codec:
            try:
                return content.decode(codec)
            except UnicodeDecodeError:
                continue
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("cp1252", "replace")


@dataclass(frozen=True, kw_only=True)
class MainText:
    """The main-text blocks of a page (before any cleaning) and its metadata."""

    blocks: tuple[str, ...]
    meta: PageMeta


def _blocks(text: str) -> tuple[str, ...]:
    """trafilatura puts one block per line; whitespace inside a block is collapsed."""
    return tuple(b for line in text.splitlines() if (b := " ".join(line.split())))


def extract_main(html: str, *, url: str) -> MainText | Rejected:
    """The page's main-text blocks and metadata, or why there is no main text.

    trafilatura finds the main content (without its own metadata pass: ``read_metadata`` is
    faster and, on the fundus pages, more accurate); a leading block equal to the title is
    dropped because the title is its own field.
    """
    meta = read_metadata(html, url=url)
    try:
        doc = trafilatura.bare_extraction(
            html,
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
    blocks = _blocks(doc.text)
    if blocks and meta.title and " ".join(meta.title.split()) == blocks[0]:
        blocks = blocks[1:]
    return MainText(blocks=blocks, meta=meta)


def article_gate(blocks: tuple[str, ...], meta: PageMeta) -> Rejected | None:
    """Why these (cleaned) blocks are not an article, or None when they are one."""
    size = sum(len(b) for b in blocks) + 2 * max(0, len(blocks) - 1)
    if size < MIN_ARTICLE_CHARS:
        return Rejected(reason=f"too little text ({size} < {MIN_ARTICLE_CHARS} characters)")
    linked = sum(len(b) for b in blocks if b in meta.anchors)
    if linked > MAX_LINK_TEXT_SHARE * sum(len(b) for b in blocks):
        return Rejected(reason="mostly links (a section or index page)")
    return None
