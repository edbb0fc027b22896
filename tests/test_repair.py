"""Crash repair of .open WARC files: cut back to whole records, closed, valid for warcio."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harvester.clock import FrozenClock
from harvester.config import ArchiveSettings, FetchSettings
from harvester.models import Exchange
from harvester.storage import ArchiveStore
from harvester.warc.reader import iter_records
from harvester.warc.records import build_exchange
from harvester.warc.repair import repair_open_files, whole_records_end
from harvester.warc.writer import WarcFileWriter

WARCIO = Path(sys.executable).parent / "warcio"


def exchange(i: int) -> Exchange:
    body = os.urandom(3000)
    return Exchange(
        url=f"https://news.example/{i}",
        status=200,
        reason="OK",
        response_headers=(("Content-Length", str(len(body))),),
        body=body,
        content=body,
        started=datetime(2026, 3, 3, tzinfo=UTC),
    )


def crashed_file(root: Path, batches: int) -> tuple[Path, list[int]]:
    """Write ``batches`` captures and leave the file open, as a killed writer would."""
    ids = (f"<urn:uuid:{i}>" for i in itertools.count())
    writer = WarcFileWriter(
        root, prefix="t", rotate_size=10**9, clock=FrozenClock(), new_id=lambda: next(ids),
        info={"software": "test"}, writer="w0123456789", hostname="box",
    )  # fmt: skip
    ends = []
    for i in range(batches):
        req, resp = build_exchange(exchange(i), request_id=f"<q{i}>", response_id=f"<r{i}>")
        writer.write([req, resp])
        assert writer._file is not None
        ends.append(writer._file.tell())
    # a killed process: the handle goes away, nothing is renamed
    assert writer._file is not None
    writer._file.close()
    writer._file = None
    path = next((root / "warc").rglob("*.open"))
    return path, ends


@pytest.mark.parametrize("cut", ["mid-record", "garbage", "clean"])
def test_open_file_is_cut_to_whole_records_and_closed(tmp_path: Path, cut: str) -> None:
    path, ends = crashed_file(tmp_path, 3)
    if cut == "mid-record":
        with path.open("r+b") as fh:
            fh.truncate(ends[2] - 500)
        # the third capture's request record is whole (kept); its response is not (dropped)
        expected = whole_records_end(path)
        assert ends[1] < expected < ends[2] - 500
    elif cut == "garbage":
        with path.open("ab") as fh:
            fh.write(b"\x1f\x8b\x08not really gzip")
        expected = ends[2]
    else:
        expected = ends[2]
    assert whole_records_end(path) == expected
    (repair,) = repair_open_files(tmp_path, live=lambda _writer: False)
    assert not path.exists()
    final = repair.path
    assert final.exists() and final.stat().st_size == expected
    done = subprocess.run([str(WARCIO), "check", str(final)], capture_output=True, check=False)
    assert done.returncode == 0, done.stdout
    types = [r.type for r in iter_records(final)]
    assert types[0] == "warcinfo"
    assert types.count("response") == (2 if cut == "mid-record" else 3)


def test_file_without_a_whole_record_is_removed(tmp_path: Path) -> None:
    path, _ = crashed_file(tmp_path, 1)
    with path.open("r+b") as fh:
        fh.truncate(40)
    (repair,) = repair_open_files(tmp_path, live=lambda _writer: False)
    assert repair.removed and not path.exists() and not repair.path.exists()


def test_opening_the_archive_repairs_dead_writers_files(tmp_path: Path) -> None:
    path, ends = crashed_file(tmp_path, 2)
    with path.open("r+b") as fh:
        fh.truncate(ends[1] - 10)
    with ArchiveStore(ArchiveSettings(dir=tmp_path), FetchSettings(), clock=FrozenClock()) as store:
        (repair,) = store.repairs
        assert ends[0] <= repair.kept_bytes < ends[1] - 10
    assert not list(tmp_path.rglob("*.open"))
