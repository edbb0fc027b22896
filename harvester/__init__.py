"""harvester: scrape and archive syndicated wire stories, with clean text and provenance.

The public API (everything else is internal and may change)::

    from harvester import fetch_url, load_settings
    record = fetch_url("https://example.org/story", settings=load_settings("config/harvester.toml"))
    print(record.title, record.original.outlet)

    from harvester import Archive              # reading an archive, while a daemon writes
    with Archive("archive/") as archive:
        for article in archive.articles(since=cursor):
            ...
        cursor = archive.cursor
"""

from __future__ import annotations

from pathlib import Path

from harvester.archive import Archive, ArchivedArticle
from harvester.config import (
    ArchiveSettings,
    FetchSettings,
    Outlet,
    Settings,
    load_settings,
)
from harvester.errors import (
    ArchiveError,
    ArchiveLockedError,
    ConfigError,
    DiscoveryError,
    FetchError,
    HarvesterError,
    NotAnArticleError,
    RefusedError,
)
from harvester.models import (
    Evidence,
    ExportRecord,
    FetchRequest,
    Original,
    WarcLocation,
)
from harvester.version import __version__

__all__ = [
    "Archive",
    "ArchiveError",
    "ArchiveLockedError",
    "ArchiveSettings",
    "ArchivedArticle",
    "ConfigError",
    "DiscoveryError",
    "Evidence",
    "ExportRecord",
    "FetchError",
    "FetchRequest",
    "FetchSettings",
    "HarvesterError",
    "NotAnArticleError",
    "Original",
    "Outlet",
    "RefusedError",
    "Settings",
    "WarcLocation",
    "__version__",
    "fetch_url",
    "load_settings",
]


def fetch_url(
    url: str,
    *,
    settings: Settings | None = None,
    archive: Path | str | None = None,
    outlet: str | None = None,
) -> ExportRecord:
    """Fetch, archive and extract one URL; return its export record.

    The same path as ``harvester fetch URL``. Raises NotAnArticleError, FetchError (network or
    HTTP error status), RefusedError (robots, size cap, private address) or ArchiveError.
    """
    from harvester.models import Archived, FetchFailed, HttpError, NotArticle, Refused  # noqa: PLC0415
    from harvester.pipeline import Harvester  # noqa: PLC0415

    settings = settings or Settings()
    if archive is not None:
        settings = settings.with_archive_dir(Path(archive))
    with Harvester(settings) as harvester:
        outcome = harvester.harvest(FetchRequest(url=url, outlet=outlet))
    if isinstance(outcome, Archived):
        return outcome.record
    if isinstance(outcome, NotArticle):
        raise NotAnArticleError(f"not an article: {outcome.reason}: {outcome.url}")
    if isinstance(outcome, HttpError):
        raise FetchError(f"HTTP {outcome.status} {outcome.reason}: {outcome.url}")
    if isinstance(outcome, Refused):
        raise RefusedError(outcome.reason)
    assert isinstance(outcome, FetchFailed)
    raise FetchError(outcome.reason)
