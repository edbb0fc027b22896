"""Crash repair: ``.open`` WARC files left by a killed writer are cut back to their last whole
record and closed (renamed), so every file on disk is a valid WARC.

Several processes write one archive at once, so an ``.open`` file may also be a live writer's,
being written right now: repair touches only files whose writer (named in the file name, see
``harvester.writers.writer_of``) the caller says is not live.

A record is whole when its gzip member ends and the member holds a WARC header block whose
``Content-Length`` bytes are all present. The writer fsyncs each capture before the catalog
learns of it, so cutting a file back never loses a record the catalog points to.
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harvester.errors import ArchiveError
from harvester.warc.writer import OPEN_SUFFIX
from harvester.writers import writer_of

__all__ = ["Repair", "repair_open_files", "whole_records_end"]

log = logging.getLogger("harvester.warc")

_CHUNK = 1 << 20


@dataclass(frozen=True, kw_only=True)
class Repair:
    """What repairing one ``.open`` file did."""

    path: Path
    kept_bytes: int
    dropped_bytes: int
    removed: bool


def _record_complete(data: bytes) -> bool:
    """True when ``data`` (one decompressed member) is a whole WARC record."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"WARC/"):
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return len(rest) >= int(value.strip())
            except ValueError:
                return False
    return False


def whole_records_end(path: Path) -> int:
    """The byte offset just after the last whole record of a one-member-per-record WARC."""
    good = 0
    with path.open("rb") as stream:
        buf = b""
        while True:
            decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
            out = bytearray()
            fed = 0
            while not decomp.eof:
                if fed == len(buf):
                    more = stream.read(_CHUNK)
                    if not more:
                        return good  # the file ends inside this member
                    buf += more
                try:
                    out += decomp.decompress(buf[fed:])
                except zlib.error:
                    return good  # garbage where a member should be
                fed = len(buf)
            member = len(buf) - len(decomp.unused_data)
            if not _record_complete(bytes(out)):
                return good
            good += member
            buf = buf[member:]


def repair_open_files(root: Path, *, live: Callable[[str], bool]) -> list[Repair]:
    """Cut every dead writer's ``*.warc.gz.open`` under ``root/warc`` back to whole records and
    close it.

    ``live(writer_id)`` is asked for each file's writer just before the file is touched; a live
    writer's file is never opened, truncated or renamed. Files named without a writer id were
    left by harvester before archives had several writers (which always held the whole archive
    while writing), so they are dead. A file that vanishes meanwhile (its writer closed it) is
    skipped. A file with no whole record is removed. Raises ArchiveError when a file cannot be
    fixed.
    """
    repairs = []
    for opened in sorted((root / "warc").rglob("*" + OPEN_SUFFIX)):
        writer = writer_of(opened.name)
        if writer is not None and live(writer):
            continue
        final = Path(str(opened)[: -len(OPEN_SUFFIX)])
        try:
            size = opened.stat().st_size
            end = whole_records_end(opened)
        except FileNotFoundError:
            continue  # closed (renamed) by its writer between the listing and now
        except OSError as exc:
            raise ArchiveError(f"cannot repair {opened}: {exc}") from exc
        try:
            if end == 0:
                opened.unlink()
                repairs.append(Repair(path=final, kept_bytes=0, dropped_bytes=size, removed=True))
                continue
            with opened.open("r+b") as handle:
                handle.truncate(end)
                handle.flush()
                os.fsync(handle.fileno())
            opened.rename(final)
        except OSError as exc:
            raise ArchiveError(f"cannot repair {opened}: {exc}") from exc
        repairs.append(Repair(path=final, kept_bytes=end, dropped_bytes=size - end, removed=False))
        log.warning("repaired %s: kept %d bytes, dropped %d", final.name, end, size - end)
    return repairs
