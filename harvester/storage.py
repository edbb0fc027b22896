"""The archive directory, opened for writing: a lock, the WARC writer and the catalog together.

Layout under the archive root::

    index.sqlite          the catalog (rebuildable from the WARC files)
    warc/YYYY/MM/*.warc.gz  the WARC files (``*.warc.gz.open`` while written)
    .lock                 held (flock) by the one process that writes

Only one process writes an archive at a time; a second one gets ArchiveLockedError at once.
Readers need no lock.
"""

from __future__ import annotations

import fcntl
import os
import platform
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO

from harvester.catalog import CATALOG_NAME, SqliteCatalog
from harvester.clock import Clock
from harvester.config import ArchiveSettings, FetchSettings
from harvester.errors import ArchiveError, ArchiveLockedError
from harvester.lifetime import Closeable
from harvester.version import __version__
from harvester.warc.reconcile import reconcile_catalog
from harvester.warc.repair import repair_open_files
from harvester.warc.writer import WarcFileWriter

__all__ = ["ArchiveStore", "lock_archive", "new_record_id"]

LOCK_NAME = ".lock"
# In-memory indexes keep bulk data here, in unnamed files (see ArchiveStore.spill_dir).
SPILL_DIR = "tmp"


def new_record_id() -> str:
    """A fresh WARC-Record-ID (``<urn:uuid:...>``)."""
    return f"<urn:uuid:{uuid.uuid4()}>"


def warcinfo_fields(fetch: FetchSettings) -> dict[str, str]:
    """What every WARC file says about how it was made."""
    return {
        "software": f"harvester/{__version__} (httpx, warcio)",
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iso.org/standard/68004.html",
        "http-header-user-agent": fetch.user_agent,
        "robots": "obey" if fetch.respect_robots else "ignore",
        "host": platform.node() or "unknown",
        "description": (
            "HTTP request and response headers are reconstructed from what httpx sent and "
            "received (names, values and order kept; original bytes, case and folding are not). "
            "Response bodies are stored as transferred with their content coding; a chunked "
            "transfer coding is removed and its header renamed X-Harvester-Orig-Transfer-Encoding."
        ),
    }


def lock_archive(root: Path) -> IO[str]:
    """Take the archive's writer lock (creating the root if needed); close the returned file to
    release it. Raises ArchiveLockedError when another process holds it, ArchiveError when the
    directory cannot be used."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = (root / LOCK_NAME).open("a+")
    except OSError as exc:
        raise ArchiveError(f"cannot open archive {root}: {exc}") from exc
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.seek(0)
        holder = lock.read().strip() or "?"
        lock.close()
        raise ArchiveLockedError(
            f"archive {root} is in use by another harvester process (pid {holder})"
        ) from None
    lock.seek(0)
    lock.truncate()
    lock.write(str(os.getpid()))
    lock.flush()
    return lock


class ArchiveStore(Closeable):
    """The archive root opened for writing (lock + WARC writer + catalog). A context manager.

    Raises ArchiveLockedError if another process writes to the same archive, ArchiveError if
    the directory cannot be created or written.
    """

    def __init__(
        self,
        settings: ArchiveSettings,
        fetch: FetchSettings,
        *,
        clock: Clock,
        new_id: Callable[[], str] = new_record_id,
        is_wire: Callable[[str], bool] = lambda name: False,
    ) -> None:
        self.root = settings.dir
        self.clock = clock
        self.new_id = new_id
        self._lock: IO[str] | None = lock_archive(self.root)
        catalog: SqliteCatalog | None = None
        try:
            # We hold the lock, so any .open file is a dead writer's: cut it back, close it.
            self.repairs = repair_open_files(self.root)
            catalog = SqliteCatalog(self.root / CATALOG_NAME)
            # Records a killed process wrote but never indexed join the catalog now.
            self.reconciled = reconcile_catalog(self.root, catalog, is_wire=is_wire)
            self.writer = WarcFileWriter(
                self.root,
                prefix=settings.prefix,
                rotate_size=settings.rotate_size,
                clock=clock,
                new_id=new_id,
                info=warcinfo_fields(fetch),
                on_close=catalog.mark_warc_complete,
            )
        except BaseException:
            if catalog is not None:
                catalog.close()
            self._lock.close()
            self._lock = None
            raise
        self.catalog = catalog

    def spill_dir(self) -> Path:
        """``<archive>/tmp``, made if missing: where in-memory indexes keep bulk data out of the
        heap, in unnamed files (the folder stays empty; nothing to clean up after a crash)."""
        path = self.root / SPILL_DIR
        try:
            path.mkdir(exist_ok=True)
        except OSError as exc:
            raise ArchiveError(f"cannot create {path}: {exc.strerror or exc}") from exc
        return path

    def close(self) -> None:
        """Close the WARC file (renaming it), the catalog, then release the lock."""
        try:
            self.writer.close()
        finally:
            self.catalog.close()
            if self._lock is not None:
                self._lock.close()
                self._lock = None
