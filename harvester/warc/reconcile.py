"""Reconciling the catalog with the WARC files after a crash.

The writer fsyncs a capture's records before the catalog learns of them, so after a hard kill
the WARC files can hold captures the catalog never recorded (killed between the two steps), but
never the reverse. At start, every WARC file the catalog has not marked complete (the file being
written when the process died, and one rotated just before) is read, and each ``response`` or
``revisit`` record missing from the catalog is added to it. The next fetch of that URL then
writes a revisit instead of a second response record with the same payload.

Article metadata records written just before a kill are not re-indexed here: the URL stays in
the frontier and is harvested again (its response becomes a revisit), which appends a newer
metadata record; readers take the newest. ``harvester rebuild-index`` (issue 6) rebuilds the
whole catalog from the WARC files.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from harvester.catalog import ArticleRow, CaptureRow, Catalog, DocRow
from harvester.dedup.fingerprint import fingerprint
from harvester.dedup.stories import epoch
from harvester.errors import ArchiveError
from harvester.models import Evidence, ExportRecord
from harvester.warc.records import payload_digest

__all__ = ["Reconciled", "WarcIndexer", "reconcile_catalog", "scan_captures", "warc_files_in_order"]

log = logging.getLogger("harvester.warc")


def warc_files_in_order(root: Path) -> list[Path]:
    """The closed WARC files under ``root/warc`` in the order they were written: by the UTC
    time in their names (``<prefix>-<utc>-<serial>-...``), then by when each was last written
    (files of different writers started in the same second), then by name."""

    def key(path: Path) -> tuple[str, int, str]:
        parts = path.name.split("-")
        stamp = next((p for p in parts if len(p) == 14 and p.isdigit()), "")
        try:
            written = path.stat().st_mtime_ns
        except OSError:
            written = 0
        return stamp, written, path.name

    return sorted((p for p in (root / "warc").rglob("*.warc.gz") if p.is_file()), key=key)


@dataclass(frozen=True, kw_only=True)
class Reconciled:
    """What reconciling did: files read, captures added to the catalog."""

    files: int = 0
    added: int = 0
    articles: int = 0


def scan_captures(root: Path, file: str, start: int = 0) -> Iterator[CaptureRow]:
    """The response and revisit records of one closed WARC file from offset ``start`` (a record
    boundary) on, as catalog rows."""
    path = root / file
    try:
        with path.open("rb") as stream:
            stream.seek(start)
            iterator = ArchiveIterator(stream)
            for record in iterator:
                if record.rec_type not in ("response", "revisit"):
                    continue
                headers = record.rec_headers
                status = record.http_headers.get_statuscode() if record.http_headers else ""
                record.content_stream().read()
                offset = iterator.get_record_offset()  # absolute: warcio asks the stream
                length = iterator.get_record_length()
                yield CaptureRow(
                    url=headers.get_header("WARC-Target-URI") or "",
                    fetched=headers.get_header("WARC-Date") or "",
                    status=int(status) if status and status.isdigit() else 0,
                    record_type=record.rec_type,
                    payload_digest=headers.get_header("WARC-Payload-Digest") or "",
                    file=file,
                    offset=offset,
                    length=length,
                    record_id=headers.get_header("WARC-Record-ID") or "",
                    refers_to=headers.get_header("WARC-Refers-To"),
                )
    except (OSError, ArchiveLoadFailed, ValueError) as exc:
        raise ArchiveError(f"cannot read WARC file {path} to reconcile it: {exc}") from exc


def reconcile_catalog(
    root: Path, catalog: Catalog, *, is_wire: Callable[[str], bool] = lambda name: False
) -> Reconciled:
    """Index what the catalog lacks of every WARC file it has not marked complete, and mark
    them. A file is read from the last record the catalog knows in it (the writer indexes in
    file order), so after a crash only the tail of one or two files is read; a deleted catalog
    means every file is read (a rebuild)."""
    complete = catalog.complete_warc_files()
    pending = [
        path
        for path in warc_files_in_order(root)
        if path.relative_to(root).as_posix() not in complete
    ]
    if len(pending) > 1:
        log.warning("catalog lacks %d WARC file(s): indexing them", len(pending))
    indexer = WarcIndexer(root, catalog, is_wire, only_missing=True)
    for path in pending:
        indexer.file(path, catalog.last_indexed_offset(path.relative_to(root).as_posix()))
    if indexer.captures or indexer.articles:
        log.warning(
            "catalog reconciled with the WARC files: %d capture(s) and %d article record(s) "
            "were on disk but not indexed",
            indexer.captures,
            indexer.articles,
        )
    return Reconciled(files=len(pending), added=indexer.captures, articles=indexer.articles)


# Evidence kinds whose URL ties an article to another (as the story book records them).
_LINK_KINDS = ("link", "canonical", "meta", "credit-line")


@dataclass(frozen=True, kw_only=True)
class _Record:
    type: str
    offset: int
    headers: dict[str, str]
    content: bytes


def _records(path: Path, start: int = 0) -> Iterator[_Record]:
    try:
        with path.open("rb") as stream:
            stream.seek(start)
            iterator = ArchiveIterator(stream)
            for record in iterator:
                if record.rec_type in ("metadata", "conversion"):
                    content = record.content_stream().read()
                else:
                    content = b""
                yield _Record(
                    type=record.rec_type,
                    offset=iterator.get_record_offset(),
                    headers={k.lower(): v for k, v in record.rec_headers.headers},
                    content=content,
                )
    except (OSError, ArchiveLoadFailed, ValueError) as exc:
        raise ArchiveError(f"cannot read WARC file {path}: {exc}") from exc


def _source_capture(meta: dict[str, Any], url: str) -> CaptureRow | None:
    """The capture row of an imported article's source record (re-read from its file)."""
    source = meta.get("imported_from") or {}
    path = Path(str(source.get("file", "")))
    offset = int(source.get("offset", -1))
    try:
        with path.open("rb") as stream:
            stream.seek(offset)
            for record in ArchiveIterator(stream, arc2warc=True):
                headers = record.rec_headers
                status = record.http_headers.get_statuscode() if record.http_headers else "200"
                body = record.content_stream().read()

                return CaptureRow(
                    url=url,
                    fetched=headers.get_header("WARC-Date") or "",
                    status=int(status) if status and status.isdigit() else 200,
                    record_type="response",
                    payload_digest=headers.get_header("WARC-Payload-Digest")
                    or payload_digest(body),
                    file=str(path),
                    offset=offset,
                    length=0,
                    record_id=str(source.get("record_id", "")),
                )
    except (OSError, ArchiveLoadFailed, ValueError):
        return None
    return None


class WarcIndexer:
    """Indexes WARC files into a catalog: captures from response/revisit records, articles from
    metadata (+ conversion) records, story rows from each article's record.

    With ``only_missing`` records the catalog already holds are skipped (reconciling after a
    crash, or a catalog older than the files); without it every record is added (a rebuild into
    an empty catalog). Files are read from ``start`` (a record boundary) on.
    """

    def __init__(
        self,
        root: Path,
        catalog: Catalog,
        is_wire: Callable[[str], bool],
        *,
        only_missing: bool = False,
    ) -> None:
        self.root = root
        self.catalog = catalog
        self.is_wire = is_wire
        self.only_missing = only_missing
        self.captures = 0
        self.articles = 0
        self.missing_sources: list[str] = []
        self._pending: tuple[str, _Record, dict[str, Any]] | None = None

    def file(self, path: Path, start: int = 0) -> None:
        """Index one closed WARC file and mark it complete."""
        name = path.relative_to(self.root).as_posix()
        for row in scan_captures(self.root, name, start):
            if self.only_missing and self.catalog.has_capture(row.record_id):
                continue
            self.catalog.add_capture(row)
            self.captures += 1
        for record in _records(path, start):
            if record.type == "metadata":
                self._flush(None)
                meta = json.loads(record.content)
                if isinstance(meta, dict) and isinstance(meta.get("record"), dict):
                    self._pending = (name, record, meta)
            elif record.type == "conversion":
                self._flush(record)
        self._flush(None)
        self.catalog.mark_warc_complete(name)

    def _flush(self, conversion: _Record | None) -> None:
        if self._pending is None:
            return
        name, meta_record, meta = self._pending
        self._pending = None
        if self.only_missing and self.catalog.has_article_at(name, meta_record.offset):
            return
        refers = meta_record.headers.get("warc-refers-to", "")
        fields = dict(meta["record"])
        if conversion is not None and conversion.headers.get("warc-refers-to") == refers:
            text = conversion.content.decode("utf-8")
        else:
            previous = self.catalog.latest_article_row(fields["final_url"])
            text = previous.record.text if previous is not None else ""
        record = ExportRecord.from_json({**fields, "text": text})
        if "imported_from" in meta and self.catalog.latest_capture(record.url) is None:
            capture = _source_capture(meta, record.final_url)
            if capture is None:
                self.missing_sources.append(str(meta["imported_from"].get("file")))
            elif not self.catalog.has_capture(capture.record_id):
                self.catalog.add_capture(capture)
                self.captures += 1
        self.catalog.add_article(
            ArticleRow(
                record=record,
                capture_record_id=refers,
                metadata_file=name,
                metadata_offset=meta_record.offset,
                blocks=tuple(text.split("\n\n")) if text else (),
                payload=meta,
            )
        )
        self.articles += 1
        self._doc(record, meta)

    def _doc(self, record: ExportRecord, meta: dict[str, Any]) -> None:
        evidence = tuple(Evidence.from_json(e) for e in meta.get("page_evidence", []))
        fp = fingerprint(record.text)
        outlet = record.outlet or ""
        doc = self.catalog.put_doc(
            DocRow(
                doc=0,
                final_url=record.final_url,
                outlet=outlet,
                wire=self.is_wire(outlet),
                published=record.published,
                fetched=record.fetched,
                time=epoch(record.fetched) or epoch(record.published) or 0.0,
                text_hash=fp.text_hash,
                fingerprint=fp.to_bytes(),
                evidence=evidence,
                story=record.story,
            )
        )
        self.catalog.set_doc_links(
            doc, [e.url for e in evidence if e.kind in _LINK_KINDS and e.url]
        )
