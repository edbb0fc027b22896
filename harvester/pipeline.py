"""The pipeline: fetch one URL, archive every capture, extract and clean the article, record it.

Each stage is pure or behind a seam (Fetcher, ArchiveStore, ArticleExtractor, TemplateBook)::

    fetch -> WARC request/response (or revisit) per hop -> decode
          -> extract + attribution + rule packs (worker process, time budget)
          -> learned outlet templates (observe, then clean; earlier articles re-cleaned when
             something new is learned)
          -> original from the evidence -> WARC metadata (JSON) + conversion (text) -> catalog

A page's records (its captures, then its article's or its rejection's) are one WARC batch,
fsynced once, and indexed in one catalog transaction after that (:class:`_Page`): the daemon
strikes the URL off the frontier only after both.

Outcomes are values (``harvester.models.Outcome``); only ArchiveError escapes, because a failing
archive is not something one URL's result can describe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from harvester.catalog import ArticleRow, CaptureRow
from harvester.clock import Clock, SystemClock
from harvester.config import Settings
from harvester.dedup.book import StoryBook
from harvester.dedup.fingerprint import Fingerprint, fingerprint
from harvester.dedup.stories import Resolution
from harvester.errors import ArchiveError
from harvester.extract.article import ArticleExtractor, Extraction, PageHints
from harvester.extract.boilerplate import RemovedBlock
from harvester.extract.content import decode_html, is_html
from harvester.extract.wires import WireRegistry
from harvester.lifetime import Closeable
from harvester.models import (
    Archived,
    DiscoveryContext,
    Evidence,
    Exchange,
    ExportRecord,
    FetchFailed,
    FetchRequest,
    FetchResult,
    HttpError,
    NotArticle,
    Original,
    Outcome,
    Refused,
    Rejected,
    WarcLocation,
)
from harvester.net.fetch import Fetcher, HttpFetcher
from harvester.storage import ArchiveStore
from harvester.templates_book import TemplateBook
from harvester.version import __version__
from harvester.warc.reader import read_record
from harvester.warc.records import (
    CaptureRef,
    Record,
    build_conversion,
    build_exchange,
    build_metadata,
    build_revisit,
    payload_digest,
    warc_date,
)
from harvester.warc.writer import RecordSpan

__all__ = ["Harvester", "RecleanReport", "harvest_one", "outlet_name", "process_imported"]

log = logging.getLogger("harvester.pipeline")


@dataclass(frozen=True, kw_only=True)
class _Capture:
    """Where one exchange was archived, and whether it was a revisit."""

    location: WarcLocation
    revisit: bool


@dataclass(kw_only=True)
class RecleanReport:
    """What a re-clean pass did."""

    checked: int = 0
    changed: int = 0
    failed: int = 0


def outlet_name(url: str, settings: Settings, requested: str | None = None) -> str:
    """The configured outlet for ``url``'s host, else the host without ``www.``."""
    if requested:
        return requested
    host = (urlsplit(url).hostname or "").lower()
    outlet = settings.outlet_for_host(host)
    return outlet.name if outlet else host.removeprefix("www.")


def _self_names(outlet: str, settings: Settings) -> tuple[str, ...]:
    configured = next((o for o in settings.outlets if o.name == outlet), None)
    return (outlet, *configured.aliases) if configured else (outlet,)


@dataclass(kw_only=True)
class _Page:
    """One page's records on their way to the archive: written as one WARC batch (synced by
    the last write, or when the page ends), then indexed in one catalog transaction."""

    #: the page's first record (where a rollback cuts back to), once one is written
    first: RecordSpan | None = None
    captures: list[CaptureRow]
    indexed: bool = False

    def write(
        self, store: ArchiveStore, records: Sequence[Record], *, sync: bool
    ) -> list[RecordSpan]:
        spans = store.writer.write(records, sync=sync)
        self.first = self.first or spans[0]
        return spans

    def index(self, store: ArchiveStore, article: ArticleRow | None = None) -> None:
        """Make the batch durable, then index the captures and ``article`` at once."""
        store.writer.sync()
        if self.captures or article is not None:
            store.catalog.add_page(self.captures, article)
        self.indexed = True


@contextmanager
def _page(store: ArchiveStore) -> Iterator[_Page]:
    """A page from its first record to its catalog rows; indexed at the end if the article
    did not index it. If anything fails before it is indexed (disk full, catalog locked),
    its records are cut back out of the WARC file, so a retry does not leave them twice."""
    page = _Page(captures=[])
    try:
        yield page
        if not page.indexed:
            page.index(store)
    except BaseException:
        if not page.indexed and page.first is not None:
            store.writer.rollback(page.first.file, page.first.offset)
        raise


@contextmanager
def _index_or_rollback(store: ArchiveStore, spans: Sequence[RecordSpan]) -> Iterator[None]:
    """Index records just written; if the catalog fails (disk full, locked), cut them back out
    of the WARC file so a retry does not leave them twice."""
    try:
        yield
    except ArchiveError:
        store.writer.rollback(spans[0].file, spans[0].offset)
        raise


def _archive_exchange(store: ArchiveStore, exchange: Exchange, page: _Page) -> _Capture:
    """Write request + response, or request + revisit when the payload is unchanged, into the
    page's batch (indexed with the page)."""
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
    response = page.write(store, records, sync=False)[1]
    page.captures.append(
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


def _removed_json(removed: Sequence[RemovedBlock]) -> list[dict[str, str]]:
    return [{"kind": r.kind, "text": r.text, "rule": r.rule} for r in removed]


def _original(
    resolution: Resolution, doc: int, own: tuple[Evidence, ...], note: Evidence | None = None
) -> tuple[Original, bool]:
    """The export record's ``original`` for member ``doc`` of a resolved story."""
    evidence = tuple(dict.fromkeys((*own, *((note,) if note else ()), *resolution.evidence)))
    original = Original(
        url=resolution.url, outlet=resolution.outlet, seen=resolution.seen, evidence=evidence
    )
    return original, resolution.doc == doc


def _record(
    *,
    url: str,
    final_url: str,
    fetched: str,
    extraction: Extraction,
    blocks: Sequence[str],
    outlet: str,
    location: WarcLocation,
    story: str,
    original: Original,
    is_original: bool,
) -> ExportRecord:
    return ExportRecord(
        url=url,
        final_url=final_url,
        outlet=outlet,
        title=extraction.title,
        authors=extraction.authors,
        published=extraction.published,
        fetched=fetched,
        language=extraction.language,
        text="\n\n".join(blocks),
        story=story,
        is_original=is_original,
        original=original,
        warc=location,
    )


def _place_and_record(
    stories: StoryBook,
    settings: Settings,
    *,
    url: str,
    final_url: str,
    fetched: str,
    published: str | None,
    extraction: Extraction,
    blocks: tuple[str, ...],
    fp: Fingerprint,
    outlet: str,
    location: WarcLocation,
) -> tuple[ExportRecord, Resolution, tuple[str, ...]]:
    """Place the cleaned article (``fp``: the fingerprint of ``blocks``, computed before the
    placement section, which it need not hold up) in a story, resolve the story's original,
    build its record; also the other stories the placement changed (see ``Placement``)."""
    placement = stories.place(
        url=final_url,
        outlet=outlet,
        wire=_is_wire(outlet, settings, stories),
        published=published,
        fetched=fetched,
        evidence=extraction.evidence,
        fp=fp,
    )
    resolution = stories.resolve(placement.story)
    original, is_original = _original(
        resolution, placement.doc, extraction.evidence, placement.evidence
    )
    record = _record(
        url=url,
        final_url=final_url,
        fetched=fetched,
        extraction=extraction,
        blocks=blocks,
        outlet=outlet,
        location=location,
        story=placement.story,
        original=original,
        is_original=is_original,
    )
    return record, resolution, placement.changed


def _capture_context(request: FetchRequest, chain: tuple[Exchange, ...]) -> dict[str, Any]:
    """The metadata fields about how the page was reached (fixed at capture time)."""
    return {
        "harvester": __version__,
        "requested_url": request.url,
        "redirects": [{"url": e.url, "status": e.status} for e in chain[:-1]],
        "discovery": request.discovery.to_json() if request.discovery else None,
        **({"truncated": chain[-1].truncated} if chain and chain[-1].truncated else {}),
    }


def _record_fields(record: ExportRecord) -> dict[str, Any]:
    fields = record.to_json()
    # The text lives in the conversion record next to the metadata; do not store it twice.
    fields.pop("text")
    return fields


def _derived(
    record: ExportRecord, extraction: Extraction, template_removed: Sequence[RemovedBlock]
) -> dict[str, Any]:
    """The metadata fields derived from the page (what a re-clean may change)."""
    return {
        "harvester": __version__,
        "record": _record_fields(record),
        "tags": list(extraction.tags),
        "page_evidence": [e.to_json() for e in extraction.evidence],
        "removed": _removed_json([*extraction.removed, *template_removed]),
        "page": {
            "canonical": extraction.canonical,
            "sitename": extraction.sitename,
            "description": extraction.description,
        },
    }


def _write_article(
    store: ArchiveStore,
    record: ExportRecord,
    payload: dict[str, Any],
    blocks: tuple[str, ...],
    *,
    with_text: bool = True,
    page: _Page | None = None,
) -> None:
    """Append a metadata record (and a conversion record, unless only provenance changed) for
    ``record`` and index it (with ``page``: as the end of that page's batch, its captures and
    the article in one transaction)."""
    date = warc_date(store.clock.now())
    response_id = record.warc.record_id
    records = [
        build_metadata(
            url=record.final_url,
            refers_to=response_id,
            record_id=store.new_id(),
            date=date,
            payload=payload,
        )
    ]
    if with_text:
        records.append(
            build_conversion(
                url=record.final_url,
                refers_to=response_id,
                record_id=store.new_id(),
                date=date,
                text=record.text,
            )
        )
    spans = page.write(store, records, sync=True) if page else store.writer.write(records)
    row = ArticleRow(
        record=record,
        capture_record_id=response_id,
        metadata_file=spans[0].file,
        metadata_offset=spans[0].offset,
        blocks=blocks,
        payload=payload,
    )
    if page is not None:
        page.index(store, row)  # the page's context cuts the batch back out if this fails
        return
    with _index_or_rollback(store, spans):
        store.catalog.add_article(row)


def _reject(
    store: ArchiveStore,
    request: FetchRequest,
    chain: tuple[Exchange, ...],
    capture: _Capture,
    reason: str,
    *,
    page: _Page,
    context: dict[str, Any] | None = None,
) -> NotArticle:
    final = chain[-1]
    page.write(
        store,
        [
            build_metadata(
                url=final.url,
                refers_to=capture.location.record_id,
                record_id=store.new_id(),
                date=warc_date(final.started),
                payload={**_capture_context(request, chain), **(context or {}), "rejected": reason},
            )
        ],
        sync=False,
    )
    return NotArticle(url=final.url, reason=reason, warc=capture.location)


def reclean_with_templates(
    store: ArchiveStore, templates: TemplateBook, outlet: str, *, skip: str | None = None
) -> RecleanReport:
    """Re-apply the outlet's templates to its archived articles (stored pre-template blocks);
    append new metadata + conversion records for every article whose text changes."""
    report = RecleanReport()
    for row in store.catalog.latest_articles(outlet):
        if row.record.final_url == skip:
            continue
        report.checked += 1
        result = templates.clean(outlet, row.blocks)
        text = "\n\n".join(result.kept)
        if text == row.record.text:
            continue
        record = replace(row.record, text=text)
        payload = dict(row.payload)
        rules_removed = [r for r in payload.get("removed", []) if r.get("kind") != "template"]
        payload["removed"] = rules_removed + _removed_json(result.removed)
        payload["recleaned"] = warc_date(store.clock.now())
        _write_article(store, record, payload, row.blocks)
        report.changed += 1
    return report


def wire_test(settings: Settings, wires: WireRegistry) -> Callable[[str], bool]:
    """Whether an outlet name is a wire service: as configured, else by the wire registry."""
    configured = {o.name: o.wire for o in settings.outlets}

    def is_wire(name: str) -> bool:
        return configured.get(name, wires.resolve(name) is not None)

    return is_wire


def _is_wire(outlet: str, settings: Settings, stories: StoryBook) -> bool:
    configured = next((o for o in settings.outlets if o.name == outlet), None)
    return configured.wire if configured else stories.is_wire_name(outlet)


def _feed_date(discovery: DiscoveryContext | None) -> str | None:
    return discovery.published.isoformat() if discovery and discovery.published else None


def _re_resolve(
    store: ArchiveStore, stories: StoryBook, story: str, resolution: Resolution, *, skip: str
) -> int:
    """Append updated metadata for members whose story or original changed; returns how many."""
    changed = 0
    members = [m for m in stories.members(story) if m.final_url != skip]
    rows = store.catalog.latest_article_rows([m.final_url for m in members])  # one round trip
    for member in members:
        row = rows.get(member.final_url)
        if row is None:
            continue
        original, is_original = _original(resolution, member.doc, member.evidence)
        record = replace(row.record, story=story, original=original, is_original=is_original)
        if record == row.record:
            continue
        payload = {
            **row.payload,
            "record": _record_fields(record),
            "decided_by": resolution.decided_by,
            "re_resolved": warc_date(store.clock.now()),
        }
        _write_article(store, record, payload, row.blocks, with_text=False)
        changed += 1
    return changed


def _re_resolve_changed(
    store: ArchiveStore, stories: StoryBook, changed: Sequence[str], *, skip: str
) -> None:
    """Resolve again the other stories a placement changed (a story split off) and append the
    updated metadata of their members."""
    for story in changed:
        _re_resolve(store, stories, story, stories.resolve(story), skip=skip)


def harvest_one(
    request: FetchRequest,
    *,
    fetcher: Fetcher,
    store: ArchiveStore,
    settings: Settings,
    extractor: ArticleExtractor,
    templates: TemplateBook,
    stories: StoryBook,
) -> Outcome:
    """Fetch, archive, extract and clean one URL. Raises ArchiveError only."""
    return process_result(
        request,
        fetcher.fetch(request.url),
        store=store,
        settings=settings,
        extractor=extractor,
        templates=templates,
        stories=stories,
    )


def process_result(
    request: FetchRequest,
    result: FetchResult,
    *,
    store: ArchiveStore,
    settings: Settings,
    extractor: ArticleExtractor,
    templates: TemplateBook,
    stories: StoryBook,
) -> Outcome:
    """Archive a fetch's exchanges, then extract, clean and place the article (the half of
    :func:`harvest_one` after the network). Raises ArchiveError only."""
    with _page(store) as page:
        captures = [_archive_exchange(store, exchange, page) for exchange in result.chain]
        if isinstance(result, Refused | FetchFailed):
            return result
        return _process_capture(
            request,
            result.chain,
            captures[-1],
            page,
            store=store,
            settings=settings,
            extractor=extractor,
            templates=templates,
            stories=stories,
        )


def process_imported(
    request: FetchRequest,
    exchange: Exchange,
    source: CaptureRow,
    *,
    store: ArchiveStore,
    settings: Settings,
    extractor: ArticleExtractor,
    templates: TemplateBook,
    stories: StoryBook,
) -> Outcome:
    """An exchange read from someone else's WARC file (``harvester import-warc``): index the
    source record as the capture (``source.file`` is that file's absolute path, so the raw
    bytes stay where they are), then extract, clean and place the article as for a fetch; the
    metadata record names the source file, offset and record id. Raises ArchiveError only."""
    capture = _Capture(
        location=WarcLocation(file=source.file, offset=source.offset, record_id=source.record_id),
        revisit=False,
    )
    imported = {"file": source.file, "offset": source.offset, "record_id": source.record_id}
    with _page(store) as page:
        page.captures.append(source)
        return _process_capture(
            request,
            (exchange,),
            capture,
            page,
            store=store,
            settings=settings,
            extractor=extractor,
            templates=templates,
            stories=stories,
            context={"imported_from": imported},
        )


def _process_capture(
    request: FetchRequest,
    chain: tuple[Exchange, ...],
    capture: _Capture,
    page: _Page,
    *,
    store: ArchiveStore,
    settings: Settings,
    extractor: ArticleExtractor,
    templates: TemplateBook,
    stories: StoryBook,
    context: dict[str, Any] | None = None,
) -> Outcome:
    """Extract, clean and place the article of an archived final response (``page``: its
    records so far; the article's join them)."""
    final = chain[-1]
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
        return _reject(
            store,
            request,
            chain,
            capture,
            f"not HTML ({content_type or 'no type'})",
            page=page,
            context=context,
        )
    outlet = outlet_name(final.url, settings, request.outlet)
    discovery = request.discovery
    hints = PageHints(
        self_names=_self_names(outlet, settings),
        feed_source=(discovery.source_name, discovery.source_url)
        if discovery and (discovery.source_name or discovery.source_url)
        else None,
    )
    extraction = extractor.extract(decode_html(final.content, content_type), final.url, hints)
    if isinstance(extraction, Rejected):
        return _reject(
            store, request, chain, capture, extraction.reason, page=page, context=context
        )
    learned = templates.observe_and_clean(outlet, final.url, extraction.blocks)
    # The one serial step of the fleet: placing the article, resolving its story's original
    # and writing the records that say so, one writer at a time (see StoryBook).
    fp = fingerprint("\n\n".join(learned.kept))
    with store.catalog.placement():
        record, resolution, changed = _place_and_record(
            stories,
            settings,
            url=request.url,
            final_url=final.url,
            fetched=warc_date(final.started),
            published=extraction.published or _feed_date(discovery),
            extraction=extraction,
            blocks=learned.kept,
            fp=fp,
            outlet=outlet,
            location=capture.location,
        )
        payload = {
            **_capture_context(request, chain),
            **(context or {}),
            **_derived(record, extraction, learned.removed),
            "decided_by": resolution.decided_by,
        }
        _write_article(store, record, payload, extraction.blocks, page=page)
        _re_resolve(store, stories, record.story, resolution, skip=final.url)
        _re_resolve_changed(store, stories, changed, skip=final.url)
    if learned.newly_learned:
        # Cold start: articles archived before these blocks were learned still show them.
        report = reclean_with_templates(store, templates, outlet, skip=final.url)
        log.info(
            "%s: learned %d template block(s); re-cleaned %d of %d earlier articles",
            outlet,
            len(learned.newly_learned),
            report.changed,
            report.checked,
        )
    return Archived(record=record)


class Harvester(Closeable):
    """Everything one process needs to harvest: the archive store (locked), the fetcher, the
    extractor (its worker process) and the template book. Use as a context manager."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        fetcher: Fetcher | None = None,
        extractor: ArticleExtractor | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.extractor = extractor or ArticleExtractor(settings)
        extractor = self.extractor  # the given one, or ours
        try:
            self.store = ArchiveStore(
                settings.archive,
                settings.fetch,
                clock=self.clock,
                is_wire=wire_test(settings, extractor.wires),
            )
        except BaseException:
            self.extractor.close()  # the archive is locked or unreadable: no worker left behind
            raise
        self._own_fetcher = fetcher is None
        self.fetcher: Fetcher = fetcher or HttpFetcher(
            settings.fetch,
            clock=self.clock,
            credentials={o.home: o.credentials() for o in settings.outlets if o.credentials()},
            # Per-host limits, pauses and robots.txt hold for every writer of the archive.
            fleet=self.store.catalog,
            owner=self.store.writer_id,
        )
        self.templates = TemplateBook(
            self.store.catalog,
            min_articles=settings.extract.template_min_articles,
            cache_keys=settings.extract.template_cache,
        )

        def canonical_name(name: str) -> str:
            wire = extractor.wires.resolve(name)
            return wire.name if wire else extractor.outlet_names.get(name.casefold(), name)

        self.stories = StoryBook(
            self.store.catalog,
            window=settings.dedup.window,
            now=self.clock.now().timestamp(),
            canonical_name=canonical_name,
            is_wire=lambda name: extractor.wires.resolve(name) is not None,
            spill_dir=self.store.spill_dir(),
        )

    def process(self, request: FetchRequest, result: FetchResult) -> Outcome:
        """:func:`process_result` with this harvester's ports (no attribution following)."""
        return process_result(
            request,
            result,
            store=self.store,
            settings=self.settings,
            extractor=self.extractor,
            templates=self.templates,
            stories=self.stories,
        )

    def process_imported(
        self, request: FetchRequest, exchange: Exchange, source: CaptureRow
    ) -> Outcome:
        """:func:`process_imported` with this harvester's ports."""
        return process_imported(
            request,
            exchange,
            source,
            store=self.store,
            settings=self.settings,
            extractor=self.extractor,
            templates=self.templates,
            stories=self.stories,
        )

    def harvest(self, request: FetchRequest) -> Outcome:
        """:func:`harvest_one` with this harvester's ports; with ``[dedup]
        follow_attribution``, an unseen attributed original's URL is harvested next."""
        outcome = harvest_one(
            request,
            fetcher=self.fetcher,
            store=self.store,
            settings=self.settings,
            extractor=self.extractor,
            templates=self.templates,
            stories=self.stories,
        )
        original = outcome.record.original if isinstance(outcome, Archived) else None
        if (
            self.settings.dedup.follow_attribution
            and original is not None
            and not original.seen
            and original.url
            and self.store.catalog.latest_capture(original.url) is None
        ):
            followed = harvest_one(
                FetchRequest(url=original.url, outlet=None),
                fetcher=self.fetcher,
                store=self.store,
                settings=self.settings,
                extractor=self.extractor,
                templates=self.templates,
                stories=self.stories,
            )
            log.info("followed attribution to %s: %s", original.url, type(followed).__name__)
            refreshed = self.store.catalog.article(outcome.record.final_url)  # type: ignore[union-attr]
            if refreshed is not None:
                outcome = Archived(record=refreshed)
        return outcome

    def reclean(self, outlet: str | None = None) -> RecleanReport:
        """Re-extract archived articles from their raw captures with the current rules and
        templates; append new metadata + conversion records where the result changed."""
        report = RecleanReport()
        for row in self.store.catalog.latest_articles(outlet):
            report.checked += 1
            record = row.record
            response = read_record(self.store.root, record.warc.file, record.warc.offset)
            content_type = next(
                (v for k, v in response.http_headers if k.lower() == "content-type"), None
            )
            own = record.outlet or outlet_name(record.final_url, self.settings)
            extraction = self.extractor.extract(
                decode_html(response.content, content_type),
                record.final_url,
                PageHints(self_names=_self_names(own, self.settings)),
            )
            if isinstance(extraction, Rejected):
                report.failed += 1
                log.warning("reclean: %s: %s", record.final_url, extraction.reason)
                continue
            cleaned = self.templates.clean(own, extraction.blocks)
            fp = fingerprint("\n\n".join(cleaned.kept))
            with self.store.catalog.placement():
                new, resolution, changed = _place_and_record(
                    self.stories,
                    self.settings,
                    url=record.url,
                    final_url=record.final_url,
                    fetched=record.fetched,
                    published=extraction.published or record.published,
                    extraction=extraction,
                    blocks=cleaned.kept,
                    fp=fp,
                    outlet=own,
                    location=record.warc,
                )
                _re_resolve_changed(self.store, self.stories, changed, skip=new.final_url)
                if new == record:
                    continue
                payload = {
                    **row.payload,
                    **_derived(new, extraction, cleaned.removed),
                    "decided_by": resolution.decided_by,
                    "recleaned": warc_date(self.clock.now()),
                }
                _write_article(self.store, new, payload, extraction.blocks)
                _re_resolve(self.store, self.stories, new.story, resolution, skip=new.final_url)
            report.changed += 1
        return report

    def close(self) -> None:
        """Close the fetcher (if it is ours), the extractor's worker and the store."""
        try:
            if self._own_fetcher and isinstance(self.fetcher, Closeable):
                self.fetcher.close()
            self.extractor.close()
        finally:
            self.store.close()
