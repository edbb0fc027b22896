"""`harvester rebuild-index`: the catalog rebuilt from the WARC files exports the same records
(same order, same cursors), keeps stories working, and keeps the old catalog."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from mockserver import MockServer
from pages import article_page, invented_story

from harvester.catalog import CATALOG_NAME
from harvester.cli import main
from harvester.config import Outlet, Settings
from harvester.models import Archived, FetchRequest, NotArticle
from harvester.pipeline import Harvester


def build(server: MockServer, settings: Settings) -> Settings:
    """Copies before originals (re-resolution records), an excerpt, a revisit, a page that is
    not an article, a re-clean (appended records)."""
    s = replace(
        settings,
        outlets=(
            Outlet(name="Northwind", home=server.url("/wire/"), wire=True),
            Outlet(name="Courier", home=server.url("/copy/")),
        ),
    )
    pages = []
    for n in (51, 52, 53):
        title, paragraphs = invented_story(n)
        server.route(f"/wire/{n}", article_page(title=title, paragraphs=paragraphs))
        server.route(f"/copy/{n}", article_page(title=title, paragraphs=paragraphs[:-1]))
        pages += [(f"/copy/{n}", "Courier"), (f"/wire/{n}", "Northwind")]
    server.route("/copy/about", "<html><body><p>About us.</p></body></html>")
    with Harvester(s) as harvester:
        for path, outlet in pages:
            outcome = harvester.harvest(FetchRequest(url=server.url(path), outlet=outlet))
            assert isinstance(outcome, Archived)
        again = harvester.harvest(FetchRequest(url=server.url("/wire/51"), outlet="Northwind"))
        assert isinstance(again, Archived) and again.revisit
        about = harvester.harvest(FetchRequest(url=server.url("/copy/about"), outlet="Courier"))
        assert isinstance(about, NotArticle)
    return s


def export(s: Settings, capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    capsys.readouterr()
    assert main(["export", "--archive", str(s.archive.dir), "--fields", *args]) == 0
    return capsys.readouterr().out.splitlines()


ALL = (
    "url,final_url,outlet,title,authors,published,fetched,language,text,story,is_original,"
    "original,warc,cursor"
)


def test_rebuilt_catalog_exports_the_same_records(
    server: MockServer, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    s = build(server, settings)
    before = export(s, capsys, ALL)
    assert len(before) == 6
    capsys.readouterr()
    assert main(["story", server.url("/copy/52"), "--archive", str(s.archive.dir)]) == 0
    story_before = capsys.readouterr().out
    counts_before = _counts(s.archive.dir / CATALOG_NAME)

    assert main(["rebuild-index", "--archive", str(s.archive.dir)]) == 0
    out, err = capsys.readouterr()
    # every article record counts, re-resolutions included
    assert f"1 WARC files, {counts_before['captures']} captures" in out
    assert f"{counts_before['articles']} article records" in out
    assert "[1/1]" in err
    after = export(s, capsys, ALL)
    assert after == before  # same records, same order, same cursors
    cursors = [json.loads(line)["cursor"] for line in after]
    assert cursors == sorted(cursors)
    assert main(["story", server.url("/copy/52"), "--archive", str(s.archive.dir)]) == 0
    assert capsys.readouterr().out == story_before
    after = _counts(s.archive.dir / CATALOG_NAME)
    for table in ("captures", "articles", "docs", "doc_links"):
        assert after[table] == counts_before[table], table
    olds = list(s.archive.dir.glob(f"{CATALOG_NAME}.old-*"))
    assert len(olds) == 1 and _counts(olds[0])["articles"] == counts_before["articles"]


def test_a_daemon_run_after_a_rebuild_fetches_nothing_again(
    server: MockServer, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    from pages import rss_feed

    from harvester.daemon import run_daemon

    s = build(server, settings)
    feed = rss_feed([("x", server.url("/wire/51")), ("y", server.url("/copy/51"))])
    server.route("/wire/rss.xml", feed, content_type="application/rss+xml")
    s = replace(s, outlets=(replace(s.outlets[0], feeds=(server.url("/wire/rss.xml"),)),))
    assert main(["rebuild-index", "--archive", str(s.archive.dir)]) == 0
    hits = len(server.requests_for("/wire/51")), len(server.requests_for("/copy/51"))
    assert run_daemon(s, once=True) == 0
    assert (len(server.requests_for("/wire/51")), len(server.requests_for("/copy/51"))) == hits


def test_rebuild_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rebuild-index", "--archive", str(tmp_path / "none")]) == 6
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("harvester: no WARC files under")


def _counts(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    try:
        return {
            t: int(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])  # noqa: S608
            for t in ("captures", "articles", "docs", "doc_links")
        }
    finally:
        db.close()


def test_a_postgresql_catalog_is_rebuilt_in_place_and_its_old_tables_kept(
    server: MockServer, settings: Settings, capsys: pytest.CaptureFixture[str], pg_url: str
) -> None:
    import psycopg

    s = build(server, settings.with_catalog(pg_url))
    archive = ["--archive", str(s.archive.dir), "--catalog", pg_url]

    def exported() -> list[str]:
        capsys.readouterr()
        assert main(["export", *archive, "--fields", ALL]) == 0
        return capsys.readouterr().out.splitlines()

    before = exported()
    assert len(before) == 6
    with psycopg.connect(pg_url) as db:
        counts_before = {t: _pg_count(db, t) for t in ("captures", "articles", "docs", "doc_links")}
    assert main(["rebuild-index", *archive]) == 0
    out, _ = capsys.readouterr()
    assert f"{counts_before['articles']} article records" in out
    assert "the old tables are kept in the catalog's schema harvester_old_" in out
    assert exported() == before  # same records, same order, same cursors
    with psycopg.connect(pg_url) as db:
        for table, count in counts_before.items():
            assert _pg_count(db, table) == count, table
        kept = db.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'harvester_old_%'"
        ).fetchall()
        assert len(kept) == 1
        old = kept[0][0]
        assert _pg_count(db, f'"{old}".articles') == counts_before["articles"]
        # search works on the rebuilt rows (the server computes the generated column)
        assert db.execute("SELECT COUNT(*) FROM articles WHERE search IS NOT NULL").fetchone()[0]
    # new rows go after the copied ones: identities moved past them
    with Harvester(s) as harvester:
        title, paragraphs = invented_story(54)
        server.route("/wire/54", article_page(title=title, paragraphs=paragraphs))
        outcome = harvester.harvest(FetchRequest(url=server.url("/wire/54"), outlet="Northwind"))
        assert isinstance(outcome, Archived)
    after = exported()
    assert after[:6] == before and len(after) == 7


def test_a_postgresql_rebuild_is_refused_while_a_writer_holds_leases(
    settings: Settings, capsys: pytest.CaptureFixture[str], pg_url: str
) -> None:
    from harvester.catalog import FrontierItem, open_catalog

    s = settings.with_catalog(pg_url)
    (s.archive.dir / "warc").mkdir(parents=True)
    with open_catalog(pg_url, s.archive.dir) as catalog:
        far = FrontierItem(url="https://far.test/1", host="far.test")
        catalog.frontier_add([far], owner="w0000000abc", lease=60)
    capsys.readouterr()
    assert main(["rebuild-index", "--archive", str(s.archive.dir), "--catalog", pg_url]) == 6
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "has live writers (leases held by w0000000abc)" in line


def _pg_count(db: Any, table: str) -> int:
    return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608
