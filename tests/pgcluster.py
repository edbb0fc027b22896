"""A private, throwaway PostgreSQL cluster for the tests (never a system-wide server).

``PgCluster`` finds the server binaries (Debian's ``/usr/lib/postgresql/*/bin``, newest version
first, else ``initdb``/``pg_ctl`` on ``PATH``), runs ``initdb`` into a fresh temp directory and
serves it on a free ``127.0.0.1`` port with ``trust`` authentication, unix sockets in the same
temp directory::

    with PgCluster() as cluster:
        url = cluster.create_database("t_one")  # postgresql://postgres@127.0.0.1:PORT/t_one
        cluster.stop()  # fast shutdown: clients are disconnected
        cluster.start()  # same port, same data directory, data kept

Run as root, the server programs run as the ``postgres`` user (``runuser``), which must be able to
reach the temp directory: it is made under ``tempfile.gettempdir()`` (``/tmp``), not under
``/root``, and handed to ``postgres``. Run as anyone else, they run as that user.

Every failure raises ``PgClusterError`` with the reason: ``PgServerMissing`` when the binaries (or,
as root, the ``postgres`` user) are not there; a plain ``PgClusterError`` with the tail of the
server log when ``initdb`` or the server fails.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql

__all__ = ["PgCluster", "PgClusterError", "PgServerMissing", "find_server_bin"]

SUPERUSER = "postgres"
HOST = "127.0.0.1"
INSTALL_HINT = "install it with `apt-get install -y postgresql` (Debian/Ubuntu, as root)"
LOG_TAIL_LINES = 25


class PgClusterError(RuntimeError):
    """The private cluster could not be made, started or stopped; the message says why."""


class PgServerMissing(PgClusterError):
    """The PostgreSQL server programs (or the ``postgres`` user to run them as) are missing."""


def find_server_bin() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``; raises ``PgServerMissing`` without one."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for bin_dir in candidates:
        if all(os.access(bin_dir / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
            return bin_dir
    raise PgServerMissing(
        "PostgreSQL server programs not found (no initdb/pg_ctl/postgres in "
        f"/usr/lib/postgresql/*/bin or on PATH): {INSTALL_HINT}"
    )


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    """``/usr/lib/postgresql/15/bin`` -> ``(15,)``, so that 16 sorts above 9.6."""
    try:
        return tuple(int(part) for part in bin_dir.parent.name.split("."))
    except ValueError:
        return (-1,)


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class PgCluster:
    """One private PostgreSQL cluster: a temp data directory served on a free 127.0.0.1 port.

    The constructor only locates the binaries (raising ``PgServerMissing``). The first
    ``start()`` makes the directory, runs ``initdb`` and picks the port; later calls start the
    same cluster again on the same port. ``destroy()`` stops it and removes the directory; it is
    safe to call at any point, more than once. As a context manager it is ``start()`` ...
    ``destroy()``.
    """

    def __init__(self, *, base_dir: Path | None = None, timeout: float = 30.0) -> None:
        """Locate the server; ``base_dir`` is where the temp directory goes (default: /tmp)."""
        self.bin_dir = find_server_bin()
        self._run_as: list[str] = []
        self._owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self._owner = pwd.getpwnam(SUPERUSER)
            except KeyError:
                raise PgServerMissing(
                    f"running as root, but there is no {SUPERUSER!r} user to run the server "
                    f"as (the Debian package creates it): {INSTALL_HINT}"
                ) from None
            self._run_as = ["runuser", "-u", SUPERUSER, "--"]
        self._base_dir = base_dir
        self._timeout = timeout
        self._root: Path | None = None
        self._port: int | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> PgCluster:
        try:
            self.start()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.destroy()

    def start(self) -> None:
        """Start the server (making the cluster on the first call); return once it answers.

        A no-op while it is running. Raises ``PgClusterError`` with the server log's tail when
        ``initdb`` or the server fails, or when it does not accept connections in time.
        """
        if self._root is None:
            self._create()
        if self.running:
            return
        options = (
            f"-c listen_addresses={HOST} -p {self.port} -k {self.socket_dir}"
            " -c fsync=off -c max_connections=200"
        )
        self._pg(
            "pg_ctl", "start", "-w", "-t", str(int(self._timeout)),
            "-D", str(self.data_dir), "-l", str(self.log_path), "-o", options,
            what="start the server",
        )  # fmt: skip
        self._wait_until_ready()

    def stop(self) -> None:
        """Stop the server in fast mode (clients are disconnected); a no-op when it is down."""
        if self._root is None or not self.running:
            return
        self._pg(
            "pg_ctl", "stop", "-w", "-m", "fast", "-t", str(int(self._timeout)),
            "-D", str(self.data_dir),
            what="stop the server",
        )  # fmt: skip

    def destroy(self) -> None:
        """Stop the server and remove its directory; safe to call more than once."""
        if self._root is None:
            return
        try:
            self.stop()
        finally:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    @property
    def running(self) -> bool:
        """Whether a server is running on the data directory (``pg_ctl status``)."""
        if self._root is None:
            return False
        status = subprocess.run(
            [*self._run_as, str(self.bin_dir / "pg_ctl"), "status", "-D", str(self.data_dir)],
            capture_output=True,
            cwd=self._root,
            env=self._env(),
            check=False,
        )
        return status.returncode == 0

    # -- where it is ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port on 127.0.0.1 (fixed by the first ``start()``)."""
        if self._port is None:
            raise PgClusterError("the cluster has not been started yet")
        return self._port

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return self._require_root() / "data"

    @property
    def socket_dir(self) -> Path:
        """Where the server puts its unix socket."""
        return self._require_root()

    @property
    def log_path(self) -> Path:
        """The server log (``pg_ctl -l``)."""
        return self._require_root() / "server.log"

    def url(self, dbname: str = "postgres") -> str:
        """``postgresql://postgres@127.0.0.1:PORT/dbname`` (trust auth: no password)."""
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/{dbname}"

    # -- databases ------------------------------------------------------------------------------

    def create_database(self, name: str) -> str:
        """Create database ``name`` (an identifier, quoted as such) and return its URL."""
        self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, disconnecting whoever is still connected to it."""
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def _admin(self, statement: sql.Composed) -> None:
        try:
            with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
                conn.execute(statement)
        except psycopg.Error as exc:
            raise PgClusterError(f"{statement.as_string()} failed: {exc}") from exc

    # -- internals ------------------------------------------------------------------------------

    def _require_root(self) -> Path:
        if self._root is None:
            raise PgClusterError("the cluster has not been started yet (or was destroyed)")
        return self._root

    def _create(self) -> None:
        """Make the temp directory, hand it to the server's user and ``initdb`` into it."""
        root = Path(tempfile.mkdtemp(prefix="harvester-pg-", dir=self._base_dir))
        self._root = root
        self._port = _free_port()
        if self._owner is not None:
            os.chown(root, self._owner.pw_uid, self._owner.pw_gid)
            reach = subprocess.run([*self._run_as, "test", "-w", str(root)], check=False)
            if reach.returncode != 0:
                raise PgClusterError(
                    f"the {SUPERUSER!r} user cannot reach {root} (a parent directory is closed "
                    "to it); point TMPDIR at a directory it can traverse, such as /tmp"
                )
        self._pg(
            "initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions",
            what="initdb",
        )  # fmt: skip

    def _pg(self, program: str, *args: str, what: str) -> None:
        """Run a server program (as the server's user); raise ``PgClusterError`` if it fails."""
        command = [*self._run_as, str(self.bin_dir / program), *args]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                cwd=self._root,  # it must be able to enter its working directory
                env=self._env(),
                timeout=self._timeout + 30,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise PgClusterError(f"{what}: {program} hung" + self._log_tail()) from None
        if done.returncode != 0:
            output = (done.stdout + done.stderr).strip()
            raise PgClusterError(
                f"{what}: {program} exited with {done.returncode}: {output}" + self._log_tail()
            )

    def _wait_until_ready(self) -> None:
        """Return once a client can connect (``pg_ctl -w`` only watches the pid file)."""
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                with psycopg.connect(self.url(), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise PgClusterError(
                        f"the server does not accept connections on {HOST}:{self.port}: {exc}"
                        + self._log_tail()
                    ) from exc
                time.sleep(0.1)

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError, PgClusterError):
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
            if lines:
                tail = "\n  ".join(lines[-LOG_TAIL_LINES:])
                return f"\nserver log ({self.log_path}), last lines:\n  {tail}"
        return ""

    @staticmethod
    def _env() -> dict[str, str]:
        """The environment without ``PG*`` variables, which would redirect the programs."""
        return {key: value for key, value in os.environ.items() if not key.startswith("PG")}
