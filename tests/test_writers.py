"""Several writers on one archive: the registry, repair of dead writers only, rebuild alone."""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import harvester
from harvester.clock import FrozenClock
from harvester.config import ArchiveSettings, FetchSettings, Settings
from harvester.errors import ArchiveError, ArchiveLockedError
from harvester.models import Exchange
from harvester.rebuild import rebuild_catalog
from harvester.storage import ArchiveStore
from harvester.warc.reader import iter_records
from harvester.warc.records import build_exchange
from harvester.warc.repair import repair_open_files
from harvester.warc.writer import WarcFileWriter, warc_file_name
from harvester.writers import (
    STAGED_AGE,
    Writer,
    dead_writers,
    exclusive,
    is_live,
    is_registered,
    new_writer_id,
    reaping,
    registered_writers,
    repair_lock,
    sweep_staged,
    writer_of,
)

WARCIO = Path(sys.executable).parent / "warcio"
ID_RE = re.compile(r"w[0-9a-f]{10}")

# A writer in another process: opens the archive, writes one capture, says where, then waits
# (for SIGKILL). Run with the repository root as the working directory, so it imports this
# checkout's harvester.
CHILD = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from harvester.clock import FrozenClock
from harvester.config import ArchiveSettings, FetchSettings
from harvester.models import Exchange
from harvester.storage import ArchiveStore
from harvester.warc.records import build_exchange

body = b"<html>child</html>"
exchange = Exchange(
    url="https://news.example/child", status=200, reason="OK",
    response_headers=(("Content-Length", str(len(body))),), body=body, content=body,
    started=datetime(2026, 3, 3, tzinfo=UTC),
)
store = ArchiveStore(ArchiveSettings(dir=Path(sys.argv[1])), FetchSettings(), clock=FrozenClock())
request, response = build_exchange(exchange, request_id="<q>", response_id="<r>")
span = store.writer.write([request, response])[0]
print("ready", store.writer_id, span.file, flush=True)
time.sleep(3600)
"""


def exchange(i: int) -> Exchange:
    body = f"<html>story {i}</html>".encode()
    return Exchange(
        url=f"https://news.example/{i}",
        status=200,
        reason="OK",
        response_headers=(("Content-Length", str(len(body))),),
        body=body,
        content=body,
        started=datetime(2026, 3, 3, tzinfo=UTC),
    )


def capture(store: ArchiveStore, i: int) -> str:
    """Write capture ``i`` through ``store``; the (final) file it went to."""
    request, response = build_exchange(
        exchange(i), request_id=f"<urn:uuid:q{i}>", response_id=f"<urn:uuid:r{i}>"
    )
    return store.writer.write([request, response])[0].file


def open_store(root: Path) -> ArchiveStore:
    return ArchiveStore(ArchiveSettings(dir=root), FetchSettings(), clock=FrozenClock())


def warcio_check(path: Path) -> None:
    done = subprocess.run(
        [str(WARCIO), "check", "-v", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def lock_files(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "writers").glob("*.lock"))


def fake_dead_writer(root: Path, writer_id: str, *, host: str | None = None) -> Path:
    """A lock file nobody holds: what a killed writer leaves."""
    path = root / "writers" / f"{writer_id}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"host": host or socket.gethostname(), "pid": 1, "started": "2026-01-01T00:00:00+00:00"}
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def open_file_of(root: Path, writer_id: str | None, captures: int = 1) -> Path:
    """A ``.open`` WARC file as a writer killed after ``captures`` captures leaves it."""
    ids = (f"<urn:uuid:{writer_id}-{i}>" for i in itertools.count())
    writer = WarcFileWriter(
        root, prefix="t", rotate_size=10**9, clock=FrozenClock(), new_id=lambda: next(ids),
        info={"software": "test"}, writer=writer_id or "w0000000000", hostname="box",
    )  # fmt: skip
    for i in range(captures):
        request, response = build_exchange(
            exchange(i), request_id=f"<urn:uuid:q{i}>", response_id=f"<urn:uuid:r{i}>"
        )
        writer.write([request, response])
    assert writer._file is not None
    writer._file.close()  # killed: the handle goes, nothing is renamed
    writer._file = None
    (path,) = (root / "warc").rglob(f"*{writer_id or 'w0000000000'}.warc.gz.open")
    if writer_id is None:  # as the writer before several writers named it
        old = path.with_name(path.name.replace("-w0000000000", ""))
        path.rename(old)
        return old
    return path


# --- in one process ---------------------------------------------------------------------------


def test_two_stores_on_one_archive_write_at_once_into_their_own_files(tmp_path: Path) -> None:
    with open_store(tmp_path) as first, open_store(tmp_path) as second:
        assert first.writer_id != second.writer_id
        assert ID_RE.fullmatch(first.writer_id) and ID_RE.fullmatch(second.writer_id)
        files = [capture(first, 1), capture(second, 2), capture(first, 3), capture(second, 4)]
        assert files[0] == files[2] and files[1] == files[3] and files[0] != files[1]
        assert writer_of(files[0]) == first.writer_id
        assert writer_of(files[1]) == second.writer_id
        # both are being written: neither start repaired the other's file
        assert all(Path(f"{tmp_path / f}.open").exists() for f in files)
        assert first.repairs == second.repairs == []
        assert first.reaped == second.reaped == []
        assert lock_files(tmp_path) == sorted(f"{s.writer_id}.lock" for s in (first, second))
    assert not list(tmp_path.rglob("*.open"))
    assert lock_files(tmp_path) == []
    urls = []
    for name in (files[0], files[1]):
        warcio_check(tmp_path / name)
        for record in iter_records(tmp_path / name):
            if record.type == "response":
                urls.append(record.header("WARC-Target-URI"))
    assert sorted(u for u in urls if u) == [f"https://news.example/{i}" for i in (1, 2, 3, 4)]


def test_writer_registers_a_held_lock_file_and_removes_it_on_close(tmp_path: Path) -> None:
    clock = FrozenClock()
    writer = Writer(tmp_path, clock=clock, new_id=lambda: "w0123456789")
    assert writer.id == "w0123456789"
    registration = json.loads(writer.path.read_text())
    assert registration["host"] == socket.gethostname()
    assert registration["pid"] == os.getpid()
    assert registration["started"] == FrozenClock().now().isoformat()
    assert is_live(tmp_path, writer.id) and is_registered(tmp_path, writer.id)
    assert dead_writers(tmp_path) == []
    with reaping(tmp_path, writer.id) as mine:
        assert not mine  # a live writer is never reaped
    assert writer.path.exists()
    writer.close()
    writer.close()
    assert not writer.path.exists()
    assert not is_live(tmp_path, writer.id) and not is_registered(tmp_path, writer.id)
    assert lock_files(tmp_path) == []


def test_an_id_drawn_twice_is_drawn_again(tmp_path: Path) -> None:
    ids = iter(["w0000000001", "w0000000001", "w0000000002"])
    with (
        Writer(tmp_path, clock=FrozenClock(), new_id=lambda: next(ids)) as first,
        Writer(tmp_path, clock=FrozenClock(), new_id=lambda: next(ids)) as second,
    ):
        assert (first.id, second.id) == ("w0000000001", "w0000000002")


def test_new_writer_ids_are_file_name_safe() -> None:
    ids = {new_writer_id() for _ in range(50)}
    assert len(ids) == 50 and all(ID_RE.fullmatch(i) for i in ids)


def test_a_dead_writer_is_reaped_by_one_process_only(tmp_path: Path) -> None:
    lock = fake_dead_writer(tmp_path, "w00000000aa")
    assert not is_live(tmp_path, "w00000000aa")
    assert dead_writers(tmp_path) == ["w00000000aa"]
    with reaping(tmp_path, "w00000000aa") as mine:
        assert mine
        # meanwhile it looks held to everyone else: nobody repairs it twice
        assert is_live(tmp_path, "w00000000aa")
        assert dead_writers(tmp_path) == []
        with reaping(tmp_path, "w00000000aa") as also_mine:
            assert not also_mine
    assert not lock.exists()
    with reaping(tmp_path, "w00000000aa") as mine:
        assert not mine  # already reaped


def test_a_failed_repair_leaves_the_dead_writer_for_the_next_start(tmp_path: Path) -> None:
    lock = fake_dead_writer(tmp_path, "w00000000aa")
    with pytest.raises(ArchiveError, match="disk"), reaping(tmp_path, "w00000000aa") as mine:
        assert mine
        raise ArchiveError("disk on fire")
    assert lock.exists()
    assert dead_writers(tmp_path) == ["w00000000aa"]


def test_writers_registered_on_other_machines_are_not_judged_by_flock(tmp_path: Path) -> None:
    fake_dead_writer(tmp_path, "w00000000aa")
    fake_dead_writer(tmp_path, "w00000000bb", host="elsewhere.invalid")
    assert dead_writers(tmp_path) == ["w00000000aa"]
    opened = open_file_of(tmp_path, "w00000000bb")
    before = opened.read_bytes()
    with open_store(tmp_path) as store:
        assert store.reaped == ["w00000000aa"]
        assert store.repairs == []
    assert opened.read_bytes() == before  # left to that machine's catalog lease
    assert lock_files(tmp_path) == ["w00000000bb.lock"]


def test_registered_writers_says_who_is_live_dead_or_judged_elsewhere(tmp_path: Path) -> None:
    fake_dead_writer(tmp_path, "w00000000aa")
    fake_dead_writer(tmp_path, "w00000000bb", host="elsewhere.invalid")
    with open_store(tmp_path) as store:  # reaps aa first
        mine = store.writer_id
        found = {w.writer: w for w in registered_writers(tmp_path)}
        assert sorted(found) == sorted([mine, "w00000000bb"])
        assert (found[mine].state, found[mine].pid) == ("live", os.getpid())
        assert found[mine].host == socket.gethostname() and found[mine].started
        assert found["w00000000bb"].state == "elsewhere"
    fake_dead_writer(tmp_path, "w00000000cc")
    states = {w.writer: w.state for w in registered_writers(tmp_path)}
    assert states == {"w00000000bb": "elsewhere", "w00000000cc": "dead"}


def test_a_staged_lock_file_left_by_a_writer_that_died_registering_is_swept(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "writers"
    directory.mkdir()
    old, fresh, held = (directory / f"w00000000{n}.new" for n in ("aa", "bb", "cc"))
    for path in (old, fresh, held):
        path.write_text("{}", encoding="utf-8")
    for path in (old, held):
        os.utime(path, (1_000_000, 1_000_000))
    fd = os.open(held, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a writer between staging and publishing it
        assert sweep_staged(tmp_path, now=1_000_000 + STAGED_AGE + 1) == ["w00000000aa"]
        assert sorted(p.name for p in directory.iterdir()) == [fresh.name, held.name]
    finally:
        os.close(fd)
    with open_store(tmp_path):  # start-up sweeps too: the old one, no longer held, goes
        pass
    assert fresh.exists()
    assert not held.exists()


def test_writer_ids_are_checked_before_they_name_a_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a writer id"):
        is_live(tmp_path, "../index.sqlite")
    with pytest.raises(ValueError, match="not a writer id"):
        Writer(tmp_path, clock=FrozenClock(), new_id=lambda: "W-UPPER")
    with pytest.raises(ArchiveError, match="bad writer id"):
        WarcFileWriter(
            tmp_path, prefix="t", rotate_size=1, clock=FrozenClock(), new_id=lambda: "<x>",
            info={}, writer="w123",
        )  # fmt: skip


def test_repair_lock_serialises_repairs(tmp_path: Path) -> None:
    with repair_lock(tmp_path):
        assert (tmp_path / "writers" / ".repair").exists()
    with repair_lock(tmp_path):  # released, so it can be taken again
        pass


# --- repair_open_files ------------------------------------------------------------------------


def test_repair_never_touches_a_live_writers_file(tmp_path: Path) -> None:
    with Writer(tmp_path, clock=FrozenClock()) as live:
        opened = open_file_of(tmp_path, live.id)
        before = opened.read_bytes()
        mtime = opened.stat().st_mtime_ns
        assert repair_open_files(tmp_path, live=partial(is_live, tmp_path)) == []
        assert opened.read_bytes() == before and opened.stat().st_mtime_ns == mtime
    # once it is gone, the same file is a dead writer's
    (repair,) = repair_open_files(tmp_path, live=partial(is_live, tmp_path))
    assert repair.path == Path(str(opened).removesuffix(".open")) and not opened.exists()


def test_old_style_open_files_are_dead_writers_files(tmp_path: Path) -> None:
    opened = open_file_of(tmp_path, None)
    assert writer_of(opened.name) is None
    (repair,) = repair_open_files(tmp_path, live=lambda _writer: True)
    assert not opened.exists() and repair.path.exists() and not repair.removed
    warcio_check(repair.path)


def test_open_file_of_an_unregistered_writer_is_repaired_at_start(tmp_path: Path) -> None:
    opened = open_file_of(tmp_path, "w00000000cc", captures=2)
    with open_store(tmp_path) as store:
        (repair,) = store.repairs
        assert store.reaped == []
    assert not opened.exists() and repair.path.exists()
    warcio_check(repair.path)


# --- a writer in another process --------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Child:
    process: subprocess.Popen[str]
    writer_id: str
    opened: Path


@pytest.fixture
def child(tmp_path: Path) -> Iterator[Child]:
    """A live writer in a child process that has written one capture into its ``.open`` file."""
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        cwd=Path(harvester.__file__).parents[1],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("ready "):
            process.kill()
            _, err = process.communicate()
            pytest.fail(f"child writer did not start: {line!r} {err}")
        _, writer_id, file = line.split()
        yield Child(process=process, writer_id=writer_id, opened=tmp_path / f"{file}.open")
    finally:
        process.kill()
        process.communicate()


def test_a_live_writers_open_file_is_untouched_by_another_start(
    tmp_path: Path, child: Child
) -> None:
    assert writer_of(child.opened.name) == child.writer_id
    before = child.opened.read_bytes()
    assert is_live(tmp_path, child.writer_id)
    with open_store(tmp_path) as store:
        assert store.repairs == [] and store.reaped == []
        capture(store, 1)
    assert child.opened.exists() and child.opened.read_bytes() == before
    assert not Path(str(child.opened).removesuffix(".open")).exists()
    assert f"{child.writer_id}.lock" in lock_files(tmp_path)
    assert child.process.poll() is None  # and the child writes on


def test_a_killed_writers_file_is_repaired_by_the_next_start(tmp_path: Path, child: Child) -> None:
    whole = child.opened.stat().st_size
    child.process.send_signal(signal.SIGKILL)
    child.process.wait()
    with child.opened.open("ab") as fh:  # as if killed in the middle of the next record
        fh.write(b"\x1f\x8b\x08\x00half a record")
    assert not is_live(tmp_path, child.writer_id)
    assert dead_writers(tmp_path) == [child.writer_id]
    with open_store(tmp_path) as store:
        assert store.reaped == [child.writer_id]
        (repair,) = store.repairs
        assert repair.kept_bytes == whole and not repair.removed
        assert lock_files(tmp_path) == [f"{store.writer_id}.lock"]
    final = Path(str(child.opened).removesuffix(".open"))
    assert repair.path == final and final.exists() and not child.opened.exists()
    warcio_check(final)
    assert [r.type for r in iter_records(final)] == ["warcinfo", "request", "response"]
    assert lock_files(tmp_path) == []


def test_rebuild_refuses_while_a_writer_in_another_process_is_live(
    tmp_path: Path, child: Child
) -> None:
    before = child.opened.read_bytes()
    with pytest.raises(ArchiveLockedError) as refused:
        rebuild_catalog(tmp_path, is_wire=lambda name: False)
    message = str(refused.value)
    assert f"in use by 1 harvester writer(s) (pids {child.process.pid})" in message
    assert "rebuild-index needs it alone: stop them first" in message
    assert "\n" not in message
    assert child.opened.read_bytes() == before


# --- rebuild-index exclusivity ----------------------------------------------------------------


def test_exclusive_refuses_while_writers_run_and_writers_while_it_is_held(
    settings: Settings,
) -> None:
    root = settings.archive.dir
    with open_store(root), open_store(root):
        with pytest.raises(ArchiveLockedError, match=r"in use by 2 harvester writer\(s\)"):
            rebuild_catalog(root, is_wire=lambda name: False)
        with (
            pytest.raises(ArchiveLockedError, match=r"in use by 2 harvester writer\(s\)"),
            exclusive(root),
        ):
            pass
    with exclusive(root):
        with pytest.raises(ArchiveLockedError, match="is being rebuilt"):
            open_store(root)
        assert lock_files(root) == []
    with open_store(root):  # and released afterwards
        pass
    report = rebuild_catalog(root, is_wire=lambda name: False)
    assert report.files == 0


# --- file names -------------------------------------------------------------------------------


def test_writer_of_reads_the_id_the_writer_wrote(tmp_path: Path) -> None:
    ids = (f"<urn:uuid:{i}>" for i in itertools.count())
    with WarcFileWriter(
        tmp_path, prefix="my-news_1", rotate_size=10**9, clock=FrozenClock(),
        new_id=lambda: next(ids), info={}, writer="w0a1b2c3d4e", hostname="box-w0123456789.lan",
    ) as writer:  # fmt: skip
        request, response = build_exchange(exchange(1), request_id="<q>", response_id="<r>")
        (span, _) = writer.write([request, response])
        assert writer_of(span.file) == "w0a1b2c3d4e"
        assert writer_of(span.file + ".open") == "w0a1b2c3d4e"
    assert re.fullmatch(
        r"warc/2026/01/my-news_1-20260102030405-00001-box-w0123456789\.lan-w0a1b2c3d4e\.warc\.gz",
        span.file,
    )


@pytest.mark.parametrize(
    "name",
    [
        "t-20260102030405-00001-box.warc.gz",  # before several writers
        "t-20260102030405-00001-box.warc.gz.open",
        "t-20260102030405-00001-box-w0123456789.warc",  # not a WARC file of ours
        "t-20260102030405-00001-box-W0123456789.warc.gz",
        "t-20260102030405-00001-box-w012345678.warc.gz",
        "w0123456789.warc.gz",
        "",
    ],
)
def test_names_without_a_writer_id(name: str) -> None:
    assert writer_of(name) is None


@given(
    prefix=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}", fullmatch=True),
    host=st.from_regex(r"[A-Za-z0-9.-]{1,63}", fullmatch=True),
    serial=st.integers(min_value=1, max_value=10**7),
    writer=st.from_regex(r"w[0-9a-f]{10}", fullmatch=True),
)
def test_writer_of_round_trips_every_name_we_make(
    prefix: str, host: str, serial: int, writer: str
) -> None:
    now = datetime(2026, 3, 3, 9, 30, tzinfo=UTC)
    name = warc_file_name(prefix=prefix, now=now, serial=serial, host=host, writer=writer)
    assert writer_of(name) == writer
    assert writer_of(f"warc/2026/03/{name}.open") == writer


@given(st.text())
@example("t-20260102030405-00001-box-w0123456789.warc.gz")
@example("t-20260102030405-00001-box-w01234567\u0669\u0669.warc.gz")  # Arabic-Indic digits
@example("t-20260102030405-00001-box-w0123456789.warc.gz\n")
def test_writer_of_never_returns_an_unsafe_id(name: str) -> None:
    found = writer_of(name)
    assert found is None or re.fullmatch(r"[a-z0-9]+", found, re.ASCII)
