"""Boilerplate removal: keep the story, drop the furniture around it (pure, no I/O but loading).

Contract
--------
Input is a sequence of text blocks (paragraphs as trafilatura extracted them, in page order).
:meth:`RuleSet.clean` returns a :class:`Cleaned`:

* ``blocks``: the kept blocks, unchanged and in their original order;
* ``removed``: every removed block (unchanged text), with its ``kind`` (one of
  :data:`BOILERPLATE_KINDS`) and the ``rule`` that removed it (``"<file>#<rule id>"``; the rule
  id ``"template"`` is reserved for the learned-template layer);
* ``labels``: tags, authors and the publication date read from labelled lines
  ("Region: ...", "Articles by: ...", "Site, July 22, 2008"), whose blocks are removed (kind
  ``"label"``).

Every input block ends up in exactly one of ``blocks`` and ``removed`` (kept + removed == input
as multisets), and ``clean`` is deterministic: same rules, same blocks, same result.

Guard rails (why they exist):

* a block longer than its rule's ``max_chars`` never matches that rule: article paragraphs that
  merely mention "share", "donation" or "copyright" are long, furniture is short;
* a wire dateline paragraph ("MOSCOW, July 22 (RIA Novosti) – ...") is never removed: it is the
  first paragraph of the story whatever words it happens to contain;
* rules are anchored or use distinctive phrases, so running text that quotes "comment" or
  "share" does not match.

Matching
--------
Blocks are matched after normalisation (Unicode NFC, typographic apostrophes to ``'``, runs of
whitespace to one space, stripped), case-insensitively.  Labels are tried first, then the kinds
in :data:`BOILERPLATE_KINDS` order; the first hit removes the block.  Rules of one kind that share
a position and a ``max_chars`` are compiled together (one alternation of the start-anchored
patterns, tried at offset 0 only, and one of the others, searched), so a few hundred rules cost a
few dozen regex calls per block, and none for a block longer than the bucket's ``max_chars``.

Positions: ``"any"`` (default) matches anywhere; ``"tail"`` matches only after the last
*body-like* block, i.e. after the last block that no ``"any"`` rule removed and that reads like
prose (at least 60 characters, ending with sentence punctuation).  With no body-like block at
all, the whole document is tail.

Rule pack format (TOML; one file per language in ``config/boilerplate/``, all loaded together)
-----------------------------------------------------------------------------------------------
::

    language = "en"

    [[rules]]
    id = "disclaimer-1"              # unique within the file; reported as "en.toml#disclaimer-1"
    kind = "disclaimer"              # one of BOILERPLATE_KINDS except "label"
    match = "prefix"                 # "prefix" | "contains" | "regex" | "exact"
    patterns = ["Disclaimer:"]       # or pattern = "..."
    max_chars = 2000                 # optional; default per match (see DEFAULT_MAX_CHARS)
    position = "any"                 # optional; "any" | "tail"

    [[labels]]
    id = "tags-1"                    # optional; default "<field>-<n>" (n: 1-based position)
    field = "tags"                   # "tags" | "author" | "published"
    pattern = '^region\\s*:\\s*(?P<value>.+)$'   # a regex with a named group "value"
    split = ","                      # optional (tags, author): separator(s), a string or a list
    max_chars = 300                  # optional; default 200
    position = "any"                 # optional

Literal patterns (prefix, contains, exact) are escaped; spaces in them match any whitespace
(or none before punctuation), and a pattern that starts/ends with a letter or digit only matches
at word boundaries ("Donate" does not match "Donated").  ``exact`` matches the whole block,
ignoring trailing ``. : ! …``.  ``regex`` patterns are searched (anchor them yourself) and may
not use named groups or numbered backreferences (they are joined into one alternation).  A
``published`` label only counts when its value parses with :func:`parse_date_text`; otherwise
the block is left to the other rules.
"""

from __future__ import annotations

import datetime as dt
import importlib
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from harvester.errors import ConfigError

__all__ = [
    "BOILERPLATE_KINDS",
    "DEFAULT_MAX_CHARS",
    "LABEL_FIELDS",
    "MATCH_TYPES",
    "POSITIONS",
    "Cleaned",
    "Labels",
    "RemovedBlock",
    "Rule",
    "RuleSet",
    "parse_date_text",
]

BOILERPLATE_KINDS = (
    "disclaimer",
    "membership",
    "donation",
    "social",
    "newsletter",
    "copyright",
    "fair-use",
    "contact",
    "related",
    "comments",
    "credit",
    "label",
)
MATCH_TYPES = ("prefix", "contains", "regex", "exact")
POSITIONS = ("any", "tail")
LABEL_FIELDS = ("tags", "author", "published")
# Why these: furniture lines are short.  A "contains" rule sees the whole block, so it is the most
# likely to hit a real paragraph that mentions the phrase: 300 characters is two lines of a
# sidebar but shorter than most news paragraphs.  Prefix and regex rules are anchored, so they can
# afford a little more; exact rules are bounded by their pattern anyway.  Long notices (fair use,
# disclaimers) set their own, larger max_chars in the pack.
DEFAULT_MAX_CHARS: Mapping[str, int] = MappingProxyType(
    {"prefix": 400, "contains": 300, "regex": 400, "exact": 200}
)
_LABEL_MAX_CHARS = 200
# Why 60 and sentence punctuation: "body-like" must be prose (a sentence), not a menu entry or a
# label; the tail starts after the last such block.
_BODY_MIN_CHARS = 60
_BODY_END = re.compile(r"""[.!?…"”»')\]]$""")
# A wire dateline opens the story: optional "22/07/2008 20:23" stamp, a place in capitals, then
# a date and/or an agency in parentheses, then a dash.  Why a guard: such a paragraph may contain
# any word ("share", "comment", "copyright") and must never be taken for furniture.
_DATELINE = re.compile(
    r"^(?:\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\s+(?:\d{1,2}:\d{2}\s+)?)?"
    r"[A-ZÀ-ÞА-ЯЁ][A-ZÀ-ÞА-ЯЁ .'’/-]{1,40}"
    r"(?:,[^()\n]{1,40}?(?:\s*\([^()\n]{2,60}\))?|\s*\([^()\n]{2,60}\))\s*[–—-]{1,2}\s",
)
_APOSTROPHE_CHARS = "’‘ʼ\u00a0"
_APOSTROPHES = str.maketrans(dict.fromkeys("’‘ʼ", "'") | {"\u00a0": " "})
_FORBIDDEN_IN_REGEX = re.compile(r"\(\?P<|\(\?P=|\\[1-9]")
_RULE_KEYS = frozenset({"id", "kind", "match", "pattern", "patterns", "max_chars", "position"})
_LABEL_KEYS = frozenset({"id", "field", "pattern", "split", "max_chars", "position"})
_TOP_KEYS = frozenset({"language", "rules", "labels"})


@dataclass(frozen=True, kw_only=True)
class RemovedBlock:
    """A removed block: its kind, its unchanged text and the rule that removed it."""

    kind: str
    text: str
    rule: str


@dataclass(frozen=True, kw_only=True)
class Labels:
    """Fields read from labelled lines: tags and authors in page order, the ISO date."""

    tags: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    published: str | None = None


@dataclass(frozen=True, kw_only=True)
class Cleaned:
    """The result of :meth:`RuleSet.clean`."""

    blocks: tuple[str, ...]
    removed: tuple[RemovedBlock, ...]
    labels: Labels


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One validated rule of a pack; ``kind == "label"`` for ``[[labels]]`` entries."""

    source: str  # the pack's file name, e.g. "en.toml"
    id: str
    kind: str
    match: str  # "regex" for labels
    patterns: tuple[str, ...]
    max_chars: int
    position: str = "any"
    field: str | None = None  # labels only
    split: tuple[str, ...] = ()  # labels only

    @property
    def ref(self) -> str:
        """The id reported in :attr:`RemovedBlock.rule`, e.g. ``"en.toml#disclaimer-1"``."""
        return f"{self.source}#{self.id}"


@dataclass(frozen=True, kw_only=True)
class _Bucket:
    """Rules of one kind, position and max_chars joined into (at most) two alternations.

    Why two: Python's ``re`` tries every alternative at every offset during ``search``, even
    alternatives that start with ``^``.  Patterns anchored at the start are therefore joined
    into one regex used with ``match`` (tried at offset 0 only), the rest into one for
    ``search``.
    """

    kind: str
    position: str
    max_chars: int
    anchored: re.Pattern[str] | None
    floating: re.Pattern[str] | None
    by_group: Mapping[str, Rule]
    # One literal per floating pattern that any match of it contains, lower-cased, or None
    # when a pattern has none: a block containing none of them cannot match (see _Folded).
    floating_literals: tuple[str, ...] | None = None
    # The anchored alternatives that can match a block starting with a character whose lower
    # case is the key (in order; None: none can), and those for other keys (see _first_keys).
    # Empty when the patterns' first characters are unknown.
    anchored_by_first: Mapping[str, re.Pattern[str] | None] = field(
        default_factory=lambda: MappingProxyType({})
    )
    anchored_other: re.Pattern[str] | None = None

    def find(self, text: str, folded: _Folded | None = None, first: str = "") -> Rule | None:
        """The rule whose pattern matches ``text`` first, or None; ``first`` is
        :func:`_first_key` of ``text`` ("" when unknown: every anchored pattern is tried)."""
        anchored = self.anchored
        if first and self.anchored_by_first:
            anchored = self.anchored_by_first.get(first, self.anchored_other)
        m = anchored.match(text) if anchored is not None else None
        if (
            m is None
            and self.floating is not None
            and (folded is None or folded.may_contain(self.floating_literals))
        ):
            m = self.floating.search(text)
        if m is None:
            return None
        # the rule's own group closes last, so lastgroup names it (rule patterns have no names)
        group = m.lastgroup
        if group is None or group not in self.by_group:
            group = next(g for g, v in m.groupdict().items() if v is not None)
        return self.by_group[group]


class _Folded:
    """A normalised block, lower-cased once, for the literal prefilter of the buckets.

    Why exact: with IGNORECASE, ``re`` matches a pattern character ``p`` against a text
    character ``t`` when their simple lower cases are equal, or when ``t``'s is one of the few
    "extra case" partners of ``p``'s (``ı`` for ``i``, ``ſ`` for ``s``: ``_CASE_PARTNERS``).
    ``str.lower`` is the simple lower case character by character except for ``İ`` (which gives
    ``i`` + U+0307) and a final sigma (``ς``, whose partner is ``σ``). So when a block's lower
    case contains neither U+0307 nor any partner of a literal's characters (``danger``: never
    ASCII, see ``_required_literal``), a match implies the literal in it; other blocks are
    searched without the prefilter.

    ``every``: the literals of all the buckets, looked for once (at the first question) so
    that each bucket asks a set; a bucket's literals must be among them. Without it, each
    question looks for its literals.
    """

    __slots__ = ("_every", "_low", "_present", "_usable")

    def __init__(self, text: str, danger: re.Pattern[str], every: Sequence[str] = ()) -> None:
        self._low = text.lower()
        self._usable = text.isascii() or danger.search(self._low) is None
        self._every = every
        self._present: frozenset[str] | None = None

    def may_contain(self, literals: tuple[str, ...] | None) -> bool:
        """False only when the block contains none of ``literals`` (None: no prefilter)."""
        if literals is None or not self._usable:
            return True
        low = self._low
        if not self._every:
            return any(literal in low for literal in literals)
        if self._present is None:
            self._present = frozenset([literal for literal in self._every if literal in low])
        return not self._present.isdisjoint(literals)


@dataclass(frozen=True, kw_only=True)
class _BucketIndex:
    """The buckets of one position, in order, that may match a block with a given first key
    (see :func:`_first_key`): those with floating patterns or an anchored alternation for it.
    A block of unknown first key ("") tries them all."""

    every: tuple[_Bucket, ...]
    by_first: Mapping[str, tuple[_Bucket, ...]]
    other: tuple[_Bucket, ...]

    @classmethod
    def of(cls, buckets: Sequence[_Bucket], position: str) -> _BucketIndex:
        every = tuple(b for b in buckets if b.position == position)
        keys = {key for b in every for key in b.anchored_by_first}

        def may_match(key: str | None) -> tuple[_Bucket, ...]:
            return tuple(b for b in every if b.floating is not None or _anchored_for(b, key))

        return cls(
            every=every,
            by_first=MappingProxyType({key: may_match(key) for key in sorted(keys)}),
            other=may_match(None),
        )

    def buckets(self, first: str) -> tuple[_Bucket, ...]:
        return self.by_first.get(first, self.other) if first else self.every


def _anchored_for(bucket: _Bucket, key: str | None) -> bool:
    """True when ``bucket`` has an anchored alternation for blocks of first key ``key`` (None:
    a key none of its patterns starts with)."""
    if not bucket.anchored_by_first:
        return bucket.anchored is not None
    if key is None:
        return bucket.anchored_other is not None
    return bucket.anchored_by_first.get(key, bucket.anchored_other) is not None


@dataclass(frozen=True, kw_only=True)
class _LabelMatcher:
    rule: Rule
    regex: re.Pattern[str]
    # _first_key of every block the (start-anchored) pattern can match, or None: unknown.
    first: frozenset[str] | None = None


@dataclass(frozen=True, kw_only=True)
class _LabelIndex:
    """The label rules of one position, in order, that may match a block with a given first
    key (its ``first`` holds the key, or is unknown). A block of unknown first key ("") tries
    them all."""

    every: tuple[_LabelMatcher, ...]
    by_first: Mapping[str, tuple[_LabelMatcher, ...]]
    other: tuple[_LabelMatcher, ...]

    @classmethod
    def of(cls, labels: Sequence[_LabelMatcher], position: str) -> _LabelIndex:
        every = tuple(lm for lm in labels if lm.rule.position == position)
        keys = {key for lm in every for key in lm.first or ()}
        return cls(
            every=every,
            by_first=MappingProxyType(
                {
                    key: tuple(lm for lm in every if lm.first is None or key in lm.first)
                    for key in sorted(keys)
                }
            ),
            other=tuple(lm for lm in every if lm.first is None),
        )

    def labels(self, first: str) -> tuple[_LabelMatcher, ...]:
        return self.by_first.get(first, self.other) if first else self.every


@dataclass(frozen=True, kw_only=True)
class _Hit:
    rule: Rule
    value: str | None = None  # a label's raw value


class RuleSet:
    """Compiled boilerplate rules from one or more language packs."""

    __slots__ = (
        "_buckets",
        "_by_first",
        "_danger",
        "_labels",
        "_labels_by_first",
        "_literals",
        "_rules",
    )

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._rules = tuple(rules)
        self._buckets = _compile_buckets(self._rules)
        self._danger = _danger([b.floating_literals or () for b in self._buckets])
        self._literals = tuple(
            dict.fromkeys(lit for b in self._buckets for lit in b.floating_literals or ())
        )
        self._labels = tuple(
            _LabelMatcher(
                rule=r,
                regex=re.compile(r.patterns[0], re.IGNORECASE),
                first=(
                    None
                    if _strip_start_anchor(r.patterns[0]) is None
                    else _first_keys(r.patterns[0])
                ),
            )
            for r in self._rules
            if r.kind == "label"
        )
        self._by_first = {p: _BucketIndex.of(self._buckets, p) for p in POSITIONS}
        self._labels_by_first = {p: _LabelIndex.of(self._labels, p) for p in POSITIONS}

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule, label rules included, in load order."""
        return self._rules

    def __len__(self) -> int:
        return len(self._rules)

    def __repr__(self) -> str:
        return f"RuleSet({len(self._rules)} rules)"

    @classmethod
    def load_dir(cls, path: Path) -> RuleSet:
        """Every ``*.toml`` in ``path`` (sorted by name). One-line ConfigError on a bad file."""
        if not path.is_dir():
            raise ConfigError(f"{path}: boilerplate rule folder not found")
        rules: list[Rule] = []
        for file in sorted(path.glob("*.toml")):
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{file}: cannot read rule pack: {exc}") from None
            rules.extend(_parse_pack(text, name=file.name, display=str(file)))
        return cls(rules)

    @classmethod
    def from_text(cls, text: str, *, name: str) -> RuleSet:
        """One pack from TOML text; ``name`` stands for the file name in ids and errors."""
        return cls(_parse_pack(text, name=name, display=name))

    def clean(self, blocks: Sequence[str]) -> Cleaned:
        """Split ``blocks`` into kept and removed ones and read the labels (see module doc)."""
        texts = [_normalise(b) for b in blocks]
        hits: list[_Hit | None] = [self._match(t, "any") for t in texts]
        last_body = max(
            (i for i, t in enumerate(texts) if hits[i] is None and _is_body(t)), default=-1
        )
        for i in range(last_body + 1, len(texts)):
            if hits[i] is None:
                hits[i] = self._match(texts[i], "tail")
        kept: list[str] = []
        removed: list[RemovedBlock] = []
        tags: list[str] = []
        authors: list[str] = []
        published: str | None = None
        for block, hit in zip(blocks, hits, strict=True):
            if hit is None:
                kept.append(block)
                continue
            removed.append(RemovedBlock(kind=hit.rule.kind, text=block, rule=hit.rule.ref))
            if hit.value is None:
                continue
            if hit.rule.field == "published":
                published = published or parse_date_text(hit.value)
            else:
                target = tags if hit.rule.field == "tags" else authors
                target.extend(_split_values(hit.value, hit.rule.split))
        return Cleaned(
            blocks=tuple(kept),
            removed=tuple(removed),
            labels=Labels(tags=_dedupe(tags), authors=_dedupe(authors), published=published),
        )

    def _match(self, text: str, position: str) -> _Hit | None:
        if not text or _DATELINE.match(text):
            return None
        size = len(text)
        folded = _Folded(text, self._danger, self._literals) if self._danger is not None else None
        first = _first_key(text)
        for lm in self._labels_by_first[position].labels(first):
            if size > lm.rule.max_chars:
                continue
            m = lm.regex.search(text)
            if m is None:
                continue
            value = m.group("value")
            if value is None or not value.strip():
                continue
            if lm.rule.field == "published" and parse_date_text(value) is None:
                continue
            return _Hit(rule=lm.rule, value=value)
        for bucket in self._by_first[position].buckets(first):
            if size > bucket.max_chars:
                continue
            rule = bucket.find(text, folded, first)
            if rule is not None:
                return _Hit(rule=rule)
        return None


# --- loading -------------------------------------------------------------------------------


def _parse_pack(text: str, *, name: str, display: str) -> list[Rule]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{display}: invalid TOML: {exc}") from None
    for key in raw:
        if key not in _TOP_KEYS:
            known = ", ".join(sorted(_TOP_KEYS))
            raise ConfigError(f"{display}: top level: unknown key {key!r} (known: {known})")
    language = raw.get("language")
    if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2,3}", language):
        raise ConfigError(f"{display}: top level: key 'language': must be a language code")
    rules: list[Rule] = []
    seen: set[str] = set()
    for section, parse in (("rules", _parse_rule), ("labels", _parse_label)):
        items = raw.get(section, [])
        if not isinstance(items, list):
            raise ConfigError(f"{display}: top level: key {section!r}: must be [[{section}]]")
        for index, item in enumerate(items):
            rule = parse(item, name=name, display=display, index=index)
            if rule.id in seen:
                where = f"{section}[{index}] ({rule.id!r})"
                raise ConfigError(f"{display}: {where}: key 'id': duplicate id")
            seen.add(rule.id)
            rules.append(rule)
    return rules


def _fail(display: str, where: str, key: str, why: str) -> ConfigError:
    return ConfigError(f"{display}: {where}: key {key!r}: {why}")


def _common(
    item: object,
    *,
    section: str,
    keys: frozenset[str],
    display: str,
    index: int,
    default_id: str | None,
) -> tuple[Mapping[str, Any], str, str]:
    """Check the table and its keys; return it, its id and the "where" of error messages."""
    if not isinstance(item, dict):
        raise ConfigError(f"{display}: {section}[{index}]: must be a table")
    if "id" not in item and default_id is None:
        raise _fail(display, f"{section}[{index}]", "id", "missing")
    rid = item.get("id", default_id)
    if not isinstance(rid, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", rid):
        raise _fail(display, f"{section}[{index}]", "id", f"bad id {rid!r} (use [A-Za-z0-9_.-])")
    where = f"{section}[{index}] ({rid!r})"
    for key in item:
        if key not in keys:
            known = ", ".join(sorted(keys))
            raise ConfigError(f"{display}: {where}: unknown key {key!r} (known: {known})")
    if rid == "template":
        raise _fail(display, where, "id", "'template' is reserved for the learned-template layer")
    return item, rid, where


def _choice(
    item: Mapping[str, Any],
    key: str,
    options: Sequence[str],
    *,
    default: str | None,
    display: str,
    where: str,
) -> str:
    value = item.get(key, default)
    if value is None:
        raise _fail(display, where, key, f"missing (one of {', '.join(options)})")
    if value not in options:
        raise _fail(display, where, key, f"{value!r} is not one of {', '.join(options)}")
    return str(value)


def _max_chars(item: Mapping[str, Any], default: int, display: str, where: str) -> int:
    value = item.get("max_chars", default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
        raise _fail(display, where, "max_chars", f"must be an integer 1-100000, got {value!r}")
    return value


def _strings(value: object, display: str, where: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(x, str) for x in value):
        raise _fail(display, where, key, "must be a non-empty string or list of strings")
    if not all(x.strip() for x in value):
        raise _fail(display, where, key, "empty pattern")
    return tuple(value)


def _parse_rule(item: object, *, name: str, display: str, index: int) -> Rule:
    table, rid, where = _common(
        item, section="rules", keys=_RULE_KEYS, display=display, index=index, default_id=None
    )
    ctx = {"display": display, "where": where}
    kinds = BOILERPLATE_KINDS[:-1]  # "label" comes from [[labels]] only
    kind = _choice(table, "kind", kinds, default=None, **ctx)
    match = _choice(table, "match", MATCH_TYPES, default=None, **ctx)
    position = _choice(table, "position", POSITIONS, default="any", **ctx)
    if ("pattern" in table) == ("patterns" in table):
        raise _fail(display, where, "pattern", "give exactly one of 'pattern' and 'patterns'")
    key = "pattern" if "pattern" in table else "patterns"
    raw_patterns = _strings(table[key], display, where, key)
    patterns = []
    for p in raw_patterns:
        regex = _literal(p, match) if match != "regex" else p
        if match == "regex" and _FORBIDDEN_IN_REGEX.search(p):
            why = f"{p!r}: named groups and numbered backreferences are not allowed in rules"
            raise _fail(display, where, key, why)
        try:
            re.compile(f"(?:{regex})", re.IGNORECASE)
        except re.error as exc:
            raise _fail(display, where, key, f"bad regex {p!r}: {exc}") from None
        patterns.append(regex)
    return Rule(
        source=name,
        id=rid,
        kind=kind,
        match=match,
        patterns=tuple(patterns),
        max_chars=_max_chars(table, DEFAULT_MAX_CHARS[match], display, where),
        position=position,
    )


def _parse_label(item: object, *, name: str, display: str, index: int) -> Rule:
    field = item.get("field") if isinstance(item, dict) else None
    table, rid, where = _common(
        item,
        section="labels",
        keys=_LABEL_KEYS,
        display=display,
        index=index,
        default_id=f"{field}-{index + 1}" if isinstance(field, str) else f"label-{index + 1}",
    )
    ctx = {"display": display, "where": where}
    field_name = _choice(table, "field", LABEL_FIELDS, default=None, **ctx)
    position = _choice(table, "position", POSITIONS, default="any", **ctx)
    if "pattern" not in table:
        raise _fail(display, where, "pattern", "missing (a regex with a group (?P<value>...))")
    pattern = table["pattern"]
    if not isinstance(pattern, str) or not pattern.strip():
        raise _fail(display, where, "pattern", "must be a non-empty string")
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise _fail(display, where, "pattern", f"bad regex {pattern!r}: {exc}") from None
    if "value" not in compiled.groupindex:
        raise _fail(display, where, "pattern", "needs a named group (?P<value>...)")
    split: tuple[str, ...] = ()
    if "split" in table:
        if field_name == "published":
            raise _fail(display, where, "split", "not allowed for field 'published'")
        split = _strings(table["split"], display, where, "split")
    return Rule(
        source=name,
        id=rid,
        kind="label",
        match="regex",
        patterns=(pattern,),
        max_chars=_max_chars(table, _LABEL_MAX_CHARS, display, where),
        position=position,
        field=field_name,
        split=split,
    )


def _literal(pattern: str, match: str) -> str:
    """A regex for a literal pattern: escaped, flexible spaces, word boundaries, anchors."""
    text = _normalise(pattern)
    parts: list[str] = []
    for i, ch in enumerate(text):
        if ch == " ":
            nxt = text[i + 1] if i + 1 < len(text) else ""
            parts.append(r"\s*" if not (nxt.isalnum() or nxt == "_") else r"\s+")
        else:
            parts.append(re.escape(ch))
    body = "".join(parts)
    start = r"(?<!\w)" if text[0].isalnum() else ""
    end = r"(?!\w)" if text[-1].isalnum() else ""
    if match == "prefix":
        return f"^{body}{end}"
    if match == "exact":
        return f"^{body}[\\s.:!…]*$"
    return f"{start}{body}{end}"


def _compile_buckets(rules: Sequence[Rule]) -> tuple[_Bucket, ...]:
    groups: dict[tuple[int, str, int], list[Rule]] = {}
    for rule in rules:
        if rule.kind == "label":
            continue
        key = (BOILERPLATE_KINDS.index(rule.kind), rule.position, rule.max_chars)
        groups.setdefault(key, []).append(rule)
    buckets: list[_Bucket] = []
    counter = 0
    for (kind_index, position, max_chars), members in sorted(groups.items()):
        anchored: list[str] = []
        anchored_keys: list[frozenset[str] | None] = []
        floating: list[str] = []
        literals: list[str | None] = []
        by_group: dict[str, Rule] = {}
        for rule in members:
            for pattern in rule.patterns:
                group = f"r{counter}"
                counter += 1
                by_group[group] = rule
                rest = _strip_start_anchor(pattern)
                if rest is None:
                    floating.append(f"(?P<{group}>{pattern})")
                    literals.append(_required_literal(pattern))
                else:
                    anchored.append(f"(?P<{group}>{rest})")
                    anchored_keys.append(_first_keys(rest))
        buckets.append(
            _Bucket(
                kind=BOILERPLATE_KINDS[kind_index],
                position=position,
                max_chars=max_chars,
                anchored=re.compile("|".join(anchored), re.IGNORECASE) if anchored else None,
                floating=re.compile("|".join(floating), re.IGNORECASE) if floating else None,
                by_group=MappingProxyType(by_group),
                floating_literals=_all_or_none(literals),
                **_dispatch(anchored, anchored_keys),
            )
        )
    return tuple(buckets)


def _all_or_none(literals: Sequence[str | None]) -> tuple[str, ...] | None:
    if not literals or any(literal is None for literal in literals):
        return None
    return tuple(literal for literal in literals if literal is not None)


def _dispatch(alternatives: Sequence[str], keys: Sequence[frozenset[str] | None]) -> dict[str, Any]:
    """``anchored_by_first`` and ``anchored_other`` of a bucket (see :class:`_Bucket`): per
    first key, the alternatives (in order) that can start with it or whose start is unknown;
    one regex per distinct set of alternatives. Empty without ``re``'s parser or partners."""
    if not alternatives or not _CASE_PARTNERS or _RE_PARSER is None:
        return {}
    compiled: dict[tuple[int, ...], re.Pattern[str] | None] = {}

    def regex(key: str | None) -> re.Pattern[str] | None:
        chosen = tuple(
            i for i, first in enumerate(keys) if first is None or (key is not None and key in first)
        )
        if chosen not in compiled:
            joined = "|".join(alternatives[i] for i in chosen)
            compiled[chosen] = re.compile(joined, re.IGNORECASE) if chosen else None
        return compiled[chosen]

    every = sorted({key for first in keys if first is not None for key in first})
    return {
        "anchored_by_first": MappingProxyType({key: regex(key) for key in every}),
        "anchored_other": regex(None),
    }


def _first_key(text: str) -> str:
    """The lower case of ``text``'s first character, or "" when it is not one character
    (``İ``: ``re`` lower-cases it to ``i``, ``str.lower`` to two characters)."""
    key = text[:1].lower()
    return key if len(key) == 1 else ""


def _case_partners() -> Mapping[str, str]:
    """Lower-case character -> its extra IGNORECASE partners, from the running ``re`` engine
    (``re._casefix``, CPython 3.11+); empty when unknown, which disables the prefilter."""
    try:
        extra = importlib.import_module("re._casefix")._EXTRA_CASES
    except (ImportError, AttributeError):
        return {}
    return MappingProxyType({chr(c): "".join(map(chr, ps)) for c, ps in extra.items()})


_CASE_PARTNERS = _case_partners()


def _re_parser() -> Any:
    """``re``'s pattern parser (``re._parser``, CPython 3.11+), or None when unknown, which
    disables the first-character dispatch."""
    try:
        return importlib.import_module("re._parser")
    except ImportError:
        return None


_RE_PARSER = _re_parser()
# Ranges in a character class are expanded up to this many characters, else unknown.
_MAX_RANGE = 512


def _keys_of(char: str, ignore_case: bool) -> set[str] | None:
    """The ``_first_key`` values of the characters ``char`` matches, or None when unknown.

    Under IGNORECASE ``re`` matches a text character whose simple lower case is ``char``'s or
    one of its extra-case partners (``_Folded``); otherwise only ``char`` itself.
    """
    low = char.lower()
    if len(low) != 1:
        return None
    return {low, *_CASE_PARTNERS.get(low, "")} if ignore_case else {low}


def _first_keys(pattern: str) -> frozenset[str] | None:
    """Every ``_first_key`` of a text that ``pattern`` (compiled with IGNORECASE) can match
    at offset 0, or None when unknown (a class, a category, ``.``, a pattern that can match
    the empty string, an unknown engine).

    A conservative walk of ``re``'s parse of the pattern: zero-width assertions are skipped
    (which only adds keys), groups, alternations and repeats are followed, scoped flags
    (``(?-i:...)``) are tracked.
    """
    if _RE_PARSER is None or not _CASE_PARTNERS:
        return None
    try:
        parsed = _RE_PARSER.parse(pattern, re.IGNORECASE)
    # an engine whose parser differs from the one this walk was written for: no dispatch
    except Exception:  # noqa: BLE001
        return None
    try:
        keys, can_be_empty = _first_of(list(parsed), ignore_case=True)
    except (TypeError, ValueError, AttributeError):
        return None
    return frozenset(keys) if keys is not None and not can_be_empty else None


def _first_of(items: Sequence[Any], *, ignore_case: bool) -> tuple[set[str] | None, bool]:
    """(first keys or None for unknown, whether the sequence can match the empty string)."""
    keys: set[str] = set()
    for op, av in items:
        name = str(op)
        if name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue  # zero-width: the next item starts the match
        if name == "LITERAL":
            found = _keys_of(chr(av), ignore_case)
            return (None if found is None else keys | found), False
        if name == "IN":
            found = _class_keys(av, ignore_case)
            return (None if found is None else keys | found), False
        inner, empty = _first_of_compound(name, av, ignore_case)
        if inner is None:
            return None, False
        keys |= inner
        if not empty:
            return keys, False
    return keys, True


def _first_of_compound(name: str, av: Any, ignore_case: bool) -> tuple[set[str] | None, bool]:
    """:func:`_first_of` of a group, an alternation or a repeat (None: anything else)."""
    if name == "SUBPATTERN":
        _, add_flags, del_flags, sub = av
        scoped = bool(add_flags & re.IGNORECASE) or (ignore_case and not del_flags & re.IGNORECASE)
        return _first_of(list(sub), ignore_case=scoped)
    if name == "ATOMIC_GROUP":
        return _first_of(list(av), ignore_case=ignore_case)
    if name == "BRANCH":
        keys: set[str] = set()
        empty = False
        for alternative in av[1]:
            found, alt_empty = _first_of(list(alternative), ignore_case=ignore_case)
            if found is None:
                return None, False
            keys |= found
            empty = empty or alt_empty
        return keys, empty
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, _, sub = av
        found, empty = _first_of(list(sub), ignore_case=ignore_case)
        return found, empty or low == 0
    return None, False


def _class_keys(items: Sequence[Any], ignore_case: bool) -> set[str] | None:
    """The first keys of a character class of literals (and, outside IGNORECASE, ranges)."""
    keys: set[str] = set()
    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            chars = [chr(av)]
        elif name == "RANGE" and not ignore_case and av[1] - av[0] < _MAX_RANGE:
            chars = [chr(c) for c in range(av[0], av[1] + 1)]
        else:
            return None  # negation, categories, ranges under IGNORECASE: unknown
        for char in chars:
            found = _keys_of(char, ignore_case)
            if found is None:
                return None
            keys |= found
    return keys


def _danger(literal_sets: Iterable[tuple[str, ...]]) -> re.Pattern[str] | None:
    """The characters whose presence in a lower-cased block disables the prefilter (see
    :class:`_Folded`), or None when there is no prefilter (no literal, or unknown engine)."""
    chars = {ch for literals in literal_sets for literal in literals for ch in literal}
    if not chars or not _CASE_PARTNERS:
        return None
    danger = {p for ch in chars for p in _CASE_PARTNERS.get(ch, "")} | {"\u0307"}
    return re.compile("[" + re.escape("".join(sorted(danger))) + "]")


_QUANTIFIER = re.compile(r"\{\d*(?:,\d*)?\}")
# Verbose, ASCII or locale flags and escapes with arguments (\x41, \u00e9, \N{...}, octal,
# backreferences): the scan would misread them, so such patterns get no literal.
_UNSCANNED = re.compile(r"\(\?[a-zA-Z]*[xaL]|\\[xuUN0-9]")
_MIN_LITERAL = 3


def _required_literal(pattern: str) -> str | None:
    """The longest run of literal characters (lower-cased) that every match of ``pattern``
    contains, or None (fewer than ``_MIN_LITERAL`` characters, or a top-level ``|``).

    A conservative scan of the top level: groups, classes, escapes of letters and digits,
    anchors and ``.`` end a run, and a character followed by ``?``, ``*`` or ``{...}`` is left
    out of it. Characters with an ASCII IGNORECASE partner (see ``_Folded``) end a run too.
    """
    if _UNSCANNED.search(pattern):
        return None
    runs: list[str] = []
    run: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        literal: str | None = None
        if ch == "\\":
            nxt = pattern[i + 1 : i + 2]
            if nxt and not nxt.isalnum() and nxt != "_":
                literal = nxt
            i += 2
        elif ch in "([":
            i = _skip_group(pattern, i)
        elif ch == "|":
            return None
        elif ch in "?*" or (ch == "{" and _QUANTIFIER.match(pattern, i)):
            if run:
                run.pop()  # the quantified character is optional
            quantifier = _QUANTIFIER.match(pattern, i) if ch == "{" else None
            i = quantifier.end() if quantifier else i + 1
        elif ch in ".^$+)":
            i += 1
        else:
            literal = ch
            i += 1
        low = literal.lower() if literal is not None else ""
        if len(low) == 1 and not any(p.isascii() for p in _CASE_PARTNERS.get(low, "")):
            run.append(low)
        else:
            runs.append("".join(run))
            run = []
    runs.append("".join(run))
    best = max(runs, key=len)
    return best if len(best) >= _MIN_LITERAL else None


def _structure(pattern: str, start: int = 0) -> Iterator[tuple[int, str]]:
    """``(index, character)`` of every unescaped character of ``pattern`` from ``start`` that
    lies outside character classes; a whole class is one ``(index of its "]", "[]")``. A "]"
    right after "[" or "[^" is literal (``[]a]``, ``[^]a]``)."""
    in_class = False
    class_start = 0  # where a "]" is still literal
    escaped = False
    for i in range(start, len(pattern)):
        ch = pattern[i]
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            if ch == "^" and i == class_start:
                class_start += 1
            elif ch == "]" and i > class_start:
                in_class = False
                yield i, "[]"
        elif ch == "[":
            in_class = True
            class_start = i + 1
        else:
            yield i, ch


def _skip_group(pattern: str, start: int) -> int:
    """The index after the group or character class opening at ``start`` (escapes and
    nested groups and classes skipped)."""
    depth = 0
    for i, ch in _structure(pattern, start):
        if ch == "[]" and depth == 0:
            return i + 1
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i + 1
    return len(pattern)


def _strip_start_anchor(pattern: str) -> str | None:
    """``pattern`` without its leading ``^`` when that ``^`` anchors the whole pattern (no ``|``
    outside groups and character classes), else None."""
    if not pattern.startswith("^"):
        return None
    depth = 0
    for _, ch in _structure(pattern):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return None
    return pattern[1:]


def _normalise(text: str) -> str:
    # ASCII text is NFC and has no typographic apostrophe; str.split() splits on exactly the
    # characters re's \s matches.
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
        if any(ch in text for ch in _APOSTROPHE_CHARS):
            text = text.translate(_APOSTROPHES)
    return " ".join(text.split())


def _is_body(text: str) -> bool:
    return len(text) >= _BODY_MIN_CHARS and _BODY_END.search(text) is not None


def _split_values(value: str, separators: tuple[str, ...]) -> list[str]:
    parts = [value]
    for sep in separators:
        parts = [piece for part in parts for piece in part.split(sep)]
    cleaned = (p.strip().strip(" .;:·|").strip() for p in parts)
    return [p for p in cleaned if p]


def _dedupe(values: Iterable[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    out: list[str] = []
    for v in values:
        if v.casefold() not in seen:
            seen.add(v.casefold())
            out.append(v)
    return tuple(out)


# --- dates ---------------------------------------------------------------------------------

_MONTH_NAMES: Mapping[str, int] = MappingProxyType(
    {
        name: number
        for number, names in enumerate(
            (
                # en, de, es, fr, ru (genitive and nominative); abbreviations follow full names
                "january jan januar jänner jän enero ene janvier janv января январь янв",
                "february feb febr februar febrero février fevrier févr fevr февраля февраль фев",
                "march mar märz maerz mär marzo mars марта март мар",
                "april apr abril avril avr апреля апрель апр",
                "may mai mayo мая май",
                "june jun juni junio juin июня июнь",
                "july jul juli julio juillet juil июля июль",
                "august aug agosto ago août aout августа август авг",
                "september sep sept septiembre setiembre septembre сентября сентябрь сен сент",
                "october oct okt oktober octubre octobre октября октябрь окт",
                "november nov noviembre novembre ноября ноябрь",
                "december dec dez dezember diciembre dic décembre decembre déc декабря декабрь дек",
            ),
            start=1,
        )
        for name in names.split()
    }
)
_WEEKDAY = (
    r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?|montag|dienstag|"
    r"mittwoch|donnerstag|freitag|samstag|sonnabend|sonntag|lunes|martes|miércoles|miercoles|"
    r"jueves|viernes|sábado|sabado|domingo|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|"
    r"понедельник|вторник|среда|четверг|пятница|суббота|воскресенье)\.?,?\s+"
)
_TIME = (
    r"(?:,?\s+(?:at\s+|um\s+|à\s+|a\s+las\s+|в\s+)?"
    r"\d{1,2}[:.h]\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?)?"
)
_MONTH = r"(?P<month>[^\W\d_]{3,10})\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th|er|\.)?"
_YEAR = r"(?P<year>\d{4})(?:\s*(?:г\.|года|год|г))?"
_DATE_FORMS = (
    # July 22, 2008 / Jul. 22nd 2008
    re.compile(rf"{_MONTH}\s+{_DAY},?\s+{_YEAR}", re.IGNORECASE),
    # 22 July 2008 / 22. Juli 2008 / 22 de julio de 2008 / 1er juillet 2008 / 22 июля 2008 г.
    re.compile(rf"{_DAY}\s*(?:de\s+)?{_MONTH},?\s+(?:(?:de|del)\s+)?{_YEAR}", re.IGNORECASE),
    # 2008-07-22 (ISO; an ISO time may follow)
    re.compile(
        r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})(?:T[\d:.]+(?:Z|[+-][\d:]+)?)?"
    ),
    # 22/07/2008, 22.07.2008, 22-07-2008 (day first, as everywhere but the US)
    re.compile(r"(?P<day>\d{1,2})[./-](?P<month>\d{1,2})[./-](?P<year>\d{4})"),
)
_DATE_WRAPPER = re.compile(rf"(?:{_WEEKDAY})?(?P<date>.+?){_TIME}", re.IGNORECASE)


def parse_date_text(text: str) -> str | None:
    """An ISO date (``YYYY-MM-DD``) from a date written out in en/de/es/fr/ru, or None.

    Accepts "July 22, 2008", "22 July 2008", "22. Juli 2008", "22 de julio de 2008",
    "22 juillet 2008", "22 июля 2008", "2008-07-22" and "22/07/2008" (day first), with an
    optional leading weekday and trailing time.  The whole text must be the date; impossible
    dates (31 June) give None.
    """
    text = _normalise(text).strip(" ,;")
    wrapper = _DATE_WRAPPER.fullmatch(text)
    if wrapper is None:
        return None
    core = wrapper.group("date").strip(" ,")
    for form in _DATE_FORMS:
        m = form.fullmatch(core)
        if m is None:
            continue
        month_text = m.group("month")
        if month_text.isdigit():
            month: int | None = int(month_text)
        else:
            month = _MONTH_NAMES.get(month_text.casefold())
        if month is None:
            continue
        try:
            return dt.date(int(m.group("year")), month, int(m.group("day"))).isoformat()
        except ValueError:
            return None
    return None
