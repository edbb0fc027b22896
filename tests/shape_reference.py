"""The block normalisation of ``harvester.extract.templates`` as first written, kept verbatim as
a reference: one regex pass per step over the whole text, every word visited.  The module's
faster passes must give the same shapes (``tests/test_template_shapes.py``)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

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


_MONTH = rf"(?:{_alternation(_MONTHS)})\.?"
_DAY = r"(?<!\d)[0-3]?\d(?:st|nd|rd|th|er|\.)?(?!\d)"
_YEAR = r"(?<!\d)\d{4}(?!\d)(?:\s*(?:г\.|года|год))?"
_DATE_RE = re.compile(
    rf"\b(?:(?:{_alternation(_WEEKDAYS)})(?!\w)\.?,?\s+(?:the\s+|le\s+|el\s+|den\s+)?)?"
    r"(?:"
    # 2008-07-22, optionally with a time (2008-07-22T14:05:00Z)
    r"(?<!\d)\d{4}-\d{1,2}-\d{1,2}(?:[t ]\d{1,2}:\d{2}(?::\d{2})?(?:z|[+-]\d{2}:?\d{2})?)?(?!\d)"
    # 22.07.2008, 22/07/2008, 7/22/08, 2008/07/22
    r"|(?<!\d)\d{1,2}[./]\d{1,2}[./](?:\d{4}|\d{2})(?![\d.]\d)"
    r"|(?<!\d)\d{4}/\d{1,2}/\d{1,2}(?!\d)"
    # 22 July 2008, 3. März 2026, 1er mars, 3 de marzo de 2026, 3 марта 2026 года
    rf"|{_DAY}\s*(?:of\s+|de\s+)?\b{_MONTH}(?!\w)(?:,?\s*(?:de\s+|del\s+)?{_YEAR})?"
    # July 22, 2008; Mar. 3
    rf"|\b{_MONTH}(?!\w)\s*{_DAY}(?:,?\s*{_YEAR})?"
    # July 2008, marzo de 2026
    rf"|\b{_MONTH}(?!\w),?\s*(?:de\s+)?{_YEAR}"
    r")",
    re.IGNORECASE,
)
_WORD_RE = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
_DIGIT_RE = re.compile(r"\d")
_NUMBER_RE = re.compile(r"\d+(?:[.,:]\d+)*")
_SPACE_RE = re.compile(r"\s+")
# Characters before a word that leave it at the start of a sentence.
_OPENERS = "\"'([{¿¡*•-"
_SENTENCE_END = ".!?:;"


def _is_name_word(text: str, match: re.Match[str]) -> bool:
    word = match.group()
    if not word[0].isupper():
        return False
    # A single capital is an initial ("J. Smith") only when a period follows; "I" and "A" are not.
    return len(word) > 1 or text.startswith(".", match.end())


def _joins(text: str, left: re.Match[str], right: re.Match[str]) -> bool:
    gap = text[left.end() : right.start()]
    return gap == " " or (gap == ". " and len(left.group()) == 1)


def _at_sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip().rstrip(_OPENERS).rstrip()
    return not before or before[-1] in _SENTENCE_END


def _replace_names(text: str) -> str:
    """Runs of Capitalised Words -> placeholder; a lone capitalised word opening a sentence is
    kept (it is usually an ordinary word: "Follow us on Telegram")."""
    words = list(_WORD_RE.finditer(text))
    out: list[str] = []
    pos = i = 0
    while i < len(words):
        first = words[i]
        if not _is_name_word(text, first):
            i += 1
            continue
        j = i
        while (
            j + 1 < len(words)
            and _is_name_word(text, words[j + 1])
            and _joins(text, words[j], words[j + 1])
        ):
            j += 1
        if j > i or not _at_sentence_start(text, first.start()):
            out.append(text[pos : first.start()])
            out.append(_NAME)
            pos = words[j].end()
        i = j + 1
    out.append(text[pos:])
    return "".join(out)


def _strip_trailing_punctuation(text: str) -> str:
    end = len(text)
    while end and (text[end - 1].isspace() or unicodedata.category(text[end - 1])[0] == "P"):
        end -= 1
    return text[:end]


def reference_block_shape(text: str) -> str:
    """The normalised shape of a block, equal for furniture that differs only in details.

    Unicode NFKC; typographic quotes and dashes unified; URLs and e-mail addresses -> ``<url>``;
    dates ("July 22, 2008", "22.07.2008", "2008-07-22", "3. März 2026", "3 mars 2026",
    "3 de marzo de 2026", "3 марта 2026 года", with an optional weekday) -> ``<date>``; runs of
    Capitalised Words (names; detected before case folding) -> ``<name>``; case folded; numbers
    (digit runs, with inner ``.``/``,``/``:`` separators as in 3.5, 1,200 or 14:05) -> ``#``;
    whitespace collapsed; trailing punctuation stripped.
    """
    shape = unicodedata.normalize("NFKC", text).translate(_UNIFY)
    shape = _SPACE_RE.sub(" ", shape).strip()
    shape = _URL_RE.sub(_URL, shape)
    if _DIGIT_RE.search(shape):  # every date form has a digit; the date regex is the slow one
        shape = _DATE_RE.sub(_DATE, shape)
    shape = _replace_names(shape)
    # Strip before numbers become "#" (itself punctuation, and part of the shape).
    shape = _NUMBER_RE.sub("#", _strip_trailing_punctuation(shape.casefold()))
    for placeholder, label in _PLACEHOLDERS.items():
        shape = shape.replace(placeholder, label)
    return shape
