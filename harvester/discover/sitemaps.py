"""Parse XML sitemaps (sitemaps.org 0.9, Google News) into entries, safely and without any I/O.

Contract of :func:`parse_sitemap` (pure: no files, no network)::

    formats     <urlset> (page entries) and <sitemapindex> (child sitemaps), in the sitemaps.org
                0.9 namespace or in no namespace; any other root raises "not a sitemap: root <x>"
    gzip        data starting with the gzip magic (``.xml.gz``) is inflated as a stream, capped
                at MAX_SITEMAP_BYTES of output: a gzip bomb is refused as soon as the cap is
                passed, without inflating the rest; concatenated gzip members are joined
    url         <loc> must be an absolute http(s) URL (relative and other schemes are skipped);
                it goes through ``normalise_url``; a URL seen earlier is skipped (the first
                wins); at most ``max_entries`` entries are kept
    bounds      parsed incrementally; parsing stops once ``max_entries`` entries are kept or
                ``EXAMINE_FACTOR * max_entries`` entry elements were looked at, and each entry
                is freed once read (work and memory bounded by the entry cap)
    lastmod     W3C datetime (YYYY, YYYY-MM, YYYY-MM-DD, YYYY-MM-DDThh:mm[:ss[.s]] with an
                offset or Z; a time without offset is read as UTC) -> timezone-aware UTC; a
                date alone is midnight UTC; anything else is None (never fatal)
    news        Google News (http://www.google.com/schemas/sitemap-news/0.9): <news:title>,
                <news:publication_date> (same date rules), <news:publication><news:name>
    text        titles and names are whitespace-collapsed; blank means None

Safety (raises :class:`DiscoveryError` with a one-line message): the machinery of
:mod:`harvester.discover.feeds` is reused, i.e. data (compressed or inflated) larger than
MAX_SITEMAP_BYTES is refused ("sitemap larger than ... bytes"); any ``<!ENTITY`` declaration
in the prolog is refused before parsing (billion laughs, XXE), whatever the encoding; lxml parses
without resolving entities, loading DTDs or touching the network.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from harvester.discover.feeds import (
    EXAMINE_FACTOR,
    _check_prolog,
    _Element,
    _has_http_scheme,
    _local_name,
    _namespace,
    _parse_xml,
    _qualified_name,
    _raw_text,
    _release,
    _text,
)
from harvester.discover.urls import normalise_url
from harvester.errors import DiscoveryError

__all__ = ["MAX_SITEMAP_BYTES", "Sitemap", "SitemapEntry", "parse_sitemap"]

MAX_SITEMAP_BYTES = 50 * 2**20
"""The sitemaps.org size limit (uncompressed): larger sitemaps are refused."""

_SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"

_SITEMAP_NAMESPACES = frozenset({"", _SITEMAP_NS})
_NEWS_NAMESPACES = frozenset({_NEWS_NS})
_GZIP_MAGIC = b"\x1f\x8b"
_INFLATE_CHUNK = 2**20
_W3C_DATE_RE = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<frac>\d+))?)?"
    r"(?P<tz>[Zz]|[+-]\d{2}:?\d{2})?)?)?)?",
    re.ASCII,
)


@dataclass(frozen=True, kw_only=True)
class SitemapEntry:
    """One <url> of a urlset or one <sitemap> of a sitemap index."""

    url: str
    lastmod: datetime | None = None
    news_title: str | None = None
    news_published: datetime | None = None
    publication_name: str | None = None


@dataclass(frozen=True, kw_only=True)
class Sitemap:
    """A parsed sitemap: page entries (urlset) or child sitemaps (sitemap index)."""

    entries: tuple[SitemapEntry, ...] = ()
    sitemaps: tuple[SitemapEntry, ...] = ()


def parse_sitemap(data: bytes, *, sitemap_url: str, max_entries: int = 50_000) -> Sitemap:
    """Parse a (possibly gzipped) sitemap or sitemap index (see the module docstring).

    ``sitemap_url`` is the sitemap's own absolute http(s) URL.  Raises DiscoveryError when the
    data is too large, unsafe, not XML or not a sitemap; ValueError when ``sitemap_url`` is not
    an http(s) URL or ``max_entries`` is negative.
    """
    if max_entries < 0:
        raise ValueError(f"max_entries must be >= 0, got {max_entries}")
    normalise_url(sitemap_url)
    data = bytes(data)
    _check_size(len(data))
    if data.startswith(_GZIP_MAGIC):
        data = _gunzip(data)
    try:
        root, ended = _parse_xml(_check_prolog(data))
    except DiscoveryError as exc:
        raise DiscoveryError(_sitemap_message(str(exc))) from None
    kind = _local_name(root)
    if kind not in ("urlset", "sitemapindex") or _namespace(root) not in _SITEMAP_NAMESPACES:
        raise DiscoveryError(f"not a sitemap: root <{_qualified_name(root)}>")
    child_name = "url" if kind == "urlset" else "sitemap"
    found: list[SitemapEntry] = []
    seen: set[str] = set()
    if max_entries > 0:
        for examined, element in enumerate(_sitemap_children(root, child_name, ended), start=1):
            entry = _entry(element, news=kind == "urlset")
            _release(element)
            if entry is not None and entry.url not in seen:
                seen.add(entry.url)
                found.append(entry)
            if len(found) >= max_entries or examined >= EXAMINE_FACTOR * max_entries:
                break
    if kind == "urlset":
        return Sitemap(entries=tuple(found))
    return Sitemap(sitemaps=tuple(found))


# --- safety ---------------------------------------------------------------------------------


def _check_size(size: int) -> None:
    if size > MAX_SITEMAP_BYTES:
        raise DiscoveryError(f"sitemap larger than {MAX_SITEMAP_BYTES} bytes")


def _gunzip(data: bytes) -> bytes:
    """Inflate gzip ``data`` (all members) without ever holding more than the size cap."""
    out = bytearray()
    pending = data
    while pending:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        chunk = pending
        try:
            while chunk and not inflater.eof:
                room = MAX_SITEMAP_BYTES + 1 - len(out)
                out += inflater.decompress(chunk, min(room, _INFLATE_CHUNK))
                _check_size(len(out))
                chunk = inflater.unconsumed_tail
            while not inflater.eof:  # input consumed; drain what zlib still buffers
                piece = inflater.decompress(b"", min(MAX_SITEMAP_BYTES + 1 - len(out), 2**16))
                if not piece:
                    break
                out += piece
                _check_size(len(out))
        except zlib.error as exc:
            raise DiscoveryError(f"not a sitemap: bad gzip data ({exc})") from None
        if not inflater.eof:
            raise DiscoveryError("not a sitemap: truncated gzip data")
        pending = inflater.unused_data
        if pending and not pending.startswith(_GZIP_MAGIC):
            break  # trailing garbage after the last member is ignored, as gzip(1) does
    return bytes(out)


def _sitemap_message(message: str) -> str:
    """Reword a feeds-module error for a sitemap."""
    return message.replace("not an RSS or Atom feed", "not a sitemap").replace(
        "refused feed", "refused sitemap"
    )


# --- entries --------------------------------------------------------------------------------


def _sitemap_children(root: _Element, name: str, ended: Iterator[_Element]) -> Iterator[_Element]:
    """The root's ``name`` children (in the sitemap namespaces), each once parsed whole."""
    return (
        element
        for element in ended
        if _local_name(element) == name
        and _namespace(element) in _SITEMAP_NAMESPACES
        and element.getparent() is root
    )


def _first(element: _Element, name: str, namespaces: frozenset[str]) -> _Element:
    for child in element:
        if _local_name(child) == name and _namespace(child) in namespaces:
            return child
    return None


def _entry(element: _Element, *, news: bool) -> SitemapEntry | None:
    loc = _first(element, "loc", _SITEMAP_NAMESPACES)
    if loc is None:
        return None
    raw = _raw_text(loc).strip()
    if not raw or not _has_http_scheme(raw):
        return None
    try:
        url = normalise_url(raw)
    except ValueError:
        return None
    lastmod_element = _first(element, "lastmod", _SITEMAP_NAMESPACES)
    lastmod = None if lastmod_element is None else _parse_w3c_datetime(_text(lastmod_element))
    news_element = _first(element, "news", _NEWS_NAMESPACES) if news else None
    if news_element is None:
        return SitemapEntry(url=url, lastmod=lastmod)
    publication = _first(news_element, "publication", _NEWS_NAMESPACES)
    name = None if publication is None else _first(publication, "name", _NEWS_NAMESPACES)
    return SitemapEntry(
        url=url,
        lastmod=lastmod,
        news_title=_text(_first(news_element, "title", _NEWS_NAMESPACES)),
        news_published=_parse_w3c_datetime(
            _text(_first(news_element, "publication_date", _NEWS_NAMESPACES))
        ),
        publication_name=_text(name),
    )


def _parse_w3c_datetime(text: str | None) -> datetime | None:
    """A W3C datetime (YYYY ... YYYY-MM-DDThh:mm:ss.sTZD) as aware UTC, or None."""
    if not text:
        return None
    match = _W3C_DATE_RE.fullmatch(text.strip())
    if match is None:
        return None
    parts = match.groupdict()
    tz = parts["tz"]
    try:
        offset = UTC
        if tz and tz not in ("Z", "z"):
            digits = tz[1:].replace(":", "")
            delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            offset = timezone(-delta if tz[0] == "-" else delta)
        frac = (parts["frac"] or "0")[:6].ljust(6, "0")
        parsed = datetime(
            int(parts["year"]),
            int(parts["month"] or 1),
            int(parts["day"] or 1),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            int(frac),
            tzinfo=offset,
        )
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
