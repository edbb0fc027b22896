"""One exception tree for harvester.

    HarvesterError                 base; every error harvester raises on purpose
    ├── ConfigError                the configuration is wrong (file, outlet and key named); exit 2
    ├── FetchError                 network or HTTP failure (DNS, connect, timeout, 5xx); exit 4
    ├── RefusedError               we chose not to fetch or keep it (robots, size cap, private
    │                              address, scheme); exit 5
    ├── NotAnArticleError          fetched fine but the page is not an article; exit 3
    ├── DiscoveryError             a feed, sitemap or section page is unparsable or unsafe
    ├── ArchiveError               the archive could not be read or written (disk, catalog); exit 6
    │   ├── ArchiveLockedError     rebuild-index holds the archive alone, or writers keep it from it
    │   └── ArchiveUnavailableError  no space left, or the catalog is locked: the daemon pauses
    │                              fetching and tries again instead of stopping
    └── PackageError               an evidence package (WACZ) was not written
        ├── NoSuchStoryError       ``--story`` names no story of the archive; exit 7
        ├── EmptySelectionError    the filters select no article; exit 8
        └── OutputExistsError      the output path exists or cannot be written; exit 9

Third-party exceptions (httpx, sqlite3, warcio, lxml) never escape the module that imports the
library: they are translated at that seam into one of these.  Expected outcomes of a fetch (refused,
not an article) travel as values (see ``harvester.models``); the exceptions with the same names are
what the public convenience API (``fetch_url``) raises for callers that prefer exceptions.
"""

from __future__ import annotations

import errno

__all__ = [
    "NO_SPACE",
    "ArchiveError",
    "ArchiveLockedError",
    "ArchiveUnavailableError",
    "ConfigError",
    "DiscoveryError",
    "EmptySelectionError",
    "FetchError",
    "HarvesterError",
    "NoSuchStoryError",
    "NotAnArticleError",
    "OutputExistsError",
    "PackageError",
    "RefusedError",
    "archive_os_error",
]

# OSError numbers that pass once space returns: the daemon pauses instead of stopping.
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


class HarvesterError(Exception):
    """Base class of every error harvester raises on purpose."""

    exit_code = 1


class ConfigError(HarvesterError):
    """The configuration is invalid. The message names the file, the outlet and the key."""

    exit_code = 2


class NotAnArticleError(HarvesterError):
    """The page was fetched but is not an article (not HTML, too little text, ...)."""

    exit_code = 3


class FetchError(HarvesterError):
    """A network or HTTP failure: DNS, connect, TLS, timeout, deadline, HTTP error status."""

    exit_code = 4


class RefusedError(HarvesterError):
    """harvester refused the URL or its body: robots.txt, size cap, private address, scheme."""

    exit_code = 5


class DiscoveryError(HarvesterError):
    """A feed, sitemap or section page could not be parsed, or was refused as unsafe (XML bombs)."""

    exit_code = 4


class ArchiveError(HarvesterError):
    """The archive (WARC files or catalog) could not be read or written."""

    exit_code = 6


class ArchiveLockedError(ArchiveError):
    """rebuild-index refused while writers run, or a writer refused while rebuild-index runs."""


class ArchiveUnavailableError(ArchiveError):
    """The archive cannot take writes for now (disk full, quota, catalog locked by someone
    else); nothing written was acknowledged, and the same work may be tried again later."""


class PackageError(HarvesterError):
    """An evidence package (``export --format wacz``) was not written; nothing is left under
    the output's name."""

    exit_code = 6


class NoSuchStoryError(PackageError):
    """``--story`` names no story (nor an archived article's URL) of the archive."""

    exit_code = 7


class EmptySelectionError(PackageError):
    """The filters (``--story``, ``--outlet``, ``--since``) select no article."""

    exit_code = 8


class OutputExistsError(PackageError):
    """The output path exists already (never overwritten) or cannot be written."""

    exit_code = 9


def archive_os_error(message: str, exc: OSError) -> ArchiveError:
    """``exc`` from writing archive data as ours: ArchiveUnavailableError when the disk or
    quota is full (it passes), ArchiveError otherwise."""
    kind = ArchiveUnavailableError if exc.errno in NO_SPACE else ArchiveError
    return kind(f"{message}: {exc}")
