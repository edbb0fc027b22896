"""The writer registry: which harvester processes are writing an archive right now.

Any number of processes write one archive at once, each into its own WARC files. Each registers
as a writer under ``<archive>/writers/``::

    writers/<id>.lock     one per live writer: JSON {"host", "pid", "started", "boot"}, held
                          (exclusive flock) by that writer for its lifetime
    writers/.exclusive    held SHARED by every writer; EXCLUSIVE by ``exclusive`` (rebuild-index)
    writers/.repair       held by the process repairing dead writers' files at start-up

A writer id is ``w`` and 10 lowercase hex digits; it is part of every WARC file the writer makes
(``writer_of``), so a file's owner is known from its name alone. A writer is live while its lock
file is flock-held: the kernel drops the lock when the process dies, however it dies, so a lock
file that exists but is not held belongs to a dead writer whose ``.open`` files need repair.

flock is only as good as the file system's locking: between processes of one machine on a local
file system it is exact; across machines (NFS and the like) it may not be shared at all, so a
live writer elsewhere could look dead. ``dead_writers`` therefore only judges writers that ran on
this machine (same host name) or under this kernel (same boot id, e.g. another container);
writers on other machines are judged by their catalog leases, elsewhere.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from harvester.clock import Clock
from harvester.errors import ArchiveError, ArchiveLockedError
from harvester.lifetime import Closeable

__all__ = [
    "WRITERS_DIR",
    "Writer",
    "WriterInfo",
    "dead_writers",
    "exclusive",
    "is_live",
    "is_registered",
    "new_writer_id",
    "reaping",
    "registered_writers",
    "repair_lock",
    "sweep_staged",
    "writer_of",
]

WRITERS_DIR = "writers"
EXCLUSIVE_NAME = ".exclusive"
REPAIR_NAME = ".repair"
LOCK_SUFFIX = ".lock"
# A lock file is written under this suffix, locked, then renamed into place: a visible
# ``<id>.lock`` is held from the moment it appears, so nobody can take it for a dead writer's.
_NEW_SUFFIX = ".new"
_ID_RE = re.compile(r"w[0-9a-f]{10}", re.ASCII)
# A staged lock file this old was left by a writer that died while registering.
STAGED_AGE = 60.0
# <prefix>-<utc>-<serial>-<host>-<writer>.warc.gz[.open] (see harvester.warc.writer)
_NAME_RE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9_-]*-\d{14}-\d{5,}-[A-Za-z0-9.-]+-(w[0-9a-f]{10})\.warc\.gz(?:\.open)?",
    re.ASCII,
)
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def new_writer_id() -> str:
    """A fresh writer id: ``w`` and 10 random lowercase hex digits."""
    return "w" + secrets.token_hex(5)


def writer_of(file_name: str) -> str | None:
    """The writer id in a WARC file's name (a bare name or a path; ``.open`` or closed); None
    for names without one (written before archives had several writers) or not ours at all.
    """
    match = _NAME_RE.fullmatch(PurePosixPath(file_name).name)
    return match.group(1) if match else None


def _check_id(writer_id: str) -> None:
    if not _ID_RE.fullmatch(writer_id):
        # Ids name files: anything else is a caller's bug, never a file to touch.
        raise ValueError(f"not a writer id: {writer_id!r}")


def _writers_dir(root: Path) -> Path:
    """``<root>/writers``, made (with the root) if missing."""
    path = root / WRITERS_DIR
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArchiveError(f"cannot open archive {root}: {exc}") from exc
    return path


def _lock_path(root: Path, writer_id: str) -> Path:
    _check_id(writer_id)
    return root / WRITERS_DIR / (writer_id + LOCK_SUFFIX)


def _host() -> str:
    return socket.gethostname() or "localhost"


def _boot_id() -> str:
    """This kernel's boot id (Linux), "" where there is none."""
    try:
        return _BOOT_ID.read_text(encoding="ascii").strip()
    except OSError:
        return ""


def _open_lock(path: Path, *, create: bool = False) -> int:
    """A read-write descriptor on ``path`` (NFS wants write access for exclusive flocks)."""
    flags = os.O_RDWR | (os.O_CREAT if create else 0)
    return os.open(path, flags, 0o644)


def _try_flock(fd: int, mode: int) -> bool:
    """Take ``mode`` on ``fd`` without waiting; False when someone else holds a conflicting one."""
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@dataclass(frozen=True, kw_only=True)
class _Registration:
    """What a writer's lock file says about it."""

    host: str
    pid: int
    boot: str
    started: str | None = None


def _registration(path: Path) -> _Registration | None:
    """The lock file's contents; None when it is gone or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        started = data.get("started")
        return _Registration(
            host=str(data["host"]),
            pid=int(data["pid"]),
            boot=str(data.get("boot", "")),
            started=str(started) if started is not None else None,
        )
    except (OSError, ValueError, TypeError, KeyError):
        return None


class Writer(Closeable):
    """This process registered as a writer of the archive at ``root`` (made if missing).

    Holds ``writers/.exclusive`` shared and ``writers/<id>.lock`` exclusive until ``close()``,
    which removes the lock file and then releases it. Raises ArchiveLockedError while
    ``exclusive`` holds the archive (rebuild-index), ArchiveError when the registry cannot be
    written.
    """

    def __init__(
        self, root: Path, *, clock: Clock, new_id: Callable[[], str] = new_writer_id
    ) -> None:
        self.root = root
        directory = _writers_dir(root)
        try:
            self._shared: int | None = _open_lock(directory / EXCLUSIVE_NAME, create=True)
        except OSError as exc:
            raise ArchiveError(f"cannot register a writer in {directory}: {exc}") from exc
        self._fd: int | None = None
        try:
            if not _try_flock(self._shared, fcntl.LOCK_SH):
                raise ArchiveLockedError(
                    f"archive {root} is being rebuilt (rebuild-index holds it alone); "
                    "start writers again when it has finished"
                )
            self.id, self._fd = self._register(directory, clock, new_id)
        except OSError as exc:
            self.close()
            raise ArchiveError(f"cannot register a writer in {directory}: {exc}") from exc
        except BaseException:
            self.close()
            raise
        self.path = directory / (self.id + LOCK_SUFFIX)

    @staticmethod
    def _register(directory: Path, clock: Clock, new_id: Callable[[], str]) -> tuple[str, int]:
        """Create, lock, fill and publish a fresh lock file; (id, its locked descriptor)."""
        while True:
            writer_id = new_id()
            _check_id(writer_id)
            final = directory / (writer_id + LOCK_SUFFIX)
            staged = directory / (writer_id + _NEW_SUFFIX)
            if final.exists():
                continue  # an id drawn twice: draw again
            try:
                fd = os.open(staged, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # ours alone: nobody else opens a .new file
                body = {
                    "host": _host(),
                    "pid": os.getpid(),
                    "started": clock.now().isoformat(),
                    "boot": _boot_id(),
                }
                os.write(fd, json.dumps(body).encode("utf-8"))
                if final.exists():
                    staged.unlink()
                    os.close(fd)
                    continue
                staged.rename(final)
            except BaseException:
                staged.unlink(missing_ok=True)
                os.close(fd)
                raise
            return writer_id, fd

    def close(self) -> None:
        """Remove the lock file, then release it and the shared hold. Safe to call twice."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                self.path.unlink(missing_ok=True)
            os.close(self._fd)
            self._fd = None
        if self._shared is not None:
            os.close(self._shared)
            self._shared = None


def is_live(root: Path, writer_id: str) -> bool:
    """Whether writer ``writer_id`` of ``root`` is live: its lock file exists and is flock-held.

    No lock file means dead (closed, or reaped). If we can take the lock, nobody holds it: the
    writer is dead (the lock is released again at once). Exact for writers on this machine on a
    local file system only: across machines flock may not be shared, so a live writer elsewhere
    can look dead here (those are judged by catalog leases). Raises ArchiveError when the lock
    file cannot be tried (permissions, a file system without locks).
    """
    path = _lock_path(root, writer_id)
    try:
        fd = _open_lock(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise ArchiveError(f"cannot check writer {writer_id} of {root}: {exc}") from exc
    try:
        return not _try_flock(fd, fcntl.LOCK_EX)
    except OSError as exc:
        raise ArchiveError(f"cannot check writer {writer_id} of {root}: {exc}") from exc
    finally:
        os.close(fd)


def is_registered(root: Path, writer_id: str) -> bool:
    """Whether ``writer_id`` still has a lock file in ``root`` (live, or dead but not reaped).

    A writer makes its lock file before any WARC file and removes it only after closing them
    (or when its files were repaired), so a WARC file whose writer is not registered belongs to
    nobody any more.
    """
    return _lock_path(root, writer_id).exists()


def _registered_ids(root: Path) -> list[str]:
    directory = root / WRITERS_DIR
    if not directory.is_dir():
        return []
    ids = (p.name[: -len(LOCK_SUFFIX)] for p in directory.glob("*" + LOCK_SUFFIX))
    return sorted(i for i in ids if _ID_RE.fullmatch(i))


def _judged_here(registration: _Registration | None) -> bool:
    """Whether our flock verdict on this writer can be trusted (see the module docstring)."""
    if registration is None:
        return True  # a lock file is only published whole: this one is damaged; flock decides
    if registration.host == _host():
        return True
    boot = _boot_id()
    return bool(boot) and registration.boot == boot


def dead_writers(root: Path) -> list[str]:
    """Ids of writers of ``root`` whose lock file exists but is not held, sorted.

    Only writers registered from this machine or this kernel are judged (flock is not trusted
    across machines); others are never listed. Someone else may reap one before the caller
    does: ``reaping`` tells.
    """
    dead = []
    for writer_id in _registered_ids(root):
        if _judged_here(_registration(_lock_path(root, writer_id))) and not is_live(
            root, writer_id
        ):
            dead.append(writer_id)
    return dead


@dataclass(frozen=True, kw_only=True)
class WriterInfo:
    """A registered writer as ``harvester status`` lists it. ``state``: ``live`` (its lock is
    held), ``dead`` (not held: its files await repair by the next writer to start) or
    ``elsewhere`` (registered from another machine, where flock cannot judge it: its catalog
    leases tell)."""

    writer: str
    host: str | None
    pid: int | None
    started: str | None
    state: str


def registered_writers(root: Path) -> list[WriterInfo]:
    """Every writer registered in ``root``'s ``writers/``, sorted by id."""
    found = []
    for writer_id in _registered_ids(root):
        registration = _registration(_lock_path(root, writer_id))
        try:
            live = is_live(root, writer_id)
        except ArchiveError:
            live = False
        state = "live" if live else "dead" if _judged_here(registration) else "elsewhere"
        found.append(
            WriterInfo(
                writer=writer_id,
                host=registration.host if registration else None,
                pid=registration.pid if registration else None,
                started=registration.started if registration else None,
                state=state,
            )
        )
    return found


def sweep_staged(root: Path, *, now: float, age: float = STAGED_AGE) -> list[str]:
    """Remove lock files a writer staged but never published (it died between creating
    ``<id>.new`` and renaming it): those older than ``age`` seconds at epoch ``now`` that
    nobody holds. Their ids."""
    directory = root / WRITERS_DIR
    if not directory.is_dir():
        return []
    swept = []
    for path in sorted(directory.glob("*" + _NEW_SUFFIX)):
        try:
            if now - path.stat().st_mtime < age:
                continue  # a writer is publishing it right now (that takes microseconds)
            fd = _open_lock(path)
        except OSError:
            continue  # renamed or removed meanwhile
        try:
            # Held: its writer is between staging and publishing it right now.
            if _try_flock(fd, fcntl.LOCK_EX) and _same_file(fd, path):
                path.unlink(missing_ok=True)
                swept.append(path.name[: -len(_NEW_SUFFIX)])
        except OSError:
            continue
        finally:
            os.close(fd)
    return swept


@contextlib.contextmanager
def reaping(root: Path, writer_id: str) -> Iterator[bool]:
    """Hold dead writer ``writer_id``'s lock while its files are repaired.

    Yields True when this process holds it (repair its files now); then, if the block ends
    without an exception, the lock file is removed before the lock is released. Yields False
    when the writer is live, is being reaped by someone else, or was already reaped: leave its
    files alone. So two processes never repair the same dead writer.
    """
    path = _lock_path(root, writer_id)
    try:
        fd = _open_lock(path)
    except FileNotFoundError:
        yield False
        return
    except OSError as exc:
        raise ArchiveError(f"cannot reap writer {writer_id} of {root}: {exc}") from exc
    try:
        mine = _try_flock(fd, fcntl.LOCK_EX) and _same_file(fd, path)
        yield mine
        if mine:
            path.unlink(missing_ok=True)
    finally:
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (a reaper that finished between our
    open and our lock has removed it: then it is not ours to reap again)."""
    try:
        here = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (held.st_dev, held.st_ino)


def _describe(root: Path, writer_ids: list[str]) -> str:
    host = _host()
    pids = []
    for writer_id in writer_ids:
        registration = _registration(_lock_path(root, writer_id))
        if registration is None:
            pids.append("?")
        elif registration.host == host:
            pids.append(str(registration.pid))
        else:
            pids.append(f"{registration.pid} on {registration.host}")
    return ", ".join(pids)


@contextlib.contextmanager
def exclusive(root: Path) -> Iterator[None]:
    """Hold the archive at ``root`` (made if missing) alone: no writer runs, none can start.

    For rebuild-index. Does not wait: raises ArchiveLockedError naming the live writers when
    any holds the archive, ArchiveError when the registry cannot be written.
    """
    directory = _writers_dir(root)
    try:
        fd = _open_lock(directory / EXCLUSIVE_NAME, create=True)
    except OSError as exc:
        raise ArchiveError(f"cannot lock archive {root}: {exc}") from exc
    try:
        if not _try_flock(fd, fcntl.LOCK_EX):
            live = [w for w in _registered_ids(root) if is_live(root, w)]
            who = (
                f"{len(live)} harvester writer(s) (pids {_describe(root, live)})"
                if live
                else "a harvester writer that is starting"
            )
            raise ArchiveLockedError(
                f"archive {root} is in use by {who}; rebuild-index needs it alone: stop them first"
            )
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def repair_lock(root: Path) -> Iterator[None]:
    """Wait for, then hold, the archive's repair lock: processes starting at the same moment
    repair dead writers' files one after another, never together. Raises ArchiveError when the
    lock cannot be taken."""
    directory = _writers_dir(root)
    try:
        fd = _open_lock(directory / REPAIR_NAME, create=True)
    except OSError as exc:
        raise ArchiveError(f"cannot lock archive {root} for repair: {exc}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:
            raise ArchiveError(f"cannot lock archive {root} for repair: {exc}") from exc
        yield
    finally:
        os.close(fd)
