"""Shared fixtures: local servers on 127.0.0.x, settings that may reach them, a temp archive,
a private PostgreSQL cluster with a fresh database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from mockserver import MockServer, free_loopback_host
from pages import SHARED
from pgcluster import PgCluster, PgClusterError

from harvester.config import ArchiveSettings, FetchSettings, Settings
from harvester.discover import feeds


@pytest.fixture
def server() -> Iterator[MockServer]:
    """A mock server on 127.0.0.2 with a permissive robots.txt."""
    with MockServer(free_loopback_host(2)) as srv:
        srv.robots("User-agent: *\nDisallow: /private/\n")
        yield srv


@pytest.fixture
def archive_dir(tmp_path: Path) -> Path:
    """An empty archive root."""
    return tmp_path / "archive"


@pytest.fixture
def settings(archive_dir: Path) -> Settings:
    """Settings that reach 127.0.0.2-127.0.0.9, no per-host delay, short timeouts."""
    return Settings(
        archive=ArchiveSettings(dir=archive_dir),
        fetch=FetchSettings(
            per_host_delay=0.0,
            timeout=5.0,
            deadline=10.0,
            allow_hosts=tuple(free_loopback_host(n) for n in range(2, 10)),
        ),
    )


def with_fetch(settings: Settings, **changes: object) -> Settings:
    """A copy of ``settings`` with ``[fetch]`` fields changed."""
    return replace(settings, fetch=replace(settings.fetch, **changes))  # type: ignore[arg-type]


def write_config(path: Path, text: str) -> Path:
    """Write a TOML config file and return its path."""
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def shared_data() -> Path:
    """../shared/data; skipped with a plain reason where it is absent (CI has it)."""
    data = SHARED / "data"
    if not data.exists():
        pytest.skip(f"shared data not present at {data}: this test runs where it is (CI)")
    return data


def outlet_config(
    tmp_path: Path,
    srv: MockServer,
    *,
    archive: str | None = "arch",
    outlet_extra: str = "",
    processes: int = 1,
) -> Path:
    """A config file with one outlet, "Courier", whose feed is ``srv``'s /rss.xml; ``run``
    starts ``processes`` worker processes (one: the daemon itself, as most tests want)."""
    archive_table = f'[archive]\ndir = "{archive}"\n' if archive else ""
    path = tmp_path / "h.toml"
    path.write_text(
        f"""{archive_table}
[fetch]
per_host_delay = 0
processes = {processes}
allow_hosts = ["{srv.host}"]
[[outlets]]
name = "Courier"
home = "{srv.url("/")}"
feeds = ["{srv.url("/rss.xml")}"]
{outlet_extra}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def counted_items(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Calls of the RSS item builder (one per item element examined)."""
    calls: list[int] = []
    real: Callable[..., Any] = feeds._rss_item

    def counting(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(feeds, "_rss_item", counting)
    return calls


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A private PostgreSQL cluster on a free 127.0.0.1 port, destroyed at session end.

    Where it cannot start, the tests that use it fail in CI (``CI`` set: a missing server there is
    a broken CI image) and are skipped elsewhere with the reason and how to install the server.
    """
    cluster: PgCluster | None = None
    try:
        cluster = PgCluster()
        cluster.start()
    except PgClusterError as exc:
        if cluster is not None:
            cluster.destroy()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL cluster could not start (CI needs it): {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    """The URL of a fresh, empty database ``t_<random>`` on the session's cluster.

    A test may stop the cluster; it is started again (same port, data kept) before the database
    is dropped, so the next test finds it running.
    """
    name = f"t_{uuid.uuid4().hex[:12]}"
    pg_cluster.start()
    url = pg_cluster.create_database(name)
    yield url
    pg_cluster.start()
    pg_cluster.drop_database(name)
