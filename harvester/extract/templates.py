"""Learned per-outlet templates: paragraphs that recur across distinct stories are furniture.

Contract
--------
A :class:`TemplateModel` belongs to ONE outlet.  The pipeline feeds it every extracted article as
a sequence of text blocks (:meth:`TemplateModel.observe`) and asks it which blocks of an article
are the outlet's recurring furniture (:meth:`TemplateModel.is_template`,
:meth:`TemplateModel.clean`).  The model is pure: no I/O, no clock, no randomness, no
module-level mutable state.  The same observations in the same order give the same model and the
same :meth:`TemplateModel.to_json` (which the owner persists in the catalog;
:meth:`TemplateModel.from_json` restores a model that behaves identically).

* :func:`block_shape` normalises a block so that furniture with varying details ("Updated 14:05,
  3 March 2026", "By Jane Doe") has one shape; :func:`shape_key` is a short digest of the shape.
* A block is a *template block* once its key occurs in at least ``min_articles`` articles that
  are DISTINCT STORIES.  Copies and updates of one story share their paragraphs, but that does
  not make those paragraphs furniture; a promo that runs under three different stories is.
* Blocks whose shape is longer than ``max_block_chars`` are never learned: furniture is short,
  long paragraphs are article text.
* Once learned, a key stays learned (stable and explainable: the removal of a block never
  depends on which articles happen to be in the window); :meth:`TemplateModel.learned` reports
  current counts.
* Memory is bounded: only the ``max_articles`` most recently inserted articles are kept.

Algorithm
---------
Each article is kept as the set of its block keys; an inverted index maps key -> article ids in
insertion order, and every key carries a weight (the length of its shape).

*Same story.*  Two articles are the same story when the weighted Jaccard similarity of their key
sets exceeds ``max_overlap``, computed over keys that are NOT already learned (known furniture
says nothing about which story an article tells).  Keys are weighted by shape length so that
short, not-yet-learned furniture (the template candidates) barely moves the similarity, while
shared story paragraphs dominate it; this keeps two short articles that carry the same three
promos distinct stories before any promo has been learned.

*Distinct stories of a key.*  Walk the key's posting list in article insertion order; an article
is a new story unless it is the same story as an EARLIER article of that posting (so a chain of
updates, each a little longer than the last, stays one story).  The walk stops as soon as the
answer is known (``min_articles`` new stories when deciding whether to learn).

*Candidates, not all pairs.*  An earlier article can only be the same story if it shares one of
the current article's rarest keys: if the rarest keys of an article weigh at least
``(1 - max_overlap)`` of its total, an article sharing none of them has a similarity of at most
``max_overlap`` (the prefix filter of set-similarity joins).  So each step looks only at the
posting lists of a few rare keys (usually the article's own story paragraphs: one story, a
handful of copies).

*observe* indexes the article, then evaluates only the not-yet-learned, short-enough keys OF THAT
ARTICLE, in key order against one snapshot of the learned set; if some were learned, it
evaluates the rest again (learning changes similarities) until nothing changes.

Complexity: with ``b`` blocks per article and ``P`` the posting length of a key (at most
``max_articles``), observe costs ``O(b log b)`` for shaping and indexing plus, per unlearned key
of the article, one walk of its posting list that stops after ``min_articles`` new stories; each
step of a walk touches the postings of the article's few rarest keys (typically ``O(b)``).  A key
that keeps appearing under distinct stories is learned after ``min_articles`` of them and is not
walked again; a key whose posting stays long is shared by copies of one story, whose rare keys
have short postings.  No step is quadratic in the number of articles.  :meth:`learned` walks the
whole posting list of every learned key (``O(L * P * b)``); it is a report, not a hot path.

Behaviour worth knowing
-----------------------
A background paragraph that an outlet reuses verbatim (modulo numbers, dates and names) in
``min_articles`` distinct stories (say three follow-ups of a long-running affair) IS learned:
from its recurrence it cannot be told apart from an "About the company" paragraph, which is
furniture.  Paragraphs longer than ``max_block_chars`` are protected; so is a paragraph shared
only by copies or updates of one story.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FORMAT",
    "LearnedBlock",
    "Observation",
    "Split",
    "TemplateChanges",
    "TemplateModel",
    "block_shape",
    "shape_key",
]

# Stored in every to_json(); from_json() refuses other formats rather than misreading them.
FORMAT = "harvester.templates/1"

# --- block_shape ----------------------------------------------------------------------------

# Private-use placeholders stand in for <url>, <date>, <name> while the text is still being
# rewritten, so that later steps (names, digits, case folding) cannot touch them.
_URL, _DATE, _NAME = "\ue001", "\ue002", "\ue003"
_PLACEHOLDERS = {_URL: "<url>", _DATE: "<date>", _NAME: "<name>"}
# Typographic variants differ between templates of one outlet (CMS, editors): unify them.
_UNIFY = str.maketrans(
    {
        **dict.fromkeys("‘’‚‛′`´‹›", "'"),
        **dict.fromkeys("“”„‟″«»", '"'),
        **dict.fromkeys("‐‑‒–—―−⁃﹘﹣", "-"),
        # Invisible characters (zero-width space/joiners, BOM, soft hyphen) and any input that
        # happens to use our placeholders are dropped.
        **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad" + "".join(_PLACEHOLDERS), None),
    }
)
# str.translate looks every character up in the table (slow past ASCII): the few characters
# present are found by a regex instead, and an ASCII text needs only the ASCII entries.
_UNIFY_RE = re.compile("[" + re.escape("".join(map(chr, _UNIFY))) + "]")
_UNIFY_ASCII = tuple((chr(c), to or "") for c, to in _UNIFY.items() if c < 128)
_URL_RE = re.compile(
    r"(?:https?://|ftp://|www\.)[^\s<>\"']*[^\s<>\"'.,;:!?)\]]"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    re.IGNORECASE,
)
_MONTHS = (
    # en
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec "
    # de
    "januar jänner februar märz mai juni juli oktober dezember mär okt dez "
    # fr
    "janvier février mars avril juin juillet août septembre octobre novembre décembre "
    "janv févr fév avr juil déc "
    # es
    "enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre noviembre "
    "diciembre ene abr ago dic "
    # ru (nominative, genitive, prepositional, abbreviations)
    "январь февраль март апрель май июнь июль август сентябрь октябрь ноябрь декабрь "
    "января февраля марта апреля мая июня июля августа сентября октября ноября декабря "
    "январе феврале марте апреле мае июне июле августе сентябре октябре ноябре декабре "
    "янв фев мар апр авг сен сент окт ноя нояб дек"
)
_WEEKDAYS = (
    "monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thurs fri "
    "sat sun montag dienstag mittwoch donnerstag freitag samstag sonnabend sonntag lundi mardi "
    "mercredi jeudi vendredi samedi dimanche lunes martes miércoles jueves viernes sábado domingo "
    "понедельник вторник среда среду четверг пятница пятницу суббота субботу воскресенье"
)


def _alternation(words: str) -> str:
    """A regex matching any of ``words``, as a prefix trie ("ma(?:r(?:ch|s|zo)?|y)"): a flat
    alternation of ~150 month and weekday names made block_shape ten times slower."""
    tree: dict[str, Any] = {}
    for word in words.split():
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        if len(branches) == 1 and "" not in node:
            return branches[0]
        # Greedy "?" tries the longer name first; callers end names with (?!\w).
        return "(?:" + "|".join(branches) + ")" + ("?" if "" in node else "")

    return emit(tree)


def _initials(words: str) -> str:
    """A character class of the first letters of ``words`` (matched under IGNORECASE)."""
    return "[" + re.escape("".join(sorted({word[0] for word in words.split()}))) + "]"


def _optional_as_branch(pattern: str) -> str:
    """``pattern`` with every optional non-capturing group ``(?:X)?`` written ``(?:X|)``.

    The same matches, in the same order of trial (X first, then nothing), but sre runs a
    branch where it runs ``(?:X)?`` as a general repeat (a repeat context per attempt): the
    date pattern enters such groups at every word start, and each month name trie has one
    per optional suffix.  Lazy (``??``) and possessive (``?+``) groups are left as they are.
    """
    out = list(pattern)
    opened: list[int] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern.startswith("]", i + 1) or pattern.startswith("^]", i + 1):
                i += pattern.index("]", i + 1) - i  # a leading "]" is a member, not the end
        elif char == "(":
            opened.append(i)
        elif char == ")":
            start = opened.pop()
            if (
                pattern.startswith("(?:", start)
                and pattern.startswith("?", i + 1)
                and not pattern.startswith(("??", "?+"), i + 1)
            ):
                out[i], out[i + 1] = "|)", ""
        i += 1
    return "".join(out)


# Why the lookaheads on first letters: under IGNORECASE, sre cannot skip a branch of a trie by
# its first character (it enters every branch in turn), so each word start cost a walk of four
# tries.  One class test first rejects most words at once; every date starts with a digit, a
# weekday or a month.  This made the date pass four times faster, with the same matches.
_DAY = r"(?<!\d)[0-3]?\d(?:st|nd|rd|th|er|\.)?(?!\d)"
# Russian dates end in "г." / "года" / "год" after the year.
_YEAR_SUFFIX = r"(?:\s*(?:г\.|года|год))?"


def _date_pattern(months: str, weekdays: str, year_suffix: str) -> str:
    """The date regex over these month and weekday names (see :func:`block_shape`)."""
    month = rf"(?={_initials(months)})(?:{_alternation(months)})\.?"
    year = r"(?<!\d)\d{4}(?!\d)" + year_suffix
    return (
        rf"\b(?=[\d{_initials(months + ' ' + weekdays)[1:-1]}])"
        rf"(?:(?={_initials(weekdays)})(?:{_alternation(weekdays)})(?!\w)\.?,?\s+"
        r"(?:the\s+|le\s+|el\s+|den\s+)?)?"
        # Every form below starts with a digit but the last: one test skips them at a letter.
        # At a match's start (a word start, or after the weekday and a space) no digit precedes.
        r"(?:(?=\d)(?:"
        # 2008-07-22, optionally with a time (2008-07-22T14:05:00Z)
        r"\d{4}-\d{1,2}-\d{1,2}(?:[t ]\d{1,2}:\d{2}(?::\d{2})?(?:z|[+-]\d{2}:?\d{2})?)?(?!\d)"
        # 22.07.2008, 22/07/2008, 7/22/08, 2008/07/22
        r"|\d{1,2}[./]\d{1,2}[./](?:\d{4}|\d{2})(?![\d.]\d)"
        r"|\d{4}/\d{1,2}/\d{1,2}(?!\d)"
        # 22 July 2008, 3. März 2026, 1er mars, 3 de marzo de 2026, 3 марта 2026 года
        rf"|{_DAY}\s*(?:of\s+|de\s+)?\b{month}(?!\w)(?:,?\s*(?:de\s+|del\s+)?{year})?"
        # July 22, 2008; Mar. 3 | July 2008, marzo de 2026.  One month walk for both: only the
        # longest month name can be followed by a non-word character, and without its period
        # ("Mar" of "Mar. 3") no day can follow, so the order of the choices tried is unchanged.
        rf")|\b{month}(?!\w)(?:\s*{_DAY}(?:,?\s*{year})?|,?\s*(?:de\s+)?{year})"
        r")"
    )


def _ascii_words(words: str) -> str:
    return " ".join(word for word in words.split() if word.isascii())


_DATE_RE = re.compile(_date_pattern(_MONTHS, _WEEKDAYS, _YEAR_SUFFIX), re.IGNORECASE)
# The same, for a text of ASCII characters and our placeholders (no letters beyond ASCII, so no
# case folding beyond it), matched case-sensitively against the text lowered (str.lower keeps an
# ASCII text's length, so the spans are the text's): every letter in the pattern is lowercase,
# and without IGNORECASE sre skips a trie's branches by their first letter.  ASCII classes and
# no folding make it about three times as fast, with the same matches.  Names and year suffixes
# with letters beyond ASCII cannot match such a text and are left out (fewer branches to try),
# and optional groups are branches.
_DATE_LOWER_ASCII = _optional_as_branch(
    _date_pattern(_ascii_words(_MONTHS), _ascii_words(_WEEKDAYS), "")
)
# Led by the non-word character before the date (the text's start reads as a space): a pattern
# that opens with a class is scanned for it in C (sre's prefix), so a date is tried after spaces
# and punctuation only, where one opening with \b is tried at every position.
_DATE_AFTER_ASCII_RE = re.compile(rf"[^0-9A-Za-z_](?:{_DATE_LOWER_ASCII})", re.ASCII)
_DIGIT_RE = re.compile(r"\d")
_DIGIT_ASCII_RE = re.compile("[0-9]")
_NUMBER_RE = re.compile(r"\d+(?:[.,:]\d+)*")
# One digit first: a pattern that opens with a class is scanned for it in C (sre's prefix).
_NUMBER_ASCII_RE = re.compile(r"[0-9][0-9]*(?:[.,:][0-9]+)*")
# Characters before a word that leave it at the start of a sentence.
_OPENERS = "\"'([{¿¡*•-"
_SENTENCE_END = ".!?:;"


# A capitalised word, where words are runs of letters joined by single apostrophes or hyphens
# ("O'Brien", "Jean-Luc"): its first letter follows no letter (nor a letter and an apostrophe
# or hyphen, which would join it to that word).  The first class (plain ranges: fast to scan)
# holds every uppercase letter and leaves out ASCII, Latin-1 and Cyrillic lowercase, so finditer
# skips most of a text in C; the exact tests (a letter, then str.isupper) run on the few
# candidates.
_CAPITAL_WORD_RE = re.compile(
    r"[A-Z\xc0-\xd6\xd8-\xde\u0100-\u042f\u0460-\U0010ffff]"
    r"(?<=[^\W\d_])(?<![^\W\d_][\s\S])(?<![^\W\d_]['-][\s\S])"
    r"[^\W\d_]*(?:['-][^\W\d_]+)*"
)


# The same words in an ASCII text (letters are A-Z and a-z), each RUN of them at once: a name word
# is a capitalised word of two letters or more, or an initial (one capital, then a period); the
# next word of a run follows one space, or ". " after an initial.  The match starts with its
# capital (a class prefix, which sre scans for in C), the word-start tests after it.
_L = "A-Za-z"
_TAIL = rf"(?>[{_L}]*(?:['-][{_L}]+)*)"  # the rest of a word, whole (atomic: never shortened)
_WORD_END = rf"(?![{_L}]|['-][{_L}])"
_NAME_WORD_REST = rf"(?:(?=[{_L}]|['-][{_L}]){_TAIL}|{_WORD_END}(?=\.))"  # after its capital
_NAME_JOIN = rf"(?: |(?<![{_L}][A-Z])(?<![{_L}]['-][A-Z])(?<=[A-Z])\. )"
_WORD_START = rf"(?<![{_L}][A-Z])(?<![{_L}]['-][A-Z])"  # after a capital
# Characters that leave a following word's sentence start undecided (openers are looked past)
# or decided (a sentence end before it): neither, before a word or before its one space, means
# the word does not open a sentence.  (The text is collapsed: one space at most between.)
_ASCII_OPENERS = "".join(c for c in _OPENERS if c.isascii())
_NOT_OPENER_OR_END = "[^ " + re.escape(_ASCII_OPENERS) + re.escape(_SENTENCE_END) + "]"
# Runs of two words or more (always names), and single name words that do not open a sentence
# by the character before them or before their space; both become a placeholder, so one
# substitution in C replaces them all.  What is left is single words that open a sentence
# (kept) and single words after an opener (decided in Python, rare).
_NAMES_ASCII_RE = re.compile(
    rf"[A-Z]{_WORD_START}"
    rf"(?:{_NAME_WORD_REST}(?:{_NAME_JOIN}[A-Z]{_NAME_WORD_REST})+"
    rf"|(?:(?<={_NOT_OPENER_OR_END} [A-Z])|(?<={_NOT_OPENER_OR_END}[A-Z])){_NAME_WORD_REST})"
)
_NAME_AFTER_OPENER_ASCII_RE = re.compile(
    rf"[{re.escape(_ASCII_OPENERS)}] ?(?P<word>[A-Z]{_WORD_START}{_NAME_WORD_REST})"
)


def _at_sentence_start(text: str, start: int) -> bool:
    """Nothing but openers and spaces between the previous sentence end (or the text's start)
    and ``start``: the prefix's trailing spaces, openers, spaces stripped, scanned backwards."""
    i = start
    while i and text[i - 1].isspace():
        i -= 1
    while i and text[i - 1] in _OPENERS:
        i -= 1
    while i and text[i - 1].isspace():
        i -= 1
    return not i or text[i - 1] in _SENTENCE_END


def _replace_names(text: str) -> str:
    """Runs of Capitalised Words -> placeholder; a lone capitalised word opening a sentence is
    kept (it is usually an ordinary word: "Follow us on Telegram").

    A name word starts with an uppercase letter; a single capital is an initial ("J. Smith")
    only when a period follows ("I" and "A" are not).  Only capitalised words are visited: a
    run's next word is joined only across " " or ". ", which no other word can be inside.
    """
    spans = [m.span() for m in _CAPITAL_WORD_RE.finditer(text) if text[m.start()].isupper()]
    if not spans:
        return text
    names = [end - start > 1 or text.startswith(".", end) for start, end in spans]
    out: list[str] = []
    pos = i = 0
    while i < len(spans):
        if not names[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(spans) and names[j + 1]:
            # Joined across one space, or ". " after an initial.
            gap = text[spans[j][1] : spans[j + 1][0]]
            if not (gap == " " or (gap == ". " and spans[j][1] - spans[j][0] == 1)):
                break
            j += 1
        start = spans[i][0]
        if j > i or not _at_sentence_start(text, start):
            out.append(text[pos:start])
            out.append(_NAME)
            pos = spans[j][1]
        i = j + 1
    out.append(text[pos:])
    return "".join(out)


def _replace_names_ascii(text: str) -> str:
    """:func:`_replace_names` for a collapsed text of ASCII characters and our placeholders.

    Runs of two words or more, and single words clearly inside a sentence, in one substitution
    (see ``_NAMES_ASCII_RE``); then single words after an opener (a quote, a parenthesis, a
    dash), which open a sentence when a sentence end or the text's start comes before the
    openers.  What the first pass replaced reads as a word's end to the second: the same
    verdict as on the text before it.
    """
    text = _NAMES_ASCII_RE.sub(_NAME, text)
    # Substring tests (memchr in C) are cheaper than a scan for the class.
    if not (
        "'" in text
        or "-" in text
        or '"' in text
        or "(" in text
        or "[" in text
        or "{" in text
        or "*" in text
    ):
        return text
    out: list[str] = []
    pos = 0
    for match in _NAME_AFTER_OPENER_ASCII_RE.finditer(text):
        start = match.start("word")
        if not _at_sentence_start(text, start):
            out.append(text[pos:start])
            out.append(_NAME)
            pos = match.end()
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def _replace_dates_ascii(text: str, lower: str) -> str:
    """``_DATE_RE.sub(_DATE, text)`` for a text of ASCII characters and our placeholders, given
    ``lower``, the text lowered.

    Matched by ``_DATE_AFTER_ASCII_RE`` in ``" " + lower``: a match there at ``i`` is a date at
    ``i`` in the text (at a word start, the character before it is not a word character).  A
    date ending in one (say "3 Mar.") may be followed at once by another, whose leading
    character is that one: the scan starts again on it.
    """
    padded = " " + lower
    out: list[str] = []
    pos = at = 0
    while True:
        for match in _DATE_AFTER_ASCII_RE.finditer(padded, at):
            start, end = match.start(), match.end() - 1
            out.append(text[pos:start])
            out.append(_DATE)
            pos = end
            # Dates end in a letter, a digit or a period (never "_").
            if not lower[end - 1].isalnum():
                at = end
                break
        else:
            break
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def _collapsed_ascii(text: str) -> bool:
    """True when ``" ".join(text.split())`` would be ``text`` (an ASCII text): no space at
    either end, no two spaces, none of the other characters str.split() splits on.  A few
    substring tests (memchr in C) cost a third of the split and join they usually spare."""
    return not (
        "  " in text
        or text.startswith(" ")
        or text.endswith(" ")
        or "\n" in text
        or "\t" in text
        or "\r" in text
        or "\x0b" in text
        or "\x0c" in text
        or "\x1c" in text
        or "\x1d" in text
        or "\x1e" in text
        or "\x1f" in text
    )


def _strip_trailing_punctuation(text: str) -> str:
    end = len(text)
    while end and (text[end - 1].isspace() or unicodedata.category(text[end - 1])[0] == "P"):
        end -= 1
    return text[:end]


# The characters _strip_trailing_punctuation strips from a text of ASCII characters and our
# placeholders (private use, not punctuation): ASCII whitespace and punctuation (category P;
# "$+<=>^`|~" are symbols, kept).
_TRAILING_ASCII = "".join(
    char
    for char in map(chr, range(128))
    if char.isspace() or unicodedata.category(char).startswith("P")
)


def _unified(match: re.Match[str]) -> str:
    return _UNIFY[ord(match.group())] or ""


def block_shape(text: str) -> str:
    """The normalised shape of a block, equal for furniture that differs only in details.

    Unicode NFKC; typographic quotes and dashes unified; URLs and e-mail addresses -> ``<url>``;
    dates ("July 22, 2008", "22.07.2008", "2008-07-22", "3. März 2026", "3 mars 2026",
    "3 de marzo de 2026", "3 марта 2026 года", with an optional weekday) -> ``<date>``; runs of
    Capitalised Words (names; detected before case folding) -> ``<name>``; case folded; numbers
    (digit runs, with inner ``.``/``,``/``:`` separators as in 3.5, 1,200 or 14:05) -> ``#``;
    whitespace collapsed; trailing punctuation stripped.
    """
    # str.split() splits on exactly the characters \s matches (str.isspace), and strips.
    shape = unicodedata.normalize("NFKC", text)
    if shape.isascii():
        for char, to in _UNIFY_ASCII:
            shape = shape.replace(char, to)
        return _ascii_shape(shape if _collapsed_ascii(shape) else " ".join(shape.split()))
    shape = _UNIFY_RE.sub(_unified, shape)
    # Curly quotes and dashes are the usual non-ASCII characters of an English text.
    shape = " ".join(shape.split())
    if shape.isascii():
        return _ascii_shape(shape)
    # Every URL or address holds "://", "www." or "@": most blocks need no URL pass.
    if "@" in shape or "://" in shape or "www." in shape.lower():
        shape = _URL_RE.sub(_URL, shape)
    # Every date form and number has a digit (and no later step adds one); the date regex is
    # the slow one.
    digits = _DIGIT_RE.search(shape) is not None
    if digits:
        shape = _DATE_RE.sub(_DATE, shape)
    shape = _strip_trailing_punctuation(_replace_names(shape).casefold())
    # Strip before numbers become "#" (itself punctuation, and part of the shape).
    if digits:
        shape = _NUMBER_RE.sub("#", shape)
    return _labelled(shape)


def _ascii_shape(shape: str) -> str:
    """:func:`block_shape`'s passes over a unified, collapsed text of ASCII characters: the
    same steps, each by its ASCII form (see the patterns' comments)."""
    lower = shape.lower()
    if "@" in shape or "://" in shape or "www." in lower:
        shape = _URL_RE.sub(_URL, shape)
        lower = shape.lower()
    # "[0-9]" is a bitmap test per character, where \d looks each one up in Unicode's tables.
    digits = _DIGIT_ASCII_RE.search(shape) is not None
    if digits:
        shape = _replace_dates_ascii(shape, lower)
    shape = _replace_names_ascii(shape).casefold().rstrip(_TRAILING_ASCII)
    if digits:
        shape = _NUMBER_ASCII_RE.sub("#", shape)
    return _labelled(shape)


def _labelled(shape: str) -> str:
    """The placeholders written as their labels (``<url>``, ``<date>``, ``<name>``)."""
    for placeholder, label in _PLACEHOLDERS.items():
        if placeholder in shape:
            shape = shape.replace(placeholder, label)
    return shape


def shape_key(text: str) -> str:
    """A short stable digest of :func:`block_shape` (blake2b, 8 bytes, 16 hex digits)."""
    return _digest(block_shape(text))


# Removed blocks a model remembers the keys of (all forgotten at once beyond it): an outlet's
# verbatim furniture is usually a few dozen short blocks.
_KNOWN_BLOCKS = 128

# --- the model --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LearnedBlock:
    """A learned template block: its key, the block that taught it, and its support.

    ``articles`` is the number of distinct stories among the retained articles that contain the
    block now; once every such article has been evicted, the number counted when it was learned.
    """

    key: str
    sample: str
    articles: int


@dataclass(frozen=True, kw_only=True)
class TemplateChanges:
    """What :meth:`TemplateModel.observe` changed since the last :meth:`TemplateModel.changes`:
    enough for the owner to update a stored copy without rewriting the whole model.

    ``removed`` are article ids that left the window (apply first); ``articles`` are the
    retained articles added or replaced, each with its keys and their weights, in insertion
    order (an added article goes after every stored one; a replaced one keeps its place);
    ``learned`` are the newly learned blocks, with their support when learned (never changes).
    """

    removed: tuple[str, ...]
    articles: tuple[tuple[str, dict[str, int]], ...]
    learned: tuple[LearnedBlock, ...]


@dataclass(frozen=True, kw_only=True)
class Split:
    """An article's blocks split by the learned templates, each part in input order;
    ``removed_keys[i]`` is the key of ``removed[i]``."""

    kept: tuple[str, ...]
    removed: tuple[str, ...]
    removed_keys: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Observation:
    """:meth:`TemplateModel.observe_and_split`: the keys learned because of the article
    (sorted), and the article split by the model after learning from it."""

    learned: tuple[str, ...]
    split: Split


class _Stories:
    """Distinct-story counting against one snapshot of the model (memoised per article)."""

    def __init__(
        self,
        *,
        articles: Mapping[str, frozenset[str]],
        postings: Mapping[str, Mapping[str, None]],
        weights: Mapping[str, int],
        learned: Iterable[str],
        max_overlap: float,
    ) -> None:
        self._articles = articles
        self._postings = postings
        self._weights = weights
        self._learned = frozenset(learned)
        self._max_overlap = max_overlap
        self._content: dict[str, tuple[frozenset[str], int]] = {}
        self._rare: dict[str, tuple[str, ...]] = {}

    def content(self, article_id: str) -> tuple[frozenset[str], int]:
        """The article's keys that are not learned, and their total weight."""
        found = self._content.get(article_id)
        if found is None:
            keys = self._articles[article_id] - self._learned
            found = self._content[article_id] = (keys, sum(self._weights[k] for k in keys))
        return found

    def rare_keys(self, article_id: str) -> tuple[str, ...]:
        """The article's rarest keys, enough of them that an article sharing none of them cannot
        be the same story (prefix filter)."""
        found = self._rare.get(article_id)
        if found is None:
            keys, total = self.content(article_id)
            # Why this bound: sharing none of these keys, the intersection weighs at most
            # total - covered, the union at least total; same_story needs inter > t * union.
            # The comparison uses the same float expression as same_story, so it is exact.
            limit = self._max_overlap * total
            chosen: list[str] = []
            covered = 0
            for key in sorted(keys, key=lambda k: (len(self._postings[k]), k)):
                if total - covered <= limit:
                    break
                chosen.append(key)
                covered += self._weights[key]
            found = self._rare[article_id] = tuple(chosen)
        return found

    def same_story(self, a: str, b: str) -> bool:
        """Weighted Jaccard similarity of the not-learned keys > max_overlap."""
        keys_a, total_a = self.content(a)
        keys_b, total_b = self.content(b)
        small, big = (keys_a, keys_b) if len(keys_a) <= len(keys_b) else (keys_b, keys_a)
        inter = sum(self._weights[k] for k in small if k in big)
        union = total_a + total_b - inter
        # Two articles with nothing but learned furniture cannot be told apart: one story.
        return union == 0 or inter > self._max_overlap * union

    def _earlier_candidates(self, article_id: str, seen: Mapping[str, None]) -> Iterator[str]:
        """Earlier articles sharing one of ``article_id``'s rare keys, each once."""
        yielded: set[str] = set()
        for key in self.rare_keys(article_id):
            posting = self._postings[key]
            # Walk the shorter side: a rare key's posting, or the few articles seen so far.
            pool = (
                (o for o in posting if o in seen)
                if len(posting) <= len(seen)
                else (o for o in seen if o in posting)
            )
            for other in pool:
                if other not in yielded:
                    yielded.add(other)
                    yield other

    def count(self, key: str, limit: int | None = None) -> int:
        """Distinct stories among the articles holding ``key``, greedily in insertion order:
        an article is a new story unless it is the same story as an earlier one; stops at
        ``limit`` when given."""
        seen: dict[str, None] = {}
        stories = 0
        empty_seen = False
        for article_id in self._postings.get(key, {}):
            _, total = self.content(article_id)
            if total == 0:
                new = not empty_seen
                empty_seen = True
            elif not seen:
                new = True  # the first holder (most keys have one: a story's own paragraphs)
            else:
                new = not any(
                    self.same_story(article_id, other)
                    for other in self._earlier_candidates(article_id, seen)
                )
            seen[article_id] = None
            if new:
                stories += 1
                if limit is not None and stories >= limit:
                    break
        return stories


class TemplateModel:
    """The learned furniture of one outlet (see the module docstring for rules and algorithm)."""

    def __init__(
        self,
        *,
        min_articles: int = 3,
        max_overlap: float = 0.5,
        max_articles: int = 2000,
        max_block_chars: int = 600,
    ) -> None:
        # Why >= 2: with 1, every paragraph of the first article would be "furniture".
        if isinstance(min_articles, bool) or not isinstance(min_articles, int) or min_articles < 2:
            raise ValueError(f"min_articles must be an int >= 2, got {min_articles!r}")
        # Why < 1: similarity never exceeds 1, so with 1 no two copies would ever be one story.
        if not 0.0 <= max_overlap < 1.0:
            raise ValueError(f"max_overlap must be in [0, 1), got {max_overlap!r}")
        if isinstance(max_articles, bool) or not isinstance(max_articles, int) or max_articles < 1:
            raise ValueError(f"max_articles must be an int >= 1, got {max_articles!r}")
        if (
            isinstance(max_block_chars, bool)
            or not isinstance(max_block_chars, int)
            or max_block_chars < 1
        ):
            raise ValueError(f"max_block_chars must be an int >= 1, got {max_block_chars!r}")
        self._min_articles = min_articles
        self._max_overlap = float(max_overlap)
        self._max_articles = max_articles
        self._max_block_chars = max_block_chars
        # article id -> its block keys; dict order is insertion order (eviction, greedy order).
        self._articles: dict[str, frozenset[str]] = {}
        # article id -> insertion rank, to keep postings in insertion order on re-observation.
        self._rank: dict[str, int] = {}
        self._next_rank = 0
        # key -> ids of the retained articles holding it, in insertion order (inverted index).
        self._postings: dict[str, dict[str, None]] = {}
        # key -> length of its shape; kept while any retained article holds the key.
        self._weights: dict[str, int] = {}
        # key -> (sample block, distinct stories when learned); never shrinks (stable removals).
        self._learned: dict[str, tuple[str, int]] = {}
        # Keys held over all retained articles (the model's size: postings and key sets).
        self._size = 0
        # The change journal since the last changes(): observe() only, never from_json().
        self._removed: dict[str, None] = {}
        self._touched: dict[str, None] = {}
        self._newly: list[str] = []
        # Removed blocks -> (key, weight): furniture recurs verbatim, and shaping is the costly
        # part of an article.  A pure function's results, so neither state nor persisted.
        self._known: dict[str, tuple[str, int]] = {}

    # -- queries -------------------------------------------------------------------------------

    @property
    def article_count(self) -> int:
        """How many articles are retained (at most ``max_articles``)."""
        return len(self._articles)

    @property
    def size(self) -> int:
        """Keys held over all retained articles: what the model's memory grows with."""
        return self._size

    def params(self) -> dict[str, Any]:
        """The model's format and parameters: :meth:`to_json` without the data."""
        return {
            "format": FORMAT,
            "min_articles": self._min_articles,
            "max_overlap": self._max_overlap,
            "max_articles": self._max_articles,
            "max_block_chars": self._max_block_chars,
        }

    def changes(self) -> TemplateChanges:
        """What :meth:`observe` changed since the last call (or since the model was made), and
        start a new journal."""
        # Insertion order is rank order (a replaced article keeps both); sorting the few touched
        # ids by rank spares a walk of every retained article per observation.
        touched = sorted(
            (aid for aid in self._touched if aid in self._articles), key=self._rank.__getitem__
        )
        changes = TemplateChanges(
            removed=tuple(self._removed),
            articles=tuple(
                (aid, {k: self._weights[k] for k in sorted(self._articles[aid])}) for aid in touched
            ),
            learned=tuple(
                LearnedBlock(key=k, sample=self._learned[k][0], articles=self._learned[k][1])
                for k in self._newly
            ),
        )
        self._removed, self._touched, self._newly = {}, {}, []
        return changes

    def is_template(self, text: str) -> bool:
        """True when the block's shape has been learned as this outlet's furniture."""
        return shape_key(text) in self._learned

    def clean(self, blocks: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``(kept, removed)``: the blocks split by :meth:`is_template`, each in input order."""
        split = self.split(blocks)
        return split.kept, split.removed

    def split(self, blocks: Sequence[str]) -> Split:
        """:meth:`clean`, with the key of each removed block."""
        _check_blocks(blocks)
        return self._split(blocks, _shapes(blocks, self._known))

    def _split(self, blocks: Sequence[str], shapes: Sequence[tuple[str, int] | None]) -> Split:
        kept: list[str] = []
        removed: list[str] = []
        keys: list[str] = []
        known = self._known
        for block, shaped in zip(blocks, shapes, strict=True):
            if shaped is not None and shaped[0] in self._learned:
                removed.append(block)
                keys.append(shaped[0])
                if block not in known:
                    if len(known) >= _KNOWN_BLOCKS:
                        known.clear()
                    known[block] = shaped
            else:
                kept.append(block)
        return Split(kept=tuple(kept), removed=tuple(removed), removed_keys=tuple(keys))

    def learned(self) -> tuple[LearnedBlock, ...]:
        """Every learned block with its current support, by support (descending), then key."""
        stories = self._stories()
        found = [
            LearnedBlock(
                key=key,
                sample=sample,
                articles=stories.count(key) if key in self._postings else at_learning,
            )
            for key, (sample, at_learning) in self._learned.items()
        ]
        return tuple(sorted(found, key=lambda b: (-b.articles, b.key)))

    # -- updates -------------------------------------------------------------------------------

    def observe(self, article_id: str, blocks: Sequence[str]) -> tuple[str, ...]:
        """Record one article; returns the keys learned because of it (sorted).

        A block repeated within one article counts once; blank blocks are ignored.  Re-observing
        an id replaces that article (it keeps its place in insertion order), so observing the
        same article twice in a row changes nothing.  Otherwise, when the window is full, the
        oldest article is evicted first.
        """
        if not isinstance(article_id, str) or not article_id:
            raise ValueError("article_id must be a non-empty string")
        _check_blocks(blocks)
        return self._observe(article_id, blocks, _shapes(blocks, self._known))

    def observe_and_split(self, article_id: str, blocks: Sequence[str]) -> Observation:
        """:meth:`observe`, then :meth:`split` of the same blocks (each block shaped once)."""
        if not isinstance(article_id, str) or not article_id:
            raise ValueError("article_id must be a non-empty string")
        _check_blocks(blocks)
        shapes = _shapes(blocks, self._known)
        learned = self._observe(article_id, blocks, shapes)
        return Observation(learned=learned, split=self._split(blocks, shapes))

    def _observe(
        self, article_id: str, blocks: Sequence[str], shapes: Sequence[tuple[str, int] | None]
    ) -> tuple[str, ...]:
        samples: dict[str, str] = {}
        weights: dict[str, int] = {}
        for block, shaped in zip(blocks, shapes, strict=True):
            if shaped is None:  # blank or punctuation-only blocks carry no information
                continue
            key, weight = shaped
            if key not in samples:
                samples[key] = block.strip()
                weights[key] = weight
        keys = frozenset(samples)
        if article_id in self._articles:
            self._replace(article_id, keys, weights)
        else:
            # Why evict first: the window never exceeds max_articles, not even while learning.
            while len(self._articles) >= self._max_articles:
                oldest = next(iter(self._articles))
                self._remove(oldest)
                self._removed[oldest] = None
                self._touched.pop(oldest, None)
            self._insert(article_id, keys, weights)
        self._touched[article_id] = None
        learned = self._learn(article_id, samples)
        self._newly.extend(learned)
        return learned

    def _insert(self, article_id: str, keys: frozenset[str], weights: Mapping[str, int]) -> None:
        self._articles[article_id] = keys
        self._size += len(keys)
        self._rank[article_id] = self._next_rank
        self._next_rank += 1
        for key in keys:
            self._weights.setdefault(key, weights[key])
            self._postings.setdefault(key, {})[article_id] = None

    def _replace(self, article_id: str, keys: frozenset[str], weights: Mapping[str, int]) -> None:
        old = self._articles[article_id]
        for key in old - keys:
            self._unpost(key, article_id)
        self._articles[article_id] = keys
        self._size += len(keys) - len(old)
        rank = self._rank[article_id]
        for key in keys - old:
            self._weights.setdefault(key, weights[key])
            posting = self._postings.setdefault(key, {})
            if not posting or self._rank[next(reversed(posting))] < rank:
                posting[article_id] = None
                continue
            # Why rebuild: the greedy story count walks postings in insertion order.
            ids = [*posting, article_id]
            ids.sort(key=self._rank.__getitem__)
            self._postings[key] = dict.fromkeys(ids)

    def _remove(self, article_id: str) -> None:
        keys = self._articles.pop(article_id)
        self._size -= len(keys)
        for key in keys:
            self._unpost(key, article_id)
        del self._rank[article_id]

    def _unpost(self, key: str, article_id: str) -> None:
        posting = self._postings[key]
        del posting[article_id]
        if not posting:
            del self._postings[key]
            del self._weights[key]

    def _stories(self) -> _Stories:
        return _Stories(
            articles=self._articles,
            postings=self._postings,
            weights=self._weights,
            learned=self._learned,
            max_overlap=self._max_overlap,
        )

    def _learn(self, article_id: str, samples: Mapping[str, str]) -> tuple[str, ...]:
        # Why only this article's keys: only their postings changed; other keys keep the verdict
        # they got when they were last observed (no O(all articles) rescans).  A key held by
        # fewer than min_articles articles cannot count that many stories (each article adds
        # one at most): most keys of an article are its own story's paragraphs, held once.
        postings, least = self._postings, self._min_articles
        pending = sorted(
            key
            for key in self._articles[article_id]
            if len(postings[key]) >= least
            and key not in self._learned
            and self._weights[key] <= self._max_block_chars
        )
        newly: list[str] = []
        while pending:
            # One snapshot per round, keys in sorted order: the result never depends on dict or
            # set iteration order.
            stories = self._stories()
            gained = [
                k for k in pending if stories.count(k, self._min_articles) >= self._min_articles
            ]
            if not gained:
                break
            for key in gained:
                self._learned[key] = (samples[key], stories.count(key))
            newly.extend(gained)
            # Learned keys no longer count towards similarity, which can split articles into more
            # stories: evaluate the rest again until nothing changes.
            pending = [k for k in pending if k not in self._learned]
        return tuple(sorted(newly))

    # -- persistence ---------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; deterministic (articles in insertion order, mappings by key)."""
        return {
            **self.params(),
            "articles": [[aid, sorted(keys)] for aid, keys in self._articles.items()],
            "weights": {key: self._weights[key] for key in sorted(self._weights)},
            "learned": [
                {"key": key, "sample": sample, "articles": count}
                for key, (sample, count) in sorted(self._learned.items())
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TemplateModel:
        """The model :meth:`to_json` described; raises ValueError on anything else."""
        try:
            if data["format"] != FORMAT:
                raise ValueError(f"unknown template model format {data['format']!r}")
            model = cls(
                min_articles=data["min_articles"],
                max_overlap=_number(data["max_overlap"]),
                max_articles=data["max_articles"],
                max_block_chars=data["max_block_chars"],
            )
            weights = data["weights"]
            if not isinstance(weights, dict) or not all(
                isinstance(k, str) and isinstance(w, int) and w > 0 for k, w in weights.items()
            ):
                raise ValueError("weights must map keys to positive ints")
            articles = data["articles"]
            if not isinstance(articles, list) or len(articles) > model._max_articles:
                raise ValueError("articles must be a list of at most max_articles entries")
            for entry in articles:
                article_id, keys = entry
                if not isinstance(article_id, str) or not article_id:
                    raise ValueError(f"bad article id {article_id!r}")
                if (
                    article_id in model._articles
                    or not isinstance(keys, list)
                    or not all(isinstance(k, str) for k in keys)
                ):
                    raise ValueError(f"bad article entry {article_id!r}")
                model._insert(article_id, frozenset(keys), weights)
            if set(weights) != set(model._weights):
                raise ValueError("weights do not match the articles' keys")
            for item in data["learned"]:
                key, sample, count = item["key"], item["sample"], item["articles"]
                if not (
                    isinstance(key, str) and isinstance(sample, str) and isinstance(count, int)
                ):
                    raise ValueError(f"bad learned entry {item!r}")
                model._learned[key] = (sample, count)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed template model: {exc!r}") from exc
        return model


def _shapes(
    blocks: Sequence[str], known: Mapping[str, tuple[str, int]]
) -> list[tuple[str, int] | None]:
    """Each block's key and weight (the length of its shape); None for a blank shape.  Blocks
    in ``known`` (recently removed furniture) are not shaped again."""
    found: dict[str, tuple[str, int] | None] = {}  # a block repeated in one article: once
    out: list[tuple[str, int] | None] = []
    for block in blocks:
        if block not in found:
            shaped = known.get(block)
            if shaped is None:
                shape = block_shape(block)
                shaped = (_digest(shape), len(shape)) if shape else None
            found[block] = shaped
        out.append(found[block])
    return out


def _digest(shape: str) -> str:
    return hashlib.blake2b(shape.encode("utf-8"), digest_size=8).hexdigest()


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def _check_blocks(blocks: Sequence[str]) -> None:
    # A str is a Sequence[str] too; treating an article's text as one block per character would
    # silently learn the alphabet.
    if isinstance(blocks, str):
        raise TypeError("blocks must be a sequence of strings, not a string")
