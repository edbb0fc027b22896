"""The clock seam: wall time for records, monotonic time for deadlines, injected for tests."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "FrozenClock", "SystemClock"]


class Clock(Protocol):
    """Wall-clock and monotonic time."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for deadlines and delays)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """time.monotonic()."""
        return time.monotonic()


@dataclass
class FrozenClock:
    """A test clock: ``now`` advances only by ``tick`` per call, so output is deterministic."""

    start: datetime = field(default_factory=lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    tick: timedelta = timedelta(seconds=1)
    _calls: int = 0

    def now(self) -> datetime:
        """``start`` plus ``tick`` for every earlier call."""
        value = self.start + self.tick * self._calls
        self._calls += 1
        return value

    def monotonic(self) -> float:
        """Real monotonic time: deadlines in tests still need to expire."""
        return time.monotonic()
