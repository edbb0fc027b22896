"""Importing existing WARC and ARC files (``harvester import-warc``).

Each file is streamed record by record with warcio (gzip per record or uncompressed, ARC read as
WARC with ``arc2warc``), digests verified as the bytes go by. Every ``response`` (2xx, with HTTP
headers) and ``resource`` record whose type is HTML, or unstated, becomes an
:class:`~harvester.models.Exchange` and goes through :meth:`Harvester.process_imported`: the
source record is indexed as the capture in place (absolute file path + offset; nothing is
copied), the page is extracted, cleaned and placed in a story, and our own WARC files get the
metadata (+ conversion) records, ``WARC-Refers-To`` the source record.

What is not imported, and why, is counted per file (:class:`FileReport`):

* skipped by type: ``request``, ``revisit`` (its payload lives in another record), ``warcinfo``,
  ``metadata``...; responses and resources whose Content-Type is not HTML (images, CSS, scripts;
  no metadata record is written for them), non-2xx responses, responses without HTTP headers,
  non-http(s) URLs, bodies over ``[fetch] max_page_bytes``, content codings we cannot undo;
* duplicates: the record id is already a capture in the catalog (a second import of a file, or
  the same records in a copy of it);
* broken (one line each, with the record's offset): a record shorter than its declared length
  (unless its HTTP entity is complete by its own Content-Length: then a warning), a failed
  block digest, a failed payload digest without a block digest to vouch for the bytes (with a
  block digest that passes, the payload digest was written under another convention: a
  warning), an invalid Content-Length or HTTP status line, corrupt bytes inside a record, a page
  a later stage failed on; and, when warcio cannot go on (a file that is one gzip stream
  instead of one member per record, gzip members that do not match records, garbage), the rest
  of the file from that offset;
* a file-level error: the file cannot be opened, is not WARC/ARC at all, or is compressed in a
  way warcio cannot read (LZ4, zstd).

Bad input never raises: only :class:`~harvester.errors.ArchiveError` (our own archive failing)
escapes. Records are streamed: at most one record body (capped by ``max_page_bytes``) is held.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, redirect_stderr
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader

from harvester.catalog import CaptureRow
from harvester.errors import ArchiveError
from harvester.models import (
    Archived,
    Exchange,
    FetchRequest,
    HttpError,
    Outcome,
)
from harvester.net.codings import TooLarge, UnsupportedCoding, decode_body
from harvester.pipeline import Harvester
from harvester.warc.records import payload_digest, warc_date

__all__ = ["FileReport", "ImportReport", "RecordIssue", "import_warcs"]

log = logging.getLogger("harvester.importer")

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_LZ4_MAGIC = b"\x04\x22\x4d\x18"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 512
_PROGRESS_EVERY = 1000
_READ_CHUNK = 1 << 16
_ARC_LINE = re.compile(rb"[A-Za-z][A-Za-z0-9+.-]*:\S* \S+ \d{14}")
# warcio writes this warning to stderr when a record is not followed by blank lines.
_INC_RECORD = re.compile(r"Record not followed by newline.*?Offset:\s*(\d+)", re.S)
# Stable ids for ARC records (ARC has none; warcio's arc2warc invents a random one per read).
_ARC_NAMESPACE = uuid.UUID("5d3c1f6e-2f0b-4b8e-9a57-6a1c8e0f4b21")


@dataclass(frozen=True, kw_only=True)
class RecordIssue:
    """Something wrong with one record (or with the file from ``offset`` on)."""

    offset: int
    reason: str

    def __str__(self) -> str:
        return f"offset {self.offset}: {self.reason}"


@dataclass(kw_only=True)
class FileReport:
    """What importing one file did.

    Every record read is counted exactly once: in ``articles``, ``not_articles``,
    ``duplicates``, ``skipped`` (by type, a label -> count) or ``broken`` (except the last
    ``broken`` entry when ``unreadable_from`` is set: that one stands for the rest of the file).
    ``warnings`` are quirks that did not stop a record (a payload digest written under another
    convention, a Content-Encoding that was not applied, an unparsable WARC-Date, ...).
    """

    path: Path
    records: int = 0
    articles: int = 0
    not_articles: int = 0
    not_article_reasons: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    broken: list[RecordIssue] = field(default_factory=list)
    warnings: list[RecordIssue] = field(default_factory=list)
    unreadable_from: int | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when nothing was skipped for being broken and the file could be read."""
        return self.error is None and not self.broken

    @property
    def imported(self) -> int:
        """Records that went through the pipeline (articles and pages that are not)."""
        return self.articles + self.not_articles

    def summary(self) -> str:
        """One line: the file and its counts."""
        if self.error is not None:
            return f"{self.path}: {self.error}"
        parts = [
            f"{self.records} records",
            f"{self.articles} articles",
            f"{self.not_articles} not articles",
            f"{self.duplicates} already imported",
        ]
        if self.skipped:
            by_type = ", ".join(f"{k} {n}" for k, n in sorted(self.skipped.items()))
            parts.append(f"{sum(self.skipped.values())} skipped ({by_type})")
        else:
            parts.append("0 skipped")
        parts.append(f"{len(self.broken)} broken")
        if self.warnings:
            parts.append(f"{len(self.warnings)} warnings")
        return f"{self.path}: " + ", ".join(parts)

    def lines(self, *, warnings: bool = False) -> list[str]:
        """The summary line, then one indented line per broken record (and per warning)."""
        out = [self.summary()]
        out += [f"  broken: {issue}" for issue in self.broken]
        if warnings:
            out += [f"  warning: {issue}" for issue in self.warnings]
        return out


@dataclass(kw_only=True)
class ImportReport:
    """Per-file reports of one ``import_warcs`` run, in the order the files were given."""

    files: list[FileReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every file was read and no record was skipped for being broken."""
        return all(f.ok for f in self.files)

    @property
    def exit_code(self) -> int:
        """0 when everything was imported, 1 when some record or file was skipped as broken."""
        return 0 if self.ok else 1

    @property
    def records(self) -> int:
        """Records read, all files."""
        return sum(f.records for f in self.files)

    @property
    def articles(self) -> int:
        """Articles imported, all files."""
        return sum(f.articles for f in self.files)

    @property
    def not_articles(self) -> int:
        """Pages imported that are not articles, all files."""
        return sum(f.not_articles for f in self.files)

    @property
    def duplicates(self) -> int:
        """Records already in the catalog, all files."""
        return sum(f.duplicates for f in self.files)

    @property
    def skipped(self) -> int:
        """Records skipped by type (not HTML, not a response, ...), all files."""
        return sum(sum(f.skipped.values()) for f in self.files)

    @property
    def broken(self) -> int:
        """Broken records (and unreadable file tails), all files."""
        return sum(len(f.broken) for f in self.files)

    def lines(self, *, warnings: bool = False) -> list[str]:
        """Per file: its summary and broken records; then a total line."""
        out = [line for f in self.files for line in f.lines(warnings=warnings)]
        failed = sum(1 for f in self.files if f.error is not None)
        out.append(
            f"total: {len(self.files)} files ({failed} unreadable), {self.records} records, "
            f"{self.articles} articles, {self.not_articles} not articles, "
            f"{self.duplicates} already imported, {self.skipped} skipped, {self.broken} broken"
        )
        return out


def import_warcs(
    harvester: Harvester,
    paths: Sequence[Path],
    *,
    progress: Callable[[str], None] | None = None,
) -> ImportReport:
    """Import every HTML response of the WARC/ARC files ``paths`` into ``harvester``'s archive.

    Never raises for bad input (see the module docstring); raises ArchiveError only when our
    own archive (WARC files, catalog) fails.
    """
    report = ImportReport()
    for path in paths:
        if progress is not None:
            progress(f"importing {path}")
        started = time.perf_counter()
        file_report = _FileImport(harvester, path, progress).run()
        file_report.seconds = time.perf_counter() - started
        report.files.append(file_report)
    return report


@dataclass(frozen=True, kw_only=True)
class _Skip:
    """Not imported, by type (counted under ``label``)."""

    label: str


@dataclass(frozen=True, kw_only=True)
class _Broken:
    """Not imported: the record is broken."""

    reason: str


@dataclass(frozen=True, kw_only=True)
class _Candidate:
    """An HTML response or resource to import (before its body is read)."""

    url: str
    status: int
    reason: str
    http_version: str
    headers: tuple[tuple[str, str], ...]
    content_type: str | None


def _media_type(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    media = content_type.split(";")[0].strip().lower()
    return media or None


def _declared_length(record: Any) -> int | None:
    """The record's Content-Length as written, or None when missing or not a number >= 0."""
    value = record.rec_headers.get_header("Content-Length")
    try:
        length = int(str(value).strip())
    except ValueError:
        return None
    return length if length >= 0 else None


def _http_url(record: Any) -> str | None:
    uri = (record.rec_headers.get_header("WARC-Target-URI") or "").strip()
    uri = uri.removeprefix("<").removesuffix(">")
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        return None
    return uri if parts.scheme.lower() in ("http", "https") and host else None


def _classify(record: Any, cap: int) -> _Skip | _Broken | _Candidate:
    """Decide from the headers alone whether a record is imported."""
    rec_type = str(record.rec_type or "unknown")
    if rec_type not in ("response", "resource"):
        return _Skip(label=rec_type)
    declared = _declared_length(record)
    if declared is None:
        raw = record.rec_headers.get_header("Content-Length")
        if raw is None:
            return _Broken(
                reason="no Content-Length (the rest of the file was read as this record)"
            )
        return _Broken(reason=f"invalid Content-Length {_shown(raw)}")
    decision = _classify_resource(record) if rec_type == "resource" else _classify_response(record)
    if not isinstance(decision, _Candidate):
        return decision
    if declared > cap:
        return _Skip(label="larger than max_page_bytes")
    return decision


def _classify_resource(record: Any) -> _Skip | _Candidate:
    content_type = record.rec_headers.get_header("Content-Type")
    media = _media_type(content_type)
    if media not in _HTML_TYPES:
        return _Skip(label=f"resource {media or '(no type)'}")
    url = _http_url(record)
    if url is None:
        return _Skip(label="not an http(s) URL")
    return _Candidate(
        url=url,
        status=200,
        reason="OK",
        http_version="HTTP/1.1",
        headers=(("Content-Type", str(content_type)),),
        content_type=content_type,
    )


def _classify_response(record: Any) -> _Skip | _Broken | _Candidate:
    http = record.http_headers
    if http is None:
        return _Skip(label="response without HTTP headers")
    code = str(http.get_statuscode() or "")
    if not code.isdigit():
        return _Broken(reason=f"unparsable HTTP status line {_shown(http.statusline)}")
    if not 200 <= int(code) < 300:
        return _Skip(label=f"HTTP {code}")
    content_type = http.get_header("Content-Type")
    media = _media_type(content_type)
    if media is not None and media not in _HTML_TYPES:
        return _Skip(label=media)
    url = _http_url(record)
    if url is None:
        return _Skip(label="not an http(s) URL")
    return _Candidate(
        url=url,
        status=int(code),
        reason=str(http.statusline or "").partition(" ")[2].strip(),
        http_version=str(http.protocol or "HTTP/1.1"),
        headers=tuple((str(k), str(v)) for k, v in http.headers),
        content_type=content_type,
    )


def _header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    lname = name.lower()
    return next((v for k, v in headers if k.lower() == lname), None)


def _dechunk(raw: bytes) -> bytes:
    """Remove an HTTP chunked transfer coding (warcio falls back to the bytes as they are
    where the chunk framing is broken)."""
    reader = ChunkedDataReader(io.BytesIO(raw))
    out = bytearray()
    while chunk := reader.read(_READ_CHUNK):
        out += chunk
    return bytes(out)


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _sniff(stream: IO[bytes]) -> tuple[str | None, bool]:
    """(why the file cannot be read, or None; whether it is an ARC file)."""
    head = stream.read(_SNIFF_BYTES)
    stream.seek(0)
    if head.startswith(_LZ4_MAGIC):
        return "unsupported: LZ4-compressed (warcio reads gzip and uncompressed files only)", False
    if head.startswith(_ZSTD_MAGIC):
        return "unsupported: zstd-compressed (warcio reads gzip and uncompressed files only)", False
    text = head
    if head.startswith(_GZIP_MAGIC):
        try:
            text = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(head, _SNIFF_BYTES)
        except zlib.error:
            return None, False  # warcio names the problem
    text = text.lstrip()
    if not text or text.startswith(b"WARC/"):
        return None, False
    # warcio would read any line of five words as an ARC record header; an ARC file starts
    # with its filedesc:// version block (or, headerless, with a URL record line).
    if text.startswith(b"filedesc://") or _ARC_LINE.match(text):
        return None, True
    first = text.split(b"\n", 1)[0][:40].decode("ascii", "replace")
    return f"not a WARC or ARC file (it starts with {_shown(first)})", False


def _shown(value: object, limit: int = 60) -> str:
    """A header value quoted for a one-line reason: printable, at most ``limit`` characters."""
    text = repr(value)
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _one_line(exc: BaseException, limit: int = 200) -> str:
    """``Type: message`` on one printable line (warcio quotes raw bytes in its messages)."""
    text = " ".join(str(exc).split())
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _reader_failure(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if "non-chunked gzip" in text:
        return (
            "this gzip member holds more than one record: the file is one gzip stream, not "
            "one member per record, so its records cannot be located (`warcio recompress` "
            "fixes such files)"
        )
    return _one_line(exc)


class _FileImport:
    """Importing one file: the record loop and its bookkeeping."""

    def __init__(
        self,
        harvester: Harvester,
        path: Path,
        progress: Callable[[str], None] | None,
    ) -> None:
        self.harvester = harvester
        self.path = path
        self.progress = progress
        self.report = FileReport(path=path)
        self.cap = harvester.settings.fetch.max_page_bytes
        self.is_arc = False
        self.file = ""
        self.last_offset = 0

    @contextmanager
    def _quiet(self) -> Iterator[None]:
        """Turn what warcio writes to stderr into warnings of this file."""
        captured = io.StringIO()
        try:
            with redirect_stderr(captured):
                yield
        finally:
            for match in _INC_RECORD.finditer(captured.getvalue()):
                self.report.warnings.append(
                    RecordIssue(
                        offset=int(match.group(1)),
                        reason="record not followed by blank lines (its Content-Length may be "
                        "wrong)",
                    )
                )

    def run(self) -> FileReport:
        try:
            stream = self.path.open("rb")
        except OSError as exc:
            self.report.error = f"cannot open: {exc.strerror or _one_line(exc)}"
            return self.report
        with stream:
            try:
                self.file = str(self.path.resolve())
                unsupported, self.is_arc = _sniff(stream)
            except OSError as exc:
                self.report.error = f"cannot read: {exc.strerror or _one_line(exc)}"
                return self.report
            if unsupported is not None:
                self.report.error = unsupported
                return self.report
            self._records(stream)
        return self.report

    def _records(self, stream: IO[bytes]) -> None:
        iterator = ArchiveIterator(stream, arc2warc=True, check_digests=True)
        while True:
            try:
                with self._quiet():
                    record = next(iterator)
            except StopIteration:
                return
            # warcio and zlib raise assorted types on hostile bytes (ArchiveLoadFailed,
            # zlib.error, EOFError, ValueError, parser exceptions); the iterator is done then.
            except Exception as exc:  # noqa: BLE001
                self._stopped(iterator, exc)
                return
            self.report.records += 1
            if self.progress is not None and self.report.records % _PROGRESS_EVERY == 0:
                self.progress(
                    f"{self.path}: {self.report.records} records, {self.report.articles} articles"
                )
            self._record(iterator, record)

    def _stopped(self, iterator: Any, exc: BaseException) -> None:
        reason = _reader_failure(exc)
        if self.report.records == 0:
            self.report.error = f"not readable as WARC or ARC: {reason}"
            return
        # Where warcio expected the next record; in a file that is one gzip stream offsets are
        # positions in the compressed bytes and meaningless: the last record read is named.
        offset = int(getattr(iterator, "offset", 0) or 0)
        if "non-chunked gzip" in str(exc) or offset < self.last_offset:
            offset = self.last_offset
        self.report.unreadable_from = offset
        self.report.broken.append(
            RecordIssue(offset=offset, reason=f"unreadable from here to the end: {reason}")
        )

    def _finish(self, iterator: Any) -> tuple[int, int]:
        """Read the current record to its end (digests are checked as it goes): its offset
        and length."""
        with self._quiet():
            offset, length = int(iterator.get_record_offset()), int(iterator.get_record_length())
        self.last_offset = max(offset, 0)
        return offset, length

    def _record(self, iterator: Any, record: Any) -> None:
        """Handle one record."""
        decision = _classify(record, self.cap)
        try:
            with self._quiet():
                raw = record.raw_stream.read() if isinstance(decision, _Candidate) else b""
            offset, length = self._finish(iterator)
        # Corrupt bytes inside the record (a bad deflate stream, ...): the record is lost;
        # the next record may still be readable, and if it is not, _records says so.
        except Exception as exc:  # noqa: BLE001  (as in _records)
            start = int(getattr(iterator, "offset", 0) or 0)
            self.report.broken.append(
                RecordIssue(
                    offset=start if start >= self.last_offset else self.last_offset,
                    reason=f"unreadable record: {_one_line(exc)}",
                )
            )
            return
        if isinstance(decision, _Candidate):
            self._candidate(record, decision, raw, offset, length)
        elif isinstance(decision, _Broken):
            self.report.broken.append(RecordIssue(offset=offset, reason=decision.reason))
        else:
            self.report.skipped[decision.label] += 1
            problems = self._problems(record)
            if _declared_length(record) is None:
                raw_length = record.rec_headers.get_header("Content-Length")
                problems.append(f"invalid Content-Length {_shown(raw_length)}")
            self.report.warnings += [
                RecordIssue(offset=offset, reason=f"{record.rec_type}: {problem}")
                for problem in problems
            ]

    @staticmethod
    def _missing(record: Any) -> int:
        """Declared bytes the record does not have (0 unless the file ends inside it)."""
        return max(int(getattr(record.raw_stream, "limit", 0) or 0), 0)

    def _problems(self, record: Any) -> list[str]:
        """Truncation and digest problems, one phrase each."""
        missing = self._missing(record)
        truncated = [f"truncated: {missing} bytes short of its Content-Length"] if missing else []
        return truncated + self._digest_problems(record)

    @staticmethod
    def _digest_problems(record: Any) -> list[str]:
        checker = record.digest_checker
        return [str(p) for p in (checker.problems if checker is not None else ())]

    def _candidate(
        self, record: Any, candidate: _Candidate, raw: bytes, offset: int, length: int
    ) -> None:
        """Verify, decode, deduplicate and import one HTML response or resource."""
        headers = record.rec_headers
        chunked = "chunked" in (_header(candidate.headers, "Transfer-Encoding") or "").lower()
        body = _dechunk(raw) if chunked else raw
        payload_trusted = self._verify(record, candidate, body, offset)
        if payload_trusted is None:
            return
        record_id = headers.get_header("WARC-Record-ID")
        if self.is_arc or not record_id:
            record_id = self._stable_id(candidate.url, headers.get_header("WARC-Date"), raw)
        if self.harvester.store.catalog.has_capture(record_id):
            self.report.duplicates += 1
            return
        content = self._content(candidate, body, offset)
        if content is None:
            return
        started = self._started(record, candidate, offset)
        source_digest = headers.get_header("WARC-Payload-Digest")
        exchange = Exchange(
            url=candidate.url,
            http_version=candidate.http_version,
            status=candidate.status,
            reason=candidate.reason,
            response_headers=candidate.headers,
            body=body,
            content=content,
            truncated=headers.get_header("WARC-Truncated"),
            started=started,
            peer_ip=headers.get_header("WARC-IP-Address"),
        )
        source = CaptureRow(
            url=candidate.url,
            fetched=warc_date(started),
            status=candidate.status,
            record_type="response",
            payload_digest=source_digest
            if source_digest and payload_trusted
            else payload_digest(body),
            file=self.file,
            offset=offset,
            length=length,
            record_id=record_id,
        )
        self._count(offset, self._process(exchange, source, offset))

    def _verify(self, record: Any, candidate: _Candidate, body: bytes, offset: int) -> bool | None:
        """None when the record is broken (reported); else whether its WARC-Payload-Digest
        can be trusted."""
        report = self.report
        missing = self._missing(record)
        if missing:
            entity = _header(candidate.headers, "Content-Length")
            if not (entity and entity.strip().isdigit() and len(body) >= int(entity)):
                report.broken.append(
                    RecordIssue(
                        offset=offset,
                        reason=f"truncated: the record ends {missing} bytes short of its "
                        "Content-Length",
                    )
                )
                return None
            report.warnings.append(
                RecordIssue(
                    offset=offset,
                    reason=f"record {missing} bytes shorter than its Content-Length, but the "
                    "HTTP entity is complete: imported",
                )
            )
        problems = self._digest_problems(record)
        block_failed = [p for p in problems if p.startswith("block digest failed")]
        payload_failed = [p for p in problems if p.startswith("payload digest failed")]
        report.warnings += [
            RecordIssue(offset=offset, reason=p)
            for p in problems
            if p not in block_failed and p not in payload_failed
        ]
        has_block_digest = bool(record.rec_headers.get_header("WARC-Block-Digest"))
        if block_failed or (payload_failed and not has_block_digest):
            reason = "; ".join(block_failed or payload_failed)
            report.broken.append(RecordIssue(offset=offset, reason=f"bad digest: {reason}"))
            return None
        if payload_failed:
            report.warnings.append(
                RecordIssue(
                    offset=offset,
                    reason="WARC-Payload-Digest does not match but WARC-Block-Digest does (a "
                    "different digest convention): imported",
                )
            )
        return not payload_failed

    def _content(self, candidate: _Candidate, body: bytes, offset: int) -> bytes | None:
        """The body with its content coding undone; None when skipped (counted)."""
        coding = _header(candidate.headers, "Content-Encoding") or ""
        try:
            return decode_body(body, coding, self.cap, strict=True)
        except TooLarge:
            self.report.skipped["larger than max_page_bytes"] += 1
        except UnsupportedCoding as exc:
            self.report.skipped[f"Content-Encoding {exc}"] += 1
        except zlib.error:
            self.report.warnings.append(
                RecordIssue(
                    offset=offset,
                    reason=f"Content-Encoding {coding} but the body does not decode: used as is",
                )
            )
            return body
        return None

    def _started(self, record: Any, candidate: _Candidate, offset: int) -> datetime:
        """The capture time: WARC-Date, else the HTTP Date header, else now (with a warning)."""
        value = record.rec_headers.get_header("WARC-Date")
        started = _parse_date(value)
        if started is not None:
            return started
        started = _http_date(_header(candidate.headers, "Date"))
        fallback = "the HTTP Date header" if started is not None else "the import time"
        self.report.warnings.append(
            RecordIssue(
                offset=offset, reason=f"unparsable WARC-Date {_shown(value)}: used {fallback}"
            )
        )
        return started if started is not None else self.harvester.clock.now()

    @staticmethod
    def _stable_id(url: str, date: str | None, raw: bytes) -> str:
        digest = hashlib.sha1(raw, usedforsecurity=False).hexdigest()
        return f"<urn:uuid:{uuid.uuid5(_ARC_NAMESPACE, f'{url} {date} {digest}')}>"

    def _process(self, exchange: Exchange, source: CaptureRow, offset: int) -> Outcome | None:
        try:
            return self.harvester.process_imported(
                FetchRequest(url=exchange.url, outlet=None), exchange, source
            )
        except ArchiveError:
            raise
        # A page that trips a bug in a later stage must not stop the import; it is reported
        # (and logged with its traceback at debug level).
        except Exception as exc:
            log.debug("import of %s failed", exchange.url, exc_info=True)
            self.report.broken.append(
                RecordIssue(offset=offset, reason=f"could not be processed: {_one_line(exc)}")
            )
            return None

    def _count(self, offset: int, outcome: Outcome | None) -> None:
        report = self.report
        if outcome is None:
            return
        if isinstance(outcome, Archived):
            report.articles += 1
            return
        reason = f"HTTP {outcome.status}" if isinstance(outcome, HttpError) else outcome.reason
        report.not_articles += 1
        report.not_article_reasons[reason.split(" (")[0]] += 1
        log.debug("offset %d: not an article: %s", offset, reason)
