"""Undoing HTTP content codings with an output cap (a small gzip can expand a thousandfold).

Shared by the fetcher (which offers only ``gzip, deflate`` and keeps any other coding's bytes as
they came) and ``import-warc`` (which reads whatever other crawlers stored and reports codings it
cannot undo).
"""

from __future__ import annotations

import zlib

__all__ = ["TooLarge", "UnsupportedCoding", "decode_body"]


class TooLarge(Exception):
    """The decoded body would pass the cap."""


class UnsupportedCoding(Exception):
    """A content coding we cannot undo (``str(exc)`` names it)."""


def decode_body(body: bytes, coding_header: str, cap: int, *, strict: bool) -> bytes:
    """``body`` with the codings of a Content-Encoding header undone, last applied first.

    Raises TooLarge past ``cap`` and zlib.error for a body that does not decode. A coding other
    than gzip/deflate/identity raises UnsupportedCoding when ``strict``, else the bytes are
    returned as they are.
    """
    codings = [c.strip().lower() for c in coding_header.split(",") if c.strip()]
    data = body
    for coding in reversed(codings):
        if coding in ("gzip", "x-gzip"):
            data = _inflate(data, zlib.MAX_WBITS | 16, cap)
        elif coding == "deflate":
            try:
                data = _inflate(data, zlib.MAX_WBITS, cap)
            except zlib.error:
                # Some servers send raw deflate without the zlib header.
                data = _inflate(data, -zlib.MAX_WBITS, cap)
        elif coding != "identity":
            if strict:
                raise UnsupportedCoding(coding)
            return data
    return data


def _inflate(data: bytes, wbits: int, cap: int) -> bytes:
    decomp = zlib.decompressobj(wbits)
    try:
        out = decomp.decompress(data, cap + 1)
    except zlib.error:
        if wbits < 0:
            return data
        raise
    if len(out) > cap:
        raise TooLarge
    return out
