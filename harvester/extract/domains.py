"""Registrable domains ("sites") of hosts and URLs, without the network or a suffix list (pure).

Contract:

* :func:`registrable_domain` lower-cases a host, strips brackets, port, trailing dot and a leading
  ``www.``; returns IP addresses unchanged; otherwise returns the last two labels, or the last
  three when the last two form a public second level such as ``co.uk`` or ``com.tr``.
* :func:`host_of` accepts a URL or a bare host and returns the host part (lower-cased, may be "").
* :func:`same_site` is True when two URLs (or hosts) have the same, non-empty registrable domain.

This is a heuristic, not the Public Suffix List: private suffixes (``blogspot.com``,
``github.io``) count as sites, and rare public second levels may be missed. It is what provenance
needs: telling the page's own site from another outlet's.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["PUBLIC_SECOND_LEVELS", "host_of", "registrable_domain", "same_site"]

# Public second levels seen in news outlets' domains. Listed explicitly where the generic rule
# below would not apply (a three-letter country code, a second level outside the generic set).
PUBLIC_SECOND_LEVELS = frozenset(
    {
        "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "ltd.uk", "plc.uk", "net.uk",
        "com.au", "net.au", "org.au", "edu.au", "gov.au", "asn.au", "id.au",
        "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "ad.jp",
        "co.kr", "or.kr", "ne.kr", "go.kr", "re.kr",
        "com.br", "net.br", "org.br", "gov.br", "art.br",
        "com.tr", "org.tr", "gov.tr", "net.tr", "gen.tr", "web.tr", "bel.tr", "k12.tr",
        "co.nz", "org.nz", "net.nz", "govt.nz",
        "co.za", "org.za", "gov.za",
        "com.cn", "net.cn", "org.cn", "gov.cn",
        "com.mx", "org.mx", "gob.mx",
        "com.ar", "org.ar", "gob.ar",
        "co.in", "net.in", "org.in", "gov.in", "nic.in",
        "co.il", "org.il", "gov.il",
        "com.sg", "org.sg", "gov.sg",
        "com.hk", "org.hk", "gov.hk",
        "com.tw", "org.tw", "gov.tw",
        "com.ua", "org.ua", "gov.ua", "in.ua", "kiev.ua", "kyiv.ua",
        "com.ru", "org.ru", "net.ru", "msk.ru", "spb.ru",
        "com.pk", "com.eg", "com.sa", "com.my", "com.ph", "com.vn", "com.pe", "com.co",
        "com.ng", "co.ke", "co.th", "or.th", "go.th", "co.id", "or.id", "go.id", "com.qa",
        "com.lb", "com.kw", "co.ug", "co.tz", "com.gh", "com.bd", "com.np", "com.cy",
        "gv.at", "co.at", "or.at", "ac.at",
    }
)  # fmt: skip
# Generic rule: under a two-letter country code these second levels are (nearly) always public
# registries, so "x.gov.pl" style hosts need no explicit entry.
_GENERIC_SECOND_LEVELS = frozenset(
    {"ac", "co", "com", "edu", "gob", "gouv", "gov", "govt", "mil", "ne", "net", "or", "org"}
)


def host_of(url_or_host: str) -> str:
    """The host of a URL, or the bare host given; lower-cased, no port, no brackets ("" if none)."""
    text = url_or_host.strip()
    if "//" in text:
        try:
            return (urlsplit(text).hostname or "").lower()
        except ValueError:
            return ""
    text = text.split("/", 1)[0].rsplit("@", 1)[-1].lower()
    if text.startswith("["):
        return text[1:].split("]", 1)[0]
    if text.count(":") == 1:
        text = text.split(":", 1)[0]
    return text


def registrable_domain(host: str) -> str:
    """``news.bbc.co.uk`` -> ``bbc.co.uk``; ``WWW.Example.com:8080`` -> ``example.com``."""
    text = host.strip().lower()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    text = text.rstrip(".")
    try:
        ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        return text
    labels = [label for label in text.split(".") if label]
    if len(labels) > 2 and labels[0] == "www":
        labels = labels[1:]
    if len(labels) <= 2:
        return ".".join(labels)
    last_two = ".".join(labels[-2:])
    public = last_two in PUBLIC_SECOND_LEVELS or (
        len(labels[-1]) == 2 and labels[-2] in _GENERIC_SECOND_LEVELS
    )
    return ".".join(labels[-3:] if public else labels[-2:])


def same_site(url_a: str, url_b: str) -> bool:
    """True when both URLs (or hosts) have the same non-empty registrable domain."""
    a = registrable_domain(host_of(url_a))
    return bool(a) and a == registrable_domain(host_of(url_b))
