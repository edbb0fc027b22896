"""URL normalisation for discovery: one canonical spelling per article URL.

Contract of :func:`normalise_url` (pure, no I/O, idempotent:
``normalise_url(normalise_url(u)) == normalise_url(u)``)::

    resolve     a relative ``url`` (one without a scheme) is resolved against ``base``
    scheme      only http and https (lower-cased); any other scheme raises ValueError
    host        required (ValueError otherwise); lower-cased; a non-ASCII host is IDNA-encoded
                (kept as it is when IDNA refuses it); forbidden host characters raise ValueError
    port        the default port is dropped (:80 for http, :443 for https); a non-numeric or
                out-of-range port raises ValueError
    fragment    always dropped
    query       tracking parameters are removed (any key in TRACKING_PARAMS or starting with
                ``utm_``, matched case-insensitively on the percent-decoded key); the other
                parameters keep their order and their spelling, save for the escape rules
                below (``+`` stays ``+``, ``%20`` stays ``%20``, ``%26`` is never decoded);
                empty ``&&`` pieces and an empty ``?`` are dropped
    path        duplicate slashes collapsed (``//a///b`` -> ``/a/b``), ``.`` and ``..`` segments
                removed (RFC 3986 5.2.4), empty path -> ``/``; a trailing slash is kept as it is
    escapes     in path and query: hex digits upper-cased (``%2f`` -> ``%2F``), escapes of
                unreserved characters decoded (``%7E`` -> ``~``), characters that may not appear
                raw (space, controls, non-ASCII, ``"<>`` ...) percent-encoded as UTF-8, and a
                stray ``%`` (not followed by two hex digits) written ``%25``

Userinfo (``user@``) is kept as it is.  :func:`is_http_url` says whether :func:`normalise_url`
accepts a URL.
"""

from __future__ import annotations

import re
import string
from urllib.parse import quote, unquote, urljoin, urlsplit

__all__ = ["TRACKING_PARAMS", "is_http_url", "normalise_url"]

TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        # click identifiers (ads and social networks)
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
        "igshid", "twclid", "ttclid", "li_fat_id", "srsltid", "s_kwcid", "ef_id", "rb_clickid",
        # analytics and e-mail campaign tools
        "_ga", "_gl", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "_openstat",
        "oly_anon_id", "oly_enc_id", "vero_id", "vero_conv",
        # publisher / syndication referral tags
        "ref_src", "ref_url", "cmpid", "ocid", "ns_source", "ns_mchannel", "ns_campaign",
        "ns_linkname", "ns_fee", "at_medium", "at_campaign",
    }
)  # fmt: skip
"""Query keys removed by :func:`normalise_url` (lower-case); keys starting ``utm_`` go too."""

_TRACKING_PREFIX = "utm_"
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
# Characters left raw by quote() (letters, digits and "_.-~" always are): RFC 3986 pchar, "/"
# and "%" (escapes are normalised separately); the query may also hold "?".
_PATH_SAFE = "!$&'()*+,;=:@/%"
_QUERY_SAFE = _PATH_SAFE + "?"
_ESCAPE_RE = re.compile(r"%([0-9A-Fa-f]{2})")
_STRAY_PERCENT_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SLASHES_RE = re.compile(r"/{2,}")
# WHATWG forbidden domain code points (C0 controls, space, DEL and URL delimiters).
_FORBIDDEN_HOST_RE = re.compile(r"[\x00-\x20\x7f#%/:<>?@\[\\\]^|]")


def normalise_url(url: str, base: str | None = None) -> str:
    """Return the canonical absolute form of an http(s) ``url`` (see the module docstring).

    ``base`` resolves a relative ``url``.  Raises ValueError when the result is not an http or
    https URL with a host, or when the port is invalid.
    """
    text = url.strip()
    parts = urlsplit(text)  # raises ValueError for a malformed IPv6 host
    if base is not None and not parts.scheme:
        # Only a reference without a scheme is relative (RFC 3986 5.2.2; urljoin would also
        # rewrite absolute URLs, e.g. drop an empty ";" parameter).
        parts = urlsplit(urljoin(base.strip(), text))
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {_short(url)}")
    userinfo, _, hostport = parts.netloc.rpartition("@")
    host, port = _split_host_port(hostport, url)
    if port == ("443" if scheme == "https" else "80"):
        port = ""
    path = _normalise_path(parts.path)
    query = _normalise_query(parts.query)
    netloc = (userinfo + "@" if userinfo else "") + host + (":" + port if port else "")
    return f"{scheme}://{netloc}{path}" + ("?" + query if query else "")


def is_http_url(url: str) -> bool:
    """Return True when ``url`` is an absolute http(s) URL that :func:`normalise_url` accepts."""
    try:
        normalise_url(url)
    except ValueError:
        return False
    return True


def _short(url: str) -> str:
    return repr(url if len(url) <= 200 else url[:200] + "...")


def _split_host_port(hostport: str, url: str) -> tuple[str, str]:
    """Split ``host[:port]`` into a normalised host and a canonical port ('' for none)."""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0 or (end + 1 < len(hostport) and hostport[end + 1] != ":"):
            raise ValueError(f"invalid IPv6 host: {_short(url)}")
        host, port = hostport[: end + 1].lower(), hostport[end + 2 :]
        if host == "[]":
            raise ValueError(f"URL has no host: {_short(url)}")
    else:
        raw_host, _, port = hostport.partition(":")
        host = _encode_host(raw_host.lower())
        if not host:
            raise ValueError(f"URL has no host: {_short(url)}")
        if _FORBIDDEN_HOST_RE.search(host):
            raise ValueError(f"invalid host: {_short(url)}")
    if port:
        if not (port.isascii() and port.isdigit()) or int(port) > 65535:
            raise ValueError(f"invalid port: {_short(url)}")
        port = str(int(port))
    return host, port


def _encode_host(host: str) -> str:
    """IDNA-encode a non-ASCII host; keep it unchanged when the codec refuses it."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return host


def _normalise_escapes(text: str, safe: str) -> str:
    """Quote raw unsafe characters, then canonicalise every percent escape."""
    text = quote(text, safe=safe, errors="surrogatepass")
    text = _STRAY_PERCENT_RE.sub("%25", text)
    return _ESCAPE_RE.sub(_fix_escape, text)


def _fix_escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


def _normalise_path(path: str) -> str:
    path = _SLASHES_RE.sub("/", _normalise_escapes(path, _PATH_SAFE))
    if not path.startswith("/"):
        path = "/" + path
    return _remove_dot_segments(path)


def _remove_dot_segments(path: str) -> str:
    """Remove ``.`` and ``..`` from an absolute path without empty inner segments."""
    segments = path.split("/")[1:]
    kept: list[str] = []
    for segment in segments:
        if segment == "..":
            if kept:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
    result = "/" + "/".join(kept)
    if segments[-1] in (".", "..") and kept:
        result += "/"  # "/a/b/.." means the directory "/a/"
    return result


def _normalise_query(query: str) -> str:
    kept = [
        piece
        for piece in _normalise_escapes(query, _QUERY_SAFE).split("&")
        if piece and not _is_tracking(piece.partition("=")[0])
    ]
    return "&".join(kept)


def _is_tracking(key: str) -> bool:
    name = unquote(key).lower()
    return name.startswith(_TRACKING_PREFIX) or name in TRACKING_PARAMS
