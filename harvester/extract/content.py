"""Article extraction: decoded HTML in, an Article or a Rejected reason out (pure, no I/O).

trafilatura finds the main text and most metadata; selectolax answers the cheap DOM questions
(``<html lang>``, canonical link, Open Graph type, meta tags) without a second full parse by lxml.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import trafilatura
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from trafilatura.settings import Document

from harvester.models import Article, Rejected

__all__ = ["MIN_ARTICLE_CHARS", "decode_html", "extract_article", "is_html"]

# Why 250: shorter main texts are teasers, galleries, error or consent pages; even a brief wire
# item (a headline, a dateline and two sentences) is longer.
MIN_ARTICLE_CHARS = 250
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
class _PageFacts:
    language: str | None
    canonical: str | None
    og_type: str | None
    anchors: frozenset[str]


def _page_facts(html: str) -> _PageFacts:
    tree = HTMLParser(html)
    root = tree.css_first("html")
    lang = root.attributes.get("lang") if root is not None else None
    if not lang:
        node = tree.css_first('meta[http-equiv="content-language" i]')
        lang = node.attributes.get("content") if node is not None else None
    if not lang:
        node = tree.css_first('meta[property="og:locale"]')
        lang = node.attributes.get("content") if node is not None else None
    canonical = tree.css_first('link[rel="canonical" i]')
    og_type = tree.css_first('meta[property="og:type"]')
    anchors = frozenset(
        " ".join(a.text(deep=True).split()) for a in tree.css("a[href]") if a.text(deep=True)
    )
    return _PageFacts(
        anchors=anchors,
        language=_language_code(lang),
        canonical=(canonical.attributes.get("href") or None) if canonical is not None else None,
        og_type=(og_type.attributes.get("content") or None) if og_type is not None else None,
    )


def _language_code(value: str | None) -> str | None:
    """``en-US`` / ``en_GB`` -> ``en``; junk -> None."""
    if not value:
        return None
    code = value.strip().replace("_", "-").split("-")[0].lower()
    return code if re.fullmatch(r"[a-z]{2,3}", code) else None


def _paragraphs(text: str) -> str:
    """trafilatura puts one block per line; the export contract wants blank lines between."""
    blocks = [" ".join(line.split()) for line in text.splitlines()]
    return "\n\n".join(b for b in blocks if b)


def _authors(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    parts = re.split(r"\s*;\s*|\s+and\s+|\s*,\s*(?=[A-Z])", value)
    return tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))


def extract_article(html: str, *, url: str) -> Article | Rejected:
    """The article on a page, or why it is not one."""
    facts = _page_facts(html)
    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            # Keep wire credits and datelines: they are provenance evidence, not noise.
            deduplicate=False,
        )
    # trafilatura raises assorted lxml/ValueError types on hostile markup; a page it cannot
    # parse is simply not an article.
    except Exception as exc:  # noqa: BLE001
        return Rejected(reason=f"extraction failed ({type(exc).__name__})")
    if not isinstance(doc, Document) or not doc.text:
        return Rejected(reason="no main text found")
    title = (doc.title or "").strip() or None
    text = _paragraphs(doc.text)
    if title and text.startswith(title + "\n\n"):
        # trafilatura keeps an in-article <h1>; the title is its own field in the record.
        text = text[len(title) + 2 :]
    if len(text) < MIN_ARTICLE_CHARS:
        return Rejected(reason=f"too little text ({len(text)} < {MIN_ARTICLE_CHARS} characters)")
    blocks = text.split("\n\n")
    linked = sum(len(b) for b in blocks if b in facts.anchors)
    if linked > MAX_LINK_TEXT_SHARE * sum(len(b) for b in blocks):
        return Rejected(reason="mostly links (a section or index page)")
    return Article(
        title=title,
        authors=_authors(doc.author),
        published=doc.date or None,
        language=facts.language or _language_code(doc.language),
        text=text,
        canonical=facts.canonical,
        sitename=doc.sitename or None,
        description=doc.description or None,
    )
