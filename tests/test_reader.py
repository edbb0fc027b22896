"""The archive as a product: the Archive reader API with cursors, and `harvester export` in
JSON lines, CSV and Parquet (fields, outlet filter, --since, streaming, errors)."""

from __future__ import annotations

import csv
import io
import json
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from mockserver import MockServer
from pages import article_page, invented_story

from harvester import Archive, ArchivedArticle
from harvester.cli import main
from harvester.config import Outlet, Settings
from harvester.errors import ArchiveError
from harvester.models import Archived, FetchRequest
from harvester.pipeline import Harvester


def newsroom(server: MockServer, settings: Settings) -> Settings:
    """A wire story with a copy that arrives first, and two unrelated stories."""
    for n in (41, 42, 43):
        title, paragraphs = invented_story(n)
        server.route(f"/wire/{n}", article_page(title=title, paragraphs=paragraphs))
    title, paragraphs = invented_story(41)
    server.route("/copy/41", article_page(title=title, paragraphs=(*paragraphs[:-1],)))
    return replace(
        settings,
        outlets=(
            Outlet(name="Northwind", home=server.url("/wire/"), wire=True),
            Outlet(name="Courier", home=server.url("/copy/")),
        ),
    )


def harvest(settings: Settings, *urls: str) -> None:
    """Harvest ``urls`` (one host serves both outlets: the path names the outlet)."""
    with Harvester(settings) as harvester:
        for url in urls:
            outlet = "Courier" if "/copy/" in url else "Northwind" if "/wire/" in url else None
            outcome = harvester.harvest(FetchRequest(url=url, outlet=outlet))
            assert isinstance(outcome, Archived)


def test_articles_since_a_cursor(server: MockServer, settings: Settings) -> None:
    s = newsroom(server, settings)
    harvest(s, server.url("/copy/41"), server.url("/wire/42"))
    with Archive(s.archive.dir) as archive:
        first = list(archive.articles())
        cursor = archive.cursor
    assert [a.final_url for a in first] == [server.url("/copy/41"), server.url("/wire/42")]
    assert all(isinstance(a, ArchivedArticle) for a in first)
    assert first[-1].cursor == cursor
    # The wire original arrives: it is new, and the copy's record changes (re-resolution).
    harvest(s, server.url("/wire/41"), server.url("/wire/43"))
    with Archive(s.archive.dir) as archive:
        later = list(archive.articles(since=cursor))
        assert list(archive.articles(since=archive.cursor)) == []
    urls = [a.final_url for a in later]
    assert sorted(urls) == sorted(
        [server.url("/wire/41"), server.url("/copy/41"), server.url("/wire/43")]
    )
    assert len(urls) == len(set(urls))  # each article once, at its newest record
    copy = next(a for a in later if a.final_url == server.url("/copy/41"))
    assert copy.original.outlet == "Northwind" and not copy.is_original
    assert all(a.cursor > cursor for a in later)
    assert [a.cursor for a in later] == sorted(a.cursor for a in later)


def test_get_story_and_raw_body(server: MockServer, settings: Settings) -> None:
    s = newsroom(server, settings)
    harvest(s, server.url("/wire/41"), server.url("/copy/41"))
    with Archive(s.archive.dir) as archive:
        wire = archive.get(server.url("/wire/41"))
        assert wire is not None and wire.title
        assert archive.get(server.url("/nothing")) is None
        body = wire.raw_body()
        assert body.decode("utf-8") == article_page(
            title=invented_story(41)[0], paragraphs=invented_story(41)[1]
        )
        assert wire.response().http_status == 200
        story = archive.story(wire.story)
        assert story is not None
        assert {m.final_url for m in story.members} == {
            server.url("/wire/41"),
            server.url("/copy/41"),
        }
        assert story.lead.final_url == server.url("/wire/41")
        stories = list(archive.stories())
        assert [v.story for v in stories] == [wire.story]
        outlet_only = list(archive.articles(outlet="Courier"))
        assert [a.outlet for a in outlet_only] == ["Courier"]
        by_story = list(archive.articles(story=wire.story))
        assert len(by_story) == 2


def test_archive_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="no archive at"):
        Archive(tmp_path)
    with pytest.raises(ValueError, match="bad cursor"):
        from harvester.archive import parse_cursor

        parse_cursor("yesterday")


def test_reading_while_the_writer_writes(server: MockServer, settings: Settings) -> None:
    for n in range(12):
        title, paragraphs = invented_story(200 + n)
        server.route(f"/s{n}", article_page(title=title, paragraphs=paragraphs))
    harvest(settings, server.url("/s0"))
    errors: list[BaseException] = []
    seen: set[str] = set()
    done = threading.Event()

    def read() -> None:
        try:
            cursor = 0
            while not done.is_set():
                with Archive(settings.archive.dir) as archive:
                    for article in archive.articles(since=cursor):
                        assert article.text and article.raw_body()
                        seen.add(article.final_url)
                        cursor = article.cursor
        except BaseException as exc:  # noqa: BLE001 (reported by the test)
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        harvest(settings, *(server.url(f"/s{n}") for n in range(1, 12)))
    finally:
        done.set()
        reader.join(30)
    assert not errors, errors
    with Archive(settings.archive.dir) as archive:
        assert len(list(archive.articles())) == 12


def export_cli(
    s: Settings, capsysbinary: pytest.CaptureFixture[bytes], *args: str
) -> tuple[bytes, str]:
    capsysbinary.readouterr()
    assert main(["export", "--archive", str(s.archive.dir), *args]) == 0
    captured = capsysbinary.readouterr()
    return captured.out, captured.err.decode()


def test_export_jsonl_since_and_fields(
    server: MockServer, settings: Settings, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    s = newsroom(server, settings)
    harvest(s, server.url("/wire/42"), server.url("/wire/43"))
    out, err = export_cli(s, capsysbinary)
    lines = [json.loads(x) for x in out.decode().splitlines()]
    assert len(lines) == 2 and list(lines[0])[:3] == ["url", "final_url", "outlet"]
    cursor = err.strip().rsplit("--since ", 1)[1]
    assert cursor.isdigit()
    out, err = export_cli(s, capsysbinary, "--since", cursor)
    assert out == b"" and f"--since {cursor}" in err
    harvest(s, server.url("/wire/41"))
    out, _ = export_cli(s, capsysbinary, "--since", cursor, "--fields", "title,cursor,url")
    (only,) = [json.loads(x) for x in out.decode().splitlines()]
    assert list(only) == ["title", "cursor", "url"]
    assert only["url"] == server.url("/wire/41") and only["cursor"] > int(cursor)
    out, _ = export_cli(s, capsysbinary, "--outlet", "Nobody")
    assert out == b""


def test_export_csv(
    server: MockServer, settings: Settings, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    s = newsroom(server, settings)
    harvest(s, server.url("/wire/41"), server.url("/copy/41"))
    out, _ = export_cli(s, capsysbinary, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out.decode("utf-8"), newline="")))
    assert len(rows) == 2
    assert list(rows[0])[:3] == ["url", "final_url", "outlet"]
    assert {"original_url", "original_outlet", "original_seen", "warc_file", "warc_offset"} <= set(
        rows[0]
    )
    copy = next(r for r in rows if r["final_url"] == server.url("/copy/41"))
    assert copy["original_outlet"] == "Northwind" and copy["is_original"] == "False"
    assert "\n\n" in copy["text"]  # multi-line text survives CSV quoting
    out, _ = export_cli(s, capsysbinary, "--format", "csv", "--unique", "--fields", "url,copies")
    (story,) = list(csv.DictReader(io.StringIO(out.decode("utf-8"), newline="")))
    assert story["url"] == server.url("/wire/41")
    assert [c["url"] for c in json.loads(story["copies"])] == [server.url("/copy/41")]


def test_export_parquet(
    server: MockServer,
    settings: Settings,
    tmp_path: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is in the dev extra")
    s = newsroom(server, settings)
    harvest(s, server.url("/wire/41"), server.url("/copy/41"), server.url("/wire/42"))
    target = tmp_path / "out.parquet"
    _, err = export_cli(s, capsysbinary, "--format", "parquet", "--output", str(target))
    assert "exported 3 records" in err
    table = pq.read_table(target)
    assert table.num_rows == 3
    assert str(table.schema.field("authors").type).startswith("list<")
    assert str(table.schema.field("warc_offset").type) == "int64"
    assert str(table.schema.field("is_original").type) == "bool"
    assert set(table.column("outlet").to_pylist()) == {"Northwind", "Courier"}
    assert not list(tmp_path.glob("*.partial"))


def test_export_parquet_without_pyarrow_is_one_clear_error(
    server: MockServer,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s = newsroom(server, settings)
    harvest(s, server.url("/wire/42"))
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    code = main(["export", "--archive", str(s.archive.dir), "--format", "parquet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [
        "harvester: --format parquet needs pyarrow, which is not installed: "
        "pip install 'harvester[parquet]' (or pip install pyarrow)"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fields", "title,nonsense"], "--fields: unknown field(s) nonsense"),
        (["--since", "last-week"], "bad cursor 'last-week'"),
        (["--fields", "copies"], "--fields: unknown field(s) copies"),  # only with --unique
    ],
)
def test_export_usage_errors(
    server: MockServer,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    harvest(newsroom(server, settings), server.url("/wire/42"))
    assert main(["export", "--archive", str(settings.archive.dir), *args]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("harvester: ") and message in line
