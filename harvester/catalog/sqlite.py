"""The SQLite catalog: embedded, zero set-up, the default (``<archive>/index.sqlite``).

Many processes of one machine may write it at once: it runs in WAL mode (readers never block a
writer nor wait for one), every write transaction starts with ``BEGIN IMMEDIATE`` (it takes the
database's one write lock at once, so a read-then-write such as a lease claim is atomic) and
waits up to ``BUSY_TIMEOUT`` for that lock before the catalog reports itself unavailable (the
daemon then pauses and retries). Story placement's fleet-wide critical section is an ``flock``
on ``index.sqlite.placement`` beside the database, released by the kernel when its holder dies.
SQLite on a network file system is not safe: a fleet of machines uses PostgreSQL.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from harvester.catalog.fulltext import FullTextQuery
from harvester.catalog.sql import (
    SCHEMA_VERSION,
    Params,
    Row,
    SqlCatalog,
    backfill_article_columns,
    template_statements,
)
from harvester.errors import ArchiveError, ArchiveUnavailableError

__all__ = ["BUSY_TIMEOUT", "CATALOG_NAME", "SqliteCatalog"]

CATALOG_NAME = "index.sqlite"
# How long a statement waits for another connection's lock before the catalog reports itself
# unavailable (the daemon then pauses and retries; a reader raises).
BUSY_TIMEOUT = 30.0

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS captures (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    fetched TEXT NOT NULL,
    status INTEGER NOT NULL,
    record_type TEXT NOT NULL CHECK (record_type IN ('response', 'revisit')),
    payload_digest TEXT NOT NULL,
    file TEXT NOT NULL,
    "offset" INTEGER NOT NULL,
    length INTEGER NOT NULL,
    record_id TEXT NOT NULL UNIQUE,
    refers_to TEXT
);
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
    payload TEXT NOT NULL,
    is_original INTEGER,
    original_outlet TEXT,
    original_url TEXT,
    ran REAL
);
CREATE TABLE IF NOT EXISTS docs (
    doc INTEGER PRIMARY KEY,
    final_url TEXT NOT NULL UNIQUE,
    outlet TEXT NOT NULL,
    wire INTEGER NOT NULL,
    published TEXT,
    fetched TEXT NOT NULL,
    "time" REAL NOT NULL,
    text_hash TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    evidence TEXT NOT NULL,
    story TEXT NOT NULL,
    placed INTEGER NOT NULL DEFAULT 0
);
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
    archived INTEGER NOT NULL,
    "interval" REAL,
    polled REAL,
    claim_round REAL,
    lease_owner TEXT,
    lease_until REAL
);
CREATE TABLE IF NOT EXISTS templates (
    outlet TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS template_articles (
    outlet TEXT NOT NULL,
    article TEXT NOT NULL,
    rank INTEGER NOT NULL,
    keys TEXT NOT NULL,
    PRIMARY KEY (outlet, article)
);
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
    last_error TEXT,
    lease_owner TEXT,
    lease_until REAL
);
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
CREATE TABLE IF NOT EXISTS hosts (
    netloc TEXT PRIMARY KEY,
    ready_at REAL NOT NULL,
    paused_until REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS host_slots (
    token TEXT PRIMARY KEY,
    netloc TEXT NOT NULL,
    owner TEXT NOT NULL,
    until REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS robots (
    origin TEXT PRIMARY KEY,
    status INTEGER NOT NULL,
    body BLOB NOT NULL,
    expires REAL NOT NULL,
    claim_owner TEXT,
    claim_until REAL
);
"""

_INDEXES = """
CREATE INDEX IF NOT EXISTS captures_by_url ON captures (url, id);
CREATE INDEX IF NOT EXISTS captures_by_file ON captures (file, "offset");
CREATE INDEX IF NOT EXISTS articles_by_final_url ON articles (final_url, id);
CREATE INDEX IF NOT EXISTS articles_by_outlet ON articles (outlet, id);
CREATE INDEX IF NOT EXISTS articles_by_story ON articles (story, id);
CREATE INDEX IF NOT EXISTS articles_by_metadata ON articles (metadata_file, metadata_offset);
CREATE INDEX IF NOT EXISTS docs_by_story ON docs (story, doc);
CREATE INDEX IF NOT EXISTS docs_by_text_hash ON docs (text_hash);
CREATE INDEX IF NOT EXISTS docs_by_time ON docs ("time");
CREATE INDEX IF NOT EXISTS docs_by_placed ON docs (placed);
CREATE INDEX IF NOT EXISTS template_articles_rank ON template_articles (outlet, rank);
CREATE INDEX IF NOT EXISTS frontier_by_state ON frontier (state, seq);
CREATE INDEX IF NOT EXISTS frontier_by_owner ON frontier (lease_owner);
CREATE INDEX IF NOT EXISTS host_slots_by_netloc ON host_slots (netloc);
-- The story desk's outlet page reads these columns only: covering indexes spare it the rows.
CREATE INDEX IF NOT EXISTS articles_desk_outlet
    ON articles (outlet, is_original, ran, original_outlet, original_url, final_url);
CREATE INDEX IF NOT EXISTS articles_desk_original
    ON articles (original_outlet, is_original, outlet, ran, original_url, final_url);
CREATE INDEX IF NOT EXISTS docs_by_outlet ON docs (outlet, "time");
"""

# Full-text search (schema 5): titles and cleaned text of the newest row of every article.
# Contentless (the text lives in the articles table once); a trigger keeps it in step with
# every article row added, whoever adds it: the new row replaces its article's previous one
# (FTS5's 'delete' command needs the values that were indexed, rebuilt the same way).
_FTS_TABLE = """
CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(
    title, body, content='', tokenize='unicode61 remove_diacritics 2'
)
"""
_FTS_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS articles_fts_add AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, body)
        SELECT 'delete', p.id, COALESCE(json_extract(p.record, '$.title'), ''),
               COALESCE(json_extract(p.record, '$.text'), '')
        FROM articles p WHERE p.id = (SELECT MAX(id) FROM articles
                                      WHERE final_url = new.final_url AND id < new.id);
    INSERT INTO articles_fts (rowid, title, body)
        VALUES (new.id, COALESCE(json_extract(new.record, '$.title'), ''),
                COALESCE(json_extract(new.record, '$.text'), ''));
END
"""
_FTS_FILL = """
INSERT INTO articles_fts (rowid, title, body)
    SELECT a.id, COALESCE(json_extract(a.record, '$.title'), ''),
           COALESCE(json_extract(a.record, '$.text'), '')
    FROM articles a WHERE a.id = (SELECT MAX(id) FROM articles WHERE final_url = a.final_url)
"""

# Columns added since schema 1 to tables an older catalog already has: (table, column, type).
_ADDED_COLUMNS = (
    ("outlet_state", "interval", "REAL"),
    ("outlet_state", "polled", "REAL"),
    ("outlet_state", "claim_round", "REAL"),
    ("outlet_state", "lease_owner", "TEXT"),
    ("outlet_state", "lease_until", "REAL"),
    ("frontier", "lease_owner", "TEXT"),
    ("frontier", "lease_until", "REAL"),
    ("docs", "placed", "INTEGER NOT NULL DEFAULT 0"),
    ("templates", "version", "INTEGER NOT NULL DEFAULT 0"),
    ("articles", "is_original", "INTEGER"),
    ("articles", "original_outlet", "TEXT"),
    ("articles", "original_url", "TEXT"),
    ("articles", "ran", "REAL"),
)


def _catalog_error(message: str, exc: sqlite3.Error) -> ArchiveError:
    """Disk full and "locked by another connection" pass; anything else is an archive fault."""
    text = str(exc).lower()
    if "disk is full" in text or "database is locked" in text or "database is busy" in text:
        return ArchiveUnavailableError(message)
    return ArchiveError(message)


class _SqliteTx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, params: Params = ()) -> list[Row]:
        return self._db.execute(sql, tuple(params)).fetchall()

    def executemany(self, sql: str, params: Sequence[Params]) -> None:
        self._db.executemany(sql, [tuple(p) for p in params])


def stored_schema_version(db: sqlite3.Connection) -> int:
    """The schema version a catalog says it has (0: new or older than versioning)."""
    has_meta = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchall()
    if not has_meta:
        return 0
    rows = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    return int(rows[0][0]) if rows and str(rows[0][0]).isdigit() else 0


def refuse_newer(name: str, version: int) -> None:
    """A catalog written by a newer harvester is never read or changed by this one."""
    if version > SCHEMA_VERSION:
        raise ArchiveError(
            f"catalog {name} has schema version {version}; this harvester knows up to "
            f"{SCHEMA_VERSION}: upgrade harvester to use it"
        )


class SqliteCatalog(SqlCatalog):
    """The SQLite catalog at ``path``. Use as a context manager."""

    NOW = "((julianday('now') - 2440587.5) * 86400.0)"

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        super().__init__()
        self.path = path
        self.name = str(path)
        # One connection shared by the process's threads; a transaction holds this lock.
        self._lock = threading.RLock()
        self._placement_lock = threading.Lock()
        self._closed = False
        try:
            if readonly:
                # Shared by threads (a web server's workers): the RLock serialises them.
                self._db = sqlite3.connect(
                    f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT, check_same_thread=False
                )
                refuse_newer(self.name, stored_schema_version(self._db))
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, check_same_thread=False)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._migrate()
        except sqlite3.Error as exc:
            raise _catalog_error(f"cannot open catalog {path}: {exc}", exc) from exc
        except ArchiveError:
            with contextlib.suppress(sqlite3.Error, AttributeError):
                self._db.close()
            raise

    def _migrate(self) -> None:
        """Create a new catalog at the current schema, or bring an older one up to it in one
        transaction (new tables, columns added since schema 1, template models stored whole as
        one JSON document in schema 2 split into rows); refuse a newer one."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = stored_schema_version(self._db)
            refuse_newer(self.name, version)
            if version < SCHEMA_VERSION:
                for statement in _TABLES.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                for table, column, kind in _ADDED_COLUMNS:
                    columns = {str(r[1]) for r in self._db.execute(f"PRAGMA table_info({table})")}
                    if column not in columns:
                        self._db.execute(f'ALTER TABLE {table} ADD COLUMN "{column}" {kind}')
                for statement in _INDEXES.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                backfill_article_columns(_SqliteTx(self._db))
                self._add_fulltext()
                whole = [
                    (str(outlet), json.loads(str(model)))
                    for outlet, model in self._db.execute("SELECT outlet, model FROM templates")
                ]
                for outlet, model in whole:
                    if "articles" in model:
                        for sql, params in template_statements(outlet, model):
                            self._db.executemany(sql, params)
                self._db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            self._db.commit()
        except BaseException:
            self._db.rollback()
            raise

    def _add_fulltext(self) -> None:
        """Create the full-text index and its trigger; fill it when it is new (schema 5)."""
        exists = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'articles_fts'"
        ).fetchall()
        self._db.execute(_FTS_TABLE)
        self._db.execute(_FTS_TRIGGER)
        if not exists:
            self._db.execute(_FTS_FILL)

    def _search_sql(self, query: FullTextQuery, limit: int) -> tuple[str, Params]:
        return (
            "SELECT a.id, a.record, d.story FROM (SELECT rowid AS id, rank FROM articles_fts"
            " WHERE articles_fts MATCH ? ORDER BY rank LIMIT ?) f"
            " JOIN articles a ON a.id = f.id LEFT JOIN docs d ON d.final_url = a.final_url"
            " ORDER BY f.rank",
            (query.fts5(), limit),
        )

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()

    @contextlib.contextmanager
    def _tx(self, *, write: bool) -> Iterator[_SqliteTx]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.Error as exc:
                what = "write" if write else "read"
                raise _catalog_error(f"cannot {what} catalog {self.path}: {exc}", exc) from exc
            try:
                yield _SqliteTx(self._db)
                self._db.commit()
            except sqlite3.Error as exc:
                self._db.rollback()
                what = "write" if write else "read"
                raise _catalog_error(f"cannot {what} catalog {self.path}: {exc}", exc) from exc
            except BaseException:
                self._db.rollback()
                raise

    @contextlib.contextmanager
    def placement(self) -> Iterator[None]:
        """The critical section of story placement for every process of this machine: an
        flock on ``<catalog>.placement`` (threads of one process queue on a lock first)."""
        with self._placement_lock:
            try:
                handle = Path(f"{self.path}.placement").open("a")  # noqa: SIM115
            except OSError as exc:
                raise ArchiveError(f"cannot open the placement lock of {self.path}: {exc}") from exc
            try:
                fcntl.flock(handle, fcntl.LOCK_EX)
                yield
            finally:
                handle.close()  # closing the file releases the lock
