"""The pictures the server draws (pure): a story's spread timeline and an outlet's articles
over time, as geometry (numbers and labels) that a template turns into SVG elements.

No numbers leave here unrounded and no label is trusted: the templates escape every label.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["Bar", "Chart", "Timeline", "TimelinePoint", "articles_chart", "duration", "timeline"]

WIDTH = 720
LANE = 22  # one lane per article on the timeline
LEFT = 170  # room for outlet names
RIGHT = 24
TOP = 14
CHART_HEIGHT = 160


@dataclass(frozen=True, kw_only=True)
class TimelinePoint:
    """One article on the timeline: its place, outlet, time and role."""

    x: float
    y: float
    label: str
    when: str
    kind: str  # "original", "copy", or "undated" (no time known: drawn at the left edge)


@dataclass(frozen=True, kw_only=True)
class Timeline:
    """A story's spread: one lane per article, time running left to right."""

    width: int
    height: int
    left: int
    right: int
    axis_y: float
    points: tuple[TimelinePoint, ...]
    start: str
    end: str
    span: str


def duration(seconds: float | None) -> str:
    """``3d 4h``, ``2h 5m``, ``45s``: a span as a person reads it (``-`` when unknown)."""
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    s = abs(round(seconds))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes}m"
    if minutes:
        return f"{sign}{minutes}m {secs}s"
    return f"{sign}{secs}s"


def stamp(seconds: float | None) -> str:
    """A Unix time as ``2026-06-03 09:15 UTC`` (empty when unknown)."""
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def timeline(items: Sequence[tuple[str, float | None, bool]]) -> Timeline:
    """The timeline of ``items`` (outlet, when it ran, whether it is the original), in the
    order given (the caller sorts them)."""
    times = [t for _, t, _ in items if t is not None]
    start, end = (min(times), max(times)) if times else (0.0, 0.0)
    span = end - start
    inner = WIDTH - LEFT - RIGHT
    points = []
    for lane, (label, when, original) in enumerate(items):
        y = TOP + lane * LANE + LANE / 2
        if when is None:
            x, kind = float(LEFT), "undated"
        else:
            # One moment (or one article): the dots sit at the start of the axis.
            x = LEFT + (inner * (when - start) / span if span > 0 else 0.0)
            kind = "original" if original else "copy"
        points.append(
            TimelinePoint(x=round(x, 1), y=y, label=label[:28], when=stamp(when), kind=kind)
        )
    height = TOP + max(1, len(items)) * LANE + 30
    return Timeline(
        width=WIDTH,
        height=height,
        left=LEFT,
        right=WIDTH - RIGHT,
        axis_y=height - 24,
        points=tuple(points),
        start=stamp(start) if times else "",
        end=stamp(end) if times else "",
        span=duration(span) if times else "-",
    )


@dataclass(frozen=True, kw_only=True)
class Bar:
    """One bar of a chart: its box, what it counts and the period it covers."""

    x: float
    y: float
    width: float
    height: float
    count: int
    label: str


@dataclass(frozen=True, kw_only=True)
class Chart:
    """Articles per period, as bars; ``unit`` names the period (day, week, month)."""

    width: int
    height: int
    bars: tuple[Bar, ...]
    unit: str
    peak: int
    first: str
    last: str


def _month(day: int) -> int:
    moment = datetime.fromtimestamp(day * 86400, UTC)
    return moment.year * 12 + moment.month - 1


def articles_chart(days: Sequence[tuple[int, int]]) -> Chart:
    """Bars of ``days`` ((days since the epoch, articles) pairs, oldest first): one bar a day
    over up to 92 days, a week up to two years, else a month; empty periods drawn as gaps."""
    if not days:
        return Chart(
            width=WIDTH, height=CHART_HEIGHT, bars=(), unit="day", peak=0, first="", last=""
        )
    first, last = days[0][0], days[-1][0]
    span = last - first + 1
    buckets: dict[int, int] = {}

    def by_day(day: int) -> int:
        return day

    def by_week(day: int) -> int:
        return (day - first) // 7

    key: Callable[[int], int]
    if span <= 92:
        unit, key = "day", by_day
    elif span <= 731:
        unit, key = "week", by_week
    else:
        unit, key = "month", _month
    for day, count in days:
        buckets[key(day)] = buckets.get(key(day), 0) + count
    lo, hi = key(first), key(last)
    slots = hi - lo + 1
    inner = WIDTH - 40
    step = inner / slots
    peak = max(buckets.values())
    bars = []
    for k in range(lo, hi + 1):
        count = buckets.get(k, 0)
        if not count:
            continue
        h = (CHART_HEIGHT - 30) * count / peak
        if unit == "day":
            label = datetime.fromtimestamp(k * 86400, UTC).strftime("%Y-%m-%d")
        elif unit == "week":
            label = "week of " + datetime.fromtimestamp((first + k * 7) * 86400, UTC).strftime(
                "%Y-%m-%d"
            )
        else:
            label = f"{k // 12}-{k % 12 + 1:02d}"
        bars.append(
            Bar(
                x=round(30 + (k - lo) * step, 1),
                y=round(CHART_HEIGHT - 20 - h, 1),
                width=round(max(1.0, step * 0.8), 1),
                height=round(h, 1),
                count=count,
                label=label,
            )
        )
    return Chart(
        width=WIDTH,
        height=CHART_HEIGHT,
        bars=tuple(bars),
        unit=unit,
        peak=peak,
        first=datetime.fromtimestamp(first * 86400, UTC).strftime("%Y-%m-%d"),
        last=datetime.fromtimestamp(last * 86400, UTC).strftime("%Y-%m-%d"),
    )
