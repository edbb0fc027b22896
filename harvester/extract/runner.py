"""A per-page time budget: run a function in a worker process and give up after N seconds.

Parsing is CPU-bound C code (lxml, lexbor) that a thread cannot interrupt, so a page built to be
slow (50,000 nested elements, a 20 MB table) is run in a separate process that is killed when its
budget runs out. The worker is started lazily, reused across pages, and replaced after a kill, a
crash, or ``max_calls`` calls (bounding what one worker can leak over a long daemon run).

Workers come from a *forkserver* (fork is unsafe in the threaded daemon; spawn re-imports
everything for each new worker), preloaded with the extraction modules so a restart is cheap.
One worker and one pipe, no pool: ``multiprocessing.Pool.terminate`` can deadlock when it races a
worker that is still starting, and a budget must never hang.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from harvester.lifetime import Closeable

__all__ = ["BudgetExceeded", "TimeBudget", "WorkerCrashed"]

_T = TypeVar("_T")
_PRELOAD = ["harvester.extract.article"]


class BudgetExceeded(Exception):
    """The call did not finish within the budget (its worker was killed)."""


class WorkerCrashed(Exception):
    """The worker process died during the call (out of memory, a crash in C code)."""


@contextlib.contextmanager
def _main_hidden() -> Iterator[None]:
    """Hide the ``__main__`` module's origin while a worker starts.

    multiprocessing re-runs the parent's main script (or module) in the child; the worker needs
    none of it (it runs harvester functions only), and a user's script without an
    ``if __name__ == "__main__"`` guard, or code from stdin, would break or re-run there.
    """
    main = sys.modules.get("__main__")
    saved = {name: getattr(main, name) for name in ("__file__", "__spec__") if hasattr(main, name)}
    for name in saved:
        if name == "__spec__":
            main.__spec__ = None  # type: ignore[union-attr]
        else:
            delattr(main, name)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(main, name, value)


def _serve(conn: Connection) -> None:
    """The worker's loop: receive (fn, args), send back (ok, value-or-exception)."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        fn, args = message
        try:
            conn.send((True, fn(*args)))
        except Exception as exc:  # noqa: BLE001 (shipped back to the caller, who re-raises it)
            conn.send((False, exc))


class TimeBudget(Closeable):
    """Calls picklable functions in one worker process, each within ``seconds``.

    ``seconds=None`` runs calls in this process without a budget (benchmarks, trusted input).
    """

    def __init__(self, seconds: float | None, *, max_calls: int = 500) -> None:
        self.seconds = seconds
        self._max_calls = max_calls
        self._calls = 0
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None

    def call(self, fn: Callable[..., _T], *args: Any, limit: float | None = None) -> _T:
        """``fn(*args)``; BudgetExceeded after ``seconds`` (or ``limit``, for a call that is
        not a page: loading the rule packs); WorkerCrashed if the worker died.

        Exceptions raised by ``fn`` propagate.
        """
        if self.seconds is None:
            return fn(*args)
        seconds = self.seconds if limit is None else limit
        if self._conn is None or self._calls >= self._max_calls:
            self._start()
        assert self._conn is not None
        self._calls += 1
        try:
            self._conn.send((fn, args))
            ready = self._conn.poll(seconds)
        except (OSError, EOFError) as exc:
            self._stop(kill=True)
            raise WorkerCrashed(f"worker died ({exc})") from None
        if not ready:
            self._stop(kill=True)
            raise BudgetExceeded(f"exceeded the {seconds:g}s time budget")
        try:
            ok, value = self._conn.recv()
        except (OSError, EOFError):
            self._stop(kill=True)
            raise WorkerCrashed("worker died") from None
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def _start(self) -> None:
        self._stop(kill=False)
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        parent, child = context.Pipe()
        process = context.Process(target=_serve, args=(child,), daemon=True)
        with _main_hidden():
            process.start()
        child.close()
        self._process, self._conn, self._calls = process, parent, 0

    def _stop(self, *, kill: bool) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            try:
                if not kill:
                    conn.send(None)
            except OSError:
                pass
            conn.close()
        if process is not None:
            if kill:
                process.kill()
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()

    def close(self) -> None:
        """Stop the worker (if any)."""
        self._stop(kill=False)
