"""``harvester serve``: the story desk, a read-only web page over an archive.

Pages (each also as JSON, with a ``.json`` suffix or ``Accept: application/json``):

    /                   Stories, newest first; filters outlet, wire (original from), from/to
                        dates, copies only; paged
    /story/ID           A story: the original, every member with lag, relation, evidence, a
                        side-by-side diff, the boilerplate removed, a timeline
    /article/N          One archived article and its raw capture in a sandbox (/article/N/raw)
    /search?q=...       Full text over titles and clean text; "quoted phrases"
    /outlet/NAME        Articles over time, share of copies, whom it copies, who copies it
    /status             What ``harvester status`` prints

:func:`serve` opens the catalog read-only (a catalog older than schema 5 is upgraded once so
that search works), binds 127.0.0.1 by default and refuses any other address without a token.
The application itself is :func:`harvester.web.app.create_app`.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path
from typing import TextIO

from harvester.catalog import SqlCatalog, catalog_exists, open_catalog, parse_query
from harvester.config import Settings
from harvester.errors import ArchiveError, ConfigError
from harvester.web.app import Desk, create_app

__all__ = ["TOKEN_ENV", "Desk", "create_app", "open_desk_catalog", "serve"]

TOKEN_ENV = "HARVESTER_SERVE_TOKEN"  # noqa: S105 (the variable's name, not a secret)
# Long enough that guessing it over the network is hopeless.
MIN_TOKEN = 16


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_access(host: str, token: str | None) -> None:
    """Refuse (ConfigError, one line) an address beyond this machine without a token, and a
    token too short to be one."""
    if token is not None and len(token) < MIN_TOKEN:
        raise ConfigError(f"serve: the token must be at least {MIN_TOKEN} characters long")
    if token is None and not is_loopback(host):
        raise ConfigError(
            f"serve --host {host}: an address beyond this machine needs a token (--token T or "
            f"${TOKEN_ENV}); without one anyone who reaches the port reads the archive"
        )


def open_desk_catalog(settings: Settings, out: TextIO) -> SqlCatalog:
    """The archive's catalog, read-only. A catalog older than full-text search (schema 5) is
    upgraded once by opening it as a writer does (the search index is built then); when that
    is not possible (no write access) the desk runs without search and says so."""
    target, root = settings.archive.catalog, settings.archive.dir
    if not catalog_exists(target, root):
        raise ArchiveError(f"no archive at {root} (no catalog there)")
    catalog = open_catalog(target, root, readonly=True)
    probe = parse_query("harvester")
    assert probe is not None
    try:
        catalog.search_articles(probe, limit=1)
        return catalog
    except ArchiveError:
        catalog.close()
    try:
        open_catalog(target, root).close()
        out.write(
            f"harvester serve: upgraded catalog {catalog.name} (full-text search index built)\n"
        )
    except ArchiveError as exc:
        out.write(f"harvester serve: search is unavailable: cannot upgrade the catalog: {exc}\n")
    return open_catalog(target, root, readonly=True)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"serve: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    return sock


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    token: str | None = None,
    out: TextIO,
) -> int:
    """Serve the story desk of ``settings``' archive until interrupted; returns the exit code.
    Raises ConfigError (exit 2) for a refused address or a port that cannot be bound,
    ArchiveError when there is no archive."""
    import uvicorn  # noqa: PLC0415 (the server only for this command)

    token = token if token is not None else (os.environ.get(TOKEN_ENV) or None)
    check_access(host, token)
    if not 0 <= port <= 65535:
        raise ConfigError(f"serve --port {port}: not a port number")
    catalog = open_desk_catalog(settings, out)
    try:
        sock = _listen(host, port)
        bound = sock.getsockname()[1]
        desk = Desk(
            catalog=catalog,
            root=Path(settings.archive.dir),
            settings=settings,
            token=token,
        )
        shown = f"[{host}]" if ":" in host else host
        base = f"http://{shown}:{bound}/"
        out.write(f"harvester serve: the story desk of {settings.archive.dir} at {base}\n")
        if token is not None:
            login = f"{base}login?code={desk.new_login_code()}"
            out.write(f"  log in once (this link works one time): {login}\n")
            out.write("  or send the header: Authorization: Bearer <token>\n")
        out.write("  read-only; Ctrl-C stops it\n")
        out.flush()
        config = uvicorn.Config(
            create_app(desk), log_level="warning", access_log=False, lifespan="off"
        )
        server = uvicorn.Server(config)
        server.run(sockets=[sock])
    finally:
        catalog.close()
    return 0
