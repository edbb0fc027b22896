"""harvest_one: fetch one URL, archive every capture, extract the article, record it.

This composes the stages; each stage is pure or behind a seam (Fetcher, ArchiveStore, Clock):

    fetch -> WARC request/response (or revisit) per hop -> decode -> extract -> Article
          -> WARC metadata (JSON) + conversion (text) -> catalog

The outcome is a value (see ``harvester.models.Outcome``); only ArchiveError escapes, because a
failing archive is not something one URL's result can describe.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from harvester.catalog import ArticleRow, CaptureRow
from harvester.config import Settings
from harvester.extract.content import decode_html, extract_article, is_html
from harvester.models import (
    Archived,
    Article,
    Exchange,
    ExportRecord,
    FetchFailed,
    FetchRequest,
    HttpError,
    NotArticle,
    Original,
    Outcome,
    Refused,
    Rejected,
    WarcLocation,
)
from harvester.net.fetch import Fetcher
from harvester.storage import ArchiveStore
from harvester.version import __version__
from harvester.warc.records import (
    CaptureRef,
    build_conversion,
    build_exchange,
    build_metadata,
    build_revisit,
    payload_digest,
    warc_date,
)

__all__ = ["harvest_one", "outlet_name", "story_id"]


@dataclass(frozen=True, kw_only=True)
class _Capture:
    """Where one exchange was archived, and whether it was a revisit."""

    location: WarcLocation
    revisit: bool


def outlet_name(url: str, settings: Settings, requested: str | None = None) -> str:
    """The configured outlet for ``url``'s host, else the host without ``www.``."""
    if requested:
        return requested
    host = (urlsplit(url).hostname or "").lower()
    outlet = settings.outlet_for_host(host)
    return outlet.name if outlet else host.removeprefix("www.")


def story_id(url: str) -> str:
    """A stable story id for a single-member story (the provenance stage will merge stories)."""
    return "s-" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def _archive_exchange(store: ArchiveStore, exchange: Exchange) -> _Capture:
    """Write request + response, or request + revisit when the payload is unchanged."""
    digest = payload_digest(exchange.body)
    previous = store.catalog.latest_response(exchange.url)
    request_id, response_id = store.new_id(), store.new_id()
    revisit = previous is not None and previous.payload_digest == digest
    if previous is not None and revisit:
        ref = CaptureRef(
            record_id=previous.record_id,
            url=previous.url,
            date=previous.fetched,
            payload_digest=previous.payload_digest,
        )
        records = build_revisit(
            exchange, refers_to=ref, request_id=request_id, revisit_id=response_id
        )
    else:
        records = build_exchange(exchange, request_id=request_id, response_id=response_id)
    spans = store.writer.write(list(records))
    response = spans[1]
    store.catalog.add_capture(
        CaptureRow(
            url=exchange.url,
            fetched=warc_date(exchange.started),
            status=exchange.status,
            record_type="revisit" if revisit else "response",
            payload_digest=digest,
            file=response.file,
            offset=response.offset,
            length=response.length,
            record_id=response.record_id,
            refers_to=previous.record_id if previous is not None and revisit else None,
        )
    )
    return _Capture(
        location=WarcLocation(
            file=response.file, offset=response.offset, record_id=response.record_id
        ),
        revisit=revisit,
    )


def _metadata_payload(
    request: FetchRequest, fetched: tuple[Exchange, ...], record: ExportRecord | None, **extra: Any
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "harvester": __version__,
        "requested_url": request.url,
        "redirects": [{"url": e.url, "status": e.status} for e in fetched[:-1]],
        "discovery": request.discovery.to_json() if request.discovery else None,
    }
    if record is not None:
        fields = record.to_json()
        # The text lives in the conversion record next to this one; do not store it twice.
        fields.pop("text")
        payload["record"] = fields
    payload.update(extra)
    return payload


def _record(
    request: FetchRequest, final: Exchange, article: Article, outlet: str, loc: WarcLocation
) -> ExportRecord:
    return ExportRecord(
        url=request.url,
        final_url=final.url,
        outlet=outlet,
        title=article.title,
        authors=article.authors,
        published=article.published,
        fetched=warc_date(final.started),
        language=article.language,
        text=article.text,
        story=story_id(final.url),
        is_original=True,
        original=Original(url=final.url, outlet=outlet, seen=True, evidence=()),
        warc=loc,
    )


def harvest_one(
    request: FetchRequest, *, fetcher: Fetcher, store: ArchiveStore, settings: Settings
) -> Outcome:
    """Fetch, archive and extract one URL. Raises ArchiveError only."""
    result = fetcher.fetch(request.url)
    captures = [_archive_exchange(store, exchange) for exchange in result.chain]
    if isinstance(result, Refused | FetchFailed):
        return result
    final, capture = result.final, captures[-1]
    if not 200 <= final.status < 300:
        return HttpError(
            url=final.url, status=final.status, reason=final.reason, warc=capture.location
        )
    if capture.revisit:
        existing = store.catalog.article(final.url)
        if existing is not None:
            return Archived(record=existing, revisit=True)
    content_type = final.header("content-type")
    if not is_html(content_type, final.content):
        return NotArticle(
            url=final.url, reason=f"not HTML ({content_type or 'no type'})", warc=capture.location
        )
    extracted = extract_article(decode_html(final.content, content_type), url=final.url)
    date = warc_date(final.started)
    response_id = capture.location.record_id
    if isinstance(extracted, Rejected):
        store.writer.write(
            [
                build_metadata(
                    target_uri=final.url,
                    refers_to=response_id,
                    record_id=store.new_id(),
                    date=date,
                    payload=_metadata_payload(
                        request, result.chain, None, rejected=extracted.reason
                    ),
                )
            ]
        )
        return NotArticle(url=final.url, reason=extracted.reason, warc=capture.location)
    outlet = outlet_name(final.url, settings, request.outlet)
    record = _record(request, final, extracted, outlet, capture.location)
    article_fields = {
        "canonical": extracted.canonical,
        "sitename": extracted.sitename,
        "description": extracted.description,
    }
    spans = store.writer.write(
        [
            build_metadata(
                target_uri=final.url,
                refers_to=response_id,
                record_id=store.new_id(),
                date=date,
                payload=_metadata_payload(request, result.chain, record, page=article_fields),
            ),
            build_conversion(
                target_uri=final.url,
                refers_to=response_id,
                record_id=store.new_id(),
                date=date,
                text=record.text,
            ),
        ]
    )
    store.catalog.add_article(
        ArticleRow(
            record=record,
            capture_record_id=response_id,
            metadata_file=spans[0].file,
            metadata_offset=spans[0].offset,
        )
    )
    return Archived(record=record)
