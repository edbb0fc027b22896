"""Reconciling the catalog with the WARC files at start: captures written but never indexed
(a kill between the two steps) are indexed; files are read from the last known capture on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from mockserver import MockServer
from pages import article_page, invented_story

from harvester.catalog import CATALOG_NAME, SqliteCatalog
from harvester.config import Settings
from harvester.models import Archived, FetchRequest
from harvester.pipeline import Harvester
from harvester.warc.reconcile import reconcile_catalog, scan_captures


def story(n: int) -> str:
    title, paragraphs = invented_story(300 + n)
    return article_page(title=title, paragraphs=paragraphs)


def harvest(settings: Settings, *urls: str) -> None:
    with Harvester(settings) as harvester:
        for url in urls:
            assert isinstance(harvester.harvest(FetchRequest(url=url)), Archived)


def forget(archive: Path, sql: str) -> None:
    db = sqlite3.connect(archive / CATALOG_NAME)
    db.execute(sql)
    db.commit()
    db.close()


def article_rows(archive: Path) -> list[tuple[object, ...]]:
    db = sqlite3.connect(archive / CATALOG_NAME)
    rows = db.execute(
        "SELECT id, url, final_url, story, metadata_file, metadata_offset, record FROM articles"
        " ORDER BY id"
    ).fetchall()
    db.close()
    return rows


def captures(archive: Path) -> list[tuple[object, ...]]:
    db = sqlite3.connect(archive / CATALOG_NAME)
    rows = db.execute(
        "SELECT url, fetched, status, record_type, payload_digest, file, offset, length,"
        " record_id, refers_to FROM captures ORDER BY file, offset"
    ).fetchall()
    db.close()
    return rows


def test_unindexed_captures_are_indexed_at_start(server: MockServer, settings: Settings) -> None:
    for n in range(3):
        server.route(f"/s{n}", story(n))
    archive = settings.archive.dir
    harvest(settings, *(server.url(f"/s{n}") for n in range(3)))
    before = captures(archive)
    assert len(before) == 3
    articles_before = article_rows(archive)
    # A kill after the last page's records were fsynced but before the catalog learned of
    # them, in a file the catalog had not marked complete:
    forget(archive, "DELETE FROM captures WHERE url LIKE '%/s2'")
    forget(archive, "DELETE FROM articles WHERE final_url LIKE '%/s2'")
    forget(archive, "DELETE FROM warc_files")
    with SqliteCatalog(archive / CATALOG_NAME) as catalog:
        result = reconcile_catalog(archive, catalog)
        assert (result.files, result.added, result.articles) == (1, 1, 1)
        assert reconcile_catalog(archive, catalog).files == 0  # marked complete now
    assert captures(archive) == before  # the same row, field for field
    assert article_rows(archive) == articles_before


def test_a_deleted_catalog_is_rebuilt_at_start(
    server: MockServer, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    from harvester.cli import main

    for n in range(3):
        server.route(f"/s{n}", story(n))
    archive = settings.archive.dir
    harvest(settings, *(server.url(f"/s{n}") for n in range(3)))
    capsys.readouterr()
    assert main(["export", "--archive", str(archive)]) == 0
    exported = capsys.readouterr().out
    for path in archive.glob(CATALOG_NAME + "*"):
        path.unlink()
    with Harvester(settings) as harvester:
        assert harvester.store.reconciled.articles == 3
    assert main(["export", "--archive", str(archive)]) == 0
    assert capsys.readouterr().out == exported
    assert all(len(server.requests_for(f"/s{n}")) == 1 for n in range(3))


def test_a_refetch_after_reconciling_is_a_revisit(server: MockServer, settings: Settings) -> None:
    server.route("/s", article_page(title="Story"))
    archive = settings.archive.dir
    harvest(settings, server.url("/s"))
    forget(archive, "DELETE FROM captures")
    forget(archive, "DELETE FROM articles")
    forget(archive, "DELETE FROM warc_files")
    # Opening the archive reconciles; the article was not finished, so it is harvested again.
    with Harvester(settings) as harvester:
        outcome = harvester.harvest(FetchRequest(url=server.url("/s")))
    assert isinstance(outcome, Archived)
    # Two writers' files: their names (writer ids) do not sort by time, so compare as a set.
    rows = {row[3]: row for row in captures(archive)}
    assert sorted(rows) == ["response", "revisit"]
    assert rows["revisit"][9] == rows["response"][8]  # refers_to: the reconciled response


def test_scanning_from_an_offset_matches_a_full_scan(
    server: MockServer, settings: Settings
) -> None:
    for n in range(4):
        server.route(f"/s{n}", story(n))
    harvest(settings, *(server.url(f"/s{n}") for n in range(4)))
    archive = settings.archive.dir
    (file,) = {str(row[5]) for row in captures(archive)}
    full = list(scan_captures(archive, file))
    assert len(full) == 4
    tail = list(scan_captures(archive, file, full[2].offset))
    assert tail == full[2:]
