"""Reading WARC records back (streaming, via warcio), for export, tests and downstream tools."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from harvester.errors import ArchiveError
from harvester.warc.writer import OPEN_SUFFIX

__all__ = ["StoredRecord", "iter_records", "read_record"]


@dataclass(frozen=True, kw_only=True)
class StoredRecord:
    """One record read back: type, WARC headers (in order), and its content.

    ``content`` is the record payload: for ``response`` records the HTTP entity body with its
    content coding undone (no HTTP headers), for other records the whole block.
    """

    type: str
    headers: tuple[tuple[str, str], ...]
    http_status: int | None
    http_headers: tuple[tuple[str, str], ...]
    content: bytes
    offset: int

    def header(self, name: str) -> str | None:
        """First WARC header called ``name`` (case-insensitive)."""
        lname = name.lower()
        return next((v for k, v in self.headers if k.lower() == lname), None)


def _stored(record: Any, offset: Callable[[], int]) -> StoredRecord:
    status = record.http_headers.get_statuscode() if record.http_headers else None
    # Read the content before asking for the offset: warcio's get_record_offset() reads the
    # record to its end, after which content_stream() is empty.
    content = record.content_stream().read()
    return StoredRecord(
        type=record.rec_type,
        headers=tuple(record.rec_headers.headers),
        http_status=int(status) if status and status.isdigit() else None,
        http_headers=tuple(record.http_headers.headers) if record.http_headers else (),
        content=content,
        offset=offset(),
    )


def _resolve(root: Path, file: str) -> Path:
    path = root / file
    if not path.exists() and Path(str(path) + OPEN_SUFFIX).exists():
        return Path(str(path) + OPEN_SUFFIX)
    return path


def iter_records(path: Path) -> Iterator[StoredRecord]:
    """Every record of one WARC file, in order. Raises ArchiveError on unreadable files."""
    try:
        with path.open("rb") as stream:
            iterator = ArchiveIterator(stream)
            for record in iterator:
                yield _stored(record, iterator.get_record_offset)
    except (OSError, ArchiveLoadFailed, ValueError) as exc:
        raise ArchiveError(f"cannot read WARC file {path}: {exc}") from exc


def read_record(root: Path, file: str, offset: int) -> StoredRecord:
    """The record at ``offset`` of ``file`` (relative to ``root``; an ``.open`` file is found)."""
    path = _resolve(root, file)
    try:
        with path.open("rb") as stream:
            stream.seek(offset)
            for record in ArchiveIterator(stream):
                return _stored(record, lambda: offset)
    except (OSError, ArchiveLoadFailed, ValueError) as exc:
        raise ArchiveError(f"cannot read {file} at offset {offset}: {exc}") from exc
    raise ArchiveError(f"no WARC record in {file} at offset {offset}")
