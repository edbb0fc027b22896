"""pywb, the replay tool, run for real on loopback: collections built with its own ``wb-manager``
(its own indexer) or from an index harvester wrote, and a ``wayback`` server to ask.

Nothing is mocked: the tests start pywb's command-line tools from the venv as a user would.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import httpx
from mockserver import MockServer, free_loopback_host
from pages import article_page, invented_story

from harvester.config import ArchiveSettings, FetchSettings, Settings
from harvester.lifetime import Closeable
from harvester.models import Archived, FetchRequest
from harvester.pipeline import Harvester

BIN = Path(sys.executable).parent


def tool(name: str) -> Path:
    """A console script of the venv (``wb-manager``, ``wayback``, ``wacz``); fails plainly when
    it is not installed (the dev extra brings it)."""
    path = BIN / name
    if not path.exists():
        raise AssertionError(f"{name} is not installed in {BIN}: pip install -e '.[dev]'")
    return path


def run_tool(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a venv tool, failing with its output when it fails."""
    done = subprocess.run(
        [str(tool(name)), *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"{name} {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done


def harvest_twice(root: Path, path: str, seed: int) -> str:
    """Archive one invented article into ``root`` twice, the second time unchanged (a revisit
    record); returns its URL."""
    with MockServer(free_loopback_host(2)) as server:
        server.robots("User-agent: *\nAllow: /\n")
        title, paragraphs = invented_story(seed)
        server.route(path, article_page(title=title, paragraphs=paragraphs))
        settings = Settings(
            archive=ArchiveSettings(dir=root),
            fetch=FetchSettings(
                per_host_delay=0.0, timeout=5.0, deadline=10.0, allow_hosts=(server.host,)
            ),
        )
        url = server.url(path)
        with Harvester(settings) as harvester:
            first = harvester.harvest(FetchRequest(url=url))
            second = harvester.harvest(FetchRequest(url=url))
    assert isinstance(first, Archived) and isinstance(second, Archived) and second.revisit
    return url


def add_collection(root: Path, name: str, warc_files: Iterable[Path]) -> None:
    """``wb-manager init NAME`` + ``wb-manager add NAME FILES``: pywb copies and indexes them."""
    run_tool("wb-manager", "init", name, cwd=root)
    files = [str(p) for p in warc_files]
    assert files, "no WARC files to add"
    run_tool("wb-manager", "add", name, *files, cwd=root)


def index_collection(root: Path, name: str, archive: Path, cdxj: str) -> None:
    """A collection whose index is ``cdxj`` (harvester's) over the archive's own files: the
    index names files relative to the archive root, which the collection's archive dir is."""
    coll = root / "collections" / name
    (coll / "indexes").mkdir(parents=True)
    (coll / "indexes" / "index.cdxj").write_text(cdxj, encoding="utf-8")
    (coll / "archive").symlink_to(archive.resolve(), target_is_directory=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Wayback(Closeable):
    """``wayback`` serving the collections under ``root`` on 127.0.0.1 (a context manager)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = _free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = root / "wayback.log"

    def __enter__(self) -> Wayback:
        with self._log.open("wb") as log:
            self._proc = subprocess.Popen(
                [
                    str(tool("wayback")),
                    "-p",
                    str(self.port),
                    "-b",
                    "127.0.0.1",
                    "-d",
                    str(self.root),
                ],
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise AssertionError(f"wayback exited: {self._log.read_text(errors='replace')}")
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/", timeout=2)
            except httpx.HTTPError:
                time.sleep(0.2)
                continue
            return self
        raise AssertionError("wayback did not answer within 60 s")

    def close(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def get(
        self, collection: str, timestamp: str, url: str, *, mode: str = "id_"
    ) -> httpx.Response:
        """The replay of ``url`` at ``timestamp``; ``mode`` ``id_`` is the archived payload as
        it was (no rewriting), ``""`` the page as a reader sees it in pywb."""
        return httpx.get(
            f"http://127.0.0.1:{self.port}/{collection}/{timestamp}{mode}/{url}",
            timeout=30,
            follow_redirects=False,
        )
