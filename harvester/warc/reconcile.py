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

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from harvester.catalog import CaptureRow, SqliteCatalog
from harvester.errors import ArchiveError
from harvester.warc.writer import OPEN_SUFFIX

__all__ = ["Reconciled", "reconcile_catalog", "scan_captures"]

log = logging.getLogger("harvester.warc")


@dataclass(frozen=True, kw_only=True)
class Reconciled:
    """What reconciling did: files read, captures added to the catalog."""

    files: int = 0
    added: int = 0


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


def reconcile_catalog(root: Path, catalog: SqliteCatalog) -> Reconciled:
    """Add the captures of unmarked WARC files to the catalog and mark the files complete."""
    complete = catalog.complete_warc_files()
    files = added = 0
    for path in sorted((root / "warc").rglob("*.warc.gz")):
        if path.name.endswith(OPEN_SUFFIX):
            continue
        file = path.relative_to(root).as_posix()
        if file in complete:
            continue
        files += 1
        known = catalog.known_record_ids(file)
        # Records before the last one the catalog knows were all indexed in order.
        start = catalog.last_capture_offset(file) or 0
        for row in scan_captures(root, file, start):
            if row.record_id and row.record_id not in known:
                catalog.add_capture(row)
                added += 1
        catalog.mark_warc_complete(file)
    if added:
        log.warning("catalog reconciled: %d capture(s) found in WARC files but not indexed", added)
    return Reconciled(files=files, added=added)
