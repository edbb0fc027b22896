"""``harvester export --format wacz``: evidence packages that ``wacz validate`` passes and pywb
replays, holding exactly the selected articles; bad input is one line and a distinct exit code,
and never leaves a package (or half of one) under the output's name.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from replaytool import Wayback, harvest_twice, index_collection, run_tool
from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_timestamp

from harvester.catalog import CATALOG_NAME, SqliteCatalog
from harvester.cli import main
from harvester.demo import run_demo
from harvester.models import ExportRecord

AGAIN = "/again/unchanged-story"


@dataclass(frozen=True)
class Newsroom:
    root: Path
    records: list[ExportRecord]  # every article's newest record
    again: str  # a URL fetched twice: its newest capture is a revisit

    def story_with_most_copies(self) -> str:
        sizes: dict[str, int] = {}
        for record in self.records:
            sizes[record.story] = sizes.get(record.story, 0) + 1
        return max(sizes, key=lambda s: sizes[s])

    def urls(self, **where: object) -> set[str]:
        return {
            r.final_url
            for r in self.records
            if all(getattr(r, key) == value for key, value in where.items())
        }


@pytest.fixture(scope="module")
def newsroom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Newsroom]:
    root = tmp_path_factory.mktemp("wacz") / "archive"
    assert run_demo(archive=root, out=io.StringIO()) == 0
    again = harvest_twice(root, AGAIN, 902)
    with SqliteCatalog(root / CATALOG_NAME, readonly=True) as catalog:
        records = list(catalog.articles())
    yield Newsroom(root=root, records=records, again=again)


@dataclass(frozen=True)
class Package:
    path: Path
    pages: list[dict[str, object]]
    records: list[tuple[str, str, str]]  # (type, target URI, WARC-Date) of every WARC record
    files: set[str]


def _open(path: Path) -> Package:
    with zipfile.ZipFile(path) as zf:
        files = set(zf.namelist())
        lines = zf.read("pages/pages.jsonl").decode("utf-8").splitlines()
        records = []
        for name in sorted(f for f in files if f.startswith("archive/")):
            assert zf.getinfo(name).compress_type == zipfile.ZIP_STORED  # readers seek into it
            with zf.open(name) as stream:
                for record in ArchiveIterator(stream):
                    headers = record.rec_headers
                    records.append(
                        (
                            record.rec_type,
                            headers.get_header("WARC-Target-URI") or "",
                            headers.get_header("WARC-Date") or "",
                        )
                    )
    header = json.loads(lines[0])
    assert header["format"] == "json-pages-1.0" and header["id"] == "pages"
    return Package(
        path=path, pages=[json.loads(line) for line in lines[1:]], records=records, files=files
    )


def _export(root: Path, out: Path, *args: str) -> int:
    return main(["export", "--archive", str(root), "--format", "wacz", "--output", str(out), *args])


def _validate(path: Path) -> None:
    done = run_tool("wacz", "validate", "-f", str(path), cwd=path.parent)
    assert "Validation succeeded" in done.stdout, done.stdout


def test_whole_archive_package_validates_and_lists_every_article(
    newsroom: Newsroom, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "all.wacz"
    assert _export(newsroom.root, out) == 0
    assert "13" not in capsys.readouterr().out  # the summary goes to stderr, not stdout
    _validate(out)
    package = _open(out)
    assert {p["url"] for p in package.pages} == newsroom.urls()
    assert len(package.pages) == len(newsroom.records)
    by_url = {r.final_url: r for r in newsroom.records}
    for page in package.pages:
        record = by_url[str(page["url"])]
        assert page["title"] == record.title and page["text"] == record.text
        assert page["story"] == record.story
    # every record of the archive went in: requests and warcinfo too
    types = {t for t, _, _ in package.records}
    assert {"warcinfo", "request", "response", "revisit", "metadata", "conversion"} <= types
    assert {"datapackage.json", "datapackage-digest.json", "indexes/index.cdx"} <= package.files
    data = json.loads(zipfile.ZipFile(out).read("datapackage.json"))
    assert data["wacz_version"] == "1.1.1"
    assert {r["path"] for r in data["resources"]} == package.files - {
        "datapackage.json",
        "datapackage-digest.json",
    }


def test_story_package_holds_the_story_and_nothing_else_and_replays(
    newsroom: Newsroom, tmp_path: Path
) -> None:
    story = newsroom.story_with_most_copies()
    members = newsroom.urls(story=story)
    assert len(members) >= 3
    out = tmp_path / "story.wacz"
    assert _export(newsroom.root, out, "--story", story) == 0
    _validate(out)
    package = _open(out)
    assert {p["url"] for p in package.pages} == members
    responses = {uri for t, uri, _ in package.records if t == "response"}
    assert responses == members
    metadata = {uri for t, uri, _ in package.records if t == "metadata"}
    assert metadata == {"urn:harvester:metadata:" + url for url in members}
    (story_record,) = [uri for t, uri, _ in package.records if t == "resource"]
    assert story_record == f"urn:harvester:story:{story}"
    with zipfile.ZipFile(out) as zf:
        name = next(n for n in zf.namelist() if n.startswith("archive/"))
        with zf.open(name) as stream:
            body = next(
                r.content_stream().read()
                for r in ArchiveIterator(stream)
                if r.rec_type == "resource"
            )
    view = json.loads(body)
    assert view["story"] == story
    assert {m["url"] for m in view["members"]} == members
    assert any(m["changes"] for m in view["members"])  # the copies' diffs travel with it

    # the package's own index replays each member as its page in pywb
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(out).extractall(unpacked)
    pywb = tmp_path / "pywb"
    pywb.mkdir()
    index_collection(
        pywb, "story", unpacked / "archive", (unpacked / "indexes/index.cdx").read_text()
    )
    dates = {uri: date for t, uri, date in package.records if t == "response"}
    with Wayback(pywb) as wayback:
        for url in members:
            shown = wayback.get("story", iso_date_to_timestamp(dates[url]), url)
            assert shown.status_code == 200
            assert shown.headers["content-type"].startswith("text/html")


def test_a_revisited_article_carries_the_response_it_stands_for(
    newsroom: Newsroom, tmp_path: Path
) -> None:
    out = tmp_path / "again.wacz"
    assert _export(newsroom.root, out, "--story", newsroom.again) == 0  # a URL names its story
    _validate(out)
    package = _open(out)
    kinds = sorted(t for t, uri, _ in package.records if uri == newsroom.again)
    assert kinds == ["response", "revisit"]
    pywb = tmp_path / "pywb"
    pywb.mkdir()
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(out).extractall(unpacked)
    index_collection(pywb, "p", unpacked / "archive", (unpacked / "indexes/index.cdx").read_text())
    revisit_date = next(d for t, u, d in package.records if t == "revisit")
    with Wayback(pywb) as wayback:
        shown = wayback.get("p", iso_date_to_timestamp(revisit_date), newsroom.again)
    assert shown.status_code == 200 and b"<html" in shown.content.lower()


def test_outlet_and_since_select_exactly_their_articles(
    newsroom: Newsroom, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outlet = next(r.outlet for r in newsroom.records if r.outlet and not r.is_original)
    assert outlet is not None
    out = tmp_path / "outlet.wacz"
    assert _export(newsroom.root, out, "--outlet", outlet) == 0
    _validate(out)
    assert {p["url"] for p in _open(out).pages} == newsroom.urls(outlet=outlet)

    capsys.readouterr()
    assert main(["export", "--archive", str(newsroom.root), "--fields", "final_url,cursor"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    cursor = rows[len(rows) // 2 - 1]["cursor"]
    later = {r["final_url"] for r in rows[len(rows) // 2 :]}
    out = tmp_path / "since.wacz"
    assert _export(newsroom.root, out, "--since", str(cursor)) == 0
    _validate(out)
    assert {p["url"] for p in _open(out).pages} == later


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--story", "s-0000000000000000"], 7, "no story"),
        (["--story", "http://nowhere.example/never-archived"], 7, "no story"),
        (["--outlet", "No Such Outlet"], 8, "no archived article matches"),
    ],
)
def test_bad_selections_exit_with_their_codes_and_leave_nothing(  # noqa: PLR0917
    newsroom: Newsroom,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    says: str,
) -> None:
    out = tmp_path / "p.wacz"
    assert _export(newsroom.root, out, *args) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("harvester:") and says in err[0]
    assert not list(tmp_path.iterdir())  # no package, no .partial, no scratch file


def test_an_existing_or_unwritable_output_is_refused(
    newsroom: Newsroom, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "kept.wacz"
    out.write_bytes(b"someone's earlier package")
    assert _export(newsroom.root, out) == 9
    assert out.read_bytes() == b"someone's earlier package"
    assert "exists" in capsys.readouterr().err
    missing = tmp_path / "no-such-dir" / "p.wacz"
    assert _export(newsroom.root, missing) == 9
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot write" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.wacz"]


def test_wacz_needs_an_output_file(newsroom: Newsroom, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--archive", str(newsroom.root), "--format", "wacz"]) == 2
    assert "--output" in capsys.readouterr().err
    assert main(["export", "--archive", str(newsroom.root), "--story", "s-1"]) == 2
    assert "--format wacz" in capsys.readouterr().err
