"""harvest_one end to end into a WARC archive, read back with warcio; revisits; the catalog."""

from __future__ import annotations

import gzip
import io
import itertools
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mockserver import CHUNKED, GZIP, MockServer
from pages import WIRE_PARAGRAPHS, WIRE_TITLE, article_page, listing_page
from warcio.archiveiterator import ArchiveIterator

from harvester.clock import FrozenClock
from harvester.config import Settings
from harvester.errors import ArchiveLockedError
from harvester.models import Archived, Exchange, FetchRequest, HttpError, NotArticle
from harvester.pipeline import Harvester
from harvester.rebuild import rebuild_catalog
from harvester.storage import ArchiveStore
from harvester.warc.reader import iter_records, read_record
from harvester.warc.records import build_exchange, payload_digest
from harvester.warc.writer import WarcFileWriter

WARCIO = Path(sys.executable).parent / "warcio"


def counter_ids() -> itertools.count[int]:
    return itertools.count(1)


def harvest(settings: Settings, url: str, **kw: object) -> object:
    with Harvester(settings, clock=FrozenClock()) as harvester:
        return harvester.harvest(FetchRequest(url=url, **kw))  # type: ignore[arg-type]


def warc_files(root: Path) -> list[Path]:
    return sorted((root / "warc").rglob("*.warc.gz"))


def all_records(root: Path) -> list[tuple[str, dict[str, str], bytes]]:
    out = []
    for path in warc_files(root):
        for rec in iter_records(path):
            out.append((rec.type, {k: v for k, v in rec.headers}, rec.content))
    return out


def warcio_check(path: Path) -> None:
    done = subprocess.run(
        [str(WARCIO), "check", "-v", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "digest pass" in done.stdout
    assert "fail" not in done.stdout.replace("digest pass", "")


def test_article_archived_as_four_records(
    server: MockServer, settings: Settings, archive_dir: Path
) -> None:
    server.route("/story", article_page())
    outcome = harvest(settings, server.url("/story"))
    assert isinstance(outcome, Archived)
    record = outcome.record
    assert record.title == WIRE_TITLE
    assert record.text.split("\n\n") == list(WIRE_PARAGRAPHS)
    assert record.language == "en"
    assert record.published == "2026-03-03T09:30:00+00:00"

    files = warc_files(archive_dir)
    assert len(files) == 1
    assert not list((archive_dir / "warc").rglob("*.open"))
    warcio_check(files[0])
    records = all_records(archive_dir)
    assert [t for t, _, _ in records] == [
        "warcinfo",
        "request",
        "response",
        "metadata",
        "conversion",
    ]
    _, info, info_body = records[0]
    assert info["WARC-Filename"] == files[0].name
    assert b"reconstructed" in info_body
    _, req, _ = records[1]
    _, resp, body = records[2]
    assert req["WARC-Concurrent-To"] == resp["WARC-Record-ID"]
    assert resp["WARC-Concurrent-To"] == req["WARC-Record-ID"]
    assert resp["WARC-Payload-Digest"] == payload_digest(body)
    assert resp["WARC-IP-Address"] == "127.0.0.2"
    _, meta, meta_body = records[3]
    _, conv, conv_body = records[4]
    for headers in (meta, conv):
        assert headers["WARC-Refers-To"] == resp["WARC-Record-ID"]
    # Derived records have targets of their own, so replay tools serve only the response.
    assert meta["WARC-Target-URI"] == "urn:harvester:metadata:" + server.url("/story")
    assert conv["WARC-Target-URI"] == "urn:text:" + server.url("/story")
    assert meta["Content-Type"] == "application/json"
    assert conv_body.decode("utf-8") == record.text
    payload = json.loads(meta_body)
    assert payload["record"]["title"] == WIRE_TITLE
    assert "text" not in payload["record"]

    # the record locates the response record
    assert record.warc.record_id == resp["WARC-Record-ID"]
    stored = read_record(archive_dir, record.warc.file, record.warc.offset)
    assert stored.type == "response"
    assert stored.content == body


def test_a_page_is_one_fsync_and_one_catalog_transaction(
    server: MockServer, settings: Settings, archive_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The capture's records and the article's are one WARC batch, made durable by one fsync,
    then indexed together (a URL leaves the frontier only after both)."""
    server.route("/story", article_page())
    server.route("/section", listing_page())
    with Harvester(settings, clock=FrozenClock()) as harvester:
        harvester.harvest(FetchRequest(url=server.url("/section")))  # the file is open
        syncs: list[int] = []
        pages: list[tuple[int, bool]] = []
        real_fsync, real_add_page = os.fsync, type(harvester.store.catalog).add_page
        monkeypatch.setattr(os, "fsync", lambda fd: (syncs.append(fd), real_fsync(fd))[1])

        def add_page(self: object, captures: list[object], article: object = None) -> None:
            pages.append((len(captures), article is not None))
            real_add_page(self, captures, article)  # type: ignore[arg-type]

        monkeypatch.setattr(type(harvester.store.catalog), "add_page", add_page)
        outcome = harvester.harvest(FetchRequest(url=server.url("/story")))
    assert isinstance(outcome, Archived)
    assert len(syncs) == 2  # the page's batch, then closing the file
    assert pages == [(1, True)]
    types = [t for t, _, _ in all_records(archive_dir)]
    assert types[-4:] == ["request", "response", "metadata", "conversion"]


def test_writer_batch_unsynced_records_are_synced_and_rolled_back_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = (f"<urn:uuid:{i}>" for i in itertools.count())
    writer = WarcFileWriter(
        tmp_path,
        prefix="t",
        rotate_size=2000,  # passed by the first batch: the second write must not rotate
        clock=FrozenClock(),
        new_id=lambda: next(ids),
        info={"software": "test"},
        writer="w0123456789",
        hostname="box",
    )
    syncs: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (syncs.append(fd), real_fsync(fd))[1])
    with writer:
        first = writer.write(
            build_exchange(exchange(os.urandom(3000)), request_id="<q1>", response_id="<r1>"),
            sync=False,
        )
        assert syncs == []
        second = writer.write(
            build_exchange(exchange(), request_id="<q2>", response_id="<r2>"), sync=True
        )
        assert len(syncs) == 1
        assert {s.file for s in first + second} == {first[0].file}  # no rotation inside
        writer.sync()  # nothing open: nothing to do
        assert len(syncs) == 1
        # the next batch opens a new file (the last one passed rotate_size); cut back whole
        third = writer.write(
            build_exchange(exchange(), request_id="<q3>", response_id="<r3>"), sync=False
        )
        assert third[0].file != first[0].file
        writer.write(build_exchange(exchange(), request_id="<q4>", response_id="<r4>"))
        writer.rollback(third[0].file, third[0].offset)
    size = (tmp_path / first[0].file).stat().st_size
    assert size == second[-1].offset + second[-1].length
    kept = [r.headers for r in iter_records(tmp_path / third[0].file)]
    assert [dict(h)["WARC-Type"] for h in kept] == ["warcinfo"]


def test_chunked_response_stored_dechunked_with_header_renamed(
    server: MockServer, settings: Settings, archive_dir: Path
) -> None:
    server.route("/chunked", article_page(), behaviour=CHUNKED)
    assert isinstance(harvest(settings, server.url("/chunked")), Archived)
    warcio_check(warc_files(archive_dir)[0])
    resp = next(r for r in all_records(archive_dir) if r[0] == "response")
    assert resp[2] == article_page().encode()
    raw = gzip.decompress(warc_files(archive_dir)[0].read_bytes())
    assert b"X-Harvester-Orig-Transfer-Encoding: chunked" in raw
    assert b"\r\nTransfer-Encoding:" not in raw


def test_gzip_response_stored_as_transferred(
    server: MockServer, settings: Settings, archive_dir: Path
) -> None:
    server.route("/gz", article_page(), behaviour=GZIP)
    outcome = harvest(settings, server.url("/gz"))
    assert isinstance(outcome, Archived)
    files = warc_files(archive_dir)
    warcio_check(files[0])
    with files[0].open("rb") as fh:
        for rec in ArchiveIterator(fh):
            if rec.rec_type == "response":
                assert rec.http_headers.get_header("Content-Encoding") == "gzip"
                # content_stream() undoes the content coding for us; raw_stream does not
                assert rec.content_stream().read() == article_page().encode()


def test_identical_payload_written_as_revisit(
    server: MockServer, settings: Settings, archive_dir: Path
) -> None:
    server.route("/story", article_page())
    first = harvest(settings, server.url("/story"))
    second = harvest(settings, server.url("/story"))
    assert isinstance(first, Archived) and isinstance(second, Archived)
    assert second.revisit
    assert second.record == first.record
    records = all_records(archive_dir)
    types = [t for t, _, _ in records]
    assert types.count("response") == 1
    assert types.count("revisit") == 1
    assert types.count("metadata") == 1
    revisit = next(h for t, h, _ in records if t == "revisit")
    response = next(h for t, h, _ in records if t == "response")
    assert revisit["WARC-Refers-To"] == response["WARC-Record-ID"]
    assert revisit["WARC-Payload-Digest"] == response["WARC-Payload-Digest"]
    assert revisit["WARC-Profile"].endswith("identical-payload-digest")
    for path in warc_files(archive_dir):
        warcio_check(path)


def test_changed_payload_is_a_new_response(
    server: MockServer, settings: Settings, archive_dir: Path
) -> None:
    server.route("/story", article_page())
    harvest(settings, server.url("/story"))
    server.route("/story", article_page(paragraphs=(*WIRE_PARAGRAPHS, "An update was added.")))
    outcome = harvest(settings, server.url("/story"))
    assert isinstance(outcome, Archived) and not outcome.revisit
    assert outcome.record.text.endswith("An update was added.")
    types = [t for t, _, _ in all_records(archive_dir)]
    assert types.count("response") == 2 and "revisit" not in types


def test_redirect_hops_archived_and_final_url_recorded(
    server: MockServer, settings: Settings, archive_dir: Path
) -> None:
    server.redirect("/short", "/2026/03/story", status=301)
    server.route("/2026/03/story", article_page())
    outcome = harvest(settings, server.url("/short"))
    assert isinstance(outcome, Archived)
    assert outcome.record.url == server.url("/short")
    assert outcome.record.final_url == server.url("/2026/03/story")
    responses = [h for t, h, _ in all_records(archive_dir) if t == "response"]
    assert [h["WARC-Target-URI"] for h in responses] == [
        server.url("/short"),
        server.url("/2026/03/story"),
    ]


def test_not_an_article_archived_with_reason(
    server: MockServer, settings: Settings, archive_dir: Path
) -> None:
    server.route("/news", listing_page())
    outcome = harvest(settings, server.url("/news"))
    assert isinstance(outcome, NotArticle)
    assert outcome.reason == "mostly links (a section or index page)"
    records = all_records(archive_dir)
    assert [t for t, _, _ in records] == ["warcinfo", "request", "response", "metadata"]
    assert "rejected" in json.loads(records[-1][2])


def test_http_error_archived_and_reported(
    server: MockServer, settings: Settings, archive_dir: Path
) -> None:
    outcome = harvest(settings, server.url("/missing"))
    assert isinstance(outcome, HttpError)
    assert outcome.status == 404
    assert [t for t, _, _ in all_records(archive_dir)][-1] == "response"


def test_second_writer_writes_beside_the_first_but_rebuild_needs_the_archive_alone(
    settings: Settings,
) -> None:
    clock = FrozenClock()
    root = settings.archive.dir
    with (
        ArchiveStore(settings.archive, settings.fetch, clock=clock) as first,
        ArchiveStore(settings.archive, settings.fetch, clock=clock) as second,
    ):
        assert first.writer_id != second.writer_id
        with pytest.raises(ArchiveLockedError, match=r"in use by 2 harvester writer\(s\)"):
            rebuild_catalog(root, is_wire=lambda name: False)
    # released on close
    rebuild_catalog(root, is_wire=lambda name: False)


def exchange(body: bytes = b"<html>hello</html>") -> Exchange:
    return Exchange(
        url="https://news.example/a?b=1",
        request_headers=(("Host", "news.example"), ("User-Agent", "t")),
        status=200,
        reason="OK",
        response_headers=(("Content-Type", "text/html"), ("Content-Length", str(len(body)))),
        body=body,
        content=body,
        started=datetime(2026, 3, 3, 9, 30, tzinfo=UTC),
        peer_ip="93.184.216.34",
    )


def test_records_are_deterministic_and_pinned() -> None:
    def render() -> bytes:
        request, response = build_exchange(
            exchange(), request_id="<urn:uuid:req>", response_id="<urn:uuid:resp>"
        )
        buf = io.BytesIO()
        from warcio.warcwriter import WARCWriter

        writer = WARCWriter(buf, gzip=False, warc_version="WARC/1.1")
        writer.write_record(request)
        writer.write_record(response)
        return buf.getvalue()

    first = render()
    assert first == render()
    text = first.decode("latin-1")
    assert "WARC-Date: 2026-03-03T09:30:00.000000Z" in text
    assert "GET /a?b=1 HTTP/1.1\r\nHost: news.example\r\nUser-Agent: t\r\n" in text
    assert "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" in text
    assert f"WARC-Payload-Digest: {payload_digest(b'<html>hello</html>')}" in text


def test_writer_uses_open_suffix_and_rotates(tmp_path: Path) -> None:
    ids = (f"<urn:uuid:{i}>" for i in itertools.count())
    writer = WarcFileWriter(
        tmp_path,
        prefix="t",
        rotate_size=2000,
        clock=FrozenClock(),
        new_id=lambda: next(ids),
        info={"software": "test"},
        writer="w0123456789",
        hostname="box",
    )
    with writer:
        body = os.urandom(1500)
        spans = []
        for i in range(3):
            req, resp = build_exchange(
                exchange(body), request_id=f"<urn:uuid:q{i}>", response_id=f"<urn:uuid:r{i}>"
            )
            spans.append(writer.write([req, resp]))
            current = tmp_path / (writer.current_file or "")
            assert Path(str(current) + ".open").exists()
            assert not current.exists()
    files = sorted((tmp_path / "warc").rglob("*"))
    names = [p.name for p in files if p.is_file()]
    assert len(names) == 3
    assert all(re.fullmatch(r"t-2026010203\d{4}-\d{5}-box-w0123456789\.warc\.gz", n) for n in names)
    assert not any(n.endswith(".open") for n in names)
    # each file starts with warcinfo and the spans point at the right records
    for batch in spans:
        stored = read_record(tmp_path, batch[1].file, batch[1].offset)
        assert stored.type == "response"
        assert stored.content == body
    for path in files:
        if path.is_file():
            first = next(iter_records(path))
            assert first.type == "warcinfo"
            warcio_check(path)
