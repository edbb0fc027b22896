"""Faults in a fleet of writers: a daemon killed mid-run, the PostgreSQL server stopped under a
running daemon, catalog URLs that cannot work.

The newsroom is three loopback hosts, each a feed of invented stories, with a politeness delay
that makes one run last several seconds, so a fault lands mid-work. Daemons run as child
processes exactly as a user runs them, on one PostgreSQL catalog and one archive directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from mockserver import MockServer, free_loopback_host
from pages import article_page, invented_story, rss_feed
from pgcluster import PgCluster
from warcio.archiveiterator import ArchiveIterator

from harvester.cli import main
from harvester.writers import writer_of

pytestmark = pytest.mark.faults

HOSTS = (21, 22, 23)
PER_HOST = 12
# Seconds between two requests to one host, fleet-wide: a host's dozen stories take ~5 s.
DELAY = 0.3
RUN_TIMEOUT = 180.0
WARCIO = Path(sys.executable).with_name("warcio")
PASSWORD = "s3cr3t-Pw0rd"


# --- the newsroom and the daemons --------------------------------------------------------------


@contextmanager
def newsroom() -> Iterator[list[MockServer]]:
    """Three hosts, each with a feed of PER_HOST invented stories."""
    with ExitStack() as stack:
        servers = [stack.enter_context(MockServer(free_loopback_host(n))) for n in HOSTS]
        for h, srv in enumerate(servers):
            srv.robots("User-agent: *\nAllow: /\n")
            items = []
            for n in range(PER_HOST):
                title, paragraphs = invented_story(3000 + h * 100 + n)
                page = article_page(title=title, paragraphs=paragraphs)
                srv.route(f"/story/{n}", page, delay=0.05)
                items.append((title, srv.url(f"/story/{n}")))
            srv.route("/rss.xml", rss_feed(items), content_type="application/rss+xml")
        yield servers


def articles(servers: Sequence[MockServer]) -> set[str]:
    return {srv.url(f"/story/{n}") for srv in servers for n in range(PER_HOST)}


def write_config(path: Path, servers: Sequence[MockServer], archive: Path, catalog: str) -> Path:
    """The newsroom's outlets; small WARC files, so writers close files while they run."""
    hosts = ", ".join(json.dumps(srv.host) for srv in servers)
    outlets = "".join(
        f'[[outlets]]\nname = "Outlet {i}"\nhome = "{srv.url("/")}"\n'
        f'feeds = ["{srv.url("/rss.xml")}"]\n'
        for i, srv in enumerate(servers)
    )
    path.write_text(
        f"[archive]\ndir = {json.dumps(str(archive))}\ncatalog = {json.dumps(catalog)}\n"
        'rotate_size = "16KB"\n'
        f"[fetch]\nper_host_delay = {DELAY}\nretry_delay = 0.5\ntimeout = 5\ndeadline = 30\n"
        f"allow_hosts = [{hosts}]\n{outlets}",
        encoding="utf-8",
    )
    return path


@dataclass
class Daemon:
    """One ``harvester run --once`` child process and the file its stderr goes to."""

    proc: subprocess.Popen[bytes]
    log: Path

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def finish(self) -> None:
        """Wait; it must exit 0 without a traceback."""
        code = self.proc.wait(timeout=RUN_TIMEOUT)
        assert code == 0, self.stderr()[-3000:]
        assert "Traceback" not in self.stderr(), self.stderr()[-3000:]


def run_once(log: Path, config: Path, *extra: str) -> Daemon:
    env = {k: v for k, v in os.environ.items() if k != "HARVESTER_CONFIG"}
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "harvester", "run", "--once", "--processes", "1",
             "--config", str(config), *extra],
            stdout=subprocess.DEVNULL, stderr=err, env=env,
        )  # fmt: skip
    return Daemon(proc=proc, log=log)


@contextmanager
def reaped(daemons: list[Daemon]) -> Iterator[list[Daemon]]:
    """No daemon outlives the block (``daemons`` may grow inside it)."""
    try:
        yield daemons
    finally:
        for daemon in daemons:
            if daemon.proc.poll() is None:
                daemon.proc.kill()
                daemon.proc.wait(timeout=30)


def wait_for(condition: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


# --- reading the archive and the catalog -------------------------------------------------------


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    """Rows of one read-only statement against the catalog (empty while it is unreachable or
    not made yet)."""
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            return [tuple(r) for r in conn.execute(sql.encode()).fetchall()]
    except psycopg.Error:
        return []


def archived(url: str) -> set[str]:
    return {str(r[0]) for r in query(url, "SELECT DISTINCT final_url FROM articles")}


def leases(url: str) -> dict[str, int]:
    """Pending frontier URLs per live lease owner."""
    rows = query(
        url,
        "SELECT lease_owner, COUNT(*) FROM frontier WHERE lease_owner IS NOT NULL"
        " AND state = 'pending' GROUP BY lease_owner",
    )
    return {str(owner): int(str(n)) for owner, n in rows}


def writer_pids(archive: Path) -> dict[str, int]:
    """Writer id -> pid, from the lock files of the writers registered now."""
    pids = {}
    for lock in (archive / "writers").glob("w*.lock"):
        try:
            pids[lock.stem] = int(json.loads(lock.read_text(encoding="utf-8"))["pid"])
        except (OSError, ValueError, KeyError):
            continue  # being written or removed
    return pids


def closed_files(archive: Path) -> dict[str, str]:
    """sha256 of every closed WARC file, by path relative to the archive."""
    return {
        p.relative_to(archive).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((archive / "warc").rglob("*.warc.gz"))
    }


@dataclass(frozen=True)
class Records:
    """Every record of the archive's closed files: (file, offset) -> (type, id); responses per
    target URI."""

    at: dict[tuple[str, int], tuple[str, str]]
    responses: Counter[str]


def read_records(archive: Path) -> Records:
    at: dict[tuple[str, int], tuple[str, str]] = {}
    responses: Counter[str] = Counter()
    for path in sorted((archive / "warc").rglob("*.warc.gz")):
        name = path.relative_to(archive).as_posix()
        with path.open("rb") as stream:
            iterator = ArchiveIterator(stream)
            for record in iterator:
                record.content_stream().read()
                headers = record.rec_headers
                at[(name, iterator.get_record_offset())] = (
                    record.rec_type,
                    headers.get_header("WARC-Record-ID") or "",
                )
                if record.rec_type == "response":
                    responses[headers.get_header("WARC-Target-URI") or ""] += 1
    return Records(at=at, responses=responses)


def check_whole(archive: Path, catalog: str, expected: set[str]) -> None:
    """Nothing lost, nothing twice, every file whole, the catalog pointing at real records."""
    assert not list(archive.rglob("*.open")), "an .open file was left"
    files = sorted(str(p) for p in (archive / "warc").rglob("*.warc.gz"))
    checked = subprocess.run(
        [str(WARCIO), "check", *files], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, (checked.stdout + checked.stderr)[-2000:]
    assert archived(catalog) == expected
    records = read_records(archive)
    twice = {url: n for url, n in records.responses.items() if n > 1}
    assert not twice, f"URLs with more than one response record: {twice}"
    assert {url for url in expected if records.responses[url] == 1} == expected
    captures = query(catalog, 'SELECT file, "offset", record_id, record_type FROM captures')
    assert captures
    for file, offset, record_id, record_type in captures:
        assert records.at.get((str(file), int(str(offset)))) == (record_type, record_id), (
            f"catalog capture {record_id} is not at {file}:{offset}"
        )


# --- 6. one of three daemons killed ------------------------------------------------------------


@pytest.mark.slow
def test_a_killed_daemons_work_is_finished_by_the_others_and_its_file_repaired(
    tmp_path: Path, pg_url: str
) -> None:
    archive = tmp_path / "archive"
    with newsroom() as servers, reaped([]) as daemons:
        config = write_config(tmp_path / "h.toml", servers, archive, pg_url)
        # One round for the three (as `run --processes 3 --once` gives its processes).
        start = repr(time.time())
        daemons += [
            run_once(tmp_path / f"d{n}.log", config, "--round-start", start) for n in range(3)
        ]
        by_pid = {d.proc.pid: d for d in daemons}
        victim: list[tuple[str, Daemon]] = []

        def busy_writer() -> bool:
            # Kill a writer mid-work: some articles archived, and it holds pending URLs.
            if len(archived(pg_url)) < 4:
                return False
            held = leases(pg_url)
            pids = writer_pids(archive)
            for owner, count in sorted(held.items(), key=lambda kv: -kv[1]):
                if count >= 3 and pids.get(owner) in by_pid:
                    victim.append((owner, by_pid[pids[owner]]))
                    return True
            return False

        wait_for(busy_writer, "a daemon holding pending URLs mid-run")
        owner, killed = victim[0]
        killed.proc.send_signal(signal.SIGKILL)
        assert killed.proc.wait(timeout=30) == -signal.SIGKILL
        at_kill = len(archived(pg_url))
        others_closed = {
            name: digest
            for name, digest in closed_files(archive).items()
            if writer_of(name) != owner
        }
        survivors = [d for d in daemons if d is not killed]
        for daemon in survivors:
            daemon.finish()
        assert len(archived(pg_url)) == PER_HOST * len(HOSTS) > at_kill
        after_survivors = closed_files(archive)
        # The survivors touched none of each other's closed files while taking over.
        assert {n: after_survivors.get(n) for n in others_closed} == others_closed
        took_over = any("died: its files were repaired" in d.stderr() for d in survivors)
        last = run_once(tmp_path / "last.log", config)
        daemons.append(last)
        last.finish()
        expected = articles(servers)
    # The killed writer's files: repaired (by a survivor that found it dead, else by the last
    # start), closed; every file of a live writer untouched by that.
    assert not list(archive.rglob("*.open")), f"left open (taken over: {took_over})"
    assert any(writer_of(n) == owner for n in closed_files(archive)), "victim wrote no file"
    final = closed_files(archive)
    assert {n: final.get(n) for n in after_survivors if writer_of(n) != owner} == {
        n: d for n, d in after_survivors.items() if writer_of(n) != owner
    }
    assert not (archive / "writers" / f"{owner}.lock").exists()
    check_whole(archive, pg_url, expected)


# --- 7. PostgreSQL stopped under a running daemon ----------------------------------------------


@pytest.mark.slow
def test_a_daemon_rides_out_postgresql_going_down_and_finishes(
    tmp_path: Path, pg_cluster: PgCluster, pg_url: str
) -> None:
    archive = tmp_path / "archive"
    with newsroom() as servers, reaped([]) as daemons:
        config = write_config(tmp_path / "h.toml", servers, archive, pg_url)
        daemon = run_once(tmp_path / "d.log", config)
        daemons.append(daemon)

        def polled_and_working() -> bool:
            polled = query(pg_url, "SELECT COUNT(*) FROM outlet_state WHERE last_poll <> ''")
            return bool(polled) and polled[0][0] == len(HOSTS) and len(archived(pg_url)) >= 3

        # Every outlet polled successfully first: the outage hits the fetching, not a poll.
        wait_for(polled_and_working, "every outlet polled and a few articles archived")
        before = len(archived(pg_url))
        try:
            pg_cluster.stop()
            time.sleep(3.0)
        finally:
            pg_cluster.start()
        code = daemon.proc.wait(timeout=RUN_TIMEOUT)
        err = daemon.stderr()
        expected = articles(servers)
    assert before < len(expected), "the run ended before the outage: nothing was tested"
    # Exit 0: every outlet was polled, every article archived; riding out an outage is not a
    # failure (4 is for "every outlet's poll failed", 6 for an archive that cannot be written).
    assert code == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    # The daemon met the outage. An outage shorter than the pool's wait for a connection
    # (harvester.catalog.postgres.POOL_WAIT) is ridden out inside the catalog calls, which
    # wait for the server to come back; a transaction cut off mid-way, or a longer outage, is
    # "archive unavailable" and fetching pauses.
    noticed = ("error connecting in 'harvester-catalog'", "archive unavailable")
    assert any(sign in err for sign in noticed), err[-3000:]
    if "fetching paused" in err:
        assert "fetching resumed" in err, err[-3000:]
    check_whole(archive, pg_url, expected)


# --- 8. catalog URLs that cannot work ----------------------------------------------------------


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def bad_catalogs(pg_cluster: PgCluster) -> dict[str, tuple[str, int, str]]:
    """name -> (catalog URL, exit code, what the one stderr line must say)."""
    port = pg_cluster.port
    return {
        "no such database": (
            f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/no_such_archive",
            6,
            "no_such_archive",
        ),
        "nobody listening": (
            f"postgresql://postgres:{PASSWORD}@127.0.0.1:{_closed_port()}/archive",
            6,
            "cannot open catalog postgresql://postgres:***@127.0.0.1:",
        ),
        "mysql": (f"mysql://root:{PASSWORD}@127.0.0.1:3306/archive", 2, "'mysql'"),
    }


@pytest.mark.parametrize("case", ["no such database", "nobody listening", "mysql"])
@pytest.mark.parametrize("command", ["fetch", "status"])
def test_a_catalog_url_that_cannot_work_is_one_line_without_the_password(
    case: str,
    command: str,
    bad_catalogs: dict[str, tuple[str, int, str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, code, says = bad_catalogs[case]
    argv = [command, "--archive", str(tmp_path / "archive"), "--catalog", url]
    if command == "fetch":
        argv.insert(1, "http://127.0.0.2:9/never-fetched")
    assert main(argv) == code
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("harvester: "), err
    assert says in lines[0], err
    assert PASSWORD not in out + err
    assert "Traceback" not in err


def test_a_database_without_an_archive_is_one_line(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--archive", str(tmp_path), "--catalog", pg_url]) == 6
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"harvester: catalog {pg_url} holds no harvester archive (no schema)"
    ]


def test_a_bad_catalog_in_the_config_file_names_the_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "h.toml"
    config.write_text(
        f'[archive]\ndir = "arch"\ncatalog = "mysql://root:{PASSWORD}@db/archive"\n',
        encoding="utf-8",
    )
    for command in (["status"], ["fetch", "http://127.0.0.2:9/never-fetched"]):
        assert main([*command, "--config", str(config)]) == 2
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1, err
        assert err.startswith(f"harvester: {config}") and "catalog" in err, err
        assert PASSWORD not in err
