"""CDXJ indexes of WARC files, line for line what ``cdxj-indexer`` 1.5 writes (pywb reads them).

A CDXJ index has one line per indexed record: the SURT form of its URL (the sort key: host
reversed, ``www.``, default port, fragment and session ids dropped, lower case, query arguments
sorted), a space, the record's ``WARC-Date`` as 14 digits (UTC, to the second), a space, and a
JSON object. For example (one line, wrapped here)::

    uk,co,example)/news/2026/03/harbour-terminal?ref=rss 20260303093012 {"url":
    "https://www.example.co.uk/news/2026/03/harbour-terminal?ref=rss", "mime": "text/html",
    "status": "200", "digest": "sha1:CH3K3DWFFIUYJK5K7V6DWULFAN4FYIDS", "length": "5123",
    "offset": "1077", "filename": "warc/2026/03/harvester-20260303093000-00001-host.warc.gz"}

The JSON keys are, in this order and only when the record has a value for them: ``url`` (the
``WARC-Target-URI``), ``mime`` (``warc/revisit`` for revisits; the HTTP ``Content-Type`` of
``response`` and ``request`` records; the WARC ``Content-Type`` of other records; parameters
after ``;`` dropped), ``status`` (the HTTP status of ``response`` and ``revisit`` records),
``digest`` (``WARC-Payload-Digest``, computed as ``sha1:<base32>`` over the payload where the
header is missing, never for a revisit), ``length`` and ``offset`` (the record's span in the file,
compressed, as decimal strings) and ``filename`` (relative to the archive root). The JSON is
Python's ``json.dumps`` default form (``", "``/``": "`` separators, non-ASCII escaped).

Indexed by default, as ``cdxj-indexer`` does: ``response``, ``revisit``, ``resource`` and
``metadata`` records, except ``resource``/``metadata`` records whose ``Content-Type`` is
``application/warc-fields``. harvester's ``metadata`` records (``application/json``) are
therefore indexed, under their own target (``urn:harvester:metadata:<url>``, see
:mod:`harvester.warc.records`); its ``conversion`` records (the cleaned text, under
``urn:text:<url>``) are not, unless asked for with ``records=`` (``cdxj-indexer --records``).
``warcinfo`` and ``request`` records never are by default.

Archives written before the derived records had targets of their own carry the page URL on
them, so a replay tool given a plain index of such files may serve the JSON instead of the page.
With ``derived_urns`` (what ``harvester cdxj`` does) a ``metadata``/``conversion`` record that
names its response in ``WARC-Refers-To`` is indexed under its URN form whatever its file says:
the index of an old archive then replays as one written today (the records are not rewritten).
On archives written since, the lines are the same either way.

``write_cdxj`` indexes every closed file of an archive and writes the lines sorted as
``cdxj-indexer --sort`` does (plain string order of whole lines, duplicate lines dropped), which is
the order pywb's binary search expects. The SURT keys are computed here, not imported: a port of
the canonicalisation of Internet Archive's ``surt`` package (its ``DefaultIAURLCanonicalizer``,
itself a port of the Apache-licensed archive-commons Java code), checked against ``surt`` in the
tests. ``surt`` itself is AGPL-3.0 and brings tldextract and requests along.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import re
import socket
import struct
import tempfile
import zlib
from base64 import b32encode
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, TextIO
from urllib.parse import SplitResultBytes, quote_from_bytes, unquote_to_bytes

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecordLoader
from warcio.statusandheaders import StatusAndHeadersParserException
from warcio.timeutils import iso_date_to_timestamp

from harvester.errors import ArchiveError
from harvester.warc.records import derived_target

__all__ = [
    "DEFAULT_RECORDS",
    "SORT_BUFFER_CHARS",
    "CdxjLine",
    "archive_warc_files",
    "cdxj_records",
    "surt_urlkey",
    "write_cdxj",
]

#: Record types indexed by default (``cdxj-indexer``'s ``DEFAULT_RECORDS``).
DEFAULT_RECORDS: frozenset[str] = frozenset({"response", "revisit", "resource", "metadata"})

#: Characters of index lines held in memory before a sorted run is spilled to a temporary file
#: (``cdxj-indexer``'s ``SortingWriter`` uses the same 32 Mi).
SORT_BUFFER_CHARS = 32 * 1024 * 1024

_MAX_RUNS = 64  # sorted runs merged at once; more are first merged into one run
_READ_SIZE = 16384
_MIME_END = re.compile(r"[;\s]")
_NO_PAYLOAD_DIGEST = frozenset({"warcinfo", "revisit"})
_STATUS_TYPES = frozenset({"response", "revisit"})
_HTTP_MIME_TYPES = frozenset({"response", "request"})
_WARC_FIELDS = "application/warc-fields"

# What warcio raises (or lets through) on malformed input: bad gzip members, bad headers, short
# reads, a record without the header a step needs.
_READ_ERRORS: tuple[type[BaseException], ...] = (
    ArchiveLoadFailed,
    StatusAndHeadersParserException,
    EOFError,
    OSError,
    ValueError,
    LookupError,
    TypeError,
    AttributeError,
    zlib.error,
)


@dataclass(frozen=True, slots=True)
class CdxjLine:
    """One index line: SURT key, 14-digit timestamp, and the JSON block's fields in order."""

    urlkey: str
    timestamp: str
    fields: dict[str, str] = field(hash=False)

    def __str__(self) -> str:
        """The line as written, without the trailing newline."""
        return f"{self.urlkey} {self.timestamp} {json.dumps(self.fields)}"


class _Loader(ArcWarcRecordLoader):  # type: ignore[misc]  # warcio is untyped
    """warcio's record loader that skips parsing the HTTP headers of records we do not index.

    Only the HTTP headers of ``request`` records are skipped (the other types are parsed or not
    exactly as warcio does), which saves about a quarter of the time. The lines are the same:
    parsing a request's header block can only fail at the end of the input (EOFError), where
    the reader stops either way, or on a request record without ``WARC-Target-URI``, which
    cdxj-indexer cannot get past and we step over.
    """

    def __init__(self, skip: Collection[str]) -> None:
        super().__init__(verify_http=False, arc2warc=True)
        self._skip = skip

    def load_http_headers(self, rec_type: str, uri: str, stream: Any, length: int) -> Any:
        if rec_type in self._skip:
            return None
        return super().load_http_headers(rec_type, uri, stream, length)


def _reason(exc: BaseException) -> str:
    """A one-line reason: warcio's messages span several indented lines and go on at length."""
    text = " ".join(str(exc).split()).removeprefix("ERROR: ")
    if len(text) > 200 and (end := text.rfind(". ", 0, 200)) > 0:
        text = text[: end + 1]
    return text or type(exc).__name__


def cdxj_records(
    path: Path,
    *,
    filename: str,
    records: Collection[str] | None = DEFAULT_RECORDS,
    derived_urns: bool = False,
) -> Iterator[CdxjLine]:
    """Index lines of one WARC (or ARC) file, gzipped per record or plain, in file order.

    ``filename`` is what the lines name the file (harvester: relative to the archive root).
    ``records`` are the record types to index (default :data:`DEFAULT_RECORDS`; ``None``: every
    record, like ``cdxj-indexer --records all``). As in ``cdxj-indexer``, resource and metadata
    records of type ``application/warc-fields`` are left out only with the default set.
    ``derived_urns``: file derived records under their URN target (see the module docstring).

    Streams: memory stays constant whatever the size of the file. Raises ArchiveError (one line,
    naming the file) when the file cannot be opened or read; lines already yielded stand.
    """
    wanted = None if records is None else frozenset(records)
    skip_warc_fields = wanted == DEFAULT_RECORDS
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise ArchiveError(f"cannot read WARC file {path}: {exc.strerror or exc}") from exc
    with stream:
        iterator = ArchiveIterator(stream, arc2warc=True)
        iterator.loader = _Loader(
            () if wanted is None or "request" in wanted else ("request",),
        )
        try:
            for record in iterator:
                rec_type = record.rec_type
                if wanted is not None:
                    if rec_type not in wanted:
                        continue
                    if (
                        skip_warc_fields
                        and rec_type in ("resource", "metadata")
                        and record.rec_headers.get_header("Content-Type") == _WARC_FIELDS
                    ):
                        continue
                yield _line(record, iterator, path, filename, derived_urns=derived_urns)
        except ArchiveError:
            raise
        except _READ_ERRORS as exc:
            at = f" at offset {iterator.offset}" if iterator.offset >= 0 else ""
            raise ArchiveError(f"cannot index WARC file {path}{at}: {_reason(exc)}") from exc


def _line(record: Any, iterator: Any, path: Path, filename: str, *, derived_urns: bool) -> CdxjLine:
    """The index line of one record (the fields and quirks of cdxj-indexer's CDXJIndexer)."""
    rec_type: str = record.rec_type
    headers = record.rec_headers
    http = record.http_headers
    fields: dict[str, str] = {}

    url: str | None = headers.get_header("WARC-Target-URI")
    if derived_urns and url is not None and headers.get_header("WARC-Refers-To"):
        url = derived_target(rec_type, url)
    if url is not None:
        fields["url"] = url

    if rec_type == "revisit":
        mime: str | None = "warc/revisit"
    else:
        if rec_type in _HTTP_MIME_TYPES:
            mime = http.get_header("content-type") if http else None
        else:
            mime = headers.get_header("content-type")
        if mime:
            mime = _MIME_END.split(mime, 1)[0].strip()
    if mime is not None:
        fields["mime"] = mime

    if rec_type in _STATUS_TYPES and http:
        fields["status"] = http.get_statuscode()

    digest: str | None = headers.get_header("WARC-Payload-Digest")
    if digest is None and rec_type not in _NO_PAYLOAD_DIGEST:
        digest = _payload_digest(record.raw_stream)
    if digest is not None:
        fields["digest"] = digest

    fields["length"] = str(iterator.get_record_length())
    fields["offset"] = str(iterator.get_record_offset())
    fields["filename"] = filename

    date = headers.get_header("WARC-Date")
    try:
        timestamp: str = iso_date_to_timestamp(date)
    except (ValueError, TypeError, IndexError) as exc:
        raise ArchiveError(
            f"cannot index WARC file {path}: the {rec_type} record at offset {fields['offset']} "
            f"has {'a bad WARC-Date ' + repr(date) if date else 'no WARC-Date'}"
        ) from exc
    return CdxjLine(urlkey=surt_urlkey(url), timestamp=timestamp, fields=fields)


def _payload_digest(stream: Any) -> str:
    """``sha1:<base32>`` of the rest of ``stream`` (the payload, after any HTTP headers)."""
    digester = hashlib.sha1(usedforsecurity=False)
    while chunk := stream.read(_READ_SIZE):
        digester.update(chunk)
    return "sha1:" + b32encode(digester.digest()).decode("ascii")


# -- the whole archive -----------------------------------------------------------------------------


def archive_warc_files(root: Path) -> list[Path]:
    """The closed WARC files of an archive: ``<root>/warc/**/*.warc.gz`` (not ``*.open``)."""
    if not root.is_dir():
        raise ArchiveError(f"no archive at {root}: not a directory")
    return sorted(p for p in (root / "warc").rglob("*.warc.gz") if p.is_file())


def _relative_name(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` with ``/`` separators (``cdxj-indexer --dir-root``)."""
    return os.path.relpath(path, root).replace(os.sep, "/")


def write_cdxj(
    root: Path,
    out: TextIO,
    *,
    files: Sequence[Path] | None = None,
    records: Collection[str] | None = DEFAULT_RECORDS,
    sort_buffer: int = SORT_BUFFER_CHARS,
    derived_urns: bool = True,
) -> int:
    """Write the sorted CDXJ index of an archive to ``out``; returns the number of lines.

    Indexes ``files`` (relative to ``root`` or absolute, taken as given), by default every closed
    WARC file under ``<root>/warc/`` (see :func:`archive_warc_files`); each line names its file
    relative to ``root``, as the catalog does. The output equals
    ``cdxj-indexer --sort --dir-root ROOT FILE...``: lines in plain string order, duplicate lines
    dropped, so pywb can binary-search it; ``derived_urns`` (default on) files the derived
    records of archives written before their URN targets under those (see the module docstring),
    so the index of an old archive replays correctly too.

    Memory: reading is streamed; the sort holds at most about ``sort_buffer`` characters of lines
    (plus ~100 bytes of overhead per line) before it writes a sorted run to a temporary file; the
    runs (at most 64 open at once) are then merged with :func:`heapq.merge`, one line of each in
    memory. Nothing is written to ``out`` before every file has been read, so an ArchiveError for
    an unreadable file leaves ``out`` untouched.
    """
    paths = (
        archive_warc_files(root)
        if files is None
        else [p if p.is_absolute() else root / p for p in files]
    )
    with _ExternalSort(sort_buffer) as sorter:
        for path in paths:
            name = _relative_name(path, root)
            lines = cdxj_records(path, filename=name, records=records, derived_urns=derived_urns)
            for line in lines:
                sorter.add(f"{line}\n")
        return sorter.write_to(out)


class _ExternalSort:
    """Sorts lines in bounded memory: sorted runs spill to temporary files, then one merge."""

    def __init__(self, limit: int) -> None:
        self._limit = max(1, limit)
        self._lines: list[str] = []
        self._size = 0
        self._runs: list[IO[str]] = []
        self._stack = ExitStack()

    def __enter__(self) -> _ExternalSort:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def add(self, line: str) -> None:
        self._lines.append(line)
        self._size += len(line)
        if self._size > self._limit:
            self._spill()

    def write_to(self, out: TextIO) -> int:
        if not self._runs:
            self._lines.sort()
            return _write_unique(self._lines, out)
        if self._lines:
            self._spill()
        for run in self._runs:
            run.seek(0)
        return _write_unique(heapq.merge(*self._runs), out)

    def _spill(self) -> None:
        self._lines.sort()
        self._runs.append(self._new_run(self._lines))
        self._lines = []
        self._size = 0
        if len(self._runs) >= _MAX_RUNS:
            for run in self._runs:
                run.seek(0)
            merged = self._new_run(heapq.merge(*self._runs))
            for run in self._runs:
                run.close()
            self._runs = [merged]

    def _new_run(self, lines: Iterable[str]) -> IO[str]:
        try:
            # closed by the ExitStack (SIM115 does not see enter_context)
            run = self._stack.enter_context(
                tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n", prefix="cdxj-")  # noqa: SIM115
            )
            run.writelines(lines)
        except OSError as exc:
            raise ArchiveError(f"cannot sort the CDXJ index in a temporary file: {exc}") from exc
        return run


def _write_unique(lines: Iterable[str], out: TextIO) -> int:
    """Write sorted ``lines``, skipping a line equal to the one before; returns lines written."""
    count = 0
    last = None
    for line in lines:
        if line != last:
            out.write(line)
            count += 1
            last = line
    return count


# -- SURT ------------------------------------------------------------------------------------------
#
# The key cdxj-indexer writes is ``surt.surt(url)`` with its defaults (no scheme, no trailing comma,
# IP addresses reversed like host names), or the URL itself where surt raises. The steps below are
# those of surt 0.3's GoogleURLCanonicalizer, IAURLCanonicalizer and handyurl, in that order.

_CONTROL_WS = re.compile(rb"[\n\r\t]")
_HAS_SCHEME = re.compile(rb"^[a-zA-Z][a-zA-Z0-9+\-.]*:")
_REPEATED_SCHEMES = re.compile(rb"^(https?://)+")
_URI = re.compile(rb"^(([a-zA-Z][a-zA-Z0-9+.-]*):)?((//([^/?#]*))?([^?#]*)(\?([^#]*))?)?(#(.*))?$")
_OCTAL_IP = re.compile(rb"^(0[0-7]*)(\.[0-7]+)?(\.[0-7]+)?(\.[0-7]+)?$")
_DECIMAL_IP = re.compile(rb"^([1-9][0-9]*)(\.[0-9]+)?(\.[0-9]+)?(\.[0-9]+)?$")
_WWW = re.compile(rb"www\d*\.")
_ESCAPE_SAFE = b"!\"$&'()*+,-./:;<=>?@[\\]^_`{|}~"
_PATH_SESSION_IDS = (
    re.compile(rb"^(.*/)(\((?:[a-z]\([0-9a-z]{24}\))+\)/)([^\?]+\.aspx.*)$", re.IGNORECASE),
    re.compile(rb"^(.*/)(\([0-9a-z]{24}\)/)([^\?]+\.aspx.*)$", re.IGNORECASE),
)
_QUERY_SESSION_IDS = (
    re.compile(rb"^(.*)(?:jsessionid=[0-9a-zA-Z]{32})(?:&(.*))?$", re.IGNORECASE),
    re.compile(rb"^(.*)(?:phpsessid=[0-9a-zA-Z]{32})(?:&(.*))?$", re.IGNORECASE),
    re.compile(rb"^(.*)(?:sid=[0-9a-zA-Z]{32})(?:&(.*))?$", re.IGNORECASE),
    re.compile(rb"^(.*)(?:ASPSESSIONID[a-zA-Z]{8}=[a-zA-Z]{24})(?:&(.*))?$", re.IGNORECASE),
    re.compile(rb"^(.*)(?:cfid=[^&]+&cftoken=[^&]+)(?:&(.*))?$", re.IGNORECASE),
)


@lru_cache(maxsize=4096)
def surt_urlkey(url: str | None) -> str:
    """The SURT sort key of ``url`` as cdxj-indexer writes it: ``http://www.Example.com:80/A/?b=1&a``
    gives ``com,example)/a?a&b=1``. ``"-"`` for no URL; the URL unchanged where it cannot be
    canonicalised (an invalid port, nothing but blanks)."""
    if not url:
        return "-"
    try:
        raw = url.encode("utf-8")
        if raw.startswith(b"filedesc"):
            return url
        return _surt(raw).decode("ascii")
    except ValueError:
        return url


def _unescape(data: bytes) -> bytes:
    while True:
        plain = unquote_to_bytes(data)
        if plain == data:
            return data
        data = plain


def _escape(data: bytes) -> bytes:
    return quote_from_bytes(data, safe=_ESCAPE_SAFE).encode("ascii") if data else data


def _normalize_path(path: bytes | None) -> bytes:
    if not path:
        return b"/"
    kept: list[bytes] = []
    for part in path.split(b"/")[1:]:
        if part == b".":
            continue
        if part == b"..":
            if kept:
                kept.pop()
            else:
                kept.append(part)
        else:
            kept.append(part)
    if not kept:
        return b"/"
    return b"/" + b"".join(p + b"/" for p in kept[:-1] if p) + kept[-1]


def _ip_address(host: bytes) -> bytes | None:
    if host.isdigit():
        return socket.inet_ntoa(struct.pack(">L", int(host) & 0xFFFFFFFF)).encode("ascii")
    if _DECIMAL_IP.match(host) or _OCTAL_IP.match(host):
        # surt asks gethostbyname_ex, which parses digits-and-dots names like inet_aton and
        # answers "not found" where that fails; a name the pattern let through with a trailing
        # newline ($) goes to DNS there, which has no such host. We never query DNS.
        if host.endswith(b"\n"):
            return None
        try:
            return socket.inet_ntoa(socket.inet_aton(host.decode("ascii"))).encode("ascii")
        except OSError:
            return None
    return None


def _canonical_host(host: bytes) -> bytes:
    host = _unescape(host)
    if not host.isascii():
        with suppress(UnicodeError):
            host = host.decode("utf-8", "ignore").encode("idna")
    host = host.replace(b"..", b".").strip(b".")
    return _ip_address(host) or _escape(host.lower())


def _strip_query_session_ids(query: bytes) -> bytes:
    for pattern in _QUERY_SESSION_IDS:
        m = pattern.match(query)
        if m:
            query = m[1] + m[2] if m[2] else m[1]
    return query


def _reorder_query(query: bytes) -> bytes:
    if len(query) <= 1:
        return query
    pairs = sorted(tuple(arg.split(b"=", 1)) for arg in query.split(b"&"))
    return b"&".join(b"=".join(pair) for pair in pairs)


@dataclass(slots=True)
class _Url:
    scheme: bytes
    host: bytes | None
    port: int | None
    path: bytes | None
    query: bytes | None


def _surt(url: bytes) -> bytes:
    return _surt_key(_ia_canonical(_google_canonical(_parse(url))))


def _parse(url: bytes) -> _Url:
    """surt's ``handyurl.parse``. Raises ValueError where surt raises."""
    url = _CONTROL_WS.sub(b"", url.strip())
    if not url:
        raise ValueError("no URL")
    if not _HAS_SCHEME.match(url):
        url = b"http://" + url
    url = _REPEATED_SCHEMES.sub(lambda m: m[1], url)
    m = _URI.match(url)
    if m is None or not m[2]:
        raise ValueError("no scheme")
    scheme: bytes = m[2]
    netloc: bytes = m[5] or b""
    if netloc.endswith(b":"):
        netloc = netloc.rstrip(b":")
    split = SplitResultBytes(scheme, netloc, m[6] or b"", m[8] or b"", m[10] or b"")
    port = split.port or None  # raises ValueError for a bad port, as surt does
    host = split.hostname or None
    path = split.path or None
    if scheme.startswith(b"http") and host is None and path is not None:
        first, _, rest = path.lstrip(b"/").partition(b"/")
        host, path = first, b"/" + rest
    return _Url(scheme=scheme, host=host, port=port, path=path, query=split.query or None)


def _google_canonical(url: _Url) -> _Url:
    """surt's ``GoogleURLCanonicalizer``: unescape, IDNA, IP forms, dot segments, escape once."""
    if url.query:
        url.query = _escape(_unescape(url.query))
    if url.host:
        url.host = _canonical_host(url.host)
    path = _unescape(url.path) if url.path is not None else None
    if url.host:
        path = _normalize_path(path)
    url.path = _escape(path) if path else path
    return url


def _ia_canonical(url: _Url) -> _Url:
    """surt's ``IAURLCanonicalizer`` with its defaults: lower case, no www, no default port, no
    session ids, no trailing slash, query arguments sorted."""
    if url.host:
        url.host = url.host.lower()
        if url.scheme != b"dns" and (www := _WWW.match(url.host)):
            url.host = url.host[www.end() :]
    if url.port == {b"http": 80, b"https": 443}.get(url.scheme.lower(), 0):
        url.port = None
    path = url.path
    if path:
        path = path.lower()
        for pattern in _PATH_SESSION_IDS:
            if m := pattern.match(path):
                path = m[1] + m[3]
        if path.endswith(b"/") and len(path) > 1:
            path = path[:-1]
        url.path = path
    if url.query:
        url.query = _reorder_query(_strip_query_session_ids(url.query).lower()) or None
    return url


def _surt_key(url: _Url) -> bytes:
    """surt's ``handyurl.geturl_bytes(surt=True, with_scheme=False)``."""
    if url.host:
        key = b",".join(reversed(url.host.split(b".")))
        if url.port is not None:
            key += b":%d" % url.port
        key += b")"
    else:
        key = url.scheme + b":"
    if url.path:
        key += url.path
    elif url.query is not None:
        key += b"/"
    if url.query is not None:
        key += b"?" + url.query
    return key
