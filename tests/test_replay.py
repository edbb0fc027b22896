"""Replay in a real replay tool: a harvested newsroom added to pywb shows every article as its
page (the archived payload, never our metadata or text records), through pywb's own indexer and
through ``harvester cdxj`` as the collection's index; a revisit replays as its original payload.

Archives written before the derived records had targets of their own ("legacy" here: the same
records with the page URL as their target) still work with every command, and replay correctly
once indexed with ``harvester cdxj``, which is what the README tells their owners to do.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from replaytool import Wayback, add_collection, harvest_twice, index_collection
from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord
from warcio.timeutils import iso_date_to_timestamp
from warcio.warcwriter import WARCWriter

from harvester.archive import Archive
from harvester.cli import main
from harvester.demo import run_demo
from harvester.warc.cdxj import archive_warc_files
from harvester.warc.records import page_url_of

AGAIN = "/again/unchanged-story"


@dataclass(frozen=True)
class Capture:
    url: str
    timestamp: str  # 14 digits, the response's (or revisit's) WARC-Date
    payload: bytes  # the archived entity body, content coding undone
    title: str


@dataclass(frozen=True)
class Newsroom:
    root: Path
    articles: list[Capture]
    revisit: Capture  # an unchanged re-fetch: a revisit record, its payload the original's


def _records(root: Path, *types: str) -> Iterator[ArcWarcRecord]:
    """Every record of the given types in the archive's closed WARC files (files closed after)."""
    for path in archive_warc_files(root):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type in types:
                    yield record


def _captures(root: Path) -> list[Capture]:
    with Archive(root) as archive:
        out = []
        for article in archive.articles():
            response = article.response()
            date = response.header("WARC-Date") or ""
            out.append(
                Capture(
                    url=article.final_url,
                    timestamp=iso_date_to_timestamp(date),
                    payload=response.content,
                    title=article.title or "",
                )
            )
    return out


@pytest.fixture(scope="module")
def newsroom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Newsroom]:
    """The demo newsroom harvested, plus one page fetched twice (the second time a revisit)."""
    root = tmp_path_factory.mktemp("replay") / "archive"
    assert run_demo(archive=root, out=io.StringIO()) == 0
    url = harvest_twice(root, AGAIN, 901)
    articles = _captures(root)
    original = next(c for c in articles if c.url == url)
    revisit_date = next(
        record.rec_headers.get_header("WARC-Date") for record in _records(root, "revisit")
    )
    revisit = Capture(
        url=url,
        timestamp=iso_date_to_timestamp(revisit_date),
        payload=original.payload,
        title=original.title,
    )
    yield Newsroom(root=root, articles=articles, revisit=revisit)


def _assert_replays(wayback: Wayback, collection: str, captures: list[Capture]) -> None:
    """Every capture replays as its page: status 200, HTML, the archived payload byte for byte,
    and in pywb's own (rewriting) view an HTML page, not JSON or plain text."""
    wrong = []
    for capture in captures:
        raw = wayback.get(collection, capture.timestamp, capture.url)
        if (
            raw.status_code != 200
            or not raw.headers.get("content-type", "").startswith("text/html")
            or raw.content != capture.payload
        ):
            wrong.append(
                f"{capture.url}: {raw.status_code} {raw.headers.get('content-type')} "
                f"{raw.content[:60]!r}"
            )
            continue
        shown = wayback.get(collection, capture.timestamp, capture.url, mode="")
        if shown.status_code != 200 or "<html" not in shown.text.lower():
            wrong.append(f"{capture.url} (rewritten view): {shown.status_code} {shown.text[:60]}")
    assert not wrong, f"{len(wrong)} of {len(captures)} captures replay wrongly:\n" + "\n".join(
        wrong
    )


def _harvester_cdxj(root: Path, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["cdxj", "--archive", str(root)]) == 0
    return capsys.readouterr().out


def test_pywb_indexer_replays_every_article_as_its_page(newsroom: Newsroom, tmp_path: Path) -> None:
    assert len(newsroom.articles) >= 13
    add_collection(tmp_path, "news", archive_warc_files(newsroom.root))
    with Wayback(tmp_path) as wayback:
        _assert_replays(wayback, "news", [*newsroom.articles, newsroom.revisit])


def test_harvester_cdxj_as_the_collection_index_replays_every_article(
    newsroom: Newsroom, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = _harvester_cdxj(newsroom.root, capsys)
    # the derived records are indexed under URNs of their own, never under a page's URL
    urls = [json.loads(line.split(" ", 2)[2])["url"] for line in index.splitlines()]
    assert any(u.startswith("urn:harvester:metadata:http") for u in urls)
    assert any(u.startswith("urn:text:http") for u in urls)
    index_collection(tmp_path, "ours", newsroom.root, index)
    with Wayback(tmp_path) as wayback:
        _assert_replays(wayback, "ours", [*newsroom.articles, newsroom.revisit])


def _legacy_copy(root: Path, dest: Path) -> Path:
    """The archive's WARC files as a harvester before the URN targets wrote them: derived
    records carry their page's URL. (No catalog: offsets change; rebuild-index makes one.)"""
    for path in archive_warc_files(root):
        out_path = dest / path.relative_to(root)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("rb") as src, out_path.open("wb") as out:
            writer = WARCWriter(out, gzip=True, warc_version="WARC/1.1")
            for record in ArchiveIterator(src):
                if record.rec_type in ("metadata", "conversion"):
                    target = record.rec_headers.get_header("WARC-Target-URI")
                    record.rec_headers.replace_header("WARC-Target-URI", page_url_of(target))
                writer.write_record(record)
    return dest


def _export(root: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    capsys.readouterr()
    assert main(["export", "--archive", str(root)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for row in rows:
        row.pop("warc")  # offsets differ between the copies
    return sorted(rows, key=lambda r: str(r["final_url"]))


def test_legacy_archive_works_and_replays_once_indexed_by_harvester(
    newsroom: Newsroom, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    legacy = _legacy_copy(newsroom.root, tmp_path / "legacy")
    derived = [
        record.rec_headers.get_header("WARC-Target-URI")
        for record in _records(legacy, "metadata", "conversion")
    ]
    assert derived and all(u.startswith("http") for u in derived)

    # every command still reads it: rebuild the catalog from the files, export the same records
    assert main(["rebuild-index", "--archive", str(legacy)]) == 0
    assert _export(legacy, capsys) == _export(newsroom.root, capsys)

    # pywb's own indexer files the JSON under the page's URL (the bug this convention fixes) ...
    pywb_root = tmp_path / "pywb"
    pywb_root.mkdir()
    add_collection(pywb_root, "legacy", archive_warc_files(legacy))
    index_collection(pywb_root, "fixed", legacy, _harvester_cdxj(legacy, capsys))
    with Wayback(pywb_root) as wayback:
        shown = [wayback.get("legacy", c.timestamp, c.url) for c in newsroom.articles]
        json_shown = sum(
            r.headers.get("content-type", "").startswith("application/json") for r in shown
        )
        assert json_shown > 0, "expected pywb to show some legacy metadata records as the page"
        # ... while harvester's index of the same files replays every page
        _assert_replays(wayback, "fixed", [*newsroom.articles, newsroom.revisit])
    shutil.rmtree(pywb_root / "collections")
