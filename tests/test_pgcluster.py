"""The private PostgreSQL cluster the catalog tests run against: it serves, isolates, restarts."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from pgcluster import PgCluster, PgClusterError, _version_key


def test_pg_url_is_a_working_empty_database(pg_url: str, pg_cluster: PgCluster) -> None:
    assert pg_url.startswith(f"postgresql://postgres@127.0.0.1:{pg_cluster.port}/t_")
    with psycopg.connect(pg_url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        assert tables == (0,)
        conn.execute("CREATE TABLE capture (id serial PRIMARY KEY, url text NOT NULL)")
        conn.execute("INSERT INTO capture (url) VALUES (%s), (%s)", ["https://a/1", "https://a/2"])
        conn.commit()
        rows = conn.execute("SELECT id, url FROM capture ORDER BY id").fetchall()
    assert rows == [(1, "https://a/1"), (2, "https://a/2")]


def test_server_runs_with_the_test_settings(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()
            for name in ("listen_addresses", "fsync", "max_connections", "server_encoding")
        }
    assert settings == {
        "listen_addresses": ("127.0.0.1",),
        "fsync": ("off",),
        "max_connections": ("200",),
        "server_encoding": ("UTF8",),
    }


def test_databases_are_isolated(pg_url: str, pg_cluster: PgCluster) -> None:
    other_url = pg_cluster.create_database("t_isolation_other")
    try:
        assert other_url != pg_url
        with psycopg.connect(pg_url) as conn:
            conn.execute("CREATE TABLE story (title text)")
            conn.execute("INSERT INTO story VALUES ('only here')")
            conn.commit()
        with psycopg.connect(other_url) as other:
            found = other.execute("SELECT to_regclass('public.story')").fetchone()
            assert found == (None,)
            other.execute("CREATE TABLE story (title text)")
            assert other.execute("SELECT count(*) FROM story").fetchone() == (0,)
        with psycopg.connect(pg_url) as conn:
            assert conn.execute("SELECT title FROM story").fetchall() == [("only here",)]
    finally:
        pg_cluster.drop_database("t_isolation_other")


def test_each_test_gets_a_fresh_database(pg_url: str, pg_cluster: PgCluster) -> None:
    with psycopg.connect(pg_cluster.url()) as conn:
        names = [row[0] for row in conn.execute("SELECT datname FROM pg_database").fetchall()]
    # the earlier tests' databases were dropped at their teardown
    assert [name for name in names if name.startswith("t_")] == [pg_url.rsplit("/", 1)[1]]


def test_stop_then_start_keeps_the_data_and_the_port(pg_url: str, pg_cluster: PgCluster) -> None:
    port = pg_cluster.port
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE evidence (note text)")
        conn.execute("INSERT INTO evidence VALUES ('kept')")
        conn.commit()
    held = psycopg.connect(pg_url)
    try:
        pg_cluster.stop()
        assert not pg_cluster.running
        # a writer's open connection breaks, and new ones are refused until the server is back
        with pytest.raises(psycopg.OperationalError):
            held.execute("SELECT 1")
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(pg_url, connect_timeout=2)
    finally:
        held.close()
        pg_cluster.start()
    assert pg_cluster.running
    assert pg_cluster.port == port
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT note FROM evidence").fetchall() == [("kept",)]


def test_destroy_stops_the_server_and_removes_its_directory(pg_cluster: PgCluster) -> None:
    # needs pg_cluster only so that it is skipped (or fails in CI) where there is no server
    with PgCluster() as cluster:
        root = cluster.data_dir.parent
        url = cluster.create_database("t_doomed")
        assert cluster.port != pg_cluster.port
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("t_doomed",)
    assert not root.exists()
    assert not cluster.running
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)
    cluster.destroy()  # a second destroy is a no-op


def test_a_cluster_that_never_started_has_no_address() -> None:
    cluster = PgCluster.__new__(PgCluster)  # skip the binary lookup: this needs no server
    cluster._root = None
    cluster._port = None
    with pytest.raises(PgClusterError, match="not been started"):
        cluster.url("x")
    assert not cluster.running
    cluster.destroy()


def test_newest_server_version_sorts_first() -> None:
    dirs = [Path(f"/usr/lib/postgresql/{v}/bin") for v in ("9.6", "15", "16", "odd")]
    ordered = sorted(dirs, key=_version_key, reverse=True)
    assert [d.parent.name for d in ordered] == ["16", "15", "9.6", "odd"]
