"""``harvester run --processes N``: N worker processes on one archive, every core busy.

Each worker process is a whole ``harvester run`` (``--processes 1``): it fetches, archives
(into WARC files of its own) and extracts in parallel with the others, and they divide outlet
polls and frontier URLs between them through the catalog's leases exactly as daemons on several
machines do; story placement is the one serial step (``Catalog.placement``). This supervisor
only starts them, passes signals on and waits:

* SIGTERM/SIGINT are passed to every worker, which stops as a single daemon does (fetches in
  flight stay queued, WARC files closed) within its grace period;
* with ``--once`` the workers share one round (``--round-start``): each outlet is polled once
  by one of them, and each exits when the whole fleet is done; the exit code is the worst of
  theirs;
* without it, a worker that dies is started again (after 1 s, doubling up to a minute while it
  keeps dying); its URLs are taken over by the others at once (its lock file tells them);
* if the supervisor itself is killed, the kernel kills the workers (``PR_SET_PDEATHSIG``), so
  no orphan keeps writing.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType

from harvester.daemon import stop_signals

__all__ = ["run_processes"]

log = logging.getLogger("harvester.daemon")

RESTART_MIN = 1.0
RESTART_MAX = 60.0
# A worker whose stop takes longer than its own grace (8 s) plus this is killed.
STOP_WAIT = 15.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the kernel sends SIGKILL to this process when the supervisor dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _start(argv: Sequence[str], n: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "harvester", *argv]
    log.info("starting worker process %d: %s", n, " ".join(command[3:]))
    return subprocess.Popen(  # noqa: S603 (our own command line)
        command,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 (no threads run in the supervisor yet)
    )


def _worst(codes: Sequence[int]) -> int:
    """The exit code of the whole run from its workers' (interrupted > archive > others; a
    worker killed by a signal counts as an internal error)."""
    failed = [c if c >= 0 else 1 for c in codes if c != 0]
    if not failed:
        return 0
    if 130 in failed:
        return 130
    return max(failed)


class _Workers:
    """The worker processes of one run and what became of them."""

    def __init__(self, argv: Sequence[str], processes: int, *, once: bool) -> None:
        self.argv = list(argv)
        self.once = once
        self.stopping = False
        self.procs = {n: _start(self.argv, n) for n in range(processes)}
        self.codes: dict[int, int] = {}
        self._restart_at: dict[int, float] = {}
        self._backoff: dict[int, float] = {}
        self._stopped_at: float | None = None

    def stop(self) -> None:
        """Pass SIGTERM to every worker still running."""
        self.stopping = True
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)

    def step(self) -> bool:
        """Look at every worker once; False when the run is over."""
        running = 0
        for n, proc in list(self.procs.items()):
            code = proc.poll()
            if code is None:
                running += 1
            elif n in self.codes:
                continue
            elif self.stopping:
                # A worker told to stop before it could listen for the signal died of it.
                self.codes[n] = 0 if code == -signal.SIGTERM else code
            elif self.once:
                self.codes[n] = code
            else:
                running += self._restart(n, code)
        if running == 0 and (self.once or self.stopping):
            return False
        if self.stopping:
            self._stopped_at = self._stopped_at or time.monotonic()
            if time.monotonic() - self._stopped_at > STOP_WAIT:
                for proc in self.procs.values():
                    if proc.poll() is None:
                        log.warning("worker process %d did not stop: killing it", proc.pid)
                        proc.kill()
        return True

    def _restart(self, n: int, code: int) -> int:
        """A worker died under a daemon: start it again, backing off while it keeps dying."""
        if n not in self._restart_at:
            wait = self._backoff.get(n, RESTART_MIN)
            log.error("worker process %d exited (%d); restarting in %.0fs", n, code, wait)
            self._restart_at[n] = time.monotonic() + wait
            self._backoff[n] = min(RESTART_MAX, wait * 2)
        elif time.monotonic() >= self._restart_at[n]:
            del self._restart_at[n]
            self.procs[n] = _start(self.argv, n)
        return 1

    def exit_code(self) -> int:
        for n, proc in self.procs.items():
            self.codes.setdefault(n, proc.wait())
        return _worst(list(self.codes.values()))


def run_processes(
    argv: Sequence[str],
    processes: int,
    *,
    once: bool,
    stop_requested: threading.Event | None = None,
) -> int:
    """Run ``processes`` workers with the command line ``argv`` (a ``run --processes 1``) until
    they finish (``once``) or a signal stops them (``stop_requested``: one came before);
    returns the run's exit code."""
    if stop_requested is not None and stop_requested.is_set():
        return 0
    child = [*argv]
    if once:
        child += ["--round-start", repr(time.time())]
    workers: _Workers | None = None

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if workers is not None and not workers.stopping:
            log.info("received %s: stopping the worker processes", signal.Signals(signum).name)
            workers.stop()

    with stop_signals(on_signal):
        workers = _Workers(child, processes, once=once)
        log.info("supervising %d worker processes", processes)
        while workers.step():
            time.sleep(0.1)
    return workers.exit_code()
