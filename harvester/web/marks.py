"""Text the story desk marks up (pure): side-by-side paragraph rows, changed words, passages.

Everything returns plain strings split into segments (``(text, marked)``); the templates escape
them. Nothing here produces HTML.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from harvester.dedup.diff import EDITED_RATIO

__all__ = ["DiffRow", "Segment", "aligned_rows", "changed_words", "passage", "safe_link"]

#: a piece of text and whether it is marked (a changed word, a matching search term)
Segment = tuple[str, bool]

# How much of a paragraph a search result shows around its first match.
PASSAGE_CHARS = 320


@dataclass(frozen=True, kw_only=True)
class DiffRow:
    """One row of a side-by-side diff: ``kept``, ``edited`` (both sides, changed words
    marked), ``added`` (only the copy has it) or ``removed`` (only the original has it)."""

    kind: str
    original: tuple[Segment, ...]
    copy: tuple[Segment, ...]

    def to_json(self) -> dict[str, object]:
        """The row with plain texts (marks dropped)."""
        return {
            "kind": self.kind,
            "original": "".join(t for t, _ in self.original) or None,
            "copy": "".join(t for t, _ in self.copy) or None,
        }


def _key(paragraph: str) -> str:
    # The same normalisation as harvester.dedup.diff: spacing and case do not count.
    return " ".join(paragraph.split()).casefold()


def _plain(text: str) -> tuple[Segment, ...]:
    return ((text, False),) if text else ()


def aligned_rows(original: Sequence[str], copy: Sequence[str]) -> list[DiffRow]:
    """The copy's paragraphs against the original's, in reading order. The alignment and the
    edited test are those of :func:`harvester.dedup.diff.paragraph_diff` (same counts), kept
    in order so that the two sides can be read next to each other."""
    a, b = [_key(p) for p in original], [_key(p) for p in copy]
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows.extend(
                DiffRow(kind="kept", original=_plain(original[i]), copy=_plain(copy[j]))
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            )
            continue
        olds, news = list(range(i1, i2)), list(range(j1, j2))
        while olds and news:
            i, j = olds[0], news[0]
            if difflib.SequenceMatcher(a=a[i], b=b[j], autojunk=False).ratio() >= EDITED_RATIO:
                left, right = changed_words(original[i], copy[j])
                rows.append(DiffRow(kind="edited", original=left, copy=right))
                olds.pop(0)
                news.pop(0)
            elif len(olds) >= len(news):
                rows.append(
                    DiffRow(kind="removed", original=_plain(original[olds.pop(0)]), copy=())
                )
            else:
                rows.append(DiffRow(kind="added", original=(), copy=_plain(copy[news.pop(0)])))
        rows.extend(DiffRow(kind="removed", original=_plain(original[i]), copy=()) for i in olds)
        rows.extend(DiffRow(kind="added", original=(), copy=_plain(copy[j])) for j in news)
    return rows


_TOKENS = re.compile(r"\s+|[^\s]+")


def _merge(segments: list[Segment]) -> tuple[Segment, ...]:
    merged: list[Segment] = []
    for text, marked in segments:
        if merged and merged[-1][1] == marked:
            merged[-1] = (merged[-1][0] + text, marked)
        else:
            merged.append((text, marked))
    return tuple(merged)


def changed_words(old: str, new: str) -> tuple[tuple[Segment, ...], tuple[Segment, ...]]:
    """Both paragraphs split into segments, the words that differ marked on each side."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    left: list[Segment] = []
    right: list[Segment] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        same = tag == "equal"
        left.extend((t, not same and not t.isspace()) for t in a[i1:i2])
        right.extend((t, not same and not t.isspace()) for t in b[j1:j2])
    return _merge(left), _merge(right)


def passage(text: str, words: Sequence[str]) -> tuple[Segment, ...]:
    """The paragraph of ``text`` where most of ``words`` occur, clipped around the first
    one, each occurrence marked (case- and accent-insensitive enough for a reader: casefold)."""
    wanted = {w.casefold() for w in words if w}
    if not text:
        return ()
    paragraphs = [p for p in text.split("\n\n") if p.strip()] or [text]

    def score(paragraph: str) -> int:
        found = {m.group(0).casefold() for m in re.finditer(r"\w+", paragraph)}
        return len(found & wanted)

    best = max(paragraphs, key=score)
    best = " ".join(best.split())
    hits = [m for m in re.finditer(r"\w+", best) if m.group(0).casefold() in wanted]
    start = 0
    if hits and len(best) > PASSAGE_CHARS:
        start = max(0, hits[0].start() - PASSAGE_CHARS // 3)
        # Start at a word boundary.
        space = best.rfind(" ", 0, start)
        start = space + 1 if space >= 0 else start
    end = min(len(best), start + PASSAGE_CHARS)
    segments: list[Segment] = [("… ", False)] if start > 0 else []
    at = start
    for m in hits:
        if m.start() < start or m.end() > end:
            continue
        segments.append((best[at : m.start()], False))
        segments.append((m.group(0), True))
        at = m.end()
    segments.append((best[at:end], False))
    if end < len(best):
        segments.append((" …", False))
    return _merge([s for s in segments if s[0]])


def safe_link(url: str | None) -> str | None:
    """``url`` when a page may link to it (an absolute http or https URL with a host and no
    control characters or spaces), else None: archived pages are hostile, and a
    ``javascript:`` or ``data:`` URL from one must never become a link."""
    if not url:
        return None
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        return None
    lowered = url[:8].lower()
    if not (lowered.startswith("http://") or lowered.startswith("https://")):
        return None
    rest = url.split("://", 1)[1]
    host = re.split(r"[/?#]", rest, maxsplit=1)[0]
    return url if host and not host.startswith("@") else None
