"""Politeness for a whole fleet: the seam between the fetcher and the shared catalog.

One fetcher keeps per-host limits in memory (``HostGate``); several processes and machines
writing one archive must keep them together: at most ``per_host_connections`` requests at a
time to a host across the fleet, ``per_host_delay`` (or Crawl-delay) between any two of them, a
Retry-After seen by one writer pausing the host for all, and one robots.txt fetch per host per
fleet per cache time. The catalog implements :class:`FleetLedger` (``harvester.catalog``); the
fetcher only sees this Protocol, so ``net/`` never imports the catalog.

A ledger that fails (the database is down) must not stop fetching politely within a process:
the fetcher's own gate still holds, and the failure is logged once per outage.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["FleetLedger", "RobotsAnswer"]


class RobotsAnswer(Protocol):
    """A robots.txt answer shared by the fleet (``harvester.catalog.RobotsEntry``)."""

    @property
    def status(self) -> int:
        """The final HTTP status of the robots.txt fetch."""
        ...

    @property
    def body(self) -> bytes:
        """The body as fetched."""
        ...

    @property
    def fresh_for(self) -> float:
        """Seconds it stays fresh."""
        ...


class FleetLedger(Protocol):
    """Per-host request slots, delays, pauses and robots.txt answers shared by every writer.

    Every method may raise ``harvester.errors.ArchiveError`` when the shared store fails.
    """

    def host_acquire(
        self, netloc: str, owner: str, *, slots: int, hold: float
    ) -> tuple[str | None, float]:
        """A slot token and 0, or None and the seconds to wait before asking again."""
        ...

    def host_release(self, token: str, netloc: str, *, delay: float) -> None:
        """Give the slot back; the next request to ``netloc`` waits ``delay`` seconds."""
        ...

    def host_pause(self, netloc: str, seconds: float) -> None:
        """No writer asks ``netloc`` anything for ``seconds``."""
        ...

    def robots_lookup(self, origin: str, owner: str, *, hold: float) -> RobotsAnswer | float | None:
        """A fresh shared answer; None: ``owner`` fetches it now; a float: wait that long."""
        ...

    def robots_store(self, origin: str, *, status: int, body: bytes, ttl: float) -> None:
        """Share an answer for ``ttl`` seconds."""
        ...
