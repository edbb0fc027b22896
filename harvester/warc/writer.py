"""Writing WARC files: one gzip member per record, ``.open`` while written, renamed when closed.

Files live at ``<root>/warc/YYYY/MM/<prefix>-<utc>-<serial>-<host>-<writer>.warc.gz``, where
``<writer>`` is the registered id of the process writing it (``harvester.writers``: several
processes write one archive at once, each into its own files). Files written before archives had
several writers have no ``-<writer>`` part; they are read all the same.

A file starts with a ``warcinfo`` record, grows by whole records, is flushed and fsynced after
every batch (a page: its captures and its article's records), and is renamed to drop ``.open``
when it is closed or when it passes ``rotate_size``. Locations are reported with the final
(closed) name, relative to the archive root, so catalog rows never change.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from warcio.recordloader import ArcWarcRecord
from warcio.warcwriter import WARCWriter

from harvester.clock import Clock
from harvester.errors import ArchiveError, archive_os_error
from harvester.lifetime import Closeable
from harvester.warc.records import WARC_VERSION, Record, build_warcinfo, warc_date
from harvester.writers import writer_of

__all__ = ["GZIP_LEVEL", "OPEN_SUFFIX", "RecordSpan", "WarcFileWriter", "warc_file_name"]

OPEN_SUFFIX = ".open"
# zlib level of each record's gzip member. warcio's own writer is fixed at 9; 6 (zlib's
# default) costs ~60% of level 9's CPU on news pages for ~0.6% more bytes (bench/README.md).
GZIP_LEVEL = 6
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")


class _Member:
    """One gzip member (one record) written through to ``out`` at ``level``."""

    def __init__(self, out: IO[bytes], level: int) -> None:
        self._out = out
        self._zip = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)

    def write(self, data: bytes) -> None:
        self._out.write(self._zip.compress(data))

    def flush(self) -> None:
        # Ends the member only: the batch is flushed and fsynced once, in WarcFileWriter.write.
        self._out.write(self._zip.flush())


class _Writer(WARCWriter):  # type: ignore[misc]  # warcio is untyped
    """warcio's WARC serialisation, each record its own gzip member at ``GZIP_LEVEL``."""

    def __init__(self, out: IO[bytes]) -> None:
        super().__init__(out, gzip=False, warc_version=WARC_VERSION)

    def write_record(self, record: ArcWarcRecord, params: Any = None) -> None:
        member = _Member(self.out, GZIP_LEVEL)
        self._write_warc_record(member, record)


@dataclass(frozen=True, kw_only=True)
class RecordSpan:
    """Where one written record lies: final file name (relative to the root), offset, length."""

    file: str
    offset: int
    length: int
    record_id: str


def warc_file_name(*, prefix: str, now: datetime, serial: int, host: str, writer: str) -> str:
    """The closed name of a WARC file: ``<prefix>-<utc>-<serial>-<host>-<writer>.warc.gz``.

    ``host`` must already be file-name safe ([A-Za-z0-9.-]); ``harvester.writers.writer_of``
    reads ``writer`` back out of the name.
    """
    return f"{prefix}-{now:%Y%m%d%H%M%S}-{serial:05d}-{host}-{writer}.warc.gz"


class WarcFileWriter(Closeable):
    """Appends records to the current WARC file; rotates and renames. Not thread-safe.

    ``writer`` (the registered writer id of this process) goes into every file name, so start-up
    repair in another process can tell this process's ``.open`` files from a dead writer's.
    """

    def __init__(
        self,
        root: Path,
        *,
        prefix: str,
        rotate_size: int,
        clock: Clock,
        new_id: Callable[[], str],
        info: Mapping[str, str],
        writer: str,
        hostname: str | None = None,
        on_close: Callable[[str], None] | None = None,
    ) -> None:
        if not _PREFIX_RE.match(prefix):
            # Settings built in code skip the config file's check: a prefix is part of a path.
            raise ArchiveError(f"bad WARC file prefix {prefix!r} (1-40 of [A-Za-z0-9_-])")
        self._writer = writer
        self._root = root
        self._prefix = prefix
        self._rotate_size = rotate_size
        self._clock = clock
        self._new_id = new_id
        self._info = dict(info)
        host = hostname or socket.gethostname() or "localhost"
        self._host = "".join(
            c if c.isascii() and (c.isalnum() or c in "-.") else "-" for c in host
        )[:63]
        # The id must read back out of every name we make (it is how repair knows the owner).
        probe = warc_file_name(prefix=prefix, now=_EPOCH, serial=1, host=self._host, writer=writer)
        if writer_of(probe) != writer:
            raise ArchiveError(f"bad writer id {writer!r} (w and 10 of [0-9a-f])")
        self._serial = 0
        self._on_close = on_close
        # (final name, whole-record length) of files a failed rollback could not cut back yet
        self._abandoned: list[tuple[Path, int]] = []
        self._file: IO[bytes] | None = None
        self._final: Path | None = None
        self._warc: _Writer | None = None
        # offset where the records written with sync=False and not yet synced begin
        self._unsynced: int | None = None

    @property
    def current_file(self) -> str | None:
        """The final name (relative to the root) of the file being written, if one is open."""
        return self._relative(self._final) if self._final else None

    def write(self, records: Sequence[Record], *, sync: bool = True) -> list[RecordSpan]:
        """Append ``records``; returns where each landed. With ``sync`` (the default) the batch
        is made durable (flushed and fsynced) before this returns; without it the records open
        a batch (or join the open one) that the next synced write, or :meth:`sync`, makes
        durable at once: one fsync for a page's captures and its article. A batch never spans
        two files (rotation waits for it to end), so one :meth:`rollback` to its first record
        cuts it all back out.

        Raises ArchiveError when the file cannot be written (disk full, permissions); the whole
        open batch is then cut back out.
        """
        start: int | None = self._unsynced
        try:
            if start is None and (self._file is None or self._file.tell() >= self._rotate_size):
                self._rotate()
            assert self._file is not None and self._warc is not None and self._final is not None
            if start is None:
                start = self._file.tell()
            spans = []
            for record in records:
                offset = self._file.tell()
                self._warc.write_record(record)
                spans.append(
                    RecordSpan(
                        file=self._relative(self._final),
                        offset=offset,
                        length=self._file.tell() - offset,
                        record_id=record.rec_headers.get_header("WARC-Record-ID"),
                    )
                )
            if sync:
                self._sync()
            else:
                self._unsynced = start
        except OSError as exc:
            # Disk full, quota, I/O error: cut the batch back out so the file still ends with
            # a whole record, and report; the caller may try again once there is space.
            if start is not None and self._final is not None:
                self.rollback(self._relative(self._final), start)
            raise archive_os_error(f"cannot write WARC file under {self._root}", exc) from exc
        return spans

    def sync(self) -> None:
        """Make the open batch (records written with ``sync=False``) durable; nothing to do
        when there is none. Raises ArchiveError as :meth:`write` does (the batch cut back)."""
        if self._unsynced is None or self._file is None or self._final is None:
            return
        try:
            self._sync()
        except OSError as exc:
            self.rollback(self._relative(self._final), self._unsynced)
            raise archive_os_error(f"cannot write WARC file under {self._root}", exc) from exc

    def _sync(self) -> None:
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        self._unsynced = None

    def rollback(self, file: str, offset: int) -> None:
        """Cut the current file back to ``offset`` (the start of a batch written last, e.g. one
        the catalog then failed to index), so a later retry does not leave the batch twice. If
        the file cannot be cut, it is abandoned as it is (``.open``; repaired at the next start)
        and the next write starts a new file. A ``file`` that is not the current one (rotated
        since) is left alone."""
        if self._file is None or self._final is None or self._relative(self._final) != file:
            return
        self._unsynced = None
        final = self._final
        with contextlib.suppress(OSError):
            self._file.close()  # may fail to flush what a full disk refused: that is dropped
        self._file = self._warc = None
        handle = _cut(Path(str(final) + OPEN_SUFFIX), offset)
        if handle is None:
            # Cannot cut it now: set it aside; close() (or the next start's repair) finishes it.
            self._abandoned.append((final, offset))
            self._final = None
            return
        self._file = handle
        self._warc = _Writer(handle)

    def _finish_abandoned(self) -> None:
        """Cut back and close files set aside by a rollback that could not finish."""
        left = []
        for final, offset in self._abandoned:
            handle = _cut(Path(str(final) + OPEN_SUFFIX), offset)
            if handle is None:
                left.append((final, offset))
                continue
            try:
                handle.close()
                Path(str(final) + OPEN_SUFFIX).rename(final)
            except OSError:
                left.append((final, offset))
                continue
            if self._on_close is not None:
                self._on_close(self._relative(final))
        self._abandoned = left

    def close(self) -> None:
        """Close the current file (if any) and rename it to its final name."""
        if self._abandoned:
            self._finish_abandoned()
        if self._file is None or self._final is None:
            return
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            Path(str(self._final) + OPEN_SUFFIX).rename(self._final)
        except OSError as exc:
            raise ArchiveError(f"cannot close WARC file {self._final}: {exc}") from exc
        finally:
            closed = self._final
            self._unsynced = None
            self._file = None
            self._warc = None
            self._final = None
        if self._on_close is not None:
            self._on_close(self._relative(closed))

    def _relative(self, path: Path) -> str:
        return path.relative_to(self._root).as_posix()

    def _rotate(self) -> None:
        self.close()
        now = self._clock.now()
        directory = self._root / "warc" / f"{now:%Y}" / f"{now:%m}"
        directory.mkdir(parents=True, exist_ok=True)
        while True:
            self._serial += 1
            name = warc_file_name(
                prefix=self._prefix,
                now=now,
                serial=self._serial,
                host=self._host,
                writer=self._writer,
            )
            final = directory / name
            opened = Path(str(final) + OPEN_SUFFIX)
            if not final.exists() and not opened.exists():
                break
        self._file = opened.open("xb")
        self._final = final
        self._warc = _Writer(self._file)
        info = build_warcinfo(
            filename=name, info=self._info, record_id=self._new_id(), date=warc_date(now)
        )
        self._warc.write_record(info)


def _cut(opened: Path, offset: int) -> IO[bytes] | None:
    """``opened`` truncated to ``offset`` and synced, open for appending there; None when that
    fails (the disk may still refuse)."""
    try:
        handle = opened.open("r+b")
    except OSError:
        return None
    try:
        handle.truncate(offset)
        handle.seek(offset)
        os.fsync(handle.fileno())
    except OSError:
        handle.close()
        return None
    return handle
