"""SSRF guard: which network addresses harvester may connect to.

Only globally routable unicast addresses are allowed (see :func:`is_public_address`), unless
``allow_private_networks`` is set or the host is listed in ``allow_hosts`` (matched on the host
exactly as the URL names it: another spelling of an allowed address is not allowed). The check
runs where the socket is opened (:class:`GuardedBackend`, an httpcore network backend), on the
addresses that the connection actually uses: the name is resolved once per connection and the
socket is opened on the checked address itself, so a DNS answer that changes between check and
connect (rebinding) cannot slip through, nothing is cached between connections, and every redirect
hop and robots.txt is checked the same way. Every refusal is logged at WARNING on
``harvester.net.guard`` and raised as :class:`~harvester.errors.RefusedError` with the reason.

IP literals never go to the resolver: IPv6 literals are parsed as such, and a host that "ends in
a number" is read with the WHATWG URL Standard's IPv4 parser, so the legacy spellings that C
resolvers and browsers accept (``2130706433``, ``0x7f.0.0.1``, ``0177.0.1``, ``127.1``,
``127.0.0.1.``) are checked as the address they stand for, whatever the platform's resolver does
with them, and a malformed one (``1.2.3.4.5``, ``0x7g.1``) is refused.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass

import httpcore

from harvester.errors import RefusedError

__all__ = [
    "AddressPolicy",
    "GuardedBackend",
    "is_public_address",
    "literal_address",
    "non_public_reason",
]

log = logging.getLogger("harvester.net.guard")

_SOCKET_OPTION = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)

# IANA special-purpose IPv4 ranges that are not crawl targets. Spelled out rather than left to
# ``ipaddress.is_global``, whose answer differs between Python releases (3.11 calls 192.0.0.8
# global, for one).
_NON_PUBLIC_V4: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(net), why)
    for net, why in (
        ("0.0.0.0/8", "'this network' / unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "carrier-grade NAT"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local (cloud metadata)"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved / broadcast"),
    )
)
# All global unicast IPv6 lies in 2000::/3; outside it only NAT64 (64:ff9b::/96) can be public.
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_NAT64_V6 = ipaddress.IPv6Network("64:ff9b::/96")
_NON_PUBLIC_V6: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(net), why)
    for net, why in (
        ("::1/128", "loopback"),
        ("::/128", "unspecified"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("fc00::/7", "unique-local"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
        ("2001::/23", "IETF protocol assignments (Teredo, benchmarking, ORCHID)"),
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
    )
)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address carries a packet to, with the kind of embedding:
    IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::a.b.c.d`` (RFC 6052) or 6to4
    ``2002:aabb:ccdd::/48``; else None."""
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", ip.ipv4_mapped
    if ip in _NAT64_V6:
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    return None


def non_public_reason(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why ``ip`` is not a public address (``"loopback"``, ``"NAT64 of 10.0.0.1: private"``,
    ...), or None when it is a globally routable unicast address.

    IPv6 addresses that stand for an IPv4 address (IPv4-mapped, NAT64, 6to4) are judged by that
    address; other IPv6 must be global unicast (2000::/3) outside the special-purpose ranges.
    The standard library's checks are applied as well, so either list refusing is enough.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ipaddress.IPv6Address(int(ip))  # drop a %zone: containment is on the bits
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            kind, inner = embedded
            why = non_public_reason(inner)
            return f"{kind} of {inner}: {why}" if why else None
        listed = next((why for net, why in _NON_PUBLIC_V6 if ip in net), None)
        if listed is None and ip not in _GLOBAL_UNICAST_V6:
            listed = "reserved (outside global unicast 2000::/3)"
    else:
        listed = next((why for net4, why in _NON_PUBLIC_V4 if ip in net4), None)
    if listed is not None:
        return listed
    if ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_unspecified:
        return "loopback, link-local, multicast or unspecified"
    if ip.is_private or ip.is_reserved or not ip.is_global:
        return "private or reserved"
    return None


def is_public_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True when ``ip`` is a globally routable unicast address (see :func:`non_public_reason`)."""
    return non_public_reason(ip) is None


def _ipv4_number(part: str) -> int | None:
    """WHATWG "IPv4 number parser": decimal, ``0x`` hex or ``0`` octal; None on failure."""
    if not part:
        return None
    radix = 10
    if len(part) >= 2 and part[:2] in ("0x", "0X"):
        part, radix = part[2:], 16
    elif len(part) >= 2 and part[0] == "0":
        part, radix = part[1:], 8
    if not part:
        return 0
    digits = {10: "0123456789", 16: "0123456789abcdefABCDEF", 8: "01234567"}[radix]
    if not all(c in digits for c in part):
        return None
    return int(part, radix)


def _ends_in_a_number(host: str) -> bool:
    """WHATWG "ends in a number checker": the URL Standard reads such a host as IPv4."""
    parts = host.split(".")
    if parts[-1] == "":
        if len(parts) == 1:
            return False
        parts.pop()
    last = parts[-1]
    if last and all(c in "0123456789" for c in last):
        return True
    return _ipv4_number(last) is not None


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``host`` spells literally, or None for a name to resolve.

    ``[v6]`` and bare IPv6 literals (a ``%zone`` is kept), dotted quads, and every legacy IPv4
    spelling the WHATWG URL parser accepts: one to four parts, each decimal, ``0x`` hex or
    ``0``-prefixed octal, the last filling the remaining bytes, an optional trailing dot.
    Raises RefusedError for a host that ends in a number but is no valid IPv4 address.
    """
    bare = host.strip("[]")
    if ":" in bare:
        try:
            return ipaddress.IPv6Address(bare)
        except ValueError:
            raise RefusedError(f"refused: invalid IPv6 address {host}") from None
    if not _ends_in_a_number(bare):
        return None
    parts = bare.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    numbers = [_ipv4_number(p) for p in parts]
    valid = [n for n in numbers if n is not None]
    if (
        len(parts) > 4
        or len(valid) != len(numbers)
        or any(n > 255 for n in valid[:-1])
        or valid[-1] >= 256 ** (5 - len(valid))
    ):
        raise RefusedError(f"refused: {host} is not a valid IPv4 address")
    value = valid[-1]
    for i, n in enumerate(valid[:-1]):
        value += n * 256 ** (3 - i)
    return ipaddress.IPv4Address(value)


@dataclass(frozen=True, kw_only=True)
class AddressPolicy:
    """Which hosts may resolve to non-public addresses."""

    allow_private_networks: bool = False
    allow_hosts: tuple[str, ...] = ()

    def host_exempt(self, host: str) -> bool:
        """True when ``host`` may connect anywhere (private networks allowed or host listed).

        The host is matched as the URL spells it (case-insensitive, IPv6 brackets dropped): an
        allowed ``127.0.0.3`` does not allow ``2130706435`` or ``127.0.0.3.``."""
        return self.allow_private_networks or host.lower().strip("[]") in self.allow_hosts

    def check(self, host: str, addresses: Iterable[str]) -> list[str]:
        """The addresses of ``host`` that may be connected to, in order.

        Raises RefusedError naming the host, the first refused address and why when none may.
        A string that is not an IP address counts as refused.
        """
        addresses = list(addresses)
        if self.host_exempt(host):
            return addresses
        allowed: list[str] = []
        refusal: tuple[str, str] | None = None
        for address in addresses:
            try:
                why = non_public_reason(ipaddress.ip_address(address))
            except ValueError:
                why = "not an IP address"
            if why is None:
                allowed.append(address)
            elif refusal is None:
                refusal = (address, why)
        if not allowed:
            first, why = refusal or ("?", "no address")
            raise RefusedError(
                f"refused: {host} resolves to non-public address {first} ({why}) "
                "(set [fetch] allow_private_networks or allow_hosts to permit it)"
            )
        return allowed


class GuardedBackend(httpcore.NetworkBackend):
    """An httpcore backend that resolves, checks with an AddressPolicy, then connects by IP."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[_SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Connect to the first reachable allowed address of ``host``.

        The name is resolved here, once, and the socket opened on the checked address (an IP
        literal is not resolved at all). Raises RefusedError (logged at WARNING) when the
        policy forbids every address, httpcore.ConnectError when the name does not resolve or
        no allowed address accepts the connection.
        """
        try:
            allowed = self._policy.check(host, self._resolve(host, port))
        except RefusedError as exc:
            log.warning("SSRF guard: %s:%s: %s", host, port, exc)
            raise
        last_error: Exception | None = None
        for address in allowed:
            try:
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                last_error = exc
        raise httpcore.ConnectError(f"cannot connect to {host}:{port}: {last_error}")

    @staticmethod
    def _resolve(host: str, port: int) -> list[str]:
        """The addresses ``host`` stands for: its literal address, else a fresh DNS answer."""
        literal = literal_address(host)
        if literal is not None:
            return [str(literal)]
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        return list(dict.fromkeys(str(info[4][0]) for info in infos))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[_SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Unix sockets are never a crawl target."""
        log.warning("SSRF guard: refused unix socket %s", path)
        raise RefusedError(f"refused: unix socket {path}")

    def sleep(self, seconds: float) -> None:
        """Delegates to the standard backend."""
        self._inner.sleep(seconds)
