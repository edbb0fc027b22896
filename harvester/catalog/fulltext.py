"""Full-text queries as people type them, made safe for each engine's query syntax (pure).

A query is words and "quoted phrases"; every one of them must occur (AND). Only word
characters survive parsing (``\\w+``: letters, digits, underscore, in any script), so nothing a
person types can reach FTS5's or PostgreSQL's query operators (``NEAR``, ``*``, ``:``, ``|``,
``!``, unbalanced quotes, column filters). Each engine then quotes what is left in its own way:
SQLite FTS5 as quoted strings (``"harbour budget" "vote"``), PostgreSQL as ``phraseto_tsquery``
parameters (values, never SQL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_PHRASES", "FullTextQuery", "parse_query"]

# Bounds on what one query may ask: enough for any search a person types, small enough that a
# pasted page cannot make the engine work through thousands of terms.
MAX_PHRASES = 12
MAX_WORDS = 32
MAX_QUERY_CHARS = 500

_PART = re.compile(r'"([^"]*)"?|([^\s"]+)')
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, kw_only=True)
class FullTextQuery:
    """Phrases that must all occur; a single word is a phrase of one word."""

    phrases: tuple[tuple[str, ...], ...]

    @property
    def words(self) -> tuple[str, ...]:
        """Every word of every phrase, in order (to find a matching passage)."""
        return tuple(w for phrase in self.phrases for w in phrase)

    def fts5(self) -> str:
        """The query as an SQLite FTS5 MATCH expression: quoted strings, implicitly ANDed."""
        return " ".join('"' + " ".join(phrase) + '"' for phrase in self.phrases)

    def texts(self) -> tuple[str, ...]:
        """One plain text per phrase (PostgreSQL ``phraseto_tsquery`` arguments)."""
        return tuple(" ".join(phrase) for phrase in self.phrases)

    def to_text(self) -> str:
        """The query as it would be typed again (quoted phrases, bare words)."""
        return " ".join(p[0] if len(p) == 1 else '"' + " ".join(p) + '"' for p in self.phrases)


def parse_query(text: str) -> FullTextQuery | None:
    """The query in ``text`` (words, "quoted phrases"; an unclosed quote runs to the end);
    None when it holds no word at all. Longer queries are cut to the bounds above."""
    phrases: list[tuple[str, ...]] = []
    words = 0
    for quoted, bare in _PART.findall(text[:MAX_QUERY_CHARS]):
        found = tuple(_WORD.findall(quoted if quoted else bare))
        if not found:
            continue
        if bare:
            # Bare words are separate terms ("harbour-budget" is two words, each required).
            parts: list[tuple[str, ...]] = [(w,) for w in found]
        else:
            parts = [found]
        for part in parts:
            if len(phrases) >= MAX_PHRASES or words >= MAX_WORDS:
                break
            phrase = part[: MAX_WORDS - words]
            phrases.append(phrase)
            words += len(phrase)
    return FullTextQuery(phrases=tuple(phrases)) if phrases else None
