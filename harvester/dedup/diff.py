"""What a copy changed against its original, paragraph by paragraph (pure)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ParagraphDiff", "paragraph_diff"]

# Why 0.6: an edited paragraph (a changed number, a reworded clause) keeps most of its
# characters; a different paragraph in the same place keeps few.
EDITED_RATIO = 0.6


@dataclass(frozen=True, kw_only=True)
class ParagraphDiff:
    """Paragraphs the copy added, removed, edited (old, new) and kept unchanged."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    edited: tuple[tuple[str, str], ...]
    kept: int

    def summary(self) -> str:
        """``kept 8, edited 1, added 2, removed 0``."""
        return (
            f"kept {self.kept}, edited {len(self.edited)}, added {len(self.added)}, "
            f"removed {len(self.removed)}"
        )


def _key(paragraph: str) -> str:
    return " ".join(paragraph.split()).casefold()


def paragraph_diff(original: Sequence[str], copy: Sequence[str]) -> ParagraphDiff:
    """Align the copy's paragraphs with the original's (difflib on whitespace-normalised,
    case-folded paragraphs); a replaced paragraph counts as edited when it is similar enough."""
    a, b = [_key(p) for p in original], [_key(p) for p in copy]
    added: list[str] = []
    removed: list[str] = []
    edited: list[tuple[str, str]] = []
    kept = 0
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            kept += i2 - i1
            continue
        olds, news = list(range(i1, i2)), list(range(j1, j2))
        while olds and news:
            i, j = olds[0], news[0]
            if difflib.SequenceMatcher(a=a[i], b=b[j], autojunk=False).ratio() >= EDITED_RATIO:
                edited.append((original[i], copy[j]))
                olds.pop(0)
                news.pop(0)
            elif len(olds) >= len(news):
                removed.append(original[olds.pop(0)])
            else:
                added.append(copy[news.pop(0)])
        removed.extend(original[i] for i in olds)
        added.extend(copy[j] for j in news)
    return ParagraphDiff(
        added=tuple(added), removed=tuple(removed), edited=tuple(edited), kept=kept
    )
