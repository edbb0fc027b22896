"""The archive directory, opened for writing: a registered writer, its WARC writer and the
catalog together.

Layout under the archive root::

    index.sqlite            the catalog (rebuildable from the WARC files)
    warc/YYYY/MM/*.warc.gz  the WARC files (``*.warc.gz.open`` while written); each writer
                            writes its own, named with its writer id
    writers/<id>.lock       one per writer, held (flock) while it runs (see harvester.writers)
    writers/.exclusive      held shared by writers, exclusive by rebuild-index
    writers/.repair         serialises start-up repair
    tmp/                    in-memory indexes' bulk data, in unnamed files

Any number of processes write one archive at once. Each registers as a writer; at start it
repairs the ``.open`` files of writers that died (a killed process's lock is released by the
kernel), never a live writer's. Readers need no lock.
"""

from __future__ import annotations

import contextlib
import platform
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from harvester.catalog import SqlCatalog, open_catalog
from harvester.clock import Clock
from harvester.config import ArchiveSettings, FetchSettings
from harvester.errors import ArchiveError
from harvester.lifetime import Closeable
from harvester.version import __version__
from harvester.warc.reconcile import reconcile_catalog
from harvester.warc.repair import Repair, repair_open_files
from harvester.warc.writer import WarcFileWriter
from harvester.writers import (
    Writer,
    dead_writers,
    is_registered,
    reaping,
    repair_lock,
    sweep_staged,
)

__all__ = ["ArchiveStore", "new_record_id"]

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


class ArchiveStore(Closeable):
    """The archive root opened for writing (registered writer + WARC writer + catalog). A
    context manager.

    Other processes may write the same archive at the same time. At start, under the archive's
    repair lock, the files of dead writers are repaired (``repairs``; ``reaped`` lists those
    writers' ids, so their catalog leases can be released) and records they wrote but never
    indexed join the catalog (``reconciled``). ``writer_id`` names this process's files.

    Raises ArchiveLockedError while rebuild-index holds the archive, ArchiveError if the
    directory cannot be created or written.
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
        self._registration = Writer(self.root, clock=clock)
        self.writer_id: str = self._registration.id
        self.reaped: list[str] = []
        self._is_wire = is_wire
        catalog: SqlCatalog | None = None
        try:
            with repair_lock(self.root):
                self.repairs = self._repair_dead_writers()
                catalog = open_catalog(settings.catalog, self.root)
                # Records a killed process wrote but never indexed join the catalog now.
                self.reconciled = reconcile_catalog(self.root, catalog, is_wire=is_wire)
            self.writer = WarcFileWriter(
                self.root,
                prefix=settings.prefix,
                rotate_size=settings.rotate_size,
                clock=clock,
                new_id=new_id,
                info=warcinfo_fields(fetch),
                writer=self.writer_id,
                on_close=catalog.mark_warc_complete,
            )
        except BaseException:
            if catalog is not None:
                catalog.close()
            self._registration.close()
            raise
        self.catalog = catalog

    def reap_dead_writers(self) -> list[str]:
        """Repair the files of writers of this machine that died since we started (the
        daemon asks now and then, so their leases can be released at once); their ids."""
        if not dead_writers(self.root):
            return []
        with repair_lock(self.root):
            self.repairs.extend(self._repair_dead_writers())
            reaped = list(self.reaped)
            self.reconciled = reconcile_catalog(self.root, self.catalog, is_wire=self._is_wire)
        return reaped

    def _repair_dead_writers(self) -> list[Repair]:
        """Repair the ``.open`` files of every dead writer we get to reap (their lock files go
        once their files are whole), and of writers no longer registered at all (files from
        before archives had several writers, or left by a writer that could not close them)."""
        sweep_staged(self.root, now=time.time())
        with contextlib.ExitStack() as held:
            reaped = [
                writer_id
                for writer_id in dead_writers(self.root)
                if held.enter_context(reaping(self.root, writer_id))
            ]

            def live(writer_id: str) -> bool:
                # A reaped writer is dead; any other still registered is live, or is judged
                # elsewhere (another machine's), or another process is reaping it.
                return writer_id not in reaped and is_registered(self.root, writer_id)

            repairs = repair_open_files(self.root, live=live)
        self.reaped = reaped
        return repairs

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
        """Close the WARC file (renaming it), the catalog, then unregister the writer."""
        try:
            self.writer.close()
        finally:
            try:
                self.catalog.close()
            finally:
                self._registration.close()
