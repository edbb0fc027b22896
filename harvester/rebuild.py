"""``harvester rebuild-index``: rebuild the catalog from the WARC files alone.

The WARC files are the source of truth; the catalog is an index over them. Rebuilding reads every
file in order (file names sort by creation time, records by offset, which is the order the
writer indexed them in) and recreates:

* **captures** from ``response`` and ``revisit`` records, and, for articles imported from other
  people's WARC files, from the source record the metadata names (``imported_from``);
* **articles** from ``metadata`` records that carry an export record, with the text of the
  ``conversion`` record written beside it (a metadata-only record, such as a re-resolution,
  keeps the article's previous text), so ``export`` gives the same records, in the same order,
  with the same cursors;
* **stories** (the dedup index's rows) from each article's newest record: its story, evidence
  and fingerprint;
* which WARC files are fully indexed.

Not in the WARC files, so not rebuilt: the daemon's poll state and frontier (a restarted daemon
polls every outlet at once and finds its URLs already captured), conditional-request validators,
and learned templates (learned again as articles arrive; ``reclean`` applies them).

The old catalog is kept beside the new one (``index.sqlite.old-<UTC time>``), never deleted.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from harvester.catalog import CATALOG_NAME, ArticleRow, CaptureRow, DocRow, SqliteCatalog
from harvester.dedup.fingerprint import fingerprint
from harvester.dedup.stories import epoch
from harvester.errors import ArchiveError
from harvester.models import Evidence, ExportRecord
from harvester.storage import lock_archive
from harvester.warc.reconcile import scan_captures
from harvester.warc.records import payload_digest
from harvester.warc.repair import repair_open_files

__all__ = ["RebuildReport", "rebuild_catalog"]

log = logging.getLogger("harvester.rebuild")

# Evidence kinds whose URL ties an article to another (as the story book records them).
_LINK_KINDS = ("link", "canonical", "meta", "credit-line")


@dataclass(kw_only=True)
class RebuildReport:
    """What a rebuild found."""

    files: int = 0
    captures: int = 0
    articles: int = 0
    missing_sources: list[str] = field(default_factory=list)
    old_catalog: Path | None = None


@dataclass(frozen=True, kw_only=True)
class _Record:
    type: str
    offset: int
    headers: dict[str, str]
    content: bytes


def _records(path: Path) -> Iterator[_Record]:
    try:
        with path.open("rb") as stream:
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


class _Builder:
    def __init__(self, root: Path, catalog: SqliteCatalog, is_wire: Callable[[str], bool]) -> None:
        self.root = root
        self.catalog = catalog
        self.is_wire = is_wire
        self.report = RebuildReport()
        self._pending: tuple[str, _Record, dict[str, Any]] | None = None

    def file(self, path: Path) -> None:
        name = path.relative_to(self.root).as_posix()
        for row in scan_captures(self.root, name):
            self.catalog.add_capture(row)
            self.report.captures += 1
        for record in _records(path):
            if record.type == "metadata":
                self._flush(None)
                meta = json.loads(record.content)
                if isinstance(meta, dict) and isinstance(meta.get("record"), dict):
                    self._pending = (name, record, meta)
            elif record.type == "conversion":
                self._flush(record)
        self._flush(None)
        self.catalog.mark_warc_complete(name)
        self.report.files += 1

    def _flush(self, conversion: _Record | None) -> None:
        if self._pending is None:
            return
        name, meta_record, meta = self._pending
        self._pending = None
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
                self.report.missing_sources.append(str(meta["imported_from"].get("file")))
            else:
                self.catalog.add_capture(capture)
                self.report.captures += 1
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
        self.report.articles += 1
        self._doc(record, meta)

    def _doc(self, record: ExportRecord, meta: dict[str, Any]) -> None:
        evidence = tuple(
            Evidence(kind=e["kind"], text=e["text"], source=e.get("source"), url=e.get("url"))
            for e in meta.get("page_evidence", [])
        )
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


def _checkpoint(path: Path) -> None:
    """Fold the old catalog's WAL into it, so the file moved aside is whole on its own."""
    try:
        db = sqlite3.connect(path)
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()
    except sqlite3.Error as exc:
        log.warning("could not checkpoint the old catalog %s: %s", path, exc)


def rebuild_catalog(
    root: Path,
    *,
    is_wire: Callable[[str], bool],
    progress: Callable[[str], None] | None = None,
) -> RebuildReport:
    """Rebuild ``root``'s catalog from its WARC files (see the module docstring).

    Holds the archive's writer lock throughout (a running daemon makes it fail at once with
    ArchiveLockedError). Raises ArchiveError when a WARC file cannot be read; the old catalog
    is then left in place untouched.
    """
    lock = lock_archive(root)
    try:
        repair_open_files(root)
        building = root / (CATALOG_NAME + ".rebuild")
        for leftover in root.glob(CATALOG_NAME + ".rebuild*"):
            leftover.unlink()
        files = sorted((root / "warc").rglob("*.warc.gz"))
        with SqliteCatalog(building) as catalog:
            builder = _Builder(root, catalog, is_wire)
            for n, path in enumerate(files, 1):
                builder.file(path)
                if progress is not None:
                    progress(f"[{n}/{len(files)}] {path.relative_to(root)}")
        _checkpoint(building)
        report = builder.report
        current = root / CATALOG_NAME
        if current.exists():
            _checkpoint(current)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            report.old_catalog = root / f"{CATALOG_NAME}.old-{stamp}"
            current.replace(report.old_catalog)
            for suffix in ("-wal", "-shm"):
                Path(str(current) + suffix).unlink(missing_ok=True)
        building.replace(current)
        for suffix in ("-wal", "-shm"):
            Path(str(building) + suffix).unlink(missing_ok=True)
        return report
    except OSError as exc:
        raise ArchiveError(f"cannot rebuild the catalog of {root}: {exc}") from exc
    finally:
        lock.close()
