"""``import_warcs``: existing WARC/ARC files through extraction, cleaning and provenance.

Source files are written here with warcio (team-written invented articles from tests/pages.py),
plus the real files of ../shared/data/warc/ (broken ones included) where present.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pages import article_page, invented_story
from warcio.archiveiterator import ArchiveIterator
from warcio.recordbuilder import RecordBuilder
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from harvester.cli import main
from harvester.config import Settings
from harvester.importer import FileReport, ImportReport, import_warcs
from harvester.pipeline import Harvester
from harvester.warc.reader import iter_records, read_record

DATE = "2026-03-03T10:00:00Z"


@dataclass(frozen=True)
class Written:
    """One record written to a source file: its type, URL, id, offset and HTML (if any)."""

    rec_type: str
    url: str
    record_id: str
    offset: int
    html: bytes = b""


def _page(i: int) -> bytes:
    title, paragraphs = invented_story(i)
    return article_page(title=title, paragraphs=paragraphs).encode("utf-8")


def _http(content_type: str, body_length: int, *extra: tuple[str, str]) -> StatusAndHeaders:
    headers = [("Content-Type", content_type), *extra]
    if not any(k.lower() == "transfer-encoding" for k, _ in extra):
        headers.append(("Content-Length", str(body_length)))
    return StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")


def _chunked(data: bytes, size: int = 700) -> bytes:
    parts = [data[i : i + size] for i in range(0, len(data), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


class SourceWarc:
    """A WARC file written record by record with warcio, remembering where each record went."""

    def __init__(self, path: Path, *, gz: bool) -> None:
        self.path = path
        self.gz = gz
        self.written: list[Written] = []
        self._builder = RecordBuilder()
        self._handle = path.open("wb")
        self._writer = WARCWriter(self._handle, gzip=gz)

    def _write(self, record: Any, html: bytes = b"") -> Any:
        offset = self._handle.tell()
        self._writer.write_record(record)
        self.written.append(
            Written(
                rec_type=record.rec_type,
                url=record.rec_headers.get_header("WARC-Target-URI"),
                record_id=record.rec_headers.get_header("WARC-Record-ID"),
                offset=offset,
                html=html,
            )
        )
        return record

    def response(
        self,
        url: str,
        html: bytes,
        *,
        content_type: str = "text/html; charset=utf-8",
        block_digest: str | None = None,
    ) -> Any:
        warc_headers = {"WARC-Date": DATE, "WARC-IP-Address": "192.0.2.7"}
        if block_digest is not None:
            warc_headers["WARC-Block-Digest"] = block_digest
        record = self._builder.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(html),
            length=len(html),
            http_headers=_http(content_type, len(html)),
            warc_headers_dict=warc_headers,
        )
        return self._write(record, html)

    def gzip_chunked_response(self, url: str, html: bytes) -> Any:
        """Stored as transferred: gzip content coding inside a chunked transfer coding."""
        raw = _chunked(gzip.compress(html))
        record = self._builder.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(raw),
            length=len(raw),
            http_headers=_http(
                "text/html; charset=utf-8",
                len(raw),
                ("Content-Encoding", "gzip"),
                ("Transfer-Encoding", "chunked"),
            ),
            warc_headers_dict={"WARC-Date": DATE},
        )
        return self._write(record, html)

    def resource(self, url: str, html: bytes) -> Any:
        record = self._builder.create_warc_record(
            url,
            "resource",
            payload=io.BytesIO(html),
            length=len(html),
            warc_content_type="text/html; charset=utf-8",
            warc_headers_dict={"WARC-Date": DATE},
        )
        return self._write(record, html)

    def request(self, url: str) -> Any:
        record = self._builder.create_warc_record(
            url,
            "request",
            payload=io.BytesIO(b""),
            length=0,
            http_headers=StatusAndHeaders(
                "GET / HTTP/1.1", [("Host", "example.org")], is_http_request=True
            ),
            warc_headers_dict={"WARC-Date": DATE},
        )
        return self._write(record)

    def revisit(self, url: str, of: Any) -> Any:
        record = self._builder.create_revisit_record(
            url,
            of.rec_headers.get_header("WARC-Payload-Digest"),
            url,
            DATE,
            http_headers=_http("text/html; charset=utf-8", 0),
            warc_headers_dict={"WARC-Date": "2026-03-04T10:00:00Z"},
        )
        return self._write(record)

    def close(self) -> Path:
        self._handle.close()
        return self.path

    def of_type(self, rec_type: str) -> list[Written]:
        return [w for w in self.written if w.rec_type == rec_type]


def _png() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def _mixed_source(path: Path, *, gz: bool) -> SourceWarc:
    """Three articles, one gzip+chunked article, one image, a request, a revisit and a
    resource article, all on example.org."""
    src = SourceWarc(path, gz=gz)
    first = None
    for i in (1, 2, 3):
        src.request(f"http://example.org/news/{i}")
        record = src.response(f"http://example.org/news/{i}", _page(i))
        first = first or record
    src.gzip_chunked_response("http://example.org/news/4", _page(4))
    src.response("http://example.org/logo.png", _png(), content_type="image/png")
    src.revisit("http://example.org/news/1", first)
    src.resource("http://example.org/news/5", _page(5))
    src.close()
    return src


def _export(archive: Path, tmp_path: Path) -> list[dict[str, Any]]:
    out = tmp_path / "export.jsonl"
    assert (
        main(["export", "--archive", str(archive), "--format", "jsonl", "--output", str(out)]) == 0
    )
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def _our_records(archive: Path) -> list[Any]:
    return [r for p in sorted((archive / "warc").rglob("*.warc.gz")) for r in iter_records(p)]


def _accounted(f: FileReport) -> int:
    """Records counted in exactly one bucket (the 'unreadable from' entry is not a record)."""
    broken = len(f.broken) - (1 if f.unreadable_from is not None else 0)
    return f.articles + f.not_articles + f.duplicates + sum(f.skipped.values()) + broken


def _import(settings: Settings, paths: list[Path]) -> ImportReport:
    with Harvester(settings) as harvester:
        return import_warcs(harvester, paths)


# -- 1. a WARC written here ------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "plain"])
def test_import_articles_with_provenance(
    settings: Settings, archive_dir: Path, tmp_path: Path, gz: bool
) -> None:
    src = _mixed_source(tmp_path / ("source.warc.gz" if gz else "source.warc"), gz=gz)
    messages: list[str] = []
    with Harvester(settings) as harvester:
        report = import_warcs(harvester, [src.path], progress=messages.append)
    assert report.ok and report.exit_code == 0
    [f] = report.files
    assert (f.records, f.articles, f.not_articles, f.duplicates) == (10, 5, 0, 0)
    assert f.skipped == Counter({"request": 3, "image/png": 1, "revisit": 1})
    assert f.broken == [] and f.error is None
    assert _accounted(f) == f.records
    assert messages and str(src.path) in messages[0]

    imported = src.of_type("response")[:4] + src.of_type("resource")
    by_id = {w.record_id: w for w in imported}
    source_file = str(src.path.resolve())

    # The export: every article with its text, located at the source record.
    exported = {r["url"]: r for r in _export(archive_dir, tmp_path)}
    assert set(exported) == {w.url for w in imported}
    for w in imported:
        record = exported[w.url]
        title, paragraphs = invented_story(int(w.url.rsplit("/", 1)[1]))
        assert record["title"] == title
        assert all(p in record["text"] for p in paragraphs[1:])
        assert record["warc"] == {"file": source_file, "offset": w.offset, "record_id": w.record_id}

    # Our WARC files: metadata + conversion records referring to the source record.
    ours = _our_records(archive_dir)
    metadata = [r for r in ours if r.type == "metadata"]
    conversions = [r for r in ours if r.type == "conversion"]
    assert {m.header("WARC-Refers-To") for m in metadata} == set(by_id)
    assert {c.header("WARC-Refers-To") for c in conversions} == set(by_id)
    assert not [r for r in ours if r.type in ("response", "request", "revisit")]
    for m in metadata:
        w = by_id[m.header("WARC-Refers-To") or ""]
        payload = json.loads(m.content)
        assert payload["imported_from"] == {
            "file": source_file,
            "offset": w.offset,
            "record_id": w.record_id,
        }
    # No metadata record for what was skipped by type (the image).
    assert "http://example.org/logo.png" not in {m.header("WARC-Target-URI") for m in metadata}

    # The catalog points at the source record, and the raw body reads back from there.
    with Harvester(settings) as harvester:
        for w in imported:
            capture = harvester.store.catalog.latest_capture(w.url)
            assert capture is not None
            assert (capture.file, capture.offset, capture.record_id) == (
                source_file,
                w.offset,
                w.record_id,
            )
            stored = read_record(archive_dir, capture.file, capture.offset)
            assert stored.header("WARC-Record-ID") == w.record_id
            assert stored.content == w.html  # gzip and chunking undone by the reader

        # A second import of the same file imports nothing new.
        again = import_warcs(harvester, [src.path])
    [g] = again.files
    assert again.ok and (g.articles, g.not_articles, g.duplicates) == (0, 0, 5)
    assert _accounted(g) == g.records == 10
    assert len(_export(archive_dir, tmp_path)) == 5
    assert len([r for r in _our_records(archive_dir) if r.type == "metadata"]) == len(metadata)


def test_copy_in_another_file_joins_the_story(
    settings: Settings, archive_dir: Path, tmp_path: Path
) -> None:
    first = SourceWarc(tmp_path / "wire.warc.gz", gz=True)
    first.response("http://wire.example/story/7", _page(7))
    first.response("http://wire.example/story/8", _page(8))
    first.close()
    second = SourceWarc(tmp_path / "paper.warc.gz", gz=True)
    second.response("http://paper.example/local/7-copy", _page(7))
    second.close()
    report = _import(settings, [first.path, second.path])
    assert report.ok and report.articles == 3
    exported = {r["url"]: r for r in _export(archive_dir, tmp_path)}
    original = exported["http://wire.example/story/7"]
    copy = exported["http://paper.example/local/7-copy"]
    assert copy["story"] == original["story"]
    assert exported["http://wire.example/story/8"]["story"] != original["story"]
    assert copy["outlet"] == "paper.example"


def test_same_records_under_another_path_are_duplicates(settings: Settings, tmp_path: Path) -> None:
    src = _mixed_source(tmp_path / "a.warc.gz", gz=True)
    copy = tmp_path / "copy" / "a.warc.gz"
    copy.parent.mkdir()
    shutil.copy(src.path, copy)
    report = _import(settings, [src.path, copy])
    assert report.ok
    assert [(f.articles, f.duplicates) for f in report.files] == [(5, 0), (0, 5)]


# -- 2. broken records built here --------------------------------------------------------------


def _broken_source(path: Path) -> tuple[SourceWarc, int]:
    """Four articles; the second with a wrong WARC-Block-Digest; the file cut inside the
    last one. Returns the source and how many bytes were cut."""
    src = SourceWarc(path, gz=False)
    src.response("http://example.org/a/1", _page(11))
    src.response("http://example.org/a/2", _page(12), block_digest="sha1:" + "A" * 32)
    src.response("http://example.org/a/3", _page(13))
    src.response("http://example.org/a/4", _page(14))
    src.close()
    data = path.read_bytes()
    cut = 300
    path.write_bytes(data[:-cut])
    return src, cut


def test_broken_records_reported_with_offset_and_the_rest_imported(
    settings: Settings, archive_dir: Path, tmp_path: Path
) -> None:
    src, _ = _broken_source(tmp_path / "broken.warc")
    report = _import(settings, [src.path])
    assert not report.ok and report.exit_code == 1
    [f] = report.files
    w = src.written
    assert (f.records, f.articles) == (4, 2)
    assert [b.offset for b in f.broken] == [w[1].offset, w[3].offset]
    assert "bad digest" in f.broken[0].reason and "block digest" in f.broken[0].reason
    assert "truncated" in f.broken[1].reason
    assert f.unreadable_from is None
    assert {r["url"] for r in _export(archive_dir, tmp_path)} == {w[0].url, w[2].url}
    lines = report.lines()
    assert lines[0].startswith(f"{src.path}: 4 records, 2 articles")
    assert lines[1] == f"  broken: {f.broken[0]}"
    assert f"offset {w[1].offset}: bad digest" in lines[1]
    assert lines[-1].startswith("total: 1 files")


def test_truncated_gzip_member_at_the_end(settings: Settings, tmp_path: Path) -> None:
    src = SourceWarc(tmp_path / "cut.warc.gz", gz=True)
    src.response("http://example.org/b/1", _page(21))
    src.response("http://example.org/b/2", _page(22))
    src.close()
    data = src.path.read_bytes()
    src.path.write_bytes(data[:-200])
    report = _import(settings, [src.path])
    [f] = report.files
    assert f.articles == 1 and not f.ok
    assert f.broken[0].offset == src.written[1].offset


def test_one_gzip_stream_instead_of_one_member_per_record(
    settings: Settings, tmp_path: Path
) -> None:
    plain = SourceWarc(tmp_path / "plain.warc", gz=False)
    for i in (31, 32, 33):
        plain.response(f"http://example.org/c/{i}", _page(i))
    plain.close()
    whole = tmp_path / "whole.warc.gz"
    whole.write_bytes(gzip.compress(plain.path.read_bytes()))
    report = _import(settings, [whole])
    [f] = report.files
    assert not f.ok and f.unreadable_from is not None
    assert "one gzip stream" in f.broken[-1].reason
    # The first record lies at offset 0 of the stream and can be located; it was imported.
    assert f.articles == 1


def test_unreadable_files_do_not_stop_the_others(
    settings: Settings, archive_dir: Path, tmp_path: Path
) -> None:
    good = _mixed_source(tmp_path / "good.warc.gz", gz=True)
    missing = tmp_path / "missing.warc.gz"
    folder = tmp_path / "a-folder.warc"
    folder.mkdir()
    empty = tmp_path / "empty.warc"
    empty.write_bytes(b"")
    text = tmp_path / "notes.warc"
    text.write_text("these are not the records you are looking for\n" * 20)
    lz4 = tmp_path / "x.warc.lz4"
    lz4.write_bytes(b"\x04\x22\x4d\x18" + bytes(64))
    zst = tmp_path / "x.warc.zst"
    zst.write_bytes(b"\x28\xb5\x2f\xfd" + bytes(64))
    noise = tmp_path / "noise.warc.gz"
    noise.write_bytes(b"\x1f\x8b" + random.Random(5).randbytes(3000))
    paths = [missing, folder, empty, text, lz4, zst, noise, good.path]
    report = _import(settings, paths)
    by_path = {f.path: f for f in report.files}
    assert [f.path for f in report.files] == paths
    assert "cannot open" in (by_path[missing].error or "")
    assert by_path[folder].error is not None
    assert by_path[empty].ok and by_path[empty].records == 0
    assert "not a WARC or ARC file" in (by_path[text].error or "")
    assert "LZ4" in (by_path[lz4].error or "")
    assert "zstd" in (by_path[zst].error or "")
    assert by_path[noise].error is not None
    assert by_path[good.path].ok and by_path[good.path].articles == 5
    assert not report.ok and report.exit_code == 1
    assert report.lines()[0] == f"{missing}: {by_path[missing].error}"


def test_corrupted_files_never_raise(settings: Settings, tmp_path: Path) -> None:
    """Bytes flipped, removed and cut at random positions of a valid file: the import reports,
    it never raises, and every record read is accounted for."""
    src = _mixed_source(tmp_path / "valid.warc.gz", gz=True)
    plain = _mixed_source(tmp_path / "valid.warc", gz=False)
    rng = random.Random(20260303)
    paths = []
    for n in range(24):
        data = bytearray((src if n % 2 else plain).path.read_bytes())
        kind = n % 3
        at = rng.randrange(len(data))
        if kind == 0:
            for _ in range(3):
                data[rng.randrange(len(data))] ^= 0xFF
        elif kind == 1:
            del data[at : at + rng.randrange(1, 200)]
        else:
            del data[at:]
        path = tmp_path / f"corrupt-{n}.warc{'.gz' if n % 2 else ''}"
        path.write_bytes(bytes(data))
        paths.append(path)
    report = _import(settings, paths)
    assert len(report.files) == len(paths)
    for f in report.files:
        assert f.error is not None or _accounted(f) == f.records, f.lines()


# -- 3. the real files of ../shared/data/warc -------------------------------------------------

# Files that are broken by design (inventory notes and warcio errors), and what is broken.
EXPECTED_BROKEN = {
    "pywb/warcs/bad.arc": ["invalid Content-Length", "unparsable HTTP status", "invalid"],
    "warcio/bad.arc": ["invalid Content-Length", "unparsable HTTP status", "invalid"],
    "pywb/warcs/example-bad.warc.gz.bad": ["one gzip stream"],
    "warcio/example-bad.warc.gz.bad": ["one gzip stream"],
    "warcio/example-bad-non-chunked.warc.gz": ["one gzip stream"],
    "warcio/example-wrong-chunks.warc.gz": ["truncated", "unreadable from here"],
    "warcio/example-trunc.warc": ["block digest failed"],
    "resiliparse/clipped.warc.gz": ["truncated"],
    # A response whose payload was edited after its WARC-Payload-Digest was written.
    "pywb/warcs/example-extra.warc": ["payload digest failed"],
}
NOT_IMPORTED_TYPES = ("warcinfo", "request", "revisit", "metadata", "unknown")


def _shared_files(root: Path) -> list[Path]:
    return sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix not in (".json", ".md", ".cdxj")
    )


def _expected_imports(path: Path) -> int:
    """An independent count of the records an import should take: 2xx HTML (or untyped)
    responses with HTTP headers and HTML resources, with http(s) URLs."""
    count = 0
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream, arc2warc=True):
            uri = record.rec_headers.get_header("WARC-Target-URI") or ""
            if not uri.startswith(("http:", "https:")):
                continue
            if record.rec_type == "resource":
                ctype = record.rec_headers.get_header("Content-Type") or ""
                count += ctype.split(";")[0].strip() == "text/html"
            elif record.rec_type == "response" and record.http_headers is not None:
                status = record.http_headers.get_statuscode() or ""
                ctype = record.http_headers.get_header("Content-Type")
                html = ctype is None or ctype.split(";")[0].strip() == "text/html"
                count += status.startswith("2") and html
    return count


def test_shared_warcs_imported_in_one_run(
    shared_data: Path, settings: Settings, archive_dir: Path
) -> None:
    root = shared_data / "warc"
    inventory: dict[str, dict[str, Any]] = json.loads(
        (root / "inventory.json").read_text(encoding="utf-8")
    )
    files = _shared_files(root)
    assert {p.relative_to(root).as_posix() for p in files} == set(inventory)
    with Harvester(settings) as harvester:
        report = import_warcs(harvester, files)
        catalog = harvester.store.catalog
        iana_captures = {
            (c.url, c.offset)
            for c in (catalog.latest_capture(u) for u in _cdxj_html(root, "iana.warc.gz"))
            if c is not None and c.file.endswith("pywb/warcs/iana.warc.gz")
        }
    reports = {f.path.relative_to(root).as_posix(): f for f in report.files}
    not_ok = {name for name, f in reports.items() if not f.ok}
    assert not_ok == set(EXPECTED_BROKEN) | {n for n in inventory if n.endswith(".lz4")}

    for name, expected in inventory.items():
        f = reports[name]
        if name.endswith(".lz4"):
            assert f.error is not None and "LZ4" in f.error and f.records == 0
            continue
        assert f.error is None, name
        assert f.records == expected["records_read_by_warcio_1_8_1"], name
        assert _accounted(f) == f.records, name
        for rec_type in NOT_IMPORTED_TYPES:
            assert f.skipped[rec_type] == expected["record_types"].get(rec_type, 0), name
        if expected["warcio_error"]:
            assert f.unreadable_from is not None, name
        if name in EXPECTED_BROKEN:
            reasons = [b.reason for b in f.broken]
            assert len(reasons) == len(EXPECTED_BROKEN[name]), (name, reasons)
            for reason, phrase in zip(reasons, EXPECTED_BROKEN[name], strict=True):
                assert phrase in reason, (name, reason)
        else:
            assert f.imported + f.duplicates == _expected_imports(root / name), name

    # The digest test file: four request records, the first with a payload digest that does
    # not match (its block digest does); requests are not imported, so only a warning.
    digest = reports["warcio/example-digest.warc"]
    assert digest.ok and digest.skipped["request"] == 4
    assert [w.offset for w in digest.warnings] == [0]
    assert "payload digest failed" in digest.warnings[0].reason
    # ClueWeb quirks (payload digest = block digest, Content-Encoding not applied, a WARC-Date
    # with day 294): every response imported, with warnings.
    clueweb = reports["resiliparse/clueweb-quirk.warc.gz"]
    assert clueweb.ok and clueweb.imported == 29
    # Offsets agree with pywb's own CDXJ index of iana.warc.gz.
    cdxj = _cdxj_html(root, "iana.warc.gz")
    assert iana_captures and iana_captures <= {(u, o) for u, offs in cdxj.items() for o in offs}
    assert report.articles > 0 and report.exit_code == 1


def _cdxj_html(root: Path, filename: str) -> dict[str, set[int]]:
    """URL -> offsets of 200 text/html records of ``filename`` in pywb's CDXJ indexes."""
    found: dict[str, set[int]] = {}
    for index in (root / "pywb" / "cdxj").glob("*.cdxj"):
        for line in index.read_text(encoding="utf-8").splitlines():
            fields = json.loads(line.split(" ", 2)[2])
            if (
                fields.get("filename") == filename
                and fields.get("status") == "200"
                and fields.get("mime") == "text/html"
            ):
                found.setdefault(fields["url"], set()).add(int(fields["offset"]))
    return found


def test_shared_files_twice_imports_nothing_new(
    shared_data: Path, settings: Settings, tmp_path: Path
) -> None:
    root = shared_data / "warc"
    files = [root / "pywb/warcs/iana.warc.gz", root / "warcio/example.arc.gz"]
    with Harvester(settings) as harvester:
        first = import_warcs(harvester, files)
        second = import_warcs(harvester, files)
    assert first.ok and second.ok
    assert first.articles + first.not_articles > 0
    assert second.articles + second.not_articles == 0
    assert second.duplicates == first.articles + first.not_articles


def test_cli_exit_codes_and_summary(
    archive_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _mixed_source(tmp_path / "good.warc.gz", gz=True)
    assert main(["import-warc", str(good.path), "--archive", str(archive_dir)]) == 0
    err = capsys.readouterr().err
    assert f"harvester: {good.path}: " in err and "Traceback" not in err
    assert len(_export(archive_dir, tmp_path)) == 5
    broken, _ = _broken_source(tmp_path / "broken.warc")
    missing = tmp_path / "missing.warc.gz"
    code = main(["import-warc", str(broken.path), str(missing), "--archive", str(archive_dir)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"harvester: {broken.path}: 4 records, 2 articles" in err
    assert "broken: offset" in err and str(missing) in err
    assert "Traceback" not in err
    assert len(_export(archive_dir, tmp_path)) == 7  # the good records of the broken file
