"""``harvester rebuild-index``: rebuild the catalog from the WARC files alone.

The WARC files are the source of truth; the catalog is an index over them. Rebuilding reads every
file in order (file names sort by creation time, records by offset, which is the order the
writer indexed them in) and recreates:

* **captures** from ``response`` and ``revisit`` records, and, for articles imported from other
  people's WARC files, from the source record the metadata names (``imported_from``);
* **articles** from ``metadata`` records that carry an export record, with the text of the
  ``conversion`` record written beside it (a metadata-only record, such as a re-resolution,
  keeps the article's previous text), so ``export`` gives the same records, in the same order,
  with the same cursors;
* **stories** (the dedup index's rows) from each article's newest record: its story, evidence
  and fingerprint;
* which WARC files are fully indexed.

Not in the WARC files, so not rebuilt: the daemon's poll state and frontier (a restarted daemon
polls every outlet at once and finds its URLs already captured), conditional-request validators,
and learned templates (learned again as articles arrive; ``reclean`` applies them).

The old catalog is kept beside the new one (``index.sqlite.old-<UTC time>``), never deleted.
A PostgreSQL catalog (a fleet's) is rebuilt the same way into a temporary SQLite file, whose
rows then replace the database's in one transaction; the old tables are kept in a schema
``harvester_old_<UTC time>`` of that database. The fleet must be stopped: besides this
machine's writers (the archive's ``writers/``), any live lease in the catalog (a writer of
another machine) refuses the rebuild.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from harvester.catalog import CATALOG_NAME, SqliteCatalog, is_postgres
from harvester.errors import ArchiveError, ArchiveLockedError
from harvester.warc.reconcile import WarcIndexer, warc_files_in_order
from harvester.warc.repair import repair_open_files
from harvester.writers import exclusive

__all__ = ["RebuildReport", "rebuild_catalog"]

log = logging.getLogger("harvester.rebuild")


@dataclass(kw_only=True)
class RebuildReport:
    """What a rebuild found."""

    files: int = 0
    captures: int = 0
    articles: int = 0
    missing_sources: list[str] = field(default_factory=list)
    old_catalog: Path | None = None
    # A PostgreSQL catalog's old tables: the schema they were kept in.
    old_schema: str | None = None


def _checkpoint(path: Path) -> None:
    """Fold the old catalog's WAL into it, so the file moved aside is whole on its own."""
    try:
        db = sqlite3.connect(path)
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()
    except sqlite3.Error as exc:
        log.warning("could not checkpoint the old catalog %s: %s", path, exc)


def rebuild_catalog(
    root: Path,
    *,
    is_wire: Callable[[str], bool],
    progress: Callable[[str], None] | None = None,
    catalog: str | None = None,
) -> RebuildReport:
    """Rebuild ``root``'s catalog (``catalog``: a PostgreSQL URL, else the SQLite file) from
    its WARC files (see the module docstring).

    Holds the archive alone throughout (any live writer makes it fail at once with
    ArchiveLockedError; none can start meanwhile). Raises ArchiveError when a WARC file cannot
    be read; the old catalog is then left in place untouched.
    """
    lock = contextlib.ExitStack()
    lock.enter_context(exclusive(root))
    try:
        if catalog is not None and is_postgres(catalog):
            return _rebuild_postgres(root, catalog, is_wire=is_wire, progress=progress)
        building, report = _build(root, is_wire=is_wire, progress=progress)
        current = root / CATALOG_NAME
        if current.exists():
            _checkpoint(current)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            report.old_catalog = root / f"{CATALOG_NAME}.old-{stamp}"
            current.replace(report.old_catalog)
            for suffix in ("-wal", "-shm"):
                Path(str(current) + suffix).unlink(missing_ok=True)
        building.replace(current)
        for suffix in ("-wal", "-shm"):
            Path(str(building) + suffix).unlink(missing_ok=True)
        return report
    except OSError as exc:
        raise ArchiveError(f"cannot rebuild the catalog of {root}: {exc}") from exc
    finally:
        lock.close()


def _build(
    root: Path, *, is_wire: Callable[[str], bool], progress: Callable[[str], None] | None
) -> tuple[Path, RebuildReport]:
    """Index every WARC file of ``root`` into a fresh SQLite catalog beside the old one."""
    # The archive is ours alone: no writer is live, every .open file is a dead one's.
    repair_open_files(root, live=lambda _writer: False)
    building = root / (CATALOG_NAME + ".rebuild")
    for leftover in root.glob(CATALOG_NAME + ".rebuild*"):
        leftover.unlink()
    files = warc_files_in_order(root)
    with SqliteCatalog(building) as catalog:
        indexer = WarcIndexer(root, catalog, is_wire)
        for n, path in enumerate(files, 1):
            indexer.file(path)
            if progress is not None:
                progress(f"[{n}/{len(files)}] {path.relative_to(root)}")
    _checkpoint(building)
    report = RebuildReport(
        files=len(files),
        captures=indexer.captures,
        articles=indexer.articles,
        missing_sources=indexer.missing_sources,
    )
    return building, report


def _rebuild_postgres(
    root: Path,
    url: str,
    *,
    is_wire: Callable[[str], bool],
    progress: Callable[[str], None] | None,
) -> RebuildReport:
    """The PostgreSQL rebuild (see the module docstring); the caller holds ``exclusive``."""
    from harvester.catalog.postgres import PostgresCatalog  # noqa: PLC0415

    with PostgresCatalog(url, pool_size=1) as target:
        held = target.leases()
        if held:
            raise ArchiveLockedError(
                f"catalog {target.name} has live writers (leases held by "
                f"{', '.join(sorted(held))}): stop the fleet before rebuild-index"
            )
        building, report = _build(root, is_wire=is_wire, progress=progress)
        try:
            report.old_schema = target.replace_from(building)
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(str(building) + suffix).unlink(missing_ok=True)
    return report
