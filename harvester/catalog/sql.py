"""The catalog's queries, written once for both engines.

:class:`SqlCatalog` holds every query of the :class:`~harvester.catalog.protocol.Catalog`
Protocol in the SQL that SQLite and PostgreSQL share (``?`` placeholders, ``ON CONFLICT``
upserts, ``RETURNING``, window functions); an engine subclass supplies the connection, the
transaction (:meth:`SqlCatalog._tx`), its clock expression (:attr:`SqlCatalog.NOW`), the row
locking clause of a claim (:attr:`SqlCatalog.SKIP_LOCKED`), the placement lock and the schema.

Leases (frontier URLs, outlet polls, host request slots, a robots.txt being fetched) are rows
with an owner (a writer id, see ``harvester.writers``) and an expiry on the catalog's clock. A
writer renews its leases while it lives; a dead writer's leases lapse, or are released at once
by whoever finds it dead (on one machine, by its lock file).
"""

from __future__ import annotations

import json
import threading
import uuid
from abc import abstractmethod
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from harvester.catalog.fulltext import FullTextQuery
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
from harvester.dedup.stories import epoch
from harvester.extract.templates import TemplateChanges
from harvester.lifetime import Closeable
from harvester.models import Evidence, ExportRecord

__all__ = ["SCHEMA_VERSION", "SqlCatalog", "Tx", "article_columns", "backfill_article_columns"]

# 1-3: one writer (issues 2-7); 4: many writers (leases, fleet politeness, placement order);
# 5: the story desk (full-text search; each article row's original and run time as columns).
SCHEMA_VERSION = 5
# frontier_claim leaves out at most this many hosts (bound parameters per statement).
MAX_SKIP_HOSTS = 500

Params = Sequence[object]
Row = tuple[Any, ...]


class Tx(Protocol):
    """One transaction of an engine: run statements, read rows."""

    def execute(self, sql: str, params: Params = ()) -> list[Row]:
        """Run one statement; its rows (empty for statements that return none)."""
        ...

    def executemany(self, sql: str, params: Sequence[Params]) -> None:
        """Run one statement once per parameter tuple."""
        ...


def _template_keys_text(keys: dict[str, int]) -> str:
    """An article's block keys and their weights as stored: ``key:weight`` by key, spaces."""
    return " ".join(f"{k}:{w}" for k, w in sorted(keys.items()))


def _template_keys(text: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for item in text.split():
        key, _, weight = item.partition(":")
        found[key] = int(weight)
    return found


def template_statements(outlet: str, model: dict[str, Any]) -> list[tuple[str, Sequence[Params]]]:
    """Statements replacing the stored model of ``outlet`` with ``model`` (to_json form)."""
    params = {k: v for k, v in model.items() if k not in ("articles", "weights", "learned")}
    weights: dict[str, int] = model.get("weights", {})
    return [
        ("DELETE FROM template_articles WHERE outlet = ?", [(outlet,)]),
        ("DELETE FROM template_learned WHERE outlet = ?", [(outlet,)]),
        (
            "INSERT INTO templates (outlet, model, version) VALUES (?, ?, 1)"
            " ON CONFLICT (outlet) DO UPDATE SET model = excluded.model,"
            " version = templates.version + 1",
            [(outlet, json.dumps(params, sort_keys=True))],
        ),
        (
            "INSERT INTO template_articles (outlet, article, rank, keys) VALUES (?, ?, ?, ?)",
            [
                (outlet, article, rank, _template_keys_text({k: weights[k] for k in keys}))
                for rank, (article, keys) in enumerate(model.get("articles", []))
            ],
        ),
        (
            "INSERT INTO template_learned (outlet, key, sample, articles) VALUES (?, ?, ?, ?)",
            [(outlet, b["key"], b["sample"], b["articles"]) for b in model.get("learned", [])],
        ),
    ]


def article_columns(record: ExportRecord) -> tuple[int, str | None, str | None, float | None]:
    """The columns an article row keeps beside its record (schema 5) for the story desk's
    queries: whether it is its story's original, the original's outlet and URL, and when it
    ran (published, else fetched; Unix seconds)."""
    ran = epoch(record.published) or epoch(record.fetched)
    return int(record.is_original), record.original.outlet, record.original.url, ran


def backfill_article_columns(tx: Tx) -> None:
    """Fill the schema-5 columns of article rows written before them (a migration step)."""
    last = 0
    while True:
        rows = tx.execute(
            "SELECT id, record FROM articles WHERE id > ? AND ran IS NULL"
            " AND is_original IS NULL ORDER BY id LIMIT 2000",
            (last,),
        )
        if not rows:
            return
        updates = []
        for row_id, text in rows:
            columns = article_columns(ExportRecord.from_json(json.loads(str(text))))
            updates.append((*columns, int(row_id)))
        tx.executemany(
            "UPDATE articles SET is_original = ?, original_outlet = ?, original_url = ?, ran = ?"
            " WHERE id = ?",
            updates,
        )
        last = int(rows[-1][0])


_INSERT_CAPTURE = (
    "INSERT INTO captures (url, fetched, status, record_type, payload_digest, file,"
    ' "offset", length, record_id, refers_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'
)
_INSERT_ARTICLE = (
    "INSERT INTO articles (url, final_url, outlet, story, capture_record_id,"
    " metadata_file, metadata_offset, record, blocks, payload,"
    " is_original, original_outlet, original_url, ran)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _capture_values(row: CaptureRow) -> tuple[object, ...]:
    return (
        row.url,
        row.fetched,
        row.status,
        row.record_type,
        row.payload_digest,
        row.file,
        row.offset,
        row.length,
        row.record_id,
        row.refers_to,
    )


def _opt(value: object) -> str | None:
    return str(value) if value is not None else None


class SqlCatalog(Closeable):
    """Every catalog query over an engine's transactions (see the module docstring)."""

    #: the catalog's clock, in Unix seconds, as an SQL expression
    NOW = ""
    #: appended to the row-picking subquery of a claim (PostgreSQL: skip rows others lock)
    SKIP_LOCKED = ""
    #: the row lock of a read-then-write (PostgreSQL); SQLite's write lock covers it
    FOR_UPDATE = ""

    name: str

    def __init__(self) -> None:
        # Writers' own leases renew on their own; tokens for host slots must be unique.
        self._token_lock = threading.Lock()

    # -- engine --------------------------------------------------------------------------------

    @abstractmethod
    def _tx(self, *, write: bool) -> AbstractContextManager[Tx]:
        """One transaction (committed on exit, rolled back on an exception); ``write`` takes
        the engine's write lock at the start (SQLite: BEGIN IMMEDIATE). Raises ArchiveError."""

    @abstractmethod
    def placement(self) -> AbstractContextManager[None]:
        """The fleet-wide critical section of story placement."""

    def _rows(self, sql: str, params: Params = ()) -> list[Row]:
        with self._tx(write=False) as tx:
            return tx.execute(sql, params)

    def _write(self, sql: str, params: Params) -> None:
        self._write_many([(sql, [params])])

    def _write_many(self, statements: Sequence[tuple[str, Sequence[Params]]]) -> None:
        """Run statements (each with a list of parameter tuples) in one transaction."""
        with self._tx(write=True) as tx:
            for sql, params in statements:
                if params:
                    tx.executemany(sql, params)

    # -- captures and articles -------------------------------------------------------------------

    def add_capture(self, row: CaptureRow) -> None:
        """Record a response or revisit record."""
        self.add_page([row])

    def add_page(self, captures: Sequence[CaptureRow], article: ArticleRow | None = None) -> None:
        """Record a page's captures and its article (if any) in one transaction."""
        statements: list[tuple[str, Sequence[Params]]] = [
            (_INSERT_CAPTURE, [_capture_values(row) for row in captures])
        ]
        if article is not None:
            statements.append(
                (
                    _INSERT_ARTICLE,
                    [(*self._article_values(article), *article_columns(article.record))],
                )
            )
        self._write_many(statements)

    def _capture(self, url: str, *, responses_only: bool) -> CaptureRow | None:
        rows = self._rows(
            'SELECT url, fetched, status, record_type, payload_digest, file, "offset", length,'
            " record_id, refers_to FROM captures"
            " WHERE url = ? AND (? = 0 OR record_type = 'response') ORDER BY id DESC LIMIT 1",
            (url, int(responses_only)),
        )
        if not rows:
            return None
        u, fetched, status, rtype, digest, file, offset, length, rid, refers = rows[0]
        return CaptureRow(
            url=str(u),
            fetched=str(fetched),
            status=int(status),
            record_type=str(rtype),
            payload_digest=str(digest),
            file=str(file),
            offset=int(offset),
            length=int(length),
            record_id=str(rid),
            refers_to=_opt(refers),
        )

    def latest_response(self, url: str) -> CaptureRow | None:
        """The newest ``response`` record for ``url``, or None."""
        return self._capture(url, responses_only=True)

    def latest_capture(self, url: str) -> CaptureRow | None:
        """The newest response or revisit record for ``url``, or None."""
        return self._capture(url, responses_only=False)

    def add_article(self, row: ArticleRow) -> None:
        """Record an archived article."""
        self.add_page([], row)

    @staticmethod
    def _article_values(row: ArticleRow) -> tuple[object, ...]:
        rec = row.record
        return (
            rec.url,
            rec.final_url,
            rec.outlet,
            rec.story,
            row.capture_record_id,
            row.metadata_file,
            row.metadata_offset,
            json.dumps(rec.to_json(), ensure_ascii=False),
            json.dumps(list(row.blocks), ensure_ascii=False),
            json.dumps(row.payload, ensure_ascii=False),
        )

    def article(self, final_url: str) -> ExportRecord | None:
        """The newest export record whose final or requested URL is ``final_url``, or None."""
        rows = self._rows(
            "SELECT record FROM articles WHERE final_url = ? OR url = ? ORDER BY id DESC LIMIT 1",
            (final_url, final_url),
        )
        return ExportRecord.from_json(json.loads(str(rows[0][0]))) if rows else None

    def articles(self) -> Iterator[ExportRecord]:
        """The newest record of every archived article, in first-archived order."""
        for row in self.latest_articles():
            yield row.record

    def latest_articles(self, outlet: str | None = None) -> Iterator[ArticleRow]:
        """The newest row of every article (of ``outlet``, when given), first-archived order."""
        rows = self._rows(
            "SELECT a.record, a.capture_record_id, a.metadata_file, a.metadata_offset, a.blocks,"
            " a.payload FROM articles a JOIN ("
            " SELECT final_url, MIN(id) AS first, MAX(id) AS last FROM articles"
            " WHERE ? = 1 OR outlet = ? GROUP BY final_url"
            ") g ON a.id = g.last ORDER BY g.first",
            (int(outlet is None), outlet or ""),
        )
        for values in rows:
            yield self._article_row(values)

    def max_article_id(self) -> int:
        """The id of the newest article row (0 when there is none): the archive's cursor."""
        rows = self._rows("SELECT MAX(id) FROM articles")
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def article_row_id(self, final_url: str) -> int:
        """The id (cursor position) of the newest row of the article at ``final_url``."""
        rows = self._rows("SELECT MAX(id) FROM articles WHERE final_url = ?", (final_url,))
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def changed_articles(
        self,
        after: int,
        upto: int,
        *,
        limit: int = 500,
        outlet: str | None = None,
        story: str | None = None,
    ) -> list[tuple[int, ArticleRow]]:
        """Up to ``limit`` article rows with ``after < id <= upto`` that are the newest row of
        their article as of ``upto``, in id order, with their ids (keyset pagination: pass the
        last id back as ``after``; each call is one short read transaction)."""
        rows = self._rows(
            "SELECT a.id, a.record, a.capture_record_id, a.metadata_file, a.metadata_offset,"
            " a.blocks, a.payload FROM articles a"
            " WHERE a.id > ? AND a.id <= ? AND (? = 1 OR a.outlet = ?)"
            " AND (? = 1 OR a.story = ?) AND NOT EXISTS (SELECT 1 FROM articles b"
            " WHERE b.final_url = a.final_url AND b.id > a.id AND b.id <= ?)"
            " ORDER BY a.id LIMIT ?",
            (
                after,
                upto,
                int(outlet is None),
                outlet or "",
                int(story is None),
                story or "",
                upto,
                limit,
            ),
        )
        return [(int(r[0]), self._article_row(r[1:])) for r in rows]

    @staticmethod
    def _article_row(values: Row) -> ArticleRow:
        record, capture, file, offset, blocks, payload = values
        return ArticleRow(
            record=ExportRecord.from_json(json.loads(str(record))),
            capture_record_id=str(capture),
            metadata_file=str(file),
            metadata_offset=int(offset),
            blocks=tuple(json.loads(str(blocks))),
            payload=json.loads(str(payload)),
        )

    def latest_article_row(self, final_url: str) -> ArticleRow | None:
        """The newest article row for a final URL."""
        rows = self._rows(
            "SELECT record, capture_record_id, metadata_file, metadata_offset, blocks, payload"
            " FROM articles WHERE final_url = ? ORDER BY id DESC LIMIT 1",
            (final_url,),
        )
        return self._article_row(rows[0]) if rows else None

    def latest_article_rows(self, final_urls: Sequence[str]) -> dict[str, ArticleRow]:
        """The newest article row of each final URL (see the Protocol)."""
        wanted = sorted(set(final_urls))
        found: dict[str, ArticleRow] = {}
        for start in range(0, len(wanted), 500):  # within every engine's parameter limit
            batch = wanted[start : start + 500]
            rows = self._rows(
                "SELECT a.final_url, a.record, a.capture_record_id, a.metadata_file,"  # noqa: S608
                " a.metadata_offset, a.blocks, a.payload FROM articles a"
                f" WHERE a.final_url IN ({','.join('?' * len(batch))}) AND {self._NEWEST}",
                tuple(batch),
            )
            found.update((str(r[0]), self._article_row(r[1:])) for r in rows)
        return found

    def article_counts(self) -> dict[str, int]:
        """Archived articles (distinct final URLs) per outlet."""
        rows = self._rows("SELECT outlet, COUNT(DISTINCT final_url) FROM articles GROUP BY outlet")
        return {str(o): int(n) for o, n in rows}

    def counts(self) -> dict[str, int]:
        """Row counts: ``captures`` and ``articles``."""
        return {
            table: int(self._rows(f"SELECT COUNT(*) FROM {table}")[0][0])  # noqa: S608
            for table in ("captures", "articles")
        }

    # -- templates ------------------------------------------------------------------------------

    def template_model(self, outlet: str) -> dict[str, Any] | None:
        """The stored template model of ``outlet`` in ``TemplateModel.to_json`` form, or None.

        Stored as rows (parameters in ``templates``, one row per retained article in
        ``template_articles``, one per learned block in ``template_learned``) so that observing
        an article writes that article, not the whole model."""
        with self._tx(write=False) as tx:
            rows = tx.execute("SELECT model FROM templates WHERE outlet = ?", (outlet,))
            if not rows:
                return None
            model: dict[str, Any] = json.loads(str(rows[0][0]))
            stored = tx.execute(
                "SELECT article, keys FROM template_articles WHERE outlet = ? ORDER BY rank",
                (outlet,),
            )
            learned = tx.execute(
                "SELECT key, sample, articles FROM template_learned WHERE outlet = ? ORDER BY key",
                (outlet,),
            )
        articles: list[list[Any]] = []
        weights: dict[str, int] = {}
        for article, keys in stored:
            found = _template_keys(str(keys))
            articles.append([str(article), list(found)])  # stored sorted
            weights.update(found)
        model.update(
            articles=articles,
            weights=dict(sorted(weights.items())),
            learned=[{"key": k, "sample": s, "articles": int(n)} for k, s, n in learned],
        )
        return model

    def template_version(self, outlet: str) -> int:
        """How many times ``outlet``'s stored template model was changed (any writer)."""
        rows = self._rows("SELECT version FROM templates WHERE outlet = ?", (outlet,))
        return int(rows[0][0]) if rows else 0

    def save_template_model(self, outlet: str, model: dict[str, Any]) -> None:
        """Store (replace) the template model of ``outlet`` (``TemplateModel.to_json`` form)."""
        self._write_many(template_statements(outlet, model))

    def save_template_changes(
        self, outlet: str, params: dict[str, Any], changes: TemplateChanges
    ) -> None:
        """Apply what observing changed to the stored model of ``outlet`` (one transaction):
        its parameters stored if new (a model's parameters never change), evicted articles
        deleted, added ones appended after every stored one (a replaced one keeps its rank),
        newly learned blocks inserted; the model's version counts the change."""
        self._write_many(
            [
                (
                    "INSERT INTO templates (outlet, model, version) VALUES (?, ?, 1)"
                    " ON CONFLICT (outlet) DO UPDATE SET version = templates.version + 1",
                    [(outlet, json.dumps(params, sort_keys=True))],
                ),
                (
                    "DELETE FROM template_articles WHERE outlet = ? AND article = ?",
                    [(outlet, a) for a in changes.removed],
                ),
                (
                    "INSERT INTO template_articles (outlet, article, rank, keys) VALUES (?, ?,"
                    " (SELECT COALESCE(MAX(rank), -1) + 1 FROM template_articles"
                    " WHERE outlet = ?), ?) ON CONFLICT (outlet, article)"
                    " DO UPDATE SET keys = excluded.keys",
                    [(outlet, a, outlet, _template_keys_text(k)) for a, k in changes.articles],
                ),
                (
                    "INSERT INTO template_learned (outlet, key, sample, articles)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (outlet, key) DO UPDATE SET"
                    " sample = excluded.sample, articles = excluded.articles",
                    [(outlet, b.key, b.sample, b.articles) for b in changes.learned],
                ),
            ]
        )

    # -- docs (the story stage) -------------------------------------------------------------------

    _DOC_COLUMNS = (
        'doc, final_url, outlet, wire, published, fetched, "time", text_hash, fingerprint,'
        " evidence, story"
    )

    def _serialise_puts(self, tx: Tx) -> None:
        """Make concurrent puts of docs take turns (their sequence numbers must be distinct
        and in commit order); SQLite's write lock already does."""

    def put_doc(self, row: DocRow) -> int:
        """Insert or update (by final URL) a doc; returns its doc id (``row.doc`` is ignored).
        Every put takes the next placement sequence number (see :meth:`docs_placed_after`)."""
        evidence = json.dumps([e.to_json() for e in row.evidence], ensure_ascii=False)
        with self._tx(write=True) as tx:
            self._serialise_puts(tx)
            found = tx.execute(
                'INSERT INTO docs (final_url, outlet, wire, published, fetched, "time",'
                " text_hash, fingerprint, evidence, story, placed)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                " (SELECT COALESCE(MAX(placed), 0) + 1 FROM docs))"
                " ON CONFLICT (final_url) DO UPDATE SET outlet = excluded.outlet,"
                " wire = excluded.wire, published = excluded.published,"
                ' fetched = excluded.fetched, "time" = excluded."time",'
                " text_hash = excluded.text_hash, fingerprint = excluded.fingerprint,"
                " evidence = excluded.evidence, story = excluded.story,"
                " placed = excluded.placed RETURNING doc",
                (
                    row.final_url,
                    row.outlet,
                    int(row.wire),
                    row.published,
                    row.fetched,
                    row.time,
                    row.text_hash,
                    row.fingerprint,
                    evidence,
                    row.story,
                ),
            )
        return int(found[0][0])

    @staticmethod
    def _doc_row(values: Row) -> DocRow:
        doc, url, outlet, wire, published, fetched, time, text_hash, fp, evidence, story = values
        return DocRow(
            doc=int(doc),
            final_url=str(url),
            outlet=str(outlet),
            wire=bool(wire),
            published=_opt(published),
            fetched=str(fetched),
            time=float(time),
            text_hash=str(text_hash),
            fingerprint=bytes(fp),
            evidence=tuple(Evidence.from_json(e) for e in json.loads(str(evidence))),
            story=str(story),
        )

    def doc(self, doc: int) -> DocRow | None:
        """One doc by id."""
        rows = self._rows(f"SELECT {self._DOC_COLUMNS} FROM docs WHERE doc = ?", (doc,))  # noqa: S608
        return self._doc_row(rows[0]) if rows else None

    def docs(self, docs: Sequence[int]) -> list[DocRow]:
        """The docs with these ids (see the Protocol)."""
        wanted = sorted(set(docs))
        found: list[DocRow] = []
        for start in range(0, len(wanted), 500):  # within every engine's parameter limit
            batch = wanted[start : start + 500]
            rows = self._rows(
                f"SELECT {self._DOC_COLUMNS} FROM docs"  # noqa: S608
                f" WHERE doc IN ({','.join('?' * len(batch))}) ORDER BY doc",
                tuple(batch),
            )
            found.extend(self._doc_row(r) for r in rows)
        return found

    def doc_by_url(self, final_url: str) -> DocRow | None:
        """One doc by final URL."""
        rows = self._rows(
            f"SELECT {self._DOC_COLUMNS} FROM docs WHERE final_url = ?",  # noqa: S608
            (final_url,),
        )
        return self._doc_row(rows[0]) if rows else None

    def docs_by_text_hash(self, text_hash: str) -> list[int]:
        """Docs whose cleaned text is identical (tier 3)."""
        rows = self._rows("SELECT doc FROM docs WHERE text_hash = ? ORDER BY doc", (text_hash,))
        return [int(r[0]) for r in rows]

    def set_doc_links(self, doc: int, urls: Sequence[str]) -> None:
        """Record the URLs a doc names as its source (replacing earlier ones)."""
        self._write_many(
            [
                ("DELETE FROM doc_links WHERE doc = ?", [(doc,)]),
                (
                    "INSERT INTO doc_links (url, doc) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    [(u, doc) for u in dict.fromkeys(urls)],
                ),
            ]
        )

    def docs_linking_to(self, url: str) -> list[int]:
        """Docs that name ``url`` as their source."""
        rows = self._rows("SELECT doc FROM doc_links WHERE url = ? ORDER BY doc", (url,))
        return [int(r[0]) for r in rows]

    def docs_since(self, time: float) -> Iterator[DocRow]:
        """Docs with ``time >= time``, oldest first (to rebuild the hot index)."""
        rows = self._rows(
            f'SELECT {self._DOC_COLUMNS} FROM docs WHERE "time" >= ?'  # noqa: S608
            ' ORDER BY "time", doc',
            (time,),
        )
        return (self._doc_row(r) for r in rows)

    def docs_placed_after(self, placed: int) -> list[tuple[int, DocRow]]:
        """Docs put after placement sequence ``placed``, with their sequence, in order."""
        rows = self._rows(
            f"SELECT placed, {self._DOC_COLUMNS} FROM docs WHERE placed > ?"  # noqa: S608
            " ORDER BY placed",
            (placed,),
        )
        return [(int(r[0]), self._doc_row(r[1:])) for r in rows]

    def max_placed(self) -> int:
        """The newest placement sequence number (0 when no doc was placed)."""
        rows = self._rows("SELECT MAX(placed) FROM docs")
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def story_docs(self, story: str) -> list[DocRow]:
        """The docs of one story, in doc order."""
        rows = self._rows(
            f"SELECT {self._DOC_COLUMNS} FROM docs WHERE story = ? ORDER BY doc",  # noqa: S608
            (story,),
        )
        return [self._doc_row(r) for r in rows]

    def relabel_story(self, old: str, new: str) -> None:
        """Move every doc of story ``old`` into story ``new``."""
        self._write("UPDATE docs SET story = ? WHERE story = ?", (new, old))

    def move_docs(self, docs: Sequence[int], story: str) -> None:
        """Move the docs ``docs`` into story ``story`` (a story split or regrouped)."""
        self._write_many([("UPDATE docs SET story = ? WHERE doc = ?", [(story, d) for d in docs])])

    # -- the story desk (read-only pages of ``harvester serve``) ----------------------------------

    # The newest row of each article: no later row for its final URL.
    _NEWEST = (
        "NOT EXISTS (SELECT 1 FROM articles b WHERE b.final_url = a.final_url AND b.id > a.id)"
    )
    _ROW_COLUMNS = (
        "a.id, a.record, a.capture_record_id, a.metadata_file, a.metadata_offset, a.blocks,"
        " a.payload"
    )

    def story_summaries(
        self, where: StoryFilter, *, limit: int = 50, offset: int = 0
    ) -> list[StorySummary]:
        """Stories matching ``where``, the most recently archived first (by their newest
        member's fetch time, then its doc id), ``limit`` of them after skipping ``offset``;
        a date range keeps the stories whose newest member was archived within it."""
        if where.outlet is not None or where.wire is not None:
            return self._grouped_summaries(where, limit=limit, offset=offset)
        return self._walked_summaries(where, limit=limit, offset=offset)

    def _walked_summaries(
        self, where: StoryFilter, *, limit: int, offset: int
    ) -> list[StorySummary]:
        # Without an outlet or wire, every story is a candidate: walk the docs newest first
        # (the time index) and take each story at its first, newest, doc, instead of grouping
        # every doc of the archive for one page.
        found: list[StorySummary] = []
        seen: set[str] = set()
        skip = offset
        at: tuple[float, int] = (where.until if where.until is not None else 1e300, 2**62)
        while len(found) < limit:
            rows = self._rows(
                # Keyset: after (time, doc) = at, newest first. Written as a range on time
                # plus a filter so that SQLite walks the index (an OR of two ranges makes
                # it sort the whole table).
                'SELECT doc, story, "time" FROM docs WHERE "time" <= ? AND ("time" < ?'
                ' OR doc < ?) AND "time" >= ? ORDER BY "time" DESC, doc DESC LIMIT 500',
                (at[0], at[0], at[1], where.since if where.since is not None else -1e300),
            )
            if not rows:
                break
            at = (float(rows[-1][2]), int(rows[-1][0]))
            new = list(dict.fromkeys(str(r[1]) for r in rows if str(r[1]) not in seen))
            seen.update(new)
            if not new:
                continue
            grouped = self._rows(
                'SELECT story, COUNT(*), MIN("time"), MAX("time") FROM docs'  # noqa: S608
                f" WHERE story IN ({','.join('?' * len(new))}) GROUP BY story",
                new,
            )
            by_story = {
                str(s): StorySummary(story=str(s), articles=int(n), first=float(lo), last=float(hi))
                for s, n, lo, hi in grouped
            }
            for story in new:
                summary = by_story.get(story)
                if summary is None or (where.copies_only and summary.articles < 2):
                    continue
                if where.until is not None and summary.last >= where.until:
                    continue  # its newest member lies after the range
                if skip:
                    skip -= 1
                    continue
                found.append(summary)
                if len(found) >= limit:
                    break
        return found

    def _grouped_summaries(
        self, where: StoryFilter, *, limit: int, offset: int
    ) -> list[StorySummary]:
        # An outlet's or a wire's stories are a subset: group just those.
        rows = self._rows(
            'SELECT d.story, COUNT(*), MIN(d."time"), MAX(d."time") FROM docs d'
            " WHERE (? = 1 OR d.story IN (SELECT story FROM docs WHERE outlet = ?))"
            " AND (? = 1 OR d.story IN (SELECT w.story FROM docs w JOIN articles a"
            " ON a.final_url = w.final_url WHERE a.original_outlet = ?))"
            " GROUP BY d.story"
            " HAVING (? = 0 OR COUNT(*) > 1)"
            ' AND (? = 1 OR MAX(d."time") >= ?) AND (? = 1 OR MAX(d."time") < ?)'
            ' ORDER BY MAX(d."time") DESC, MAX(d.doc) DESC LIMIT ? OFFSET ?',
            (
                int(where.outlet is None),
                where.outlet or "",
                int(where.wire is None),
                where.wire or "",
                int(where.copies_only),
                int(where.since is None),
                where.since or 0.0,
                int(where.until is None),
                where.until or 0.0,
                limit,
                offset,
            ),
        )
        return [
            StorySummary(story=str(s), articles=int(n), first=float(lo), last=float(hi))
            for s, n, lo, hi in rows
        ]

    def story_members(self, stories: Sequence[str]) -> dict[str, list[StoryMember]]:
        """The members of each of ``stories`` (docs order): newest article row and doc each.
        A story with no member is left out."""
        found: dict[str, list[StoryMember]] = {}
        doc_columns = ", ".join(f"d.{c.strip()}" for c in self._DOC_COLUMNS.split(","))
        for start in range(0, len(stories), 200):
            batch = tuple(stories[start : start + 200])
            rows = self._rows(
                f"SELECT {self._ROW_COLUMNS}, {doc_columns} FROM docs d"  # noqa: S608
                " JOIN articles a ON a.id = (SELECT MAX(id) FROM articles"
                f" WHERE final_url = d.final_url) WHERE d.story IN ({','.join('?' * len(batch))})"
                " ORDER BY d.doc",
                batch,
            )
            for row in rows:
                member = StoryMember(
                    row_id=int(row[0]),
                    article=self._article_row(row[1:7]),
                    doc=self._doc_row(row[7:]),
                )
                found.setdefault(member.doc.story, []).append(member)
        return found

    def article_row_by_id(self, row_id: int) -> ArticleRow | None:
        """The article row at cursor position ``row_id`` (any row, not only the newest)."""
        rows = self._rows(
            f"SELECT {self._ROW_COLUMNS} FROM articles a WHERE a.id = ?",  # noqa: S608
            (row_id,),
        )
        return self._article_row(rows[0][1:]) if rows else None

    def _distinct(self, table: str, column: str) -> list[str]:
        """The distinct non-null values of an indexed column, by a loose index scan (one
        index seek per value, not a pass over every row)."""
        rows = self._rows(
            f"WITH RECURSIVE v(x) AS (SELECT MIN({column}) FROM {table}"  # noqa: S608
            f" UNION ALL SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > v.x)"
            " FROM v WHERE v.x IS NOT NULL) SELECT x FROM v WHERE x IS NOT NULL"
        )
        return [str(r[0]) for r in rows]

    def outlet_names(self) -> list[str]:
        """Every outlet with an archived article, by name."""
        return self._distinct("docs", "outlet")

    def original_outlets(self) -> list[str]:
        """Every outlet named as a story's original (archived or not), by name."""
        return self._distinct("articles", "original_outlet")

    def outlet_days(self, outlet: str) -> list[tuple[int, int]]:
        """``outlet``'s articles per UTC day they ran (days since the epoch; published, else
        fetched), oldest first; newest rows only."""
        day = "CAST(a.ran AS BIGINT) / 86400"
        rows = self._rows(
            f"SELECT {day}, COUNT(*) FROM articles a WHERE a.outlet = ?"  # noqa: S608
            f" AND a.ran IS NOT NULL AND {self._NEWEST} GROUP BY {day} ORDER BY 1",
            (outlet,),
        )
        return [(int(d), int(n)) for d, n in rows]

    def outlet_links(self, outlet: str) -> OutletLinks:
        """Whom ``outlet`` copies and who copies it, from the newest row of every article."""
        original_ran = (
            "LEFT JOIN articles o ON o.id = (SELECT MAX(id) FROM articles"
            " WHERE final_url = a.original_url)"
        )
        with self._tx(write=False) as tx:
            totals = tx.execute(
                "SELECT COUNT(*), SUM(CASE WHEN a.is_original = 0 THEN 1 ELSE 0 END)"  # noqa: S608
                f" FROM articles a WHERE a.outlet = ? AND {self._NEWEST}",
                (outlet,),
            )
            copies_from = tx.execute(
                f"SELECT a.original_outlet, a.ran, o.ran FROM articles a {original_ran}"  # noqa: S608
                f" WHERE a.outlet = ? AND a.is_original = 0 AND {self._NEWEST}",
                (outlet,),
            )
            copied_by = tx.execute(
                f"SELECT a.outlet, a.ran, o.ran FROM articles a {original_ran}"  # noqa: S608
                " WHERE a.original_outlet = ? AND a.is_original = 0"
                f" AND (a.outlet IS NULL OR a.outlet <> ?) AND {self._NEWEST}",
                (outlet, outlet),
            )

        def links(rows: list[Row]) -> tuple[CopyLink, ...]:
            return tuple(
                CopyLink(
                    outlet=str(other) if other is not None else "",
                    lag=float(ran) - float(first)
                    if ran is not None and first is not None
                    else None,
                )
                for other, ran, first in rows
            )

        articles, copies = totals[0] if totals else (0, 0)
        return OutletLinks(
            articles=int(articles or 0),
            copies=int(copies or 0),
            copies_from=links(copies_from),
            copied_by=links(copied_by),
        )

    @abstractmethod
    def _search_sql(self, query: FullTextQuery, limit: int) -> tuple[str, Params]:
        """The engine's full-text query: rows of (article row id, record, story or NULL),
        best match first, newest rows only."""

    def search_articles(self, query: FullTextQuery, *, limit: int = 100) -> list[SearchHit]:
        """Articles whose title or cleaned text holds every phrase of ``query`` (their newest
        records only), best match first."""
        sql, params = self._search_sql(query, limit)
        rows = self._rows(sql, params)
        hits = []
        for row_id, record, story in rows:
            rec = ExportRecord.from_json(json.loads(str(record)))
            hits.append(SearchHit(row_id=int(row_id), record=rec, story=str(story or rec.story)))
        return hits

    # -- outlet polls -------------------------------------------------------------------------

    def save_outlet_state(self, state: OutletState) -> None:
        """Store (replace) one outlet's poll state; its poll lease ends."""
        self._write(
            "INSERT INTO outlet_state (outlet, last_poll, next_poll, failures, last_error,"
            ' found, archived, "interval") VALUES (?, ?, ?, ?, ?, ?, ?, ?)'
            " ON CONFLICT (outlet) DO UPDATE SET last_poll = excluded.last_poll,"
            " next_poll = excluded.next_poll, failures = excluded.failures,"
            " last_error = excluded.last_error, found = excluded.found,"
            ' archived = excluded.archived, "interval" = excluded."interval",'
            # the round of the poll that finished counts only now: an abandoned claim (its
            # writer died) leaves the outlet to be polled by another writer in the same round
            " polled = COALESCE(outlet_state.claim_round, outlet_state.polled),"
            " claim_round = NULL, lease_owner = NULL, lease_until = NULL",
            (
                state.outlet,
                state.last_poll,
                state.next_poll,
                state.failures,
                state.last_error,
                state.found,
                state.archived,
                state.interval,
            ),
        )

    def outlet_states(self) -> dict[str, OutletState]:
        """Every stored outlet poll state, by outlet name (outlets never polled: none)."""
        rows = self._rows(
            "SELECT outlet, last_poll, next_poll, failures, last_error, found, archived,"
            " \"interval\" FROM outlet_state WHERE last_poll <> ''"
        )
        return {
            str(o): OutletState(
                outlet=str(o),
                last_poll=str(last),
                next_poll=float(nxt),
                failures=int(fails),
                last_error=_opt(err),
                found=int(found),
                archived=int(archived),
                interval=float(interval) if interval is not None else None,
            )
            for o, last, nxt, fails, err, found, archived, interval in rows
        }

    def poll_claim(
        self, outlet: str, owner: str, *, due_by: float, lease: float, round_start: float | None
    ) -> bool:
        """Lease ``outlet``'s next poll to ``owner`` if it is due and no live lease holds it."""
        with self._tx(write=True) as tx:
            tx.execute(
                "INSERT INTO outlet_state (outlet, last_poll, next_poll, failures, found,"
                " archived) VALUES (?, '', 0, 0, 0, 0) ON CONFLICT (outlet) DO NOTHING",
                (outlet,),
            )
            claimed = tx.execute(
                f"UPDATE outlet_state SET lease_owner = ?, lease_until = {self.NOW} + ?,"  # noqa: S608
                " claim_round = ? WHERE outlet = ?"
                f" AND (lease_until IS NULL OR lease_until < {self.NOW} OR lease_owner = ?)"
                " AND (CASE WHEN ? = 1 THEN COALESCE(polled, 0) < ? ELSE next_poll <= ? END)"
                " RETURNING outlet",
                (
                    owner,
                    lease,
                    due_by,  # the poll counts as of now (the caller's clock) once it ends
                    outlet,
                    owner,
                    int(round_start is not None),
                    round_start if round_start is not None else 0.0,
                    due_by,
                ),
            )
        return bool(claimed)

    # -- the frontier --------------------------------------------------------------------------

    _FRONTIER_COLUMNS = (
        "seq, url, outlet, host, discovery, added, not_before, attempts, state, last_error"
    )

    def frontier_add(
        self, items: Sequence[FrontierItem], *, owner: str | None = None, lease: float = 0.0
    ) -> list[FrontierItem]:
        """Queue URLs not in the frontier yet (a ``failed`` entry whose ``not_before`` has
        passed is queued again); returns the items queued, with their ``seq``; with ``owner``
        they are leased to it for ``lease`` seconds."""
        queued: list[FrontierItem] = []
        with self._tx(write=True) as tx:
            for i in items:
                rows = tx.execute(
                    "INSERT INTO frontier (url, outlet, host, discovery, added, not_before,"  # noqa: S608
                    " attempts, state, lease_owner, lease_until)"
                    f" VALUES (?, ?, ?, ?, ?, ?, 0, 'pending', ?, {self.NOW} + ?)"
                    " ON CONFLICT (url) DO UPDATE SET state = 'pending', attempts = 0,"
                    " not_before = excluded.not_before, discovery = excluded.discovery,"
                    " lease_owner = excluded.lease_owner, lease_until = excluded.lease_until"
                    " WHERE frontier.state = 'failed' AND frontier.not_before <= excluded.added"
                    f" RETURNING {self._FRONTIER_COLUMNS}",
                    (
                        i.url,
                        i.outlet,
                        i.host,
                        json.dumps(i.discovery, ensure_ascii=False)
                        if i.discovery is not None
                        else None,
                        i.added,
                        i.not_before,
                        owner,
                        lease if owner is not None else None,
                    ),
                )
                queued.extend(self._frontier_item(r) for r in rows)
        return queued

    @staticmethod
    def _frontier_item(values: Row) -> FrontierItem:
        seq, url, outlet, host, discovery, added, not_before, attempts, state, error = values
        return FrontierItem(
            seq=int(seq),
            url=str(url),
            outlet=_opt(outlet),
            host=str(host),
            discovery=json.loads(str(discovery)) if discovery is not None else None,
            added=float(added),
            not_before=float(not_before),
            attempts=int(attempts),
            state=str(state),
            last_error=_opt(error),
        )

    def frontier(self, state: str = "pending") -> list[FrontierItem]:
        """Every frontier entry in ``state``, in the order they were queued."""
        rows = self._rows(
            f"SELECT {self._FRONTIER_COLUMNS} FROM frontier"  # noqa: S608
            " WHERE state = ? ORDER BY seq",
            (state,),
        )
        return [self._frontier_item(r) for r in rows]

    def frontier_claim(
        self,
        owner: str,
        *,
        now: float,
        limit: int,
        per_host: int,
        lease: float,
        skip_hosts: Collection[str] = (),
    ) -> list[FrontierItem]:
        """Lease up to ``limit`` due, unleased pending URLs (``per_host`` at most per host;
        hosts in turn, each host's oldest first; none of the first MAX_SKIP_HOSTS of
        ``skip_hosts``)."""
        if limit <= 0:
            return []
        skip = sorted(skip_hosts)[:MAX_SKIP_HOSTS]
        not_skipped = f" AND host NOT IN ({', '.join('?' * len(skip))})" if skip else ""
        free = f"(lease_until IS NULL OR lease_until < {self.NOW})"
        with self._tx(write=True) as tx:
            rows = tx.execute(
                # The free-lease test is repeated at every level: PostgreSQL re-checks a
                # locking query's own condition against a row another writer just claimed.
                f"UPDATE frontier SET lease_owner = ?, lease_until = {self.NOW} + ?"  # noqa: S608
                f" WHERE {free} AND seq IN (SELECT seq FROM frontier WHERE {free} AND seq IN ("
                " SELECT seq FROM (SELECT seq, ROW_NUMBER() OVER"
                " (PARTITION BY host ORDER BY seq) AS n FROM frontier"
                f" WHERE state = 'pending' AND not_before <= ? AND {free}{not_skipped}) ranked"
                f" WHERE n <= ? ORDER BY n, seq LIMIT ?){self.SKIP_LOCKED})"
                f" RETURNING {self._FRONTIER_COLUMNS}",
                (owner, lease, now, *skip, per_host, limit),
            )
        return sorted((self._frontier_item(r) for r in rows), key=lambda i: i.seq)

    def frontier_renew(self, owner: str, lease: float) -> int:
        """Extend every lease ``owner`` holds by ``lease`` seconds from now."""
        with self._tx(write=True) as tx:
            rows = tx.execute(
                f"UPDATE frontier SET lease_until = {self.NOW} + ?"  # noqa: S608
                " WHERE lease_owner = ? RETURNING seq",
                (lease, owner),
            )
            tx.execute(
                f"UPDATE outlet_state SET lease_until = {self.NOW} + ?"  # noqa: S608
                " WHERE lease_owner = ?",
                (lease, owner),
            )
            tx.execute(
                f"UPDATE host_slots SET until = {self.NOW} + ? WHERE owner = ?",  # noqa: S608
                (lease, owner),
            )
        return len(rows)

    def release_leases(self, owner: str) -> int:
        """Drop every lease ``owner`` holds; returns the frontier URLs released."""
        with self._tx(write=True) as tx:
            rows = tx.execute(
                "UPDATE frontier SET lease_owner = NULL, lease_until = NULL"
                " WHERE lease_owner = ? RETURNING seq",
                (owner,),
            )
            tx.execute(
                "UPDATE outlet_state SET lease_owner = NULL, lease_until = NULL"
                " WHERE lease_owner = ?",
                (owner,),
            )
            tx.execute("DELETE FROM host_slots WHERE owner = ?", (owner,))
            tx.execute(
                "UPDATE robots SET claim_owner = NULL, claim_until = NULL WHERE claim_owner = ?",
                (owner,),
            )
        return len(rows)

    def frontier_known(self, urls: Sequence[str], now: float) -> set[str]:
        """Which of ``urls`` are waiting in the frontier: pending, or given up on and still
        resting at ``now`` (a Unix time)."""
        return self._urls_in(
            "SELECT url FROM frontier WHERE url IN ({}) AND (state = 'pending' OR not_before > ?)",
            urls,
            now,
        )

    def captured(self, urls: Sequence[str]) -> set[str]:
        """Which of ``urls`` have a response or revisit record."""
        return self._urls_in("SELECT DISTINCT url FROM captures WHERE url IN ({})", urls)

    def _urls_in(self, query: str, urls: Sequence[str], *params: object) -> set[str]:
        """The URLs ``query`` (with one ``IN ({})`` placeholder, then ``params``) finds, asked
        in batches."""
        found: set[str] = set()
        for start in range(0, len(urls), 500):
            batch = tuple(urls[start : start + 500])
            rows = self._rows(query.format(",".join("?" * len(batch))), (*batch, *params))
            found.update(str(r[0]) for r in rows)
        return found

    def frontier_done(self, url: str) -> None:
        """``url`` is finished: it leaves the frontier."""
        self._write("DELETE FROM frontier WHERE url = ?", (url,))

    def frontier_retry(
        self, url: str, *, not_before: float, attempts: int, error: str, failed: bool
    ) -> None:
        """A transient failure: try ``url`` again after ``not_before`` (the writer holding its
        lease keeps it and retries it; if that writer dies, whoever is free then does), or,
        when ``failed``, give up until then (its lease ends)."""
        self._write(
            "UPDATE frontier SET not_before = ?, attempts = ?, last_error = ?, state = ?,"
            " lease_owner = CASE WHEN ? = 1 THEN NULL ELSE lease_owner END,"
            " lease_until = CASE WHEN ? = 1 THEN NULL ELSE lease_until END WHERE url = ?",
            (
                not_before,
                attempts,
                error,
                "failed" if failed else "pending",
                int(failed),
                int(failed),
                url,
            ),
        )

    def leases(self) -> dict[str, dict[str, int]]:
        """Live leases per holder (see the Protocol)."""
        queries = (
            ("urls", "frontier", "lease_owner", "lease_until"),
            ("polls", "outlet_state", "lease_owner", "lease_until"),
            ("host_slots", "host_slots", "owner", "until"),
        )
        held: dict[str, dict[str, int]] = {}
        with self._tx(write=False) as tx:
            for kind, table, owner, until in queries:
                rows = tx.execute(
                    f"SELECT {owner}, COUNT(*) FROM {table}"  # noqa: S608
                    f" WHERE {owner} IS NOT NULL AND {until} >= {self.NOW} GROUP BY {owner}"
                )
                for who, count in rows:
                    held.setdefault(str(who), dict.fromkeys(("urls", "polls", "host_slots"), 0))
                    held[str(who)][kind] = int(count)
        return held

    def frontier_counts(self) -> dict[str, int]:
        """Frontier entries per state (``pending``, ``failed``)."""
        rows = self._rows("SELECT state, COUNT(*) FROM frontier GROUP BY state")
        return {"pending": 0, "failed": 0} | {str(s): int(n) for s, n in rows}

    def fleet_due(
        self, *, outlets: Sequence[str], round_start: float, horizon: float, owner: str = ""
    ) -> FleetDue:
        """What is left for the fleet besides ``owner`` (see the Protocol)."""
        with self._tx(write=False) as tx:
            done = {
                str(r[0])
                for r in tx.execute(
                    "SELECT outlet FROM outlet_state WHERE COALESCE(polled, 0) >= ?"  # noqa: S608
                    f" AND (lease_until IS NULL OR lease_until < {self.NOW})",
                    (round_start,),
                )
            }
            due = tx.execute(
                "SELECT COUNT(*) FROM frontier WHERE state = 'pending' AND not_before <= ?"  # noqa: S608
                f" AND (lease_until IS NULL OR lease_until < {self.NOW})",
                (horizon,),
            )
            leased = tx.execute(
                "SELECT COUNT(*) FROM frontier WHERE state = 'pending' AND not_before <= ?"  # noqa: S608
                f" AND lease_until >= {self.NOW} AND lease_owner <> ?",
                (horizon, owner),
            )
        return FleetDue(
            outlets_left=sum(1 for o in outlets if o not in done),
            urls_due=int(due[0][0]),
            urls_leased=int(leased[0][0]),
        )

    # -- conditional requests ------------------------------------------------------------------

    def validators(self, url: str) -> Validators | None:
        """The stored validators of a discovery URL, or None."""
        rows = self._rows(
            "SELECT url, etag, last_modified, digest, full_fetch FROM validators WHERE url = ?",
            (url,),
        )
        if not rows:
            return None
        u, etag, modified, digest, full = rows[0]
        return Validators(
            url=str(u),
            etag=_opt(etag),
            last_modified=_opt(modified),
            digest=str(digest),
            full_fetch=float(full),
        )

    def save_validators(self, v: Validators) -> None:
        """Store (replace) a discovery URL's validators."""
        self._write(
            "INSERT INTO validators (url, etag, last_modified, digest, full_fetch)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET etag = excluded.etag,"
            " last_modified = excluded.last_modified, digest = excluded.digest,"
            " full_fetch = excluded.full_fetch",
            (v.url, v.etag, v.last_modified, v.digest, v.full_fetch),
        )

    # -- fleet politeness ----------------------------------------------------------------------

    def _token(self) -> str:
        return uuid.uuid4().hex

    @staticmethod
    def _host_row(tx: Tx, netloc: str) -> None:
        """Make sure ``netloc`` has its row in ``hosts`` (free now)."""
        tx.execute(
            "INSERT INTO hosts (netloc, ready_at, paused_until) VALUES (?, 0, 0)"
            " ON CONFLICT (netloc) DO NOTHING",
            (netloc,),
        )

    def host_acquire(
        self, netloc: str, owner: str, *, slots: int, hold: float
    ) -> tuple[str | None, float]:
        """Take one of ``netloc``'s request slots, or say how long to wait."""
        with self._tx(write=True) as tx:
            self._host_row(tx, netloc)
            state = tx.execute(
                f"SELECT ready_at, paused_until, {self.NOW} FROM hosts"  # noqa: S608
                f" WHERE netloc = ?{self.FOR_UPDATE}",
                (netloc,),
            )
            ready_at, paused_until, now = (float(v) for v in state[0])
            tx.execute(
                f"DELETE FROM host_slots WHERE netloc = ? AND until < {self.NOW}",  # noqa: S608
                (netloc,),
            )
            busy = int(
                tx.execute("SELECT COUNT(*) FROM host_slots WHERE netloc = ?", (netloc,))[0][0]
            )
            wait = max(ready_at, paused_until) - now
            if wait > 0:
                return None, wait
            if busy >= max(1, slots):
                return None, 0.05
            token = self._token()
            tx.execute(
                "INSERT INTO host_slots (token, netloc, owner, until) VALUES (?, ?, ?, ? + ?)",
                (token, netloc, owner, now, hold),
            )
        return token, 0.0

    def host_release(self, token: str, netloc: str, *, delay: float) -> None:
        """Give a slot back; the next request to ``netloc`` waits ``delay`` seconds."""
        with self._tx(write=True) as tx:
            tx.execute("DELETE FROM host_slots WHERE token = ?", (token,))
            tx.execute(
                f"UPDATE hosts SET ready_at = {self.NOW} + ? WHERE netloc = ?",  # noqa: S608
                (delay, netloc),
            )

    def host_pause(self, netloc: str, seconds: float) -> None:
        """No writer sends ``netloc`` a request for ``seconds``."""
        with self._tx(write=True) as tx:
            self._host_row(tx, netloc)
            tx.execute(
                f"UPDATE hosts SET paused_until = {self.NOW} + ?"  # noqa: S608
                " WHERE netloc = ? AND paused_until < " + self.NOW + " + ?",
                (seconds, netloc, seconds),
            )

    def host_ready_in(self, netloc: str) -> float:
        """Seconds until ``netloc`` may be asked again by anyone (0 when now)."""
        rows = self._rows(
            f"SELECT ready_at, paused_until, {self.NOW} FROM hosts WHERE netloc = ?",  # noqa: S608
            (netloc,),
        )
        if not rows:
            return 0.0
        ready_at, paused_until, now = (float(v) for v in rows[0])
        return max(0.0, max(ready_at, paused_until) - now)

    def robots_lookup(self, origin: str, owner: str, *, hold: float) -> RobotsEntry | float | None:
        """The fleet's fresh robots.txt for ``origin``, None (``owner`` fetches it), or the
        seconds to wait while another writer fetches it."""
        with self._tx(write=True) as tx:
            tx.execute(
                "INSERT INTO robots (origin, status, body, expires) VALUES (?, 0, ?, 0)"
                " ON CONFLICT (origin) DO NOTHING",
                (origin, b""),
            )
            rows = tx.execute(
                f"SELECT status, body, expires, claim_owner, claim_until, {self.NOW}"  # noqa: S608
                f" FROM robots WHERE origin = ?{self.FOR_UPDATE}",
                (origin,),
            )
            status, body, expires, claim_owner, claim_until, now = rows[0]
            if float(expires) > float(now):
                return RobotsEntry(
                    origin=origin,
                    status=int(status),
                    body=bytes(body),
                    fresh_for=float(expires) - float(now),
                )
            if claim_owner not in (None, owner) and float(claim_until or 0) > float(now):
                return min(0.25, float(claim_until) - float(now))
            tx.execute(
                f"UPDATE robots SET claim_owner = ?, claim_until = {self.NOW} + ?"  # noqa: S608
                " WHERE origin = ?",
                (owner, hold, origin),
            )
        return None

    def robots_store(self, origin: str, *, status: int, body: bytes, ttl: float) -> None:
        """Share a robots.txt answer with the fleet for ``ttl`` seconds."""
        self._write(
            "INSERT INTO robots (origin, status, body, expires)"  # noqa: S608
            f" VALUES (?, ?, ?, {self.NOW} + ?) ON CONFLICT (origin) DO UPDATE SET"
            " status = excluded.status, body = excluded.body, expires = excluded.expires,"
            " claim_owner = NULL, claim_until = NULL",
            (origin, status, body, ttl),
        )

    # -- reconciling with the WARC files ---------------------------------------------------------

    def mark_warc_complete(self, file: str) -> None:
        """Every record of ``file`` (closed) is known to the catalog."""
        self._write(
            "INSERT INTO warc_files (file, complete) VALUES (?, 1)"
            " ON CONFLICT (file) DO UPDATE SET complete = 1",
            (file,),
        )

    def complete_warc_files(self) -> set[str]:
        """The WARC files marked complete."""
        return {str(r[0]) for r in self._rows("SELECT file FROM warc_files WHERE complete = 1")}

    def has_capture(self, record_id: str) -> bool:
        """Whether a response/revisit record with this WARC-Record-ID is indexed (any file)."""
        return bool(self._rows("SELECT 1 FROM captures WHERE record_id = ? LIMIT 1", (record_id,)))

    def has_article_at(self, file: str, offset: int) -> bool:
        """Whether the metadata record at ``file``:``offset`` is indexed as an article row."""
        rows = self._rows(
            "SELECT 1 FROM articles WHERE metadata_file = ? AND metadata_offset = ? LIMIT 1",
            (file, offset),
        )
        return bool(rows)

    def last_indexed_offset(self, file: str) -> int:
        """The offset of the last record of ``file`` the catalog indexes (capture or article
        metadata), 0 when none: the writer indexes in file order, so what lies before it is
        known."""
        rows = self._rows(
            'SELECT MAX(m) FROM (SELECT MAX("offset") AS m FROM captures WHERE file = ?'
            " UNION ALL SELECT MAX(metadata_offset) FROM articles WHERE metadata_file = ?) x",
            (file, file),
        )
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def last_capture_offset(self, file: str) -> int | None:
        """The offset of the last capture the catalog knows in ``file``, or None."""
        rows = self._rows('SELECT MAX("offset") FROM captures WHERE file = ?', (file,))
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def known_record_ids(self, file: str) -> set[str]:
        """Record ids of the captures the catalog holds in ``file``."""
        rows = self._rows("SELECT record_id FROM captures WHERE file = ?", (file,))
        return {str(r[0]) for r in rows}
