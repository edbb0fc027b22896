"""WARC record construction: pure functions from values to warcio records (no file I/O).

Record IDs and dates are passed in, so the same inputs give the same bytes (golden tests).
Conventions, per WARC/1.1 (ISO 28500:2017):

* ``request`` + ``response`` per HTTP exchange, linked by ``WARC-Concurrent-To``; the response
  holds the entity body as transferred (content coding kept, transfer coding removed: a
  ``Transfer-Encoding`` header is renamed ``X-Harvester-Orig-Transfer-Encoding`` so readers do not
  try to de-chunk a body that is no longer chunked). ``WARC-Truncated: length`` marks a cut body.
* ``revisit`` (profile identical-payload-digest) when a URL returns a payload already archived.
* ``metadata`` (application/json) and ``conversion`` (text/plain; the cleaned text), each with
  ``WARC-Refers-To`` the response record. Their ``WARC-Target-URI`` is not the page's URL but a
  URN derived from it: ``urn:harvester:metadata:<url>`` and ``urn:text:<url>`` (the form
  Browsertrix gives the text it extracts). Replay tools (pywb, ReplayWeb.page) look a page up by
  its URL and pick among the records indexed under it; a derived record under the same URL and
  second wins as often as the response does, and the reader sees JSON instead of the page. Under
  a URN of their own they are still indexed and found, and ``WARC-Refers-To`` (plus the URL
  after the prefix) ties each to its response. Archives written before this convention carry
  the page URL on these records: :func:`derived_target` gives the URN a reader or an indexer
  should file them under.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from warcio.recordbuilder import RecordBuilder
from warcio.statusandheaders import StatusAndHeaders

from harvester.models import Exchange

__all__ = [
    "DERIVED_PREFIXES",
    "WARC_VERSION",
    "CaptureRef",
    "Record",
    "build_conversion",
    "build_exchange",
    "build_metadata",
    "build_resource",
    "build_revisit",
    "build_warcinfo",
    "derived_target",
    "page_url_of",
    "payload_digest",
    "warc_date",
]

WARC_VERSION = "WARC/1.1"
REVISIT_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
_RENAMED_HEADERS = {"transfer-encoding": "X-Harvester-Orig-Transfer-Encoding"}
#: Target URI prefixes of the derived records, by record type.
DERIVED_PREFIXES = {"metadata": "urn:harvester:metadata:", "conversion": "urn:text:"}

Record = Any  # warcio.recordloader.ArcWarcRecord (untyped library)


@dataclass(frozen=True, kw_only=True)
class CaptureRef:
    """An earlier response record that a revisit points to."""

    record_id: str
    url: str
    date: str
    payload_digest: str


def _builder() -> RecordBuilder:
    return RecordBuilder(warc_version=WARC_VERSION)


def warc_date(moment: datetime) -> str:
    """WARC-Date for WARC/1.1: UTC, microsecond precision, ``Z`` suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def payload_digest(body: bytes) -> str:
    """``sha1:<base32>``, the digest form warcio and most WARC tools write."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body, usedforsecurity=False).digest()).decode(
        "ascii"
    )


def build_warcinfo(*, filename: str, info: Mapping[str, str], record_id: str, date: str) -> Record:
    """The ``warcinfo`` record that opens every file."""
    body = "".join(f"{k}: {v}\r\n" for k, v in info.items()).encode("utf-8")
    return _builder().create_warc_record(
        "",
        "warcinfo",
        payload=io.BytesIO(body),
        length=len(body),
        warc_content_type="application/warc-fields",
        warc_headers_dict={
            "WARC-Record-ID": record_id,
            "WARC-Date": date,
            "WARC-Filename": filename,
        },
    )


def _request_target(url: str) -> str:
    """The request line's target, percent-encoded as it went on the wire (a URL typed with
    non-ASCII characters must not break the WARC header block)."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return quote(target, safe="!#$%&'()*+,/:;=?@[]~")


def _response_status_and_headers(exchange: Exchange) -> StatusAndHeaders:
    """The HTTP status line and headers, in order, transfer coding header renamed."""
    headers = [(_RENAMED_HEADERS.get(k.lower(), k), v) for k, v in exchange.response_headers]
    return StatusAndHeaders(
        f"{exchange.status} {exchange.reason}".strip(), headers, protocol=exchange.http_version
    )


def build_exchange(
    exchange: Exchange, *, request_id: str, response_id: str
) -> tuple[Record, Record]:
    """The ``request`` and ``response`` records of one exchange."""
    date = warc_date(exchange.started)
    common = {"WARC-Date": date}
    if exchange.peer_ip:
        common["WARC-IP-Address"] = exchange.peer_ip
    builder = _builder()
    request_line = f"{exchange.method} {_request_target(exchange.url)} {exchange.http_version}"
    request = builder.create_warc_record(
        exchange.url,
        "request",
        payload=io.BytesIO(b""),
        length=0,
        http_headers=StatusAndHeaders(
            request_line, list(exchange.request_headers), is_http_request=True
        ),
        warc_headers_dict={
            **common,
            "WARC-Record-ID": request_id,
            "WARC-Concurrent-To": response_id,
        },
    )
    response_headers = {
        **common,
        "WARC-Record-ID": response_id,
        "WARC-Concurrent-To": request_id,
        "WARC-Payload-Digest": payload_digest(exchange.body),
    }
    if exchange.truncated:
        response_headers["WARC-Truncated"] = exchange.truncated
    response = builder.create_warc_record(
        exchange.url,
        "response",
        payload=io.BytesIO(exchange.body),
        length=len(exchange.body),
        http_headers=_response_status_and_headers(exchange),
        warc_headers_dict=response_headers,
    )
    return request, response


def build_revisit(
    exchange: Exchange,
    *,
    refers_to: CaptureRef,
    request_id: str,
    revisit_id: str,
) -> tuple[Record, Record]:
    """The ``request`` and ``revisit`` records for an unchanged payload (headers kept, no body)."""
    request, _ = build_exchange(exchange, request_id=request_id, response_id=revisit_id)
    extra = {
        "WARC-Record-ID": revisit_id,
        "WARC-Date": warc_date(exchange.started),
        "WARC-Concurrent-To": request_id,
        "WARC-Refers-To": refers_to.record_id,
        "WARC-Profile": REVISIT_PROFILE,
    }
    revisit = _builder().create_revisit_record(
        exchange.url,
        refers_to.payload_digest,
        refers_to.url,
        refers_to.date,
        http_headers=_response_status_and_headers(exchange),
        warc_headers_dict=extra,
    )
    return request, revisit


def derived_target(rec_type: str, target_uri: str) -> str:
    """The target URI a derived record (``metadata``, ``conversion``) of the page at
    ``target_uri`` is filed under: the URN form, whether ``target_uri`` is already one (records
    written since the convention) or the page URL itself (older archives). Other record types
    keep their target."""
    prefix = DERIVED_PREFIXES.get(rec_type)
    if prefix is None or target_uri.startswith("urn:"):
        return target_uri
    return prefix + target_uri


def page_url_of(target_uri: str) -> str:
    """The page URL a record's target URI stands for (the URN prefix of a derived record
    removed; any other target as it is)."""
    for prefix in DERIVED_PREFIXES.values():
        if target_uri.startswith(prefix):
            return target_uri[len(prefix) :]
    return target_uri


def _refers(
    *, url: str, refers_to: str, record_id: str, date: str, body: bytes, content_type: str
) -> Record:
    rec_type = "metadata" if content_type.startswith("application/json") else "conversion"
    return _builder().create_warc_record(
        derived_target(rec_type, url),
        rec_type,
        payload=io.BytesIO(body),
        length=len(body),
        warc_content_type=content_type,
        warc_headers_dict={
            "WARC-Record-ID": record_id,
            "WARC-Date": date,
            "WARC-Refers-To": refers_to,
        },
    )


def build_metadata(
    *, url: str, refers_to: str, record_id: str, date: str, payload: Mapping[str, Any]
) -> Record:
    """A ``metadata`` record of the page at ``url`` (target ``urn:harvester:metadata:<url>``)
    holding ``payload`` as compact UTF-8 JSON."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _refers(
        url=url,
        refers_to=refers_to,
        record_id=record_id,
        date=date,
        body=body,
        content_type="application/json",
    )


def build_conversion(*, url: str, refers_to: str, record_id: str, date: str, text: str) -> Record:
    """A ``conversion`` record of the page at ``url`` (target ``urn:text:<url>``) holding the
    cleaned article text."""
    return _refers(
        url=url,
        refers_to=refers_to,
        record_id=record_id,
        date=date,
        body=text.encode("utf-8"),
        content_type="text/plain; charset=utf-8",
    )


def build_resource(
    *, target_uri: str, record_id: str, date: str, body: bytes, content_type: str
) -> Record:
    """A ``resource`` record: ``body`` as it is, under ``target_uri`` (for instance the story
    an evidence package carries, ``urn:harvester:story:<id>``)."""
    return _builder().create_warc_record(
        target_uri,
        "resource",
        payload=io.BytesIO(body),
        length=len(body),
        warc_content_type=content_type,
        warc_headers_dict={"WARC-Record-ID": record_id, "WARC-Date": date},
    )
