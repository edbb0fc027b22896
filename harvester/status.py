"""What the daemon knows of its outlets, frontier and writers: what ``harvester status`` prints
and the story desk's status page shows (one report, two views)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from harvester.catalog import Catalog
from harvester.config import Settings
from harvester.errors import ArchiveError
from harvester.writers import registered_writers

__all__ = ["StatusPage", "status_page"]


@dataclass(frozen=True, kw_only=True)
class StatusPage:
    """What ``harvester status`` prints: per outlet polls and errors, totals, the frontier, and
    the writers: each registered one (its state) and each holder of live leases, with them."""

    outlets: tuple[dict[str, Any], ...]
    totals: dict[str, int]
    frontier: dict[str, int]
    writers: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "outlets": list(self.outlets),
            "totals": self.totals,
            "frontier": self.frontier,
            "writers": list(self.writers),
        }


def status_page(catalog: Catalog, settings: Settings) -> StatusPage:
    """The daemon's outlets (configured or polled), their polls, the frontier's size."""
    states = catalog.outlet_states()
    counts = catalog.article_counts()
    totals = catalog.counts()
    try:
        frontier = catalog.frontier_counts()
    except ArchiveError:  # a catalog no daemon of this version has opened yet
        frontier = {"pending": 0, "failed": 0}
    names = list(dict.fromkeys([*(o.name for o in settings.outlets), *states]))
    rows = []
    for name in names:
        state = states.get(name)
        next_poll = (
            datetime.fromtimestamp(state.next_poll, UTC).isoformat(timespec="seconds")
            if state
            else None
        )
        rows.append(
            {
                "outlet": name,
                "articles": counts.get(name, 0),
                "last_poll": state.last_poll if state else None,
                "next_poll": next_poll,
                "poll_interval": state.interval if state else None,
                "failures": state.failures if state else 0,
                "last_error": state.last_error if state else None,
            }
        )
    return StatusPage(
        outlets=tuple(rows), totals=totals, frontier=frontier, writers=_writers(catalog, settings)
    )


def _writers(catalog: Catalog, settings: Settings) -> tuple[dict[str, Any], ...]:
    """The archive's registered writers and every holder of live leases (a writer of another
    machine writing elsewhere holds leases without being registered here: ``unregistered``)."""
    try:
        leases = catalog.leases()
    except ArchiveError:  # a catalog no daemon of this version has opened yet
        leases = {}
    none = {"urls": 0, "polls": 0, "host_slots": 0}
    rows = []
    for info in registered_writers(settings.archive.dir):
        rows.append(
            {
                "writer": info.writer,
                "state": info.state,
                "host": info.host,
                "pid": info.pid,
                "started": info.started,
                "leases": leases.pop(info.writer, none),
            }
        )
    for writer, held in sorted(leases.items()):
        rows.append(
            {
                "writer": writer,
                "state": "unregistered",
                "host": None,
                "pid": None,
                "started": None,
                "leases": held,
            }
        )
    return tuple(rows)
