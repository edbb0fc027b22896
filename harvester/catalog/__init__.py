"""The catalog: an index over the WARC files (captures, articles, stories) and the crawl's
shared state (outlet polls, the frontier, validators, templates, fleet politeness).

The WARC files are the source of truth; the catalog maps each capture to its file and offset
and keeps the export record of each archived article so readers need not open WARC files. One
Protocol (:class:`Catalog`), two engines: SQLite (the default, embedded, ``<archive>/index.sqlite``)
and PostgreSQL (a fleet of machines on one database). :func:`open_catalog` picks the engine from
the catalog URL (``[archive] catalog``, ``--catalog``).
"""

from __future__ import annotations

from pathlib import Path

from harvester.catalog.fulltext import FullTextQuery, parse_query
from harvester.catalog.protocol import Catalog
from harvester.catalog.rows import (
    ArticleRow,
    CaptureRow,
    CopyLink,
    DocRow,
    FleetDue,
    FrontierItem,
    OutletLinks,
    OutletState,
    RobotsEntry,
    SearchHit,
    StoryFilter,
    StoryMember,
    StorySummary,
    Validators,
)
from harvester.catalog.sql import SCHEMA_VERSION, SqlCatalog
from harvester.catalog.sqlite import BUSY_TIMEOUT, CATALOG_NAME, SqliteCatalog
from harvester.config import check_catalog_url, is_postgres
from harvester.errors import ArchiveError

__all__ = [
    "BUSY_TIMEOUT",
    "CATALOG_NAME",
    "SCHEMA_VERSION",
    "ArticleRow",
    "CaptureRow",
    "Catalog",
    "CopyLink",
    "DocRow",
    "FleetDue",
    "FrontierItem",
    "FullTextQuery",
    "OutletLinks",
    "OutletState",
    "RobotsEntry",
    "SearchHit",
    "SqlCatalog",
    "SqliteCatalog",
    "StoryFilter",
    "StoryMember",
    "StorySummary",
    "Validators",
    "catalog_exists",
    "check_catalog_url",
    "is_postgres",
    "open_catalog",
    "parse_query",
]


def _sqlite_path(target: str | None, root: Path) -> Path:
    if target is None:
        return root / CATALOG_NAME
    return (
        Path(target.removeprefix("sqlite://")) if target.startswith("sqlite:///") else Path(target)
    )


def catalog_exists(target: str | None, root: Path) -> bool:
    """Whether a reader can expect an archive there (a PostgreSQL database is asked on open)."""
    return is_postgres(target) or _sqlite_path(check_catalog_url(target), root).exists()


def open_catalog(target: str | None, root: Path, *, readonly: bool = False) -> SqlCatalog:
    """The catalog named by ``target`` (None: ``<root>/index.sqlite``). Raises ConfigError for
    a URL of no known kind, ArchiveError when it cannot be opened (with one clear line)."""
    target = check_catalog_url(target)
    if is_postgres(target):
        assert target is not None
        try:
            from harvester.catalog.postgres import PostgresCatalog  # noqa: PLC0415
        except ImportError as exc:  # pragma: no cover - psycopg is a dependency
            raise ArchiveError(f"PostgreSQL catalogs need psycopg: {exc}") from exc
        return PostgresCatalog(target, readonly=readonly)
    return SqliteCatalog(_sqlite_path(target, root), readonly=readonly)
