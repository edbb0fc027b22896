"""SSRF guard: which network addresses harvester may connect to.

Private, loopback, link-local, multicast, reserved and unspecified addresses are refused unless
``allow_private_networks`` is set or the host is listed in ``allow_hosts``. The check runs where the
socket is opened (:class:`GuardedBackend`, an httpcore network backend), on the addresses that the
connection actually uses, so a DNS answer that changes between check and connect (rebinding) cannot
slip through, and every redirect hop is checked the same way.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

import httpcore

from harvester.errors import RefusedError

__all__ = ["AddressPolicy", "GuardedBackend", "is_public_address"]

_SOCKET_OPTION = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


def is_public_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True when ``ip`` is a globally routable unicast address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


@dataclass(frozen=True, kw_only=True)
class AddressPolicy:
    """Which hosts may resolve to non-public addresses."""

    allow_private_networks: bool = False
    allow_hosts: tuple[str, ...] = ()

    def host_exempt(self, host: str) -> bool:
        """True when ``host`` may connect anywhere (private networks allowed or host listed)."""
        return self.allow_private_networks or host.lower().strip("[]") in self.allow_hosts

    def check(self, host: str, addresses: Iterable[str]) -> list[str]:
        """The addresses of ``host`` that may be connected to, in order.

        Raises RefusedError naming the host and the first refused address when none may.
        """
        addresses = list(addresses)
        if self.host_exempt(host):
            return addresses
        allowed = [a for a in addresses if is_public_address(ipaddress.ip_address(a))]
        if not allowed:
            first = addresses[0] if addresses else "?"
            raise RefusedError(
                f"refused: {host} resolves to non-public address {first} "
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

        Raises RefusedError when the policy forbids every address, httpcore.ConnectError when
        the name does not resolve or no allowed address accepts the connection.
        """
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        last_error: Exception | None = None
        for address in self._policy.check(host, addresses):
            try:
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                last_error = exc
        raise httpcore.ConnectError(f"cannot connect to {host}:{port}: {last_error}")

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[_SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Unix sockets are never a crawl target."""
        raise RefusedError(f"refused: unix socket {path}")

    def sleep(self, seconds: float) -> None:
        """Delegates to the standard backend."""
        self._inner.sleep(seconds)
