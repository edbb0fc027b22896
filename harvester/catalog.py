"""The catalog: an index over the WARC files (captures, articles), in SQLite.

The WARC files are the source of truth; the catalog maps each capture to its file and offset and
keeps the export record of each archived article so readers need not open WARC files to list
them. It runs in WAL mode: readers never block the writer. The :class:`Catalog` Protocol is the
seam a PostgreSQL store will implement later; :class:`SqliteCatalog` is the one implementation.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from harvester.errors import ArchiveError, ArchiveUnavailableError
from harvester.extract.templates import TemplateChanges
from harvester.lifetime import Closeable
from harvester.models import Evidence, ExportRecord

__all__ = [
    "CATALOG_NAME",
    "ArticleRow",
    "CaptureRow",
    "Catalog",
    "DocRow",
    "FrontierItem",
    "OutletState",
    "SqliteCatalog",
    "Validators",
]

CATALOG_NAME = "index.sqlite"
SCHEMA_VERSION = 3
# How long a statement waits for another connection's lock before the catalog reports itself
# unavailable (the daemon then pauses and retries; a reader raises).
BUSY_TIMEOUT = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS captures (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    fetched TEXT NOT NULL,
    status INTEGER NOT NULL,
    record_type TEXT NOT NULL CHECK (record_type IN ('response', 'revisit')),
    payload_digest TEXT NOT NULL,
    file TEXT NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL,
    record_id TEXT NOT NULL UNIQUE,
    refers_to TEXT
);
CREATE INDEX IF NOT EXISTS captures_by_url ON captures (url, id);
CREATE TABLE IF NOT EXISTS articles (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    final_url TEXT NOT NULL,
    outlet TEXT,
    story TEXT NOT NULL,
    capture_record_id TEXT NOT NULL,
    metadata_file TEXT NOT NULL,
    metadata_offset INTEGER NOT NULL,
    record TEXT NOT NULL,
    blocks TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_by_final_url ON articles (final_url, id);
CREATE INDEX IF NOT EXISTS articles_by_outlet ON articles (outlet, id);
CREATE INDEX IF NOT EXISTS articles_by_story ON articles (story, id);
CREATE INDEX IF NOT EXISTS articles_by_metadata ON articles (metadata_file, metadata_offset);
CREATE INDEX IF NOT EXISTS captures_by_file ON captures (file, offset);
CREATE TABLE IF NOT EXISTS docs (
    doc INTEGER PRIMARY KEY,
    final_url TEXT NOT NULL UNIQUE,
    outlet TEXT NOT NULL,
    wire INTEGER NOT NULL,
    published TEXT,
    fetched TEXT NOT NULL,
    time REAL NOT NULL,
    text_hash TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    evidence TEXT NOT NULL,
    story TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS docs_by_story ON docs (story, doc);
CREATE INDEX IF NOT EXISTS docs_by_text_hash ON docs (text_hash);
CREATE INDEX IF NOT EXISTS docs_by_time ON docs (time);
CREATE TABLE IF NOT EXISTS doc_links (
    url TEXT NOT NULL,
    doc INTEGER NOT NULL,
    PRIMARY KEY (url, doc)
);
CREATE TABLE IF NOT EXISTS outlet_state (
    outlet TEXT PRIMARY KEY,
    last_poll TEXT NOT NULL,
    next_poll REAL NOT NULL,
    failures INTEGER NOT NULL,
    last_error TEXT,
    found INTEGER NOT NULL,
    archived INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS templates (
    outlet TEXT PRIMARY KEY,
    model TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS template_articles (
    outlet TEXT NOT NULL,
    article TEXT NOT NULL,
    rank INTEGER NOT NULL,
    keys TEXT NOT NULL,
    PRIMARY KEY (outlet, article)
);
CREATE INDEX IF NOT EXISTS template_articles_rank ON template_articles (outlet, rank);
CREATE TABLE IF NOT EXISTS template_learned (
    outlet TEXT NOT NULL,
    key TEXT NOT NULL,
    sample TEXT NOT NULL,
    articles INTEGER NOT NULL,
    PRIMARY KEY (outlet, key)
);
CREATE TABLE IF NOT EXISTS frontier (
    seq INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    outlet TEXT,
    host TEXT NOT NULL,
    discovery TEXT,
    added REAL NOT NULL,
    not_before REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL CHECK (state IN ('pending', 'failed')),
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS frontier_by_state ON frontier (state, seq);
CREATE TABLE IF NOT EXISTS validators (
    url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    digest TEXT NOT NULL,
    full_fetch REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS warc_files (
    file TEXT PRIMARY KEY,
    complete INTEGER NOT NULL
);
"""


@dataclass(frozen=True, kw_only=True)
class CaptureRow:
    """One archived response (or revisit) record."""

    url: str
    fetched: str
    status: int
    record_type: str
    payload_digest: str
    file: str
    offset: int
    length: int
    record_id: str
    refers_to: str | None = None


@dataclass(frozen=True, kw_only=True)
class OutletState:
    """The daemon's memory of one outlet: when it was polled, when it is due, how it went."""

    outlet: str
    last_poll: str
    next_poll: float
    failures: int = 0
    last_error: str | None = None
    found: int = 0
    archived: int = 0
    interval: float | None = None


@dataclass(frozen=True, kw_only=True)
class FrontierItem:
    """A URL found by discovery and not yet finished: ``pending`` (to fetch once ``not_before``,
    a Unix time, has passed) or ``failed`` (given up on after ``attempts``; discovery may queue
    it again once ``not_before`` has passed). Finished URLs leave the frontier: their captures
    in the catalog are what the seen-check consults."""

    url: str
    host: str
    outlet: str | None = None
    discovery: dict[str, Any] | None = None
    added: float = 0.0
    not_before: float = 0.0
    attempts: int = 0
    state: str = "pending"
    last_error: str | None = None
    seq: int = 0


@dataclass(frozen=True, kw_only=True)
class Validators:
    """What a discovery URL (feed, sitemap, section page) last answered, for conditional
    requests: its ETag / Last-Modified, the digest of its body, and when it was last fetched
    without conditions (a periodic full fetch guards against servers that answer 304 wrongly)."""

    url: str
    etag: str | None
    last_modified: str | None
    digest: str
    full_fetch: float


@dataclass(frozen=True, kw_only=True)
class DocRow:
    """One article as the story stage sees it (one row per final URL, updated in place)."""

    doc: int
    final_url: str
    outlet: str
    wire: bool
    published: str | None
    fetched: str
    time: float
    text_hash: str
    fingerprint: bytes
    evidence: tuple[Evidence, ...]
    story: str


@dataclass(frozen=True, kw_only=True)
class ArticleRow:
    """One archived article: its export record, where its metadata record lies, the cleaned
    blocks before learned templates (so a newly learned template can re-clean it without
    re-parsing), and the metadata record's JSON payload."""

    record: ExportRecord
    capture_record_id: str
    metadata_file: str
    metadata_offset: int
    blocks: tuple[str, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict, compare=False)


class Catalog(Protocol):
    """The catalog seam. Every method raises ArchiveError when the store fails."""

    def add_capture(self, row: CaptureRow) -> None:
        """Record a response or revisit record."""
        ...

    def latest_response(self, url: str) -> CaptureRow | None:
        """The newest ``response`` record for ``url`` (what a revisit refers to), or None."""
        ...

    def latest_capture(self, url: str) -> CaptureRow | None:
        """The newest response or revisit record for ``url``, or None."""
        ...

    def add_article(self, row: ArticleRow) -> None:
        """Record an archived article."""
        ...

    def article(self, final_url: str) -> ExportRecord | None:
        """The newest export record for ``final_url`` (or for a requested ``url``), or None."""
        ...

    def articles(self) -> Iterator[ExportRecord]:
        """The newest record of every archived article, in the order they were first archived."""
        ...

    def latest_articles(self, outlet: str | None = None) -> Iterator[ArticleRow]:
        """The newest row of every article (of ``outlet``, when given), first-archived order."""
        ...

    def template_model(self, outlet: str) -> dict[str, Any] | None:
        """The stored template model (JSON) of ``outlet``, or None."""
        ...

    def save_template_model(self, outlet: str, model: dict[str, Any]) -> None:
        """Store (replace) the template model of ``outlet``."""
        ...

    def save_template_changes(
        self, outlet: str, params: dict[str, Any], changes: TemplateChanges
    ) -> None:
        """Apply what observing changed to the stored model of ``outlet`` (one transaction)."""
        ...

    def counts(self) -> dict[str, int]:
        """Row counts: ``captures`` and ``articles``."""
        ...

    def put_doc(self, row: DocRow) -> int:
        """Insert or update (by final URL) a doc; returns its doc id (``row.doc`` is ignored)."""
        ...

    def doc(self, doc: int) -> DocRow | None:
        """One doc by id."""
        ...

    def doc_by_url(self, final_url: str) -> DocRow | None:
        """One doc by final URL."""
        ...

    def docs_by_text_hash(self, text_hash: str) -> list[int]:
        """Docs whose cleaned text is identical (tier 3)."""
        ...

    def set_doc_links(self, doc: int, urls: Sequence[str]) -> None:
        """Record the URLs a doc names as its source (replacing earlier ones)."""
        ...

    def docs_linking_to(self, url: str) -> list[int]:
        """Docs that name ``url`` as their source."""
        ...

    def docs_since(self, time: float) -> Iterator[DocRow]:
        """Docs with ``time >= time``, oldest first (to rebuild the hot index)."""
        ...

    def story_docs(self, story: str) -> list[DocRow]:
        """The docs of one story, in doc order."""
        ...

    def relabel_story(self, old: str, new: str) -> None:
        """Move every doc of story ``old`` into story ``new``."""
        ...

    def latest_article_row(self, final_url: str) -> ArticleRow | None:
        """The newest article row for a final URL."""
        ...

    def save_outlet_state(self, state: OutletState) -> None:
        """Store (replace) one outlet's poll state."""
        ...

    def outlet_states(self) -> dict[str, OutletState]:
        """Every stored outlet poll state, by outlet name."""
        ...

    def article_counts(self) -> dict[str, int]:
        """Archived articles (distinct final URLs) per outlet."""
        ...


def _catalog_error(message: str, exc: sqlite3.Error) -> ArchiveError:
    """Disk full and "locked by another connection" pass; anything else is an archive fault."""
    text = str(exc).lower()
    if "disk is full" in text or "database is locked" in text or "database is busy" in text:
        return ArchiveUnavailableError(message)
    return ArchiveError(message)


def _template_keys_text(keys: dict[str, int]) -> str:
    """An article's block keys and their weights as stored: ``key:weight`` by key, spaces."""
    return " ".join(f"{k}:{w}" for k, w in sorted(keys.items()))


def _template_keys(text: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for item in text.split():
        key, _, weight = item.partition(":")
        found[key] = int(weight)
    return found


def _template_statements(
    outlet: str, model: dict[str, Any]
) -> list[tuple[str, Sequence[tuple[object, ...]]]]:
    """Statements replacing the stored model of ``outlet`` with ``model`` (to_json form)."""
    params = {k: v for k, v in model.items() if k not in ("articles", "weights", "learned")}
    weights: dict[str, int] = model.get("weights", {})
    return [
        ("DELETE FROM template_articles WHERE outlet = ?", [(outlet,)]),
        ("DELETE FROM template_learned WHERE outlet = ?", [(outlet,)]),
        (
            "INSERT INTO templates (outlet, model) VALUES (?, ?)"
            " ON CONFLICT (outlet) DO UPDATE SET model = excluded.model",
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


class SqliteCatalog(Closeable):
    """The SQLite catalog at ``<archive>/index.sqlite``. Use as a context manager."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        # One connection shared by the daemon's threads; every statement runs under this lock.
        self._lock = threading.RLock()
        try:
            if readonly:
                self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                # One connection, used by one thread at a time (the daemon serialises jobs).
                self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, check_same_thread=False)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(_SCHEMA)
                self._migrate()
                self._db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
                self._db.commit()
        except sqlite3.Error as exc:
            raise ArchiveError(f"cannot open catalog {path}: {exc}") from exc

    def _migrate(self) -> None:
        """Bring an older catalog up to date: new tables come from _SCHEMA, new columns are
        added here (schema 1, issues 2-4), and template models stored whole as one JSON
        document (schema 2) are split into rows."""
        columns = {str(r[1]) for r in self._db.execute("PRAGMA table_info(outlet_state)")}
        if "interval" not in columns:
            self._db.execute("ALTER TABLE outlet_state ADD COLUMN interval REAL")
        whole = [
            (str(outlet), json.loads(str(model)))
            for outlet, model in self._db.execute("SELECT outlet, model FROM templates")
        ]
        for outlet, model in whole:
            if "articles" in model:
                for sql, params in _template_statements(outlet, model):
                    self._db.executemany(sql, params)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        self._write_many([(sql, [params])])

    def _write_many(self, statements: Sequence[tuple[str, Sequence[tuple[object, ...]]]]) -> None:
        """Run statements (each with a list of parameter tuples) in one transaction."""
        with self._lock:
            try:
                with self._db:
                    for sql, params in statements:
                        self._db.executemany(sql, params)
            except sqlite3.Error as exc:
                raise _catalog_error(f"cannot write catalog {self.path}: {exc}", exc) from exc

    def _rows(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise _catalog_error(f"cannot read catalog {self.path}: {exc}", exc) from exc

    def add_capture(self, row: CaptureRow) -> None:
        """Record a response or revisit record."""
        self._write(
            "INSERT INTO captures (url, fetched, status, record_type, payload_digest, file,"
            " offset, length, record_id, refers_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
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
            ),
        )

    def _capture(self, url: str, *, responses_only: bool) -> CaptureRow | None:
        rows = self._rows(
            "SELECT url, fetched, status, record_type, payload_digest, file, offset, length,"
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
            status=int(str(status)),
            record_type=str(rtype),
            payload_digest=str(digest),
            file=str(file),
            offset=int(str(offset)),
            length=int(str(length)),
            record_id=str(rid),
            refers_to=str(refers) if refers is not None else None,
        )

    def latest_response(self, url: str) -> CaptureRow | None:
        """The newest ``response`` record for ``url``, or None."""
        return self._capture(url, responses_only=True)

    def latest_capture(self, url: str) -> CaptureRow | None:
        """The newest response or revisit record for ``url``, or None."""
        return self._capture(url, responses_only=False)

    def add_article(self, row: ArticleRow) -> None:
        """Record an archived article."""
        rec = row.record
        self._write(
            "INSERT INTO articles (url, final_url, outlet, story, capture_record_id,"
            " metadata_file, metadata_offset, record, blocks, payload)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
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
            ),
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
            " WHERE ? IS NULL OR outlet = ? GROUP BY final_url"
            ") g ON a.id = g.last ORDER BY g.first",
            (outlet, outlet),
        )
        for values in rows:
            yield self._article_row(values)

    def max_article_id(self) -> int:
        """The id of the newest article row (0 when there is none): the archive's cursor."""
        rows = self._rows("SELECT MAX(id) FROM articles")
        return int(str(rows[0][0])) if rows and rows[0][0] is not None else 0

    def article_row_id(self, final_url: str) -> int:
        """The id (cursor position) of the newest row of the article at ``final_url``."""
        rows = self._rows("SELECT MAX(id) FROM articles WHERE final_url = ?", (final_url,))
        return int(str(rows[0][0])) if rows and rows[0][0] is not None else 0

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
            " WHERE a.id > ? AND a.id <= ? AND (? IS NULL OR a.outlet = ?)"
            " AND (? IS NULL OR a.story = ?) AND NOT EXISTS (SELECT 1 FROM articles b"
            " WHERE b.final_url = a.final_url AND b.id > a.id AND b.id <= ?)"
            " ORDER BY a.id LIMIT ?",
            (after, upto, outlet, outlet, story, story, upto, limit),
        )
        return [(int(str(r[0])), self._article_row(r[1:])) for r in rows]

    @staticmethod
    def _article_row(values: tuple[object, ...]) -> ArticleRow:
        record, capture, file, offset, blocks, payload = values
        return ArticleRow(
            record=ExportRecord.from_json(json.loads(str(record))),
            capture_record_id=str(capture),
            metadata_file=str(file),
            metadata_offset=int(str(offset)),
            blocks=tuple(json.loads(str(blocks))),
            payload=json.loads(str(payload)),
        )

    def template_model(self, outlet: str) -> dict[str, Any] | None:
        """The stored template model of ``outlet`` in ``TemplateModel.to_json`` form, or None.

        Stored as rows (parameters in ``templates``, one row per retained article in
        ``template_articles``, one per learned block in ``template_learned``) so that observing
        an article writes that article, not the whole model."""
        with self._lock:
            rows = self._rows("SELECT model FROM templates WHERE outlet = ?", (outlet,))
            if not rows:
                return None
            model: dict[str, Any] = json.loads(str(rows[0][0]))
            articles: list[list[Any]] = []
            weights: dict[str, int] = {}
            for article, keys in self._rows(
                "SELECT article, keys FROM template_articles WHERE outlet = ? ORDER BY rank",
                (outlet,),
            ):
                found = _template_keys(str(keys))
                articles.append([str(article), list(found)])  # stored sorted
                weights.update(found)
            learned = self._rows(
                "SELECT key, sample, articles FROM template_learned WHERE outlet = ? ORDER BY key",
                (outlet,),
            )
        model.update(
            articles=articles,
            weights=dict(sorted(weights.items())),
            learned=[{"key": k, "sample": s, "articles": n} for k, s, n in learned],
        )
        return model

    def save_template_model(self, outlet: str, model: dict[str, Any]) -> None:
        """Store (replace) the template model of ``outlet`` (``TemplateModel.to_json`` form)."""
        self._write_many(_template_statements(outlet, model))

    def save_template_changes(
        self, outlet: str, params: dict[str, Any], changes: TemplateChanges
    ) -> None:
        """Apply what observing changed to the stored model of ``outlet`` (one transaction):
        its parameters stored if new (a model's parameters never change), evicted articles
        deleted, added ones appended after every stored one (a replaced one keeps its rank),
        newly learned blocks inserted."""
        self._write_many(
            [
                (
                    "INSERT INTO templates (outlet, model) VALUES (?, ?)"
                    " ON CONFLICT (outlet) DO NOTHING",
                    [(outlet, json.dumps(params, sort_keys=True))],
                ),
                (
                    "DELETE FROM template_articles WHERE outlet = ? AND article = ?",
                    [(outlet, a) for a in changes.removed],
                ),
                (
                    "INSERT INTO template_articles (outlet, article, rank, keys) VALUES (?, ?,"
                    " (SELECT COALESCE(MAX(rank), -1) + 1 FROM template_articles"
                    " WHERE outlet = ?1), ?) ON CONFLICT (outlet, article)"
                    " DO UPDATE SET keys = excluded.keys",
                    [(outlet, a, _template_keys_text(k)) for a, k in changes.articles],
                ),
                (
                    "INSERT OR REPLACE INTO template_learned (outlet, key, sample, articles)"
                    " VALUES (?, ?, ?, ?)",
                    [(outlet, b.key, b.sample, b.articles) for b in changes.learned],
                ),
            ]
        )

    def put_doc(self, row: DocRow) -> int:
        """Insert or update (by final URL) a doc; returns its doc id (``row.doc`` is ignored)."""
        evidence = json.dumps([e.to_json() for e in row.evidence], ensure_ascii=False)
        self._write(
            "INSERT INTO docs (final_url, outlet, wire, published, fetched, time, text_hash,"
            " fingerprint, evidence, story) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (final_url) DO UPDATE SET outlet = excluded.outlet,"
            " wire = excluded.wire, published = excluded.published, fetched = excluded.fetched,"
            " time = excluded.time, text_hash = excluded.text_hash,"
            " fingerprint = excluded.fingerprint, evidence = excluded.evidence,"
            " story = excluded.story",
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
        found = self._rows("SELECT doc FROM docs WHERE final_url = ?", (row.final_url,))
        return int(str(found[0][0]))

    _DOC_COLUMNS = (
        "doc, final_url, outlet, wire, published, fetched, time, text_hash, fingerprint,"
        " evidence, story"
    )

    @staticmethod
    def _doc_row(values: tuple[object, ...]) -> DocRow:
        doc, url, outlet, wire, published, fetched, time, text_hash, fp, evidence, story = values
        return DocRow(
            doc=int(str(doc)),
            final_url=str(url),
            outlet=str(outlet),
            wire=bool(wire),
            published=str(published) if published is not None else None,
            fetched=str(fetched),
            time=float(str(time)),
            text_hash=str(text_hash),
            fingerprint=bytes(fp),  # type: ignore[call-overload]
            evidence=tuple(Evidence.from_json(e) for e in json.loads(str(evidence))),
            story=str(story),
        )

    def doc(self, doc: int) -> DocRow | None:
        """One doc by id."""
        rows = self._rows(f"SELECT {self._DOC_COLUMNS} FROM docs WHERE doc = ?", (doc,))  # noqa: S608
        return self._doc_row(rows[0]) if rows else None

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
        return [int(str(r[0])) for r in rows]

    def set_doc_links(self, doc: int, urls: Sequence[str]) -> None:
        """Record the URLs a doc names as its source (replacing earlier ones)."""
        self._write_many(
            [
                ("DELETE FROM doc_links WHERE doc = ?", [(doc,)]),
                (
                    "INSERT OR IGNORE INTO doc_links (url, doc) VALUES (?, ?)",
                    [(u, doc) for u in urls],
                ),
            ]
        )

    def docs_linking_to(self, url: str) -> list[int]:
        """Docs that name ``url`` as their source."""
        rows = self._rows("SELECT doc FROM doc_links WHERE url = ? ORDER BY doc", (url,))
        return [int(str(r[0])) for r in rows]

    def docs_since(self, time: float) -> Iterator[DocRow]:
        """Docs with ``time >= time``, oldest first (to rebuild the hot index)."""
        rows = self._rows(
            f"SELECT {self._DOC_COLUMNS} FROM docs WHERE time >= ? ORDER BY time, doc",  # noqa: S608
            (time,),
        )
        return (self._doc_row(r) for r in rows)

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

    def latest_article_row(self, final_url: str) -> ArticleRow | None:
        """The newest article row for a final URL."""
        rows = self._rows(
            "SELECT record, capture_record_id, metadata_file, metadata_offset, blocks, payload"
            " FROM articles WHERE final_url = ? ORDER BY id DESC LIMIT 1",
            (final_url,),
        )
        return self._article_row(rows[0]) if rows else None

    def save_outlet_state(self, state: OutletState) -> None:
        """Store (replace) one outlet's poll state."""
        self._write(
            "INSERT OR REPLACE INTO outlet_state (outlet, last_poll, next_poll, failures,"
            " last_error, found, archived, interval) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
        """Every stored outlet poll state, by outlet name."""
        rows = self._rows(
            "SELECT outlet, last_poll, next_poll, failures, last_error, found, archived, interval"
            " FROM outlet_state"
        )
        return {
            str(o): OutletState(
                outlet=str(o),
                last_poll=str(last),
                next_poll=float(str(nxt)),
                failures=int(str(fails)),
                last_error=str(err) if err is not None else None,
                found=int(str(found)),
                archived=int(str(archived)),
                interval=float(str(interval)) if interval is not None else None,
            )
            for o, last, nxt, fails, err, found, archived, interval in rows
        }

    # -- the frontier -------------------------------------------------------------------------

    _FRONTIER_COLUMNS = (
        "seq, url, outlet, host, discovery, added, not_before, attempts, state, last_error"
    )

    def frontier_add(self, items: Sequence[FrontierItem]) -> list[FrontierItem]:
        """Queue URLs not in the frontier yet (a ``failed`` entry whose ``not_before`` has
        passed is queued again); returns the items queued, with their ``seq``."""
        with self._lock:
            fresh = [
                i
                for i in items
                if not self._rows(
                    "SELECT 1 FROM frontier"
                    " WHERE url = ? AND (state = 'pending' OR not_before > ?)",
                    (i.url, i.added),
                )
            ]
            self._write_many(
                [
                    (
                        "INSERT INTO frontier (url, outlet, host, discovery, added, not_before,"
                        " attempts, state) VALUES (?, ?, ?, ?, ?, ?, 0, 'pending')"
                        " ON CONFLICT (url) DO UPDATE SET state = 'pending', attempts = 0,"
                        " not_before = excluded.not_before, discovery = excluded.discovery",
                        [
                            (
                                i.url,
                                i.outlet,
                                i.host,
                                json.dumps(i.discovery, ensure_ascii=False)
                                if i.discovery is not None
                                else None,
                                i.added,
                                i.not_before,
                            )
                            for i in fresh
                        ],
                    )
                ]
            )
            return [self._frontier_item(r) for i in fresh for r in self._frontier_rows(i.url)]

    def _frontier_rows(self, url: str) -> list[tuple[object, ...]]:
        return self._rows(
            f"SELECT {self._FRONTIER_COLUMNS} FROM frontier WHERE url = ?",  # noqa: S608
            (url,),
        )

    @staticmethod
    def _frontier_item(values: tuple[object, ...]) -> FrontierItem:
        seq, url, outlet, host, discovery, added, not_before, attempts, state, error = values
        return FrontierItem(
            seq=int(str(seq)),
            url=str(url),
            outlet=str(outlet) if outlet is not None else None,
            host=str(host),
            discovery=json.loads(str(discovery)) if discovery is not None else None,
            added=float(str(added)),
            not_before=float(str(not_before)),
            attempts=int(str(attempts)),
            state=str(state),
            last_error=str(error) if error is not None else None,
        )

    def frontier(self, state: str = "pending") -> list[FrontierItem]:
        """Every frontier entry in ``state``, in the order they were queued."""
        rows = self._rows(
            f"SELECT {self._FRONTIER_COLUMNS} FROM frontier"  # noqa: S608
            " WHERE state = ? ORDER BY seq",
            (state,),
        )
        return [self._frontier_item(r) for r in rows]

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
        """A transient failure: try ``url`` again after ``not_before`` (or, when ``failed``,
        give up until then)."""
        self._write(
            "UPDATE frontier SET not_before = ?, attempts = ?, last_error = ?, state = ?"
            " WHERE url = ?",
            (not_before, attempts, error, "failed" if failed else "pending", url),
        )

    def frontier_counts(self) -> dict[str, int]:
        """Frontier entries per state."""
        rows = self._rows("SELECT state, COUNT(*) FROM frontier GROUP BY state")
        return {"pending": 0, "failed": 0} | {str(s): int(str(n)) for s, n in rows}

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
            etag=str(etag) if etag is not None else None,
            last_modified=str(modified) if modified is not None else None,
            digest=str(digest),
            full_fetch=float(str(full)),
        )

    def save_validators(self, v: Validators) -> None:
        """Store (replace) a discovery URL's validators."""
        self._write(
            "INSERT OR REPLACE INTO validators (url, etag, last_modified, digest, full_fetch)"
            " VALUES (?, ?, ?, ?, ?)",
            (v.url, v.etag, v.last_modified, v.digest, v.full_fetch),
        )

    # -- reconciling with the WARC files ---------------------------------------------------------

    def mark_warc_complete(self, file: str) -> None:
        """Every record of ``file`` (closed) is known to the catalog."""
        self._write("INSERT OR REPLACE INTO warc_files (file, complete) VALUES (?, 1)", (file,))

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
            "SELECT MAX(m) FROM (SELECT MAX(offset) AS m FROM captures WHERE file = ?"
            " UNION ALL SELECT MAX(metadata_offset) FROM articles WHERE metadata_file = ?)",
            (file, file),
        )
        return int(str(rows[0][0])) if rows and rows[0][0] is not None else 0

    def last_capture_offset(self, file: str) -> int | None:
        """The offset of the last capture the catalog knows in ``file``, or None."""
        rows = self._rows("SELECT MAX(offset) FROM captures WHERE file = ?", (file,))
        return int(str(rows[0][0])) if rows and rows[0][0] is not None else None

    def known_record_ids(self, file: str) -> set[str]:
        """Record ids of the captures and article metadata the catalog holds in ``file``."""
        rows = self._rows("SELECT record_id FROM captures WHERE file = ?", (file,))
        return {str(r[0]) for r in rows}

    def article_counts(self) -> dict[str, int]:
        """Archived articles (distinct final URLs) per outlet."""
        rows = self._rows("SELECT outlet, COUNT(DISTINCT final_url) FROM articles GROUP BY outlet")
        return {str(o): int(str(n)) for o, n in rows}

    def counts(self) -> dict[str, int]:
        """Row counts: ``captures`` and ``articles``."""
        return {
            table: int(str(self._rows(f"SELECT COUNT(*) FROM {table}")[0][0]))  # noqa: S608
            for table in ("captures", "articles")
        }
