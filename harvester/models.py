"""Frozen, keyword-only values passed between the stages of the pipeline.

The fetcher produces an :data:`FetchResult` (``Fetched`` | ``Refused`` | ``FetchFailed``); the
extractor turns a ``Fetched`` into an ``Extraction`` or a :class:`Rejected`; the pipeline
archives and returns an :data:`Outcome`. :class:`ExportRecord` is the public contract that every
command printing or exporting articles uses (``ExportRecord.to_json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "EVIDENCE_KINDS",
    "Archived",
    "DiscoveryContext",
    "Evidence",
    "Exchange",
    "ExportRecord",
    "FetchFailed",
    "FetchRequest",
    "FetchResult",
    "Fetched",
    "HttpError",
    "NotArticle",
    "Original",
    "Outcome",
    "Refused",
    "Rejected",
    "WarcLocation",
]

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, kw_only=True)
class DiscoveryContext:
    """Where a URL was discovered (feed item, sitemap entry, section page); kept in metadata."""

    via: str | None = None
    title: str | None = None
    published: datetime | None = None
    source_name: str | None = None
    source_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; datetimes as ISO 8601 strings."""
        return {
            "via": self.via,
            "title": self.title,
            "published": self.published.isoformat() if self.published else None,
            "source_name": self.source_name,
            "source_url": self.source_url,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DiscoveryContext:
        """The inverse of :meth:`to_json` (the frontier stores contexts as JSON)."""
        published = data.get("published")
        return cls(
            via=data.get("via"),
            title=data.get("title"),
            published=datetime.fromisoformat(published) if published else None,
            source_name=data.get("source_name"),
            source_url=data.get("source_url"),
        )


@dataclass(frozen=True, kw_only=True)
class FetchRequest:
    """One URL to harvest, optionally on behalf of a configured outlet."""

    url: str
    outlet: str | None = None
    discovery: DiscoveryContext | None = None


@dataclass(frozen=True, kw_only=True)
class Exchange:
    """One HTTP request/response pair, as transferred.

    ``body`` is the entity body as received (still content-encoded, transfer coding removed);
    ``content`` is ``body`` with the content coding undone. Header lists keep the wire order; the
    header bytes themselves are reconstructed by httpx, not captured verbatim.
    """

    url: str
    method: str = "GET"
    request_headers: Headers = ()
    http_version: str = "HTTP/1.1"
    status: int
    reason: str = ""
    response_headers: Headers = ()
    body: bytes = b""
    content: bytes = b""
    truncated: str | None = None
    started: datetime
    peer_ip: str | None = None

    def header(self, name: str) -> str | None:
        """The first response header called ``name`` (case-insensitive), or None."""
        lname = name.lower()
        return next((v for k, v in self.response_headers if k.lower() == lname), None)

    @property
    def location(self) -> str | None:
        """The redirect target of a 3xx response, as sent."""
        return self.header("location") if 300 <= self.status < 400 else None


@dataclass(frozen=True, kw_only=True)
class Fetched:
    """A completed fetch: every hop of the redirect chain, the final response last."""

    chain: tuple[Exchange, ...]

    @property
    def final(self) -> Exchange:
        """The last exchange (the response that was not a followed redirect)."""
        return self.chain[-1]


@dataclass(frozen=True, kw_only=True)
class Refused:
    """harvester chose not to fetch or keep the URL (robots, size cap, private address, ...)."""

    url: str
    reason: str
    chain: tuple[Exchange, ...] = ()


@dataclass(frozen=True, kw_only=True)
class FetchFailed:
    """A network failure (DNS, connect, timeout, deadline, redirect loop); nothing complete."""

    url: str
    reason: str
    chain: tuple[Exchange, ...] = ()


FetchResult = Fetched | Refused | FetchFailed


EVIDENCE_KINDS = (
    "link",  # an outbound link in an "originally published at" line
    "canonical",  # cross-domain rel=canonical
    "meta",  # original-source / syndication-source meta, JSON-LD isBasedOn / sourceOrganization
    "feed",  # the feed item's <source> (RSS) or <source> (Atom)
    "dateline",  # "MOSCOW, July 22 (RIA Novosti) -", "WASHINGTON (AP) -"
    "credit-line",  # "The original source of this article is X", "Copyright (c) Site, X, 2008"
    "author",  # an author or publisher that is a known wire service
    "text",  # near-duplicate of an earlier archived article (provenance stage)
    "earliest",  # first published member of the story (provenance stage)
)


@dataclass(frozen=True, kw_only=True)
class Evidence:
    """One piece of provenance evidence.

    ``kind`` is one of EVIDENCE_KINDS (strongest first); ``text`` is what showed it (the line,
    the tag); ``source`` is the outlet or wire it names (canonical name when the registry knows
    it); ``url`` the original's address when the evidence gives one.
    """

    kind: str
    text: str
    source: str | None = None
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; ``source`` and ``url`` only when known."""
        out: dict[str, Any] = {"kind": self.kind, "text": self.text}
        if self.source:
            out["source"] = self.source
        if self.url:
            out["url"] = self.url
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Evidence:
        """The inverse of :meth:`to_json`."""
        return cls(
            kind=data["kind"], text=data["text"], source=data.get("source"), url=data.get("url")
        )


@dataclass(frozen=True, kw_only=True)
class Rejected:
    """The page is not an article; ``reason`` says why in a few words."""

    reason: str


@dataclass(frozen=True, kw_only=True)
class WarcLocation:
    """Where a record lies: file path relative to the archive root, byte offset, record id."""

    file: str
    offset: int
    record_id: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"file": self.file, "offset": self.offset, "record_id": self.record_id}


@dataclass(frozen=True, kw_only=True)
class Original:
    """The story's original as resolved so far; ``seen`` is False when it is not archived."""

    url: str | None
    outlet: str | None
    seen: bool
    evidence: tuple[Evidence, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "url": self.url,
            "outlet": self.outlet,
            "seen": self.seen,
            "evidence": [e.to_json() for e in self.evidence],
        }


@dataclass(frozen=True, kw_only=True)
class ExportRecord:
    """The export contract: one archived article, as every command prints it.

    ``warc`` locates the raw ``response`` record of the capture the article came from.
    ``text`` holds paragraphs separated by blank lines.
    """

    url: str
    final_url: str
    outlet: str | None
    title: str | None
    authors: tuple[str, ...]
    published: str | None
    fetched: str
    language: str | None
    text: str
    story: str
    is_original: bool
    original: Original
    warc: WarcLocation
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The record as one JSON object, keys in contract order."""
        return {
            "url": self.url,
            "final_url": self.final_url,
            "outlet": self.outlet,
            "title": self.title,
            "authors": list(self.authors),
            "published": self.published,
            "fetched": self.fetched,
            "language": self.language,
            "text": self.text,
            "story": self.story,
            "is_original": self.is_original,
            "original": self.original.to_json(),
            "warc": self.warc.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExportRecord:
        """Inverse of :meth:`to_json` (raises KeyError/TypeError on a malformed object)."""
        original = data["original"]
        return cls(
            url=data["url"],
            final_url=data["final_url"],
            outlet=data["outlet"],
            title=data["title"],
            authors=tuple(data["authors"]),
            published=data["published"],
            fetched=data["fetched"],
            language=data["language"],
            text=data["text"],
            story=data["story"],
            is_original=data["is_original"],
            original=Original(
                url=original["url"],
                outlet=original["outlet"],
                seen=original["seen"],
                evidence=tuple(Evidence.from_json(e) for e in original["evidence"]),
            ),
            warc=WarcLocation(**data["warc"]),
        )


@dataclass(frozen=True, kw_only=True)
class Archived:
    """The article was archived (or, for a revisit, was already archived unchanged)."""

    record: ExportRecord
    revisit: bool = False


@dataclass(frozen=True, kw_only=True)
class NotArticle:
    """Fetched and archived, but not an article."""

    url: str
    reason: str
    warc: WarcLocation | None = None


@dataclass(frozen=True, kw_only=True)
class HttpError:
    """The server answered with an error status; the response was archived."""

    url: str
    status: int
    reason: str
    warc: WarcLocation | None = None


Outcome = Archived | NotArticle | HttpError | Refused | FetchFailed
