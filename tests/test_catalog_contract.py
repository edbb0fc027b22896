"""The catalog contract: one suite run against every engine (SQLite and PostgreSQL).

Every test taking ``catalog`` (or ``store``) runs once per engine: ``[sqlite]`` on a file in the
test's temp directory, ``[postgresql]`` on a fresh database of the session's private cluster
(skipped, or failed in CI, where there is no server). The assertions follow the docstrings of
``harvester.catalog.protocol.Catalog``; a few PostgreSQL-only tests at the end cover what only a
server can do (refuse a password, go away and come back).

Times passed as ``now`` / ``due_by`` / ``horizon`` are the caller's clock (``NOW`` below); lease,
host and robots times run on the catalog's own clock, so those tests use leases that are either
long (live for the whole test) or negative (already expired), and only bound waits.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import psycopg
import pytest
from pgcluster import PgCluster
from psycopg import sql
from test_templates import outlet_pages

from harvester.catalog import (
    SCHEMA_VERSION,
    ArticleRow,
    CaptureRow,
    Catalog,
    DocRow,
    FrontierItem,
    OutletState,
    RobotsEntry,
    SqliteCatalog,
    Validators,
    open_catalog,
)
from harvester.errors import ArchiveError, ArchiveUnavailableError, ConfigError
from harvester.extract.templates import TemplateModel
from harvester.models import Evidence, ExportRecord, Original, WarcLocation

ENGINES = ("sqlite", "postgresql")
# The caller's clock (Unix seconds) for scheduling values: next polls, not_before, horizons.
NOW = 1_790_000_000.0
LONG = 600.0  # a lease that stays live for the whole test
WARC = "warcs/harvester-w1-20261201100000-00000.warc.gz"
OTHER_WARC = "warcs/harvester-w1-20261201110000-00001.warc.gz"


# --- the engines ------------------------------------------------------------------------------


@dataclass
class Store:
    """One empty catalog store of one engine; ``open()`` opens another catalog object on it
    (another connection or pool, as a second writer would), closed at teardown."""

    engine: str
    location: str  # the SQLite file, or the PostgreSQL URL
    opener: Callable[[], Catalog]
    opened: list[Catalog] = field(default_factory=list)

    def open(self) -> Catalog:
        catalog = self.opener()
        self.opened.append(catalog)
        return catalog


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store of each engine (PostgreSQL: a fresh database, see ``pg_url``)."""
    if request.param == "sqlite":
        path = tmp_path / "index.sqlite"
        made = Store(engine="sqlite", location=str(path), opener=lambda: SqliteCatalog(path))
    else:
        from harvester.catalog.postgres import PostgresCatalog

        url: str = request.getfixturevalue("pg_url")
        made = Store(engine="postgresql", location=url, opener=lambda: PostgresCatalog(url))
    try:
        yield made
    finally:
        for catalog in made.opened:
            catalog.close()


@pytest.fixture
def catalog(store: Store) -> Catalog:
    """A catalog open on an empty store, closed after the test."""
    return store.open()


# --- rows -------------------------------------------------------------------------------------


def record_id(n: int) -> str:
    return f"<urn:uuid:{uuid.UUID(int=n)}>"


def capture(
    url: str,
    n: int,
    *,
    record_type: str = "response",
    file: str = WARC,
    offset: int | None = None,
    refers_to: str | None = None,
) -> CaptureRow:
    """Capture number ``n`` (its record id and default offset follow from ``n``)."""
    return CaptureRow(
        url=url,
        fetched=f"2026-12-01T10:{n % 60:02d}:00Z",
        status=200,
        record_type=record_type,
        payload_digest=f"sha1:DIGEST{n:04d}",
        file=file,
        offset=n * 1000 if offset is None else offset,
        length=900 + n,
        record_id=record_id(n),
        refers_to=refers_to,
    )


def export(
    final_url: str, n: int, *, url: str | None = None, outlet: str = "north", story: str = "s-1"
) -> ExportRecord:
    """Export record number ``n`` of the article at ``final_url``."""
    return ExportRecord(
        url=url or final_url,
        final_url=final_url,
        outlet=outlet,
        title=f"Harbour budget, take {n}",
        authors=("Ana Ruiz", "Jonas Berg"),
        published="2026-11-30T08:00:00Z",
        fetched=f"2026-12-01T10:{n % 60:02d}:00Z",
        language="en",
        text=f"First paragraph {n}.\n\nSecond paragraph — «quoted» Ü.",
        story=story,
        is_original=n % 2 == 0,
        original=Original(
            url="https://wire.test/original",
            outlet="Wire",
            seen=False,
            evidence=(Evidence(kind="credit-line", text="(Wire)", source="Wire"),),
        ),
        warc=WarcLocation(file=WARC, offset=n * 1000, record_id=record_id(n)),
    )


def article(record: ExportRecord, n: int, *, file: str = WARC) -> ArticleRow:
    """The article row of ``record``, its metadata record at ``n * 1000 + 500`` in ``file``."""
    return ArticleRow(
        record=record,
        capture_record_id=record.warc.record_id,
        metadata_file=file,
        metadata_offset=n * 1000 + 500,
        blocks=(f"Block {n} one.", "Block two.", "Sign up for the Morning Brief"),
        payload={"row": n, "note": "Ü"},
    )


# Bytes that a text column would mangle: NUL, 0xff, every byte value once.
AWKWARD = b"\x00\xff\x00" + bytes(range(256)) + b"\xff\x00"


def doc(
    final_url: str,
    *,
    time: float = NOW,
    text_hash: str = "hash-a",
    story: str = "story-a",
    fingerprint: bytes = AWKWARD,
    outlet: str = "north",
) -> DocRow:
    return DocRow(
        doc=0,
        final_url=final_url,
        outlet=outlet,
        wire=False,
        published="2026-11-30T08:00:00Z",
        fetched="2026-12-01T10:00:00Z",
        time=time,
        text_hash=text_hash,
        fingerprint=fingerprint,
        evidence=(
            Evidence(kind="credit-line", text="— Wire «Ü»", source="Wire"),
            Evidence(kind="link", text="Originally published", url="https://wire.test/a"),
        ),
        story=story,
    )


def item(url: str, *, host: str | None = None, not_before: float = 0.0) -> FrontierItem:
    return FrontierItem(
        url=url,
        host=host or url.split("/")[2],
        outlet="north",
        discovery={"source": "feed", "feed": "https://north.test/rss.xml", "title": "Ü"},
        added=NOW,
        not_before=not_before,
    )


# --- captures ---------------------------------------------------------------------------------


def test_latest_response_skips_revisits_latest_capture_does_not(catalog: Catalog) -> None:
    url = "https://north.test/a"
    assert catalog.latest_response(url) is None
    assert catalog.latest_capture(url) is None
    first = capture(url, 1)
    revisit = capture(url, 2, record_type="revisit", refers_to=first.record_id)
    catalog.add_capture(first)
    catalog.add_capture(capture("https://north.test/other", 3))
    catalog.add_capture(revisit)
    assert catalog.latest_response(url) == first
    assert catalog.latest_capture(url) == revisit
    second = capture(url, 4)
    catalog.add_capture(second)
    assert catalog.latest_response(url) == second
    assert catalog.latest_capture(url) == second
    assert catalog.latest_capture("https://north.test/other") == capture(
        "https://north.test/other", 3
    )


def test_captures_are_known_by_record_id_url_and_file(catalog: Catalog) -> None:
    a = capture("https://north.test/a", 1, offset=0)
    b = capture("https://north.test/b", 2, offset=1500)
    c = capture("https://north.test/a", 3, file=OTHER_WARC, offset=0, record_type="revisit")
    for row in (a, b, c):
        catalog.add_capture(row)
    assert catalog.has_capture(a.record_id)
    assert catalog.has_capture(c.record_id)
    assert not catalog.has_capture(record_id(99))
    # more URLs than one IN (...) batch holds
    asked = [f"https://north.test/never/{n}" for n in range(1200)]
    asked[700:700] = ["https://north.test/a", "https://north.test/b"]
    assert catalog.captured(asked) == {"https://north.test/a", "https://north.test/b"}
    assert catalog.captured([]) == set()
    assert catalog.last_capture_offset(WARC) == 1500
    assert catalog.last_capture_offset(OTHER_WARC) == 0
    assert catalog.last_capture_offset("warcs/none.warc.gz") is None
    assert catalog.known_record_ids(WARC) == {a.record_id, b.record_id}
    assert catalog.known_record_ids(OTHER_WARC) == {c.record_id}
    assert catalog.known_record_ids("warcs/none.warc.gz") == set()
    assert catalog.last_indexed_offset(WARC) == 1500
    assert catalog.last_indexed_offset("warcs/none.warc.gz") == 0
    # an article's metadata record counts for last_indexed_offset, not for last_capture_offset
    catalog.add_article(article(export("https://north.test/a", 4), 4))  # metadata at 4500
    assert catalog.last_indexed_offset(WARC) == 4500
    assert catalog.last_capture_offset(WARC) == 1500
    assert catalog.counts() == {"captures": 3, "articles": 1}


def test_a_duplicate_record_id_is_an_archive_error(catalog: Catalog) -> None:
    first = capture("https://north.test/a", 1)
    catalog.add_capture(first)
    with pytest.raises(ArchiveError):
        catalog.add_capture(replace(first, url="https://north.test/b", offset=5000))
    # the failed write left nothing behind and the catalog still works
    assert catalog.counts() == {"captures": 1, "articles": 0}
    assert catalog.latest_capture("https://north.test/b") is None
    catalog.add_capture(capture("https://north.test/b", 2))
    assert catalog.counts()["captures"] == 2


def test_a_page_is_indexed_whole_or_not_at_all(catalog: Catalog) -> None:
    """add_page: a page's captures and its article in one transaction."""
    hop = replace(capture("https://north.test/old", 1), status=301)
    final = capture("https://north.test/a", 2, offset=1500)
    catalog.add_page([hop, final], article(export("https://north.test/a", 4), 4))
    assert catalog.counts() == {"captures": 2, "articles": 1}
    assert catalog.latest_capture("https://north.test/a") == final
    assert catalog.article("https://north.test/a") is not None
    # a failing row (a record id already indexed) takes the whole page with it
    again = capture("https://north.test/b", 5, offset=9000)
    with pytest.raises(ArchiveError):
        catalog.add_page(
            [again, replace(final, url="https://north.test/c")],
            article(export("https://north.test/b", 6), 6),
        )
    assert catalog.counts() == {"captures": 2, "articles": 1}
    assert catalog.latest_capture("https://north.test/b") is None
    assert catalog.article("https://north.test/b") is None
    catalog.add_page([again])  # a page without an article (not one, refused, an HTTP error)
    catalog.add_page([])  # nothing at all: nothing written
    assert catalog.counts() == {"captures": 3, "articles": 1}


# --- articles ---------------------------------------------------------------------------------


def test_article_by_final_or_requested_url_is_the_newest(catalog: Catalog) -> None:
    final = "https://north.test/2026/12/harbour"
    requested = "https://north.test/?p=41"
    assert catalog.article(final) is None
    old = export(final, 1, url=requested)
    catalog.add_article(article(old, 1))
    catalog.add_article(article(export("https://north.test/other", 2), 2))
    new = export(final, 3, url=requested)
    catalog.add_article(article(new, 3))
    assert catalog.article(final) == new
    assert catalog.article(requested) == new
    assert catalog.article("https://north.test/other") == export("https://north.test/other", 2)
    assert catalog.article("https://north.test/absent") is None
    row = catalog.latest_article_row(final)
    assert row == article(new, 3)
    assert row is not None
    assert row.payload == {"row": 3, "note": "Ü"}
    assert catalog.latest_article_row(requested) is None  # by final URL only
    assert catalog.latest_article_row("https://north.test/absent") is None


def test_latest_articles_are_newest_rows_in_first_archived_order(catalog: Catalog) -> None:
    a, b, c = (f"https://{o}.test/{n}" for o, n in (("north", "a"), ("north", "b"), ("south", "c")))
    rows = {
        "a1": article(export(a, 1), 1),
        "b1": article(export(b, 2), 2),
        "a2": article(export(a, 3), 3),
        "c1": article(export(c, 4, outlet="south"), 4),
    }
    for row in rows.values():
        catalog.add_article(row)
    assert list(catalog.latest_articles()) == [rows["a2"], rows["b1"], rows["c1"]]
    assert list(catalog.latest_articles("north")) == [rows["a2"], rows["b1"]]
    assert list(catalog.latest_articles("south")) == [rows["c1"]]
    assert list(catalog.latest_articles("nowhere")) == []
    assert list(catalog.articles()) == [rows[k].record for k in ("a2", "b1", "c1")]
    assert [r.payload for r in catalog.latest_articles()] == [
        {"row": 3, "note": "Ü"},
        {"row": 2, "note": "Ü"},
        {"row": 4, "note": "Ü"},
    ]
    newest = catalog.latest_article_rows([c, a, "https://north.test/none", a])
    assert newest == {a: rows["a2"], c: rows["c1"]}
    assert newest[a] == catalog.latest_article_row(a)
    assert catalog.latest_article_rows([]) == {}


def test_article_cursor_counts_and_metadata_positions(catalog: Catalog) -> None:
    assert catalog.max_article_id() == 0
    assert catalog.article_row_id("https://north.test/a") == 0
    assert catalog.article_counts() == {}
    assert catalog.counts() == {"captures": 0, "articles": 0}
    ids = []
    for n, (url, outlet) in enumerate(
        [("a", "north"), ("b", "north"), ("a", "north"), ("c", "south")], start=1
    ):
        catalog.add_article(article(export(f"https://x.test/{url}", n, outlet=outlet), n))
        ids.append(catalog.max_article_id())
    assert ids == sorted(ids)
    assert len(set(ids)) == 4
    assert ids[0] > 0
    assert catalog.article_row_id("https://x.test/a") == ids[2]
    assert catalog.article_row_id("https://x.test/b") == ids[1]
    assert catalog.article_row_id("https://x.test/absent") == 0
    assert catalog.article_counts() == {"north": 2, "south": 1}
    assert catalog.counts() == {"captures": 0, "articles": 4}
    assert catalog.has_article_at(WARC, 1500)
    assert catalog.has_article_at(WARC, 4500)
    assert not catalog.has_article_at(WARC, 1000)  # the capture, not the metadata record
    assert not catalog.has_article_at(OTHER_WARC, 1500)


def test_changed_articles_pages_the_newest_rows_as_of_upto(catalog: Catalog) -> None:
    a, b, c, d = (f"https://x.test/{k}" for k in "abcd")
    plan = [
        ("a1", a, "north", "s-1"),
        ("b1", b, "north", "s-1"),
        ("a2", a, "north", "s-1"),
        ("c1", c, "south", "s-3"),
        ("b2", b, "north", "s-2"),  # b moves to another story
        ("d1", d, "north", "s-1"),
    ]
    ids: dict[str, int] = {}
    rows: dict[str, ArticleRow] = {}
    for n, (label, url, outlet, story) in enumerate(plan, start=1):
        rows[label] = article(export(url, n, outlet=outlet, story=story), n)
        catalog.add_article(rows[label])
        ids[label] = catalog.max_article_id()

    def page(after: int, upto: int, **filters: object) -> list[str]:
        got = catalog.changed_articles(after, upto, **filters)  # type: ignore[arg-type]
        by_id = {v: k for k, v in ids.items()}
        for row_id, row in got:
            assert row == rows[by_id[row_id]]
        return [by_id[row_id] for row_id, _ in got]

    top = catalog.max_article_id()
    assert top == ids["d1"]
    assert page(0, top) == ["a2", "c1", "b2", "d1"]
    # keyset pagination: pass the last id back as ``after``
    assert page(0, top, limit=2) == ["a2", "c1"]
    assert page(ids["c1"], top, limit=2) == ["b2", "d1"]
    assert page(ids["d1"], top, limit=2) == []
    # as of an earlier cursor, the rows newest then (b1 until b2 came, a1 until a2)
    assert page(0, ids["a2"]) == ["b1", "a2"]
    assert page(0, ids["b1"]) == ["a1", "b1"]
    assert page(ids["a2"], top) == ["c1", "b2", "d1"]
    assert page(ids["a1"], ids["c1"]) == ["b1", "a2", "c1"]
    # filters
    assert page(0, top, outlet="south") == ["c1"]
    assert page(0, top, outlet="north") == ["a2", "b2", "d1"]
    assert page(0, top, story="s-2") == ["b2"]
    assert page(0, top, story="s-1") == ["a2", "d1"]  # b's newest row is in s-2 now
    assert page(0, ids["a2"], story="s-1") == ["b1", "a2"]
    assert page(0, top, outlet="north", story="s-1", limit=1) == ["a2"]
    assert page(0, top, outlet="nowhere") == []


# --- docs -------------------------------------------------------------------------------------


def test_put_doc_inserts_then_updates_by_final_url_keeping_the_id(catalog: Catalog) -> None:
    url = "https://north.test/doc"
    first = doc(url)
    doc_id = catalog.put_doc(replace(first, doc=12345))  # row.doc is ignored
    assert doc_id != 12345
    assert catalog.doc(doc_id) == replace(first, doc=doc_id)
    stored = catalog.doc(doc_id)
    assert stored is not None
    assert stored.fingerprint == AWKWARD  # byte for byte, NUL and 0xff included
    assert stored.evidence == first.evidence
    other_id = catalog.put_doc(doc("https://north.test/other"))
    assert other_id != doc_id
    updated = replace(
        first,
        outlet="south",
        wire=True,
        published=None,
        fetched="2026-12-02T09:00:00Z",
        time=NOW + 0.125,
        text_hash="hash-b",
        fingerprint=b"\xff" * 7 + b"\x00" * 9,
        evidence=(Evidence(kind="byline", text="By Ana Ruiz"),),
        story="story-b",
    )
    assert catalog.put_doc(updated) == doc_id
    assert catalog.doc(doc_id) == replace(updated, doc=doc_id)
    assert catalog.doc_by_url(url) == replace(updated, doc=doc_id)
    assert catalog.doc(other_id) == replace(doc("https://north.test/other"), doc=other_id)
    assert catalog.doc(doc_id + other_id + 1000) is None
    assert catalog.doc_by_url("https://north.test/absent") is None


def test_docs_by_text_hash_links_time_and_story(catalog: Catalog) -> None:
    d1 = catalog.put_doc(doc("https://x.test/1", time=NOW + 100, text_hash="same"))
    d2 = catalog.put_doc(doc("https://x.test/2", time=NOW + 300, text_hash="other"))
    d3 = catalog.put_doc(doc("https://x.test/3", time=NOW + 200, text_hash="same", story="b"))
    assert catalog.docs_by_text_hash("same") == [d1, d3]
    assert catalog.docs_by_text_hash("other") == [d2]
    assert catalog.docs_by_text_hash("none") == []

    u1, u2, u3 = "https://wire.test/1", "https://wire.test/2", "https://wire.test/3"
    assert catalog.docs_linking_to(u1) == []
    catalog.set_doc_links(d1, [u1, u2, u1])
    catalog.set_doc_links(d2, [u1])
    assert catalog.docs_linking_to(u1) == [d1, d2]
    assert catalog.docs_linking_to(u2) == [d1]
    catalog.set_doc_links(d1, [u3])  # replaces d1's links
    assert catalog.docs_linking_to(u1) == [d2]
    assert catalog.docs_linking_to(u2) == []
    assert catalog.docs_linking_to(u3) == [d1]
    catalog.set_doc_links(d1, [])
    assert catalog.docs_linking_to(u3) == []

    assert [r.doc for r in catalog.docs_since(NOW + 150)] == [d3, d2]  # by time
    assert [r.doc for r in catalog.docs_since(NOW + 200)] == [d3, d2]  # time >= time
    assert [r.doc for r in catalog.docs_since(0)] == [d1, d3, d2]
    assert list(catalog.docs_since(NOW + 301)) == []
    assert next(iter(catalog.docs_since(NOW + 250))) == replace(
        doc("https://x.test/2", time=NOW + 300, text_hash="other"), doc=d2
    )

    assert [r.doc for r in catalog.story_docs("story-a")] == [d1, d2]
    assert [r.doc for r in catalog.story_docs("b")] == [d3]
    catalog.relabel_story("story-a", "b")
    assert catalog.story_docs("story-a") == []
    moved = catalog.story_docs("b")
    assert [r.doc for r in moved] == [d1, d2, d3]
    assert {r.story for r in moved} == {"b"}
    catalog.relabel_story("nothing", "b")
    assert len(catalog.story_docs("b")) == 3
    catalog.move_docs([d1, d3], "split")
    assert [r.doc for r in catalog.story_docs("split")] == [d1, d3]
    assert [r.doc for r in catalog.story_docs("b")] == [d2]
    catalog.move_docs([], "nothing")
    assert catalog.story_docs("nothing") == []
    assert [r.doc for r in catalog.docs([d3, 999, d1, d3])] == [d1, d3]
    assert catalog.docs([d2]) == [catalog.doc(d2)]
    assert catalog.docs([]) == []


def test_every_put_takes_a_larger_placement_number(catalog: Catalog) -> None:
    assert catalog.max_placed() == 0
    assert catalog.docs_placed_after(0) == []
    x = catalog.put_doc(doc("https://x.test/x"))
    seq_x = catalog.max_placed()
    y = catalog.put_doc(doc("https://x.test/y"))
    seq_y = catalog.max_placed()
    assert seq_y > seq_x > 0
    moved = doc("https://x.test/x", text_hash="changed", story="story-y")
    assert catalog.put_doc(moved) == x  # an update is a put too
    seq_x2 = catalog.max_placed()
    assert seq_x2 > seq_y
    assert catalog.docs_placed_after(0) == [
        (seq_y, replace(doc("https://x.test/y"), doc=y)),
        (seq_x2, replace(moved, doc=x)),
    ]
    assert catalog.docs_placed_after(seq_x) == catalog.docs_placed_after(0)
    assert catalog.docs_placed_after(seq_y) == [(seq_x2, replace(moved, doc=x))]
    assert catalog.docs_placed_after(seq_x2) == []
    z = catalog.put_doc(doc("https://x.test/z"))
    seq_z = catalog.max_placed()
    assert seq_z > seq_x2
    assert [d.doc for _, d in catalog.docs_placed_after(seq_y)] == [x, z]


def test_concurrent_puts_take_distinct_placement_numbers(store: Store) -> None:
    """Writers putting docs at once (each its own catalog object): every put still gets its own
    sequence number, so ``docs_placed_after`` misses none of them."""
    writers = [store.open() for _ in range(4)]
    start = threading.Barrier(len(writers))

    def put_many(index: int) -> list[int]:
        start.wait()
        return [
            writers[index].put_doc(doc(f"https://w{index}.test/{n}", time=NOW + n))
            for n in range(25)
        ]

    with ThreadPoolExecutor(len(writers)) as pool:
        ids = [i for got in pool.map(put_many, range(len(writers))) for i in got]
    placed = writers[0].docs_placed_after(0)
    numbers = [n for n, _ in placed]
    assert sorted(d.doc for _, d in placed) == sorted(ids)
    assert len(set(numbers)) == len(ids) == 100, "two puts took the same placement number"
    assert numbers == sorted(numbers)
    assert writers[0].max_placed() == numbers[-1]


# --- templates --------------------------------------------------------------------------------


def test_template_model_round_trips(catalog: Catalog) -> None:
    assert catalog.template_model("north") is None
    assert catalog.template_version("north") == 0
    model = TemplateModel(min_articles=3)
    for page in outlet_pages(seed=7, count=12):
        model.observe(page.article_id, page.blocks)
    saved = model.to_json()
    assert saved["learned"], "the pages should teach the model something"
    catalog.save_template_model("north", saved)
    assert catalog.template_model("north") == saved
    stored = catalog.template_model("north")
    assert stored is not None
    assert TemplateModel.from_json(stored).to_json() == saved
    assert catalog.template_version("north") == 1
    assert catalog.template_model("south") is None
    # replacing it with a smaller model leaves nothing of the old one
    small = TemplateModel(min_articles=2, max_articles=50)
    small.observe("only", ["One paragraph of an only article."])
    catalog.save_template_model("north", small.to_json())
    assert catalog.template_model("north") == small.to_json()
    assert catalog.template_version("north") == 2


def test_template_changes_keep_the_stored_model_equal_to_memory(catalog: Catalog) -> None:
    """A small window (evictions) and re-observed articles (replacements keep their rank)."""
    model = TemplateModel(min_articles=2, max_articles=5)
    pages = outlet_pages(seed=11, count=14)
    versions = [catalog.template_version("north")]
    order = [*pages[:8], pages[6], pages[7], *pages[8:], pages[12]]
    for page in order:
        model.observe(page.article_id, page.blocks)
        catalog.save_template_changes("north", model.params(), model.changes())
        assert catalog.template_model("north") == model.to_json()
        versions.append(catalog.template_version("north"))
    assert model.to_json()["learned"], "the pages should teach the model something"
    assert versions == list(range(len(order) + 1))
    # a model saved whole, then changed by observing: still equal
    catalog.save_template_model("south", model.to_json())
    again = TemplateModel.from_json(model.to_json())
    again.observe("late-1", pages[0].blocks)
    again.observe("late-2", pages[1].blocks)
    catalog.save_template_changes("south", again.params(), again.changes())
    assert catalog.template_model("south") == again.to_json()
    assert catalog.template_version("south") == 2


# --- outlet state and polls -------------------------------------------------------------------


def test_outlet_states_round_trip_and_replace(catalog: Catalog) -> None:
    assert catalog.outlet_states() == {}
    north = OutletState(
        outlet="north",
        last_poll="2026-12-01T10:00:00Z",
        next_poll=NOW + 900.5,
        failures=2,
        last_error="HTTP 503 «busy»",
        found=14,
        archived=9,
        interval=900.0,
    )
    south = OutletState(outlet="south", last_poll="2026-12-01T10:05:00Z", next_poll=NOW)
    catalog.save_outlet_state(north)
    catalog.save_outlet_state(south)
    assert catalog.outlet_states() == {"north": north, "south": south}
    healthy = replace(north, failures=0, last_error=None, interval=None, next_poll=NOW + 60)
    catalog.save_outlet_state(healthy)
    assert catalog.outlet_states() == {"north": healthy, "south": south}


def test_poll_claim_leases_a_due_outlet_to_one_owner(catalog: Catalog) -> None:
    assert catalog.poll_claim("north", "A", due_by=NOW, lease=LONG, round_start=None)
    assert not catalog.poll_claim("north", "B", due_by=NOW, lease=LONG, round_start=None)
    assert "north" not in catalog.outlet_states()  # claimed, never polled
    # saving the poll's outcome ends the lease: due again, B takes it
    catalog.save_outlet_state(OutletState(outlet="north", last_poll="t1", next_poll=NOW - 1))
    assert catalog.poll_claim("north", "B", due_by=NOW, lease=LONG, round_start=None)
    assert not catalog.poll_claim("north", "A", due_by=NOW, lease=LONG, round_start=None)
    # not due: nobody claims it, even with no lease
    catalog.save_outlet_state(OutletState(outlet="north", last_poll="t2", next_poll=NOW + 100))
    assert not catalog.poll_claim("north", "A", due_by=NOW, lease=LONG, round_start=None)
    assert catalog.poll_claim("north", "A", due_by=NOW + 100, lease=LONG, round_start=None)
    # outlets are independent
    assert catalog.poll_claim("south", "B", due_by=NOW, lease=LONG, round_start=None)


def test_leases_count_each_holders_live_leases(catalog: Catalog) -> None:
    assert catalog.leases() == {}
    catalog.frontier_add([item(f"https://h{n}.test/{n}") for n in range(5)])
    assert len(catalog.frontier_claim("A", now=NOW, limit=3, per_host=1, lease=LONG)) == 3
    assert len(catalog.frontier_claim("B", now=NOW, limit=1, per_host=1, lease=-1.0)) == 1
    assert catalog.poll_claim("north", "B", due_by=NOW, lease=LONG, round_start=None)
    token, _ = catalog.host_acquire("h1.test", "C", slots=1, hold=LONG)
    assert token is not None
    assert catalog.leases() == {  # B's URL lease has lapsed already
        "A": {"urls": 3, "polls": 0, "host_slots": 0},
        "B": {"urls": 0, "polls": 1, "host_slots": 0},
        "C": {"urls": 0, "polls": 0, "host_slots": 1},
    }
    catalog.release_leases("A")
    assert "A" not in catalog.leases()


def test_poll_claim_with_a_round_start_claims_once_per_round(catalog: Catalog) -> None:
    round_1, round_2 = NOW, NOW + 3600
    catalog.save_outlet_state(OutletState(outlet="north", last_poll="t0", next_poll=NOW + 10**6))
    # in a round, next_poll does not matter: not polled since round_start is what counts
    assert catalog.poll_claim("north", "A", due_by=NOW, lease=LONG, round_start=round_1)
    assert not catalog.poll_claim("north", "B", due_by=NOW, lease=LONG, round_start=round_1)
    catalog.save_outlet_state(OutletState(outlet="north", last_poll="t1", next_poll=NOW + 10))
    assert not catalog.poll_claim("north", "B", due_by=NOW, lease=LONG, round_start=round_1)
    assert not catalog.poll_claim("north", "A", due_by=NOW, lease=LONG, round_start=round_1)
    assert catalog.poll_claim("north", "B", due_by=NOW, lease=LONG, round_start=round_2)
    assert catalog.poll_claim("south", "A", due_by=NOW, lease=LONG, round_start=round_1)


def test_an_expired_poll_lease_is_claimable_by_another_owner(catalog: Catalog) -> None:
    assert catalog.poll_claim("north", "A", due_by=NOW, lease=-1.0, round_start=None)
    assert catalog.poll_claim("north", "B", due_by=NOW, lease=LONG, round_start=None)
    assert not catalog.poll_claim("north", "C", due_by=NOW, lease=LONG, round_start=None)
    # a tiny lease, waited out
    assert catalog.poll_claim("south", "A", due_by=NOW, lease=0.05, round_start=None)
    time.sleep(0.15)
    assert catalog.poll_claim("south", "B", due_by=NOW, lease=LONG, round_start=None)


def test_a_dead_writers_poll_in_a_round_is_taken_over(catalog: Catalog) -> None:
    """A writer claims an outlet's poll in a round and dies before saving its outcome: once its
    lease lapses, another writer polls the outlet in that round, and until then the fleet does
    not count the outlet as done."""
    round_1 = NOW
    assert catalog.poll_claim("north", "A", due_by=NOW, lease=-1.0, round_start=round_1)
    due = catalog.fleet_due(outlets=["north"], round_start=round_1, horizon=NOW)
    assert due.outlets_left == 1, "a claim whose holder died counts as a finished poll"
    assert catalog.poll_claim("north", "B", due_by=NOW, lease=LONG, round_start=round_1)


# --- the frontier -----------------------------------------------------------------------------


def test_frontier_add_returns_only_what_it_queued(catalog: Catalog) -> None:
    u1, u2, u3 = (f"https://north.test/{n}" for n in (1, 2, 3))
    queued = catalog.frontier_add([item(u1), item(u2), item(u1)])
    assert [i.url for i in queued] == [u1, u2]
    assert [replace(i, seq=0) for i in queued] == [item(u1), item(u2)]
    assert 0 < queued[0].seq < queued[1].seq
    again = catalog.frontier_add([item(u2), item(u3)])
    assert [i.url for i in again] == [u3]
    assert again[0].seq > queued[1].seq
    assert catalog.frontier() == [*queued, *again]
    assert catalog.frontier("failed") == []
    assert catalog.frontier_counts() == {"pending": 3, "failed": 0}
    assert catalog.frontier_add([]) == []


def test_frontier_retry_done_known_and_requeue(catalog: Catalog) -> None:
    u1, u2, u3, u4 = (f"https://north.test/{n}" for n in (1, 2, 3, 4))
    catalog.frontier_add([item(u1), item(u2), item(u3)])
    catalog.frontier_retry(u1, not_before=NOW + 100, attempts=3, error="HTTP 503", failed=True)
    catalog.frontier_retry(u2, not_before=NOW + 50, attempts=1, error="timeout", failed=False)
    [failed] = catalog.frontier("failed")
    assert (failed.url, failed.state, failed.attempts) == (u1, "failed", 3)
    assert (failed.not_before, failed.last_error) == (NOW + 100, "HTTP 503")
    pending = catalog.frontier("pending")
    assert [i.url for i in pending] == [u2, u3]
    assert (pending[0].attempts, pending[0].not_before, pending[0].last_error) == (
        1,
        NOW + 50,
        "timeout",
    )
    assert catalog.frontier_counts() == {"pending": 2, "failed": 1}
    # a resting failed URL is known until its not_before; pending ones always
    assert catalog.frontier_known([u1, u2, u3, u4], NOW) == {u1, u2, u3}
    assert catalog.frontier_known([u1, u2, u3, u4], NOW + 200) == {u2, u3}
    assert catalog.frontier_known([], NOW) == set()
    # discovery finds u1 again: still resting -> not queued; rest over -> queued again
    assert catalog.frontier_add([replace(item(u1), added=NOW + 50)]) == []
    [back] = catalog.frontier_add([replace(item(u1), added=NOW + 200)])
    assert (back.url, back.state, back.attempts) == (u1, "pending", 0)
    assert catalog.frontier_counts() == {"pending": 3, "failed": 0}
    catalog.frontier_done(u3)
    assert [i.url for i in catalog.frontier()] == [u1, u2]
    assert catalog.frontier_known([u3], NOW) == set()
    catalog.frontier_done("https://north.test/never-queued")  # no error
    assert catalog.frontier_counts() == {"pending": 2, "failed": 0}


def test_frontier_claim_limit_per_host_and_due(catalog: Catalog) -> None:
    h1 = [f"https://h1.test/{n}" for n in range(5)]
    h2 = [f"https://h2.test/{n}" for n in range(3)]
    later = "https://h3.test/later"
    catalog.frontier_add([item(u) for u in (*h1[:2], *h2, *h1[2:])])
    catalog.frontier_add([item(later, not_before=NOW + 1000)])

    def claim(owner: str, limit: int, per_host: int, now: float = NOW) -> list[str]:
        got = catalog.frontier_claim(owner, now=now, limit=limit, per_host=per_host, lease=LONG)
        assert [i.seq for i in got] == sorted(i.seq for i in got)
        assert all(i.state == "pending" for i in got)
        return [i.url for i in got]

    assert claim("A", 0, 2) == []
    a = claim("A", 4, 2)
    assert sorted(a) == sorted([*h1[:2], *h2[:2]])  # each host's oldest, two at most
    b = claim("B", 10, 2)
    assert sorted(b) == sorted([*h1[2:4], h2[2]])  # none of A's, not the one not yet due
    assert not set(a) & set(b)
    c = claim("C", 10, 10)
    assert c == [h1[4]]
    assert claim("D", 10, 10) == []
    assert claim("D", 10, 10, now=NOW + 1000) == [later]


def test_frontier_claim_leaves_out_skipped_hosts(catalog: Catalog) -> None:
    """A writer whose share for slow hosts is full claims only other hosts' URLs."""
    slow = [f"https://slow{n}.test/{k}" for n in range(3) for k in range(2)]
    fast = [f"https://fast{n}.test/{k}" for n in range(2) for k in range(2)]
    catalog.frontier_add([item(u) for u in (*slow, *fast)])
    skip = {f"slow{n}.test" for n in range(3)} | {"never-queued.test"}
    got = catalog.frontier_claim("A", now=NOW, limit=10, per_host=10, lease=LONG, skip_hosts=skip)
    assert sorted(i.url for i in got) == sorted(fast)
    rest = catalog.frontier_claim("A", now=NOW, limit=10, per_host=10, lease=LONG)
    assert sorted(i.url for i in rest) == sorted(slow)


def test_frontier_leases_expire_renew_and_release(catalog: Catalog) -> None:
    urls = [f"https://h{n % 3}.test/{n}" for n in range(6)]
    catalog.frontier_add([item(u) for u in urls])

    def claim(owner: str, lease: float = LONG) -> set[str]:
        got = catalog.frontier_claim(owner, now=NOW, limit=10, per_host=10, lease=lease)
        return {i.url for i in got}

    # expired leases are claimable again
    assert claim("A", lease=-1.0) == set(urls)
    assert claim("B", lease=-1.0) == set(urls)
    # renewing keeps A's leases live: B gets none of them
    assert claim("A", lease=-1.0) == set(urls)
    assert catalog.frontier_renew("A", LONG) == 6
    assert claim("B") == set()
    assert catalog.frontier_renew("B", LONG) == 0
    # released: B takes them at once
    assert catalog.release_leases("A") == 6
    assert catalog.release_leases("A") == 0
    assert claim("B") == set(urls)
    assert claim("A") == set()
    # a transient retry: its lease holder (B) keeps it
    catalog.frontier_retry(urls[0], not_before=NOW - 1, attempts=1, error="reset", failed=False)
    assert claim("A") == set()
    assert catalog.frontier_renew("B", LONG) == 6
    # given up on: the lease ends, and a failed entry is not claimed, whatever its not_before
    catalog.frontier_retry(urls[1], not_before=NOW - 1, attempts=5, error="gone", failed=True)
    assert catalog.frontier_renew("B", LONG) == 5
    assert claim("A") == set()
    # B dies: whoever is free takes the retry when it is due, and the rest
    assert catalog.release_leases("B") == 5
    assert claim("C") == {urls[0], *urls[2:]}
    assert [i.url for i in catalog.frontier("failed")] == [urls[1]]


def test_a_retry_is_taken_over_when_its_holder_dies(catalog: Catalog) -> None:
    url = "https://north.test/retry"
    catalog.frontier_add([item(url)])
    [got] = catalog.frontier_claim("A", now=NOW, limit=1, per_host=1, lease=-1.0)
    catalog.frontier_retry(url, not_before=NOW + 30, attempts=1, error="reset", failed=False)
    # A's lease lapsed (A died): nobody takes it before not_before, anybody after
    assert catalog.frontier_claim("B", now=NOW, limit=1, per_host=1, lease=LONG) == []
    [again] = catalog.frontier_claim("B", now=NOW + 30, limit=1, per_host=1, lease=LONG)
    assert (again.url, again.seq, again.attempts, again.last_error) == (url, got.seq, 1, "reset")
    assert again.not_before == NOW + 30


def test_frontier_add_with_an_owner_leases_to_it(catalog: Catalog) -> None:
    mine = [item(f"https://north.test/mine/{n}") for n in range(3)]
    catalog.frontier_add(mine, owner="A", lease=LONG)
    catalog.frontier_add([item("https://north.test/free")])
    got = catalog.frontier_claim("B", now=NOW, limit=10, per_host=10, lease=LONG)
    assert [i.url for i in got] == ["https://north.test/free"]
    assert catalog.frontier_renew("A", LONG) == 3
    assert catalog.release_leases("A") == 3


def test_fleet_due_counts_what_is_left(catalog: Catalog) -> None:
    outlets = ["north", "south"]
    round_1 = NOW

    def due(owner: str = "", horizon: float = NOW) -> tuple[int, int, int]:
        left = catalog.fleet_due(outlets=outlets, round_start=round_1, horizon=horizon, owner=owner)
        assert left.idle == (left.outlets_left == left.urls_due == left.urls_leased == 0)
        return left.outlets_left, left.urls_due, left.urls_leased

    assert due() == (2, 0, 0)
    urls = [f"https://north.test/{n}" for n in range(4)]
    catalog.frontier_add([item(u) for u in urls])
    catalog.frontier_add([item("https://north.test/later", not_before=NOW + 500)])
    assert due() == (2, 4, 0)
    assert due(horizon=NOW + 500) == (2, 5, 0)
    # leased URLs: counted for the others, not for their holder; no longer free to take
    catalog.frontier_claim("A", now=NOW, limit=2, per_host=5, lease=LONG)
    assert due() == (2, 2, 2)
    assert due(owner="A") == (2, 2, 0)
    assert due(owner="B") == (2, 2, 2)
    # a dead writer's lapsed lease: its URL is free to take again
    catalog.frontier_claim("C", now=NOW, limit=1, per_host=5, lease=-1.0)
    assert due() == (2, 2, 2)
    # failed entries are nobody's work
    catalog.frontier_retry(urls[3], not_before=NOW - 1, attempts=9, error="gone", failed=True)
    assert due() == (2, 1, 2)
    # an outlet being polled is left; once its outcome is saved it is done
    assert catalog.poll_claim("north", "A", due_by=NOW, lease=LONG, round_start=round_1)
    assert due()[0] == 2
    catalog.save_outlet_state(OutletState(outlet="north", last_poll="t1", next_poll=NOW + 60))
    assert due()[0] == 1
    assert catalog.poll_claim("south", "B", due_by=NOW, lease=LONG, round_start=round_1)
    catalog.save_outlet_state(OutletState(outlet="south", last_poll="t1", next_poll=NOW + 60))
    for i in catalog.frontier():
        catalog.frontier_done(i.url)
    for i in catalog.frontier("failed"):
        catalog.frontier_done(i.url)
    assert due(horizon=NOW + 1000) == (0, 0, 0)
    assert catalog.frontier_counts() == {"pending": 0, "failed": 0}
    # a new round: every outlet is left again
    assert catalog.fleet_due(outlets=outlets, round_start=NOW + 1, horizon=NOW).outlets_left == 2


def test_claimers_at_once_never_share_a_url(store: Store) -> None:
    urls = [f"https://h{n % 9}.test/page/{n}" for n in range(200)]
    seeder = store.open()
    seeder.frontier_add([item(u) for u in urls])
    claimers = [store.open() for _ in range(4)]
    start = threading.Barrier(len(claimers))

    def claim_until_empty(index: int) -> list[str]:
        got: list[str] = []
        start.wait()
        while True:
            batch = claimers[index].frontier_claim(
                f"writer-{index}", now=NOW, limit=7, per_host=3, lease=LONG
            )
            if not batch:
                return got
            assert len(batch) <= 7
            hosts = [i.host for i in batch]
            assert max(hosts.count(h) for h in hosts) <= 3
            got.extend(i.url for i in batch)

    with ThreadPoolExecutor(len(claimers)) as pool:
        claimed = list(pool.map(claim_until_empty, range(len(claimers))))
    every = [u for got in claimed for u in got]
    assert len(every) == len(set(every)), "a URL was claimed twice"
    assert set(every) == set(urls)
    assert seeder.frontier_claim("late", now=NOW, limit=7, per_host=3, lease=LONG) == []
    held = sum(catalog.frontier_renew(f"writer-{n}", LONG) for n, catalog in enumerate(claimers))
    assert held == 200


def test_threads_sharing_one_catalog_never_share_a_url(catalog: Catalog) -> None:
    urls = [f"https://h{n % 5}.test/{n}" for n in range(120)]
    catalog.frontier_add([item(u) for u in urls])
    start = threading.Barrier(3)

    def claim_until_empty(owner: str) -> list[str]:
        start.wait()
        got: list[str] = []
        while batch := catalog.frontier_claim(owner, now=NOW, limit=7, per_host=2, lease=LONG):
            got.extend(i.url for i in batch)
        return got

    with ThreadPoolExecutor(3) as pool:
        claimed = list(pool.map(claim_until_empty, ["A", "B", "C"]))
    every = [u for got in claimed for u in got]
    assert sorted(every) == sorted(urls)


# --- fleet politeness -------------------------------------------------------------------------


def test_host_slots_delays_and_pauses(catalog: Catalog) -> None:
    token, wait = catalog.host_acquire("h1.test", "A", slots=1, hold=LONG)
    assert token is not None
    assert wait == 0.0
    busy, wait = catalog.host_acquire("h1.test", "B", slots=1, hold=LONG)
    assert busy is None
    assert wait > 0
    # two slots: two at once, not three
    t1, _ = catalog.host_acquire("h2.test", "A", slots=2, hold=LONG)
    t2, _ = catalog.host_acquire("h2.test", "B", slots=2, hold=LONG)
    assert t1 is not None
    assert t2 is not None
    assert t1 != t2
    assert catalog.host_acquire("h2.test", "C", slots=2, hold=LONG)[0] is None
    # released with a delay: the next request waits at most that long
    catalog.host_release(token, "h1.test", delay=2.0)
    after, wait = catalog.host_acquire("h1.test", "B", slots=1, hold=LONG)
    assert after is None
    assert 0 < wait <= 2.0
    assert 0 < catalog.host_ready_in("h1.test") <= 2.0
    assert catalog.host_ready_in("never.test") == 0.0
    catalog.host_release(t1, "h2.test", delay=0.0)
    t3, wait = catalog.host_acquire("h2.test", "C", slots=2, hold=LONG)
    assert t3 is not None
    assert wait == 0.0


def test_host_pause_holds_everyone_and_never_shortens(catalog: Catalog) -> None:
    assert catalog.host_ready_in("h1.test") == 0.0
    catalog.host_pause("h1.test", 30.0)
    assert 0 < catalog.host_ready_in("h1.test") <= 30.0
    token, wait = catalog.host_acquire("h1.test", "A", slots=4, hold=LONG)
    assert token is None
    assert 0 < wait <= 30.0
    catalog.host_pause("h1.test", 1.0)  # a shorter Retry-After does not end the longer pause
    assert catalog.host_ready_in("h1.test") > 1.0
    assert catalog.host_ready_in("h2.test") == 0.0


def test_expired_or_released_host_slots_are_reclaimed(catalog: Catalog) -> None:
    token, _ = catalog.host_acquire("h1.test", "A", slots=1, hold=0.05)
    assert token is not None
    time.sleep(0.15)  # A's slot lapsed (A died holding it)
    token, wait = catalog.host_acquire("h1.test", "B", slots=1, hold=LONG)
    assert token is not None
    assert wait == 0.0
    assert catalog.host_acquire("h1.test", "C", slots=1, hold=LONG)[0] is None
    assert catalog.release_leases("B") == 0  # no frontier URLs, but its host slot goes
    token, _ = catalog.host_acquire("h1.test", "C", slots=1, hold=LONG)
    assert token is not None


# --- robots.txt shared by the fleet -----------------------------------------------------------


def test_robots_one_fetcher_others_wait_then_everyone_reads_it(catalog: Catalog) -> None:
    origin = "https://north.test"
    body = b"User-agent: *\nDisallow: /private/\n\x00\xff\xfe"
    assert catalog.robots_lookup(origin, "A", hold=30.0) is None  # A fetches it
    wait = catalog.robots_lookup(origin, "B", hold=30.0)
    assert isinstance(wait, float)
    assert 0 < wait <= 30.0
    assert catalog.robots_lookup(origin, "A", hold=30.0) is None  # still A's to fetch
    catalog.robots_store(origin, status=200, body=body, ttl=3600.0)
    for owner in ("A", "B", "C"):
        entry = catalog.robots_lookup(origin, owner, hold=30.0)
        assert isinstance(entry, RobotsEntry)
        assert (entry.origin, entry.status, entry.body) == (origin, 200, body)
        assert 0 < entry.fresh_for <= 3600.0
    # another origin is independent
    assert catalog.robots_lookup("https://south.test", "B", hold=30.0) is None


def test_robots_claims_and_answers_expire(catalog: Catalog) -> None:
    origin = "https://north.test"
    assert catalog.robots_lookup(origin, "A", hold=-1.0) is None  # A's claim lapses at once
    assert catalog.robots_lookup(origin, "B", hold=30.0) is None  # so B fetches it
    catalog.robots_store(origin, status=404, body=b"", ttl=0.05)
    time.sleep(0.15)
    assert catalog.robots_lookup(origin, "C", hold=30.0) is None  # stale: C fetches it again
    catalog.robots_store(origin, status=503, body=b"", ttl=60.0)
    entry = catalog.robots_lookup(origin, "A", hold=30.0)
    assert isinstance(entry, RobotsEntry)
    assert (entry.status, entry.body) == (503, b"")


def test_robots_released_with_the_writers_leases(catalog: Catalog) -> None:
    origin = "https://north.test"
    assert catalog.robots_lookup(origin, "A", hold=LONG) is None
    assert isinstance(catalog.robots_lookup(origin, "B", hold=LONG), float)
    catalog.release_leases("A")
    assert catalog.robots_lookup(origin, "B", hold=LONG) is None


def test_robots_stored_without_a_lookup_is_shared(catalog: Catalog) -> None:
    """A writer that fetched robots.txt itself (its lookup failed while the catalog was away)
    still shares the answer."""
    catalog.robots_store("https://north.test", status=200, body=b"User-agent: *\n", ttl=60.0)
    entry = catalog.robots_lookup("https://north.test", "B", hold=30.0)
    assert isinstance(entry, RobotsEntry), "robots_store dropped the answer"
    assert (entry.status, entry.body) == (200, b"User-agent: *\n")


# --- validators and WARC files ----------------------------------------------------------------


def test_validators_round_trip_and_replace(catalog: Catalog) -> None:
    url = "https://north.test/rss.xml"
    assert catalog.validators(url) is None
    first = Validators(
        url=url,
        etag='W/"abc-1"',
        last_modified="Tue, 01 Dec 2026 10:00:00 GMT",
        digest="sha1:AAAA",
        full_fetch=NOW + 0.25,
    )
    catalog.save_validators(first)
    assert catalog.validators(url) == first
    second = replace(first, etag=None, last_modified=None, digest="sha1:BBBB", full_fetch=NOW)
    catalog.save_validators(second)
    assert catalog.validators(url) == second
    assert catalog.validators("https://north.test/sitemap.xml") is None


def test_complete_warc_files(catalog: Catalog) -> None:
    assert catalog.complete_warc_files() == set()
    catalog.mark_warc_complete(WARC)
    catalog.mark_warc_complete(OTHER_WARC)
    catalog.mark_warc_complete(WARC)
    assert catalog.complete_warc_files() == {WARC, OTHER_WARC}


# --- the placement lock -----------------------------------------------------------------------


def _holders_never_overlap(catalogs: list[Catalog]) -> None:
    events: list[tuple[str, int]] = []
    start = threading.Barrier(len(catalogs))

    def hold(index: int) -> None:
        start.wait()
        for _ in range(2):
            with catalogs[index].placement():
                events.append(("enter", index))
                time.sleep(0.05)
                events.append(("exit", index))

    with ThreadPoolExecutor(len(catalogs)) as pool:
        list(pool.map(hold, range(len(catalogs))))
    assert len(events) == 4 * len(catalogs)
    for n in range(0, len(events), 2):
        assert events[n][0] == "enter"
        assert events[n + 1] == ("exit", events[n][1]), f"overlap: {events}"


def test_placement_threads_of_one_catalog_never_overlap(catalog: Catalog) -> None:
    _holders_never_overlap([catalog, catalog, catalog])


def test_placement_catalog_objects_on_one_store_never_overlap(store: Store) -> None:
    """Two writers (SQLite: two SqliteCatalog objects on one file; PostgreSQL: two pools)."""
    _holders_never_overlap([store.open(), store.open()])


def test_placement_is_released_when_its_holder_fails(store: Store) -> None:
    first, second = store.open(), store.open()
    with pytest.raises(RuntimeError), first.placement():
        raise RuntimeError("placement failed")
    entered = threading.Event()

    def enter() -> None:
        with second.placement():
            entered.set()

    worker = threading.Thread(target=enter, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert entered.is_set(), "the lock stayed held after its holder failed"
    with first.placement():
        pass


# --- the schema -------------------------------------------------------------------------------


def _set_schema_version(store: Store, version: int) -> None:
    if store.engine == "sqlite":
        with contextlib.closing(sqlite3.connect(store.location)) as db, db:
            db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
    else:
        with psycopg.connect(store.location) as conn:
            conn.execute("UPDATE meta SET value = %s WHERE key = 'schema_version'", (str(version),))


def test_a_newer_schema_is_refused_and_the_current_one_reopens(store: Store) -> None:
    first = store.open()
    kept = capture("https://north.test/a", 1)
    first.add_capture(kept)
    first.close()
    again = store.open()  # the same store at the current version: opens, data kept
    assert again.latest_capture("https://north.test/a") == kept
    again.close()

    _set_schema_version(store, 99)
    for readonly in (False, True):
        with pytest.raises(ArchiveError) as err:
            _open(store, readonly=readonly)
        message = str(err.value)
        assert "upgrade" in message
        assert "99" in message
        assert "\n" not in message
    _set_schema_version(store, SCHEMA_VERSION)
    reopened = store.open()
    assert reopened.has_capture(kept.record_id)
    assert reopened.counts() == {"captures": 1, "articles": 0}


def _open(store: Store, *, readonly: bool, keep: bool = False) -> Catalog:
    """Open a catalog on ``store`` directly (closed at once unless ``keep``)."""
    if store.engine == "sqlite":
        opened: Catalog = SqliteCatalog(Path(store.location), readonly=readonly)
    else:
        from harvester.catalog.postgres import PostgresCatalog

        opened = PostgresCatalog(store.location, readonly=readonly)
    if not keep:
        opened.close()
    return opened


def test_a_readonly_catalog_reads_an_existing_store_only(store: Store) -> None:
    with pytest.raises(ArchiveError) as err:
        _open(store, readonly=True)  # nothing there yet
    assert "\n" not in str(err.value)
    writer = store.open()
    kept = capture("https://north.test/a", 1)
    writer.add_capture(kept)
    reader = _open(store, readonly=True, keep=True)
    store.opened.append(reader)
    assert reader.latest_capture("https://north.test/a") == kept
    assert reader.counts() == {"captures": 1, "articles": 0}


def test_name_close_and_a_closed_catalog(store: Store) -> None:
    catalog = store.open()
    if store.engine == "sqlite":
        assert catalog.name == store.location
    else:
        from harvester.catalog.postgres import redact_url

        assert catalog.name == redact_url(store.location)
    catalog.close()
    catalog.close()  # idempotent
    with pytest.raises(ArchiveError):
        catalog.counts()


# --- opening: engines and errors --------------------------------------------------------------


def test_open_catalog_refuses_an_unknown_scheme(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mysql"):
        open_catalog("mysql://x", tmp_path)
    with open_catalog(None, tmp_path) as default:
        assert isinstance(default, SqliteCatalog)
        assert default.name == str(tmp_path / "index.sqlite")
    assert (tmp_path / "index.sqlite").exists()


def test_open_catalog_opens_postgresql_urls(pg_url: str, tmp_path: Path) -> None:
    from harvester.catalog.postgres import PostgresCatalog

    with open_catalog(pg_url, tmp_path) as catalog:
        assert isinstance(catalog, PostgresCatalog)
        catalog.mark_warc_complete(WARC)
        assert catalog.complete_warc_files() == {WARC}
    assert not (tmp_path / "index.sqlite").exists()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _open_error(url: str) -> str:
    """The message of the ArchiveError opening ``url`` raises (one line, no password)."""
    from harvester.catalog.postgres import PostgresCatalog, redact_url

    with pytest.raises(ArchiveError) as err:
        PostgresCatalog(url).close()
    message = str(err.value)
    assert "\n" not in message
    assert redact_url(url) in message
    assert "s3cret" not in message
    return message


@contextlib.contextmanager
def _password_role(cluster: PgCluster, role: str, password: str) -> Iterator[None]:
    """A role that must log in with ``password`` over TCP (the cluster trusts everyone else);
    the cluster's pg_hba.conf is restored afterwards."""
    hba = cluster.data_dir / "pg_hba.conf"
    original = hba.read_text(encoding="utf-8")
    admin = cluster.url()
    hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n{original}", encoding="utf-8")
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("SET password_encryption = 'scram-sha-256'")
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
            conn.execute("SELECT pg_reload_conf()")
        time.sleep(0.2)  # the postmaster reloads on SIGHUP
        yield
    finally:
        hba.write_text(original, encoding="utf-8")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_postgres_open_errors_are_one_line_without_the_password(
    pg_cluster: PgCluster, pg_url: str
) -> None:
    db = pg_url.rsplit("/", 1)[1]
    port = pg_cluster.port
    with _password_role(pg_cluster, "harvester_pw", "right-one"):
        message = _open_error(f"postgresql://harvester_pw:s3cret@127.0.0.1:{port}/{db}")
        assert "password" in message.lower()
    message = _open_error(f"postgresql://postgres:s3cret@127.0.0.1:{port}/t_no_such_database")
    assert "does not exist" in message
    message = _open_error(f"postgresql://postgres:s3cret@127.0.0.1:{_free_port()}/{db}")
    assert message.startswith("cannot open catalog postgresql://postgres:***@127.0.0.1:")


def test_postgres_catalog_comes_back_after_a_server_restart(
    pg_cluster: PgCluster, pg_url: str
) -> None:
    from harvester.catalog.postgres import PostgresCatalog

    with PostgresCatalog(pg_url) as catalog:
        before = capture("https://north.test/a", 1)
        catalog.add_capture(before)
        try:
            pg_cluster.stop()
            with pytest.raises(ArchiveUnavailableError) as err:
                catalog.latest_capture("https://north.test/a")
            assert "\n" not in str(err.value)
        finally:
            pg_cluster.start()
        # the same object, no reopening: the pool reconnects
        assert catalog.latest_capture("https://north.test/a") == before
        catalog.add_capture(capture("https://north.test/b", 2))
        assert catalog.counts() == {"captures": 2, "articles": 0}


# --- the story desk: listings, members, outlets, full-text search (schema 5) -----------------


def _desk_article(
    catalog: Catalog,
    n: int,
    final_url: str,
    *,
    outlet: str,
    story: str,
    title: str,
    text: str,
    is_original: bool,
    original: tuple[str | None, str | None, bool],
    published: str | None,
    time: float,
) -> None:
    """Article ``n`` (an article row and its doc, as the pipeline writes both)."""
    url, original_outlet, seen = original
    record = replace(
        export(final_url, n, outlet=outlet, story=story),
        title=title,
        text=text,
        is_original=is_original,
        published=published,
        original=Original(url=url, outlet=original_outlet, seen=seen),
    )
    catalog.add_article(article(record, n))
    catalog.put_doc(replace(doc(final_url, time=time, story=story, outlet=outlet)))


def _newsroom(catalog: Catalog) -> None:
    """A wire story copied twice (one copy an hour late, one a day late), a story whose
    original (RIA) was never archived, and a local story nobody copied."""
    wire = ("https://wire.test/a", "Wire", True)
    _desk_article(catalog, 1, "https://wire.test/a", outlet="Wire", story="s-harbour",
                  title="Harbour budget passes", text="The council voted.\n\nMayor Ruiz spoke.",
                  is_original=True, original=wire, published="2026-11-30T08:00:00Z",
                  time=NOW)  # fmt: skip
    _desk_article(catalog, 2, "https://north.test/a", outlet="north", story="s-harbour",
                  title="Harbour budget passes", text="The council voted.\n\nMayor Ruiz spoke.",
                  is_original=False, original=wire, published="2026-11-30T09:00:00Z",
                  time=NOW + 10)  # fmt: skip
    _desk_article(catalog, 3, "https://south.test/a", outlet="south", story="s-harbour",
                  title="Budget", text="The council voted.\n\nOur view: good.",
                  is_original=False, original=wire, published="2026-12-01T08:00:00Z",
                  time=NOW + 20)  # fmt: skip
    _desk_article(catalog, 4, "https://north.test/b", outlet="north", story="s-moscow",
                  title="Pipeline talks", text="MOSCOW (RIA) - Talks on the pipeline resumed.",
                  is_original=False, original=("https://ria.test/x", "RIA", False),
                  published=None, time=NOW + 30)  # fmt: skip
    _desk_article(catalog, 5, "https://south.test/c", outlet="south", story="s-fair",
                  title="County fair opens", text="The fair opened with a parade.",
                  is_original=True, original=("https://south.test/c", "south", True),
                  published="2026-11-29T08:00:00Z", time=NOW - 86400 * 3)  # fmt: skip


def test_story_summaries_newest_first_with_filters_and_pages(catalog: Catalog) -> None:
    from harvester.catalog import StoryFilter

    _newsroom(catalog)
    every = catalog.story_summaries(StoryFilter())
    assert [s.story for s in every] == ["s-moscow", "s-harbour", "s-fair"]
    harbour = every[1]
    assert (harbour.articles, harbour.first, harbour.last) == (3, NOW, NOW + 20)
    assert [s.story for s in catalog.story_summaries(StoryFilter(copies_only=True))] == [
        "s-harbour"
    ]
    assert [s.story for s in catalog.story_summaries(StoryFilter(outlet="south"))] == [
        "s-harbour",
        "s-fair",
    ]
    assert [s.story for s in catalog.story_summaries(StoryFilter(wire="RIA"))] == ["s-moscow"]
    assert [s.story for s in catalog.story_summaries(StoryFilter(wire="Wire"))] == ["s-harbour"]
    assert catalog.story_summaries(StoryFilter(outlet="nobody")) == []
    recent = StoryFilter(since=NOW - 86400, until=NOW + 25)
    assert [s.story for s in catalog.story_summaries(recent)] == ["s-harbour"]
    paged = [s.story for s in catalog.story_summaries(StoryFilter(), limit=2, offset=1)]
    assert paged == ["s-harbour", "s-fair"]


def test_story_members_are_the_newest_rows_with_their_docs(catalog: Catalog) -> None:
    _newsroom(catalog)
    # A re-resolution appends a newer row for the copy at north: that row is the member.
    newer = replace(catalog.article("https://north.test/a"), title="Harbour budget (updated)")  # type: ignore[type-var]
    catalog.add_article(article(newer, 9))
    members = catalog.story_members(["s-harbour", "s-fair", "s-unknown"])
    assert set(members) == {"s-harbour", "s-fair"}
    harbour = members["s-harbour"]
    assert [m.doc.final_url for m in harbour] == [
        "https://wire.test/a",
        "https://north.test/a",
        "https://south.test/a",
    ]
    assert harbour[1].article.record.title == "Harbour budget (updated)"
    assert harbour[1].row_id == catalog.article_row_id("https://north.test/a")
    assert harbour[1].doc.evidence[0].source == "Wire"
    row = catalog.article_row_by_id(harbour[0].row_id)
    assert row is not None and row.record.final_url == "https://wire.test/a"
    assert catalog.article_row_by_id(10_000) is None


def test_outlet_activity_links_and_names(catalog: Catalog) -> None:
    from harvester.dedup.stories import epoch

    _newsroom(catalog)
    assert catalog.outlet_names() == ["Wire", "north", "south"]
    assert catalog.original_outlets() == ["RIA", "Wire", "south"]
    day = int(epoch("2026-11-29T08:00:00Z") or 0) // 86400
    assert catalog.outlet_days("south") == [(day, 1), (day + 2, 1)]
    assert catalog.outlet_days("nobody") == []
    north = catalog.outlet_links("north")
    assert (north.articles, north.copies) == (2, 2)
    assert sorted((c.outlet, c.lag) for c in north.copies_from) == [
        ("RIA", None),
        ("Wire", 3600.0),
    ]
    assert north.copied_by == ()
    wire = catalog.outlet_links("Wire")
    assert (wire.articles, wire.copies, wire.copies_from) == (1, 0, ())
    assert sorted((c.outlet, c.lag) for c in wire.copied_by) == [
        ("north", 3600.0),
        ("south", 86400.0),
    ]
    assert catalog.outlet_links("nobody").articles == 0


def test_search_finds_words_and_phrases_in_newest_rows_only(catalog: Catalog) -> None:
    from harvester.catalog.fulltext import parse_query

    _newsroom(catalog)

    def found(text: str) -> list[str]:
        query = parse_query(text)
        assert query is not None
        return sorted(h.record.final_url for h in catalog.search_articles(query))

    assert found("parade") == ["https://south.test/c"]
    assert found("PIPELINE talks") == ["https://north.test/b"]
    assert found('"council voted"') == [
        "https://north.test/a",
        "https://south.test/a",
        "https://wire.test/a",
    ]
    assert found('"voted council"') == []
    assert found("council view") == ["https://south.test/a"]  # every term, title or text
    hits = catalog.search_articles(parse_query("fair"))  # type: ignore[arg-type]
    assert [(h.story, h.record.title) for h in hits] == [("s-fair", "County fair opens")]
    # The newer row of an article replaces the old one in the index.
    changed = replace(catalog.article("https://south.test/c"), text="The fair was cancelled.")  # type: ignore[type-var]
    catalog.add_article(article(changed, 11))
    assert found("parade") == []
    assert found("cancelled") == ["https://south.test/c"]
    # What would be query syntax is only words: nothing raises, nothing matches too much.
    for hostile in ['"', "NEAR(council voted) OR *", "title:fair", "fair) OR (1=1", "-fair ^"]:
        query = parse_query(hostile)
        if query is not None:
            catalog.search_articles(query)
    assert found("title:fair") == []  # "title" is a word here, not a column filter


def _downgrade_to_schema_4(store: Store) -> None:
    """Make the store look as a schema-4 harvester left it: no full-text index, no columns."""
    if store.engine == "sqlite":
        with contextlib.closing(sqlite3.connect(store.location)) as db, db:
            db.execute("DROP TRIGGER articles_fts_add")
            db.execute("DROP TABLE articles_fts")
            db.execute(
                "UPDATE articles SET is_original = NULL, original_outlet = NULL,"
                " original_url = NULL, ran = NULL"
            )
    else:
        with psycopg.connect(store.location) as conn:
            for column in ("search", "is_original", "original_outlet", "original_url", "ran"):
                conn.execute(sql.SQL("ALTER TABLE articles DROP COLUMN {}").format(
                    sql.Identifier(column)))  # fmt: skip
    _set_schema_version(store, 4)


def test_schema_4_catalogs_gain_search_and_columns_on_open(store: Store) -> None:
    from harvester.catalog.fulltext import parse_query

    first = store.open()
    _newsroom(first)
    first.close()
    _downgrade_to_schema_4(store)
    upgraded = store.open()
    query = parse_query('"council voted"')
    assert query is not None
    assert len(upgraded.search_articles(query)) == 3
    assert sorted((c.outlet, c.lag) for c in upgraded.outlet_links("Wire").copied_by) == [
        ("north", 3600.0),
        ("south", 86400.0),
    ]
    # Kept in step after the upgrade too.
    _desk_article(upgraded, 12, "https://east.test/z", outlet="east", story="s-z",
                  title="Zebra crossing", text="A new crossing.", is_original=True,
                  original=("https://east.test/z", "east", True), published=None,
                  time=NOW)  # fmt: skip
    assert [h.record.final_url for h in upgraded.search_articles(parse_query("zebra"))] == [  # type: ignore[arg-type]
        "https://east.test/z"
    ]


def test_story_summaries_walk_past_many_newer_stories(catalog: Catalog) -> None:
    from harvester.catalog import StoryFilter

    with_copies = [
        doc(f"https://old.test/{n}", time=NOW - 100 + n, story="s-old") for n in range(3)
    ]
    singles = [doc(f"https://new.test/{n}", time=NOW + n, story=f"s-n{n:04d}") for n in range(1200)]
    for row in (*with_copies, *singles):
        catalog.put_doc(row)
    found = catalog.story_summaries(StoryFilter(copies_only=True))
    assert [(s.story, s.articles, s.first, s.last) for s in found] == [
        ("s-old", 3, NOW - 100, NOW - 98)
    ]
    page = catalog.story_summaries(StoryFilter(), limit=3, offset=600)
    assert [s.story for s in page] == ["s-n0599", "s-n0598", "s-n0597"]
    assert catalog.story_summaries(StoryFilter(until=NOW), limit=5)[0].story == "s-old"
