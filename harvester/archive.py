"""Reading an archive: the API downstream pipelines use instead of parsing WARC files.

    from harvester import Archive

    with Archive("archive/") as archive:
        for article in archive.articles(since=saved_cursor):
            use(article.title, article.text, article.original.outlet)
            raw = article.raw_body()           # the HTTP body as archived, read on demand
        saved_cursor = article.cursor          # or archive.cursor: where the next read starts

An archive is an append-only log: every change to an article (a re-clean, a new original found
for its story) appends a new metadata record and a new catalog row. The **cursor** is the id of
the newest catalog row a reader has seen; ``articles(since=cursor)`` yields every article whose
newest record came after it, once, in the order of those records. Cursors only grow.

Safe while writers write: the catalog is opened read-only (SQLite in WAL mode, so readers
never block a writer nor wait for one; PostgreSQL's snapshots do the same), rows are only
written after their WARC records are complete and fsynced, and reads go in short batches
(keyset pagination), so a long export holds no lock and needs constant memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from harvester.catalog import CATALOG_NAME, catalog_exists, open_catalog
from harvester.dedup.view import StoryView, story_lead, story_view
from harvester.errors import ArchiveError
from harvester.lifetime import Closeable
from harvester.models import ExportRecord
from harvester.warc.reader import StoredRecord, read_record

__all__ = ["Archive", "ArchivedArticle", "parse_cursor"]

BATCH = 500


def parse_cursor(value: str | int | None) -> int:
    """A cursor from its printed form (a non-negative integer); ValueError otherwise."""
    if value is None:
        return 0
    if isinstance(value, int):
        cursor = value
    else:
        text = value.strip()
        if not text.isdigit():
            raise ValueError(f"bad cursor {value!r} (a cursor is a non-negative integer)")
        cursor = int(text)
    if cursor < 0:
        raise ValueError(f"bad cursor {value!r} (a cursor is a non-negative integer)")
    return cursor


@dataclass(frozen=True, kw_only=True)
class ArchivedArticle(ExportRecord):
    """An export record (every field of ``harvester export``), its ``cursor`` position, and
    lazy access to the raw capture it came from."""

    cursor: int
    root: Path = field(repr=False, compare=False)
    metadata: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def response(self) -> StoredRecord:
        """The archived ``response`` record (HTTP status, headers, body), read now."""
        return read_record(self.root, self.warc.file, self.warc.offset)

    def raw_body(self) -> bytes:
        """The HTTP entity body as archived, content coding undone."""
        return self.response().content


def _article(
    record: ExportRecord, cursor: int, root: Path, payload: dict[str, Any]
) -> ArchivedArticle:
    values = {f.name: getattr(record, f.name) for f in fields(ExportRecord)}
    return ArchivedArticle(**values, cursor=cursor, root=root, metadata=payload)


class Archive(Closeable):
    """An archive root opened for reading. Use as a context manager.

    ``catalog``: the archive's catalog when it is not ``<path>/index.sqlite`` (a PostgreSQL
    URL, ``postgresql://user@host:port/db``, or another SQLite file). Raises ArchiveError when
    there is no archive there.
    """

    def __init__(self, path: str | Path, *, catalog: str | None = None) -> None:
        self.root = Path(path)
        if not catalog_exists(catalog, self.root):
            raise ArchiveError(f"no archive at {self.root} (no {CATALOG_NAME})")
        self._catalog = open_catalog(catalog, self.root, readonly=True)

    def close(self) -> None:
        """Close the catalog connection."""
        self._catalog.close()

    @property
    def cursor(self) -> int:
        """The position after everything archived so far (pass it as ``since`` next time)."""
        return self._catalog.max_article_id()

    def articles(
        self,
        since: str | int | None = None,
        *,
        outlet: str | None = None,
        story: str | None = None,
        until: int | None = None,
    ) -> Iterator[ArchivedArticle]:
        """Every article whose newest record lies after ``since`` (all of them by default), in
        the order of those records; only ``outlet``'s or ``story``'s when given. The set is the
        archive as it stood when the iteration began (or at cursor ``until``); later records
        wait for the next call."""
        after = parse_cursor(since)
        upto = self._catalog.max_article_id() if until is None else until
        while True:
            batch = self._catalog.changed_articles(
                after, upto, limit=BATCH, outlet=outlet, story=story
            )
            if not batch:
                return
            for row_id, row in batch:
                yield _article(row.record, row_id, self.root, row.payload)
            after = batch[-1][0]

    def get(self, url: str) -> ArchivedArticle | None:
        """The newest record of the article at ``url`` (final or requested URL), or None."""
        record = self._catalog.article(url)
        if record is None:
            return None
        row = self._catalog.latest_article_row(record.final_url)
        return _article(
            record, self._row_id(record.final_url), self.root, row.payload if row else {}
        )

    def _row_id(self, final_url: str) -> int:
        return self._catalog.article_row_id(final_url)

    def story(self, story_id: str) -> StoryView | None:
        """One story: its members' newest records, its original (or lead) and their diffs."""
        return story_view(self._catalog, story_id)

    def story_lead(self, story_id: str) -> tuple[ExportRecord, tuple[ExportRecord, ...]] | None:
        """A story's lead record (its original, or its fullest member) and its members' newest
        records, without diffs (cheap); None for an unknown story."""
        return story_lead(self._catalog, story_id)

    def stories(self, since: str | int | None = None) -> Iterator[StoryView]:
        """Every story with a record after ``since``, once each, in the order of the first such
        record."""
        seen: set[str] = set()
        for article in self.articles(since):
            if article.story in seen:
                continue
            seen.add(article.story)
            view = story_view(self._catalog, article.story)
            if view is not None:
                yield view
