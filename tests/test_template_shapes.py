"""block_shape's fast passes (guarded regexes, only capitalised words visited, the ASCII passes)
give exactly the shapes of the straightforward reference (``shape_reference.py``): on invented
articles, on tricky hand-written blocks and on generated text built from the pieces that trip
each pass."""

from __future__ import annotations

import random

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from shape_reference import reference_block_shape
from test_templates import DETAILS, PROMOS, TOPICS, paragraph, story, words

from harvester.extract.templates import _optional_as_branch, block_shape

# Pieces that each pass looks for, with near misses: month and weekday names in several cases
# and languages (with and without periods), date forms, numbers, capitalised words, initials,
# apostrophes and hyphens, URLs and addresses, characters that IGNORECASE or NFKC treat
# specially, every kind of whitespace, sentence punctuation and our placeholder characters.
PIECES = (
    *words(
        "January JANUARY jan Jan. Mar Mar. march mars marzo März Mai may May. sept Sept. Sep "
        "September setiembre dic déc. Dez. okt Oct. juil. février enero Июля июля марта Марта "
        "мая янв. Nov"
    ),
    *words(
        "Monday mon Mon. Tue. tues thurs Sonnabend mardi Mardi miércoles sábado среду Среда "
        "понедельник"
    ),
    *words("the le el den de del of года год г. st nd rd th er"),
    *words(
        "3 03 22 31 32 1er 3rd 22nd 2008 08 12,408 3.5 1,200 14:05 9:41 2008-07-22 22.07.2008 "
        "7/22/08 2008/07/22 2008-07-22T14:05:00Z 2008-07-22 14:05 +02:00 1.2.345 0.5.2026"
    ),
    *words(
        "Maria Lopez J J. R. I A O'Brien Jean-Luc l'Europe rock-Solid McDonald İstanbul Ωmega "
        "Émile Δ Владимир Путин Port ǅemal ÅSA Ⅻ 𝐀lpha ABC x'-Y"
    ),
    *words("said would approve jobs in voted on to follow us telegram naïve ıi ſ K ẞ ß ᲀ"),
    *words(
        "https://example.com/a?b=1 http://x.y/(z) www.Example.org WWW.X.Y desk@example.org "
        "a.b+c@d-e.f ftp://f.example ://"
    ),
    *words(". , ; : ! ? ( ) [ ] { } ' \" - — – “ ” ‘ ’ « » … * • ¿ ¡ / # % @"),
    " ",
    "  ",
    "\t",
    "\n",
    "\u00a0",
    "\u2003",
    "\u3000",
    "\u200b",
    "\u00ad",
    "\x1c",
    "\u0345",
    "\ue001",
    "\ue003",
)
SEPARATORS = ("", " ", " ", " ", ". ", ", ", "-", "'", "/", ".")

texts = st.lists(st.tuples(st.sampled_from(PIECES), st.sampled_from(SEPARATORS)), max_size=24).map(
    lambda parts: "".join(piece + sep for piece, sep in parts)
)


@settings(max_examples=3000, deadline=None)
@given(texts)
@example("Mar. 2008")
@example("Mar.3, 2008")
@example("Tuesday, the 3rd of March, 2026 at 14:05")
@example("By J. R. Smith and I. Ann O'Brien-Lee; A. B")
@example("1.2.345 and 22.07.2008.5")
def test_fast_shape_equals_the_reference_on_generated_text(text: str) -> None:
    assert block_shape(text) == reference_block_shape(text)


# The ASCII pieces alone (plus the typographic characters unified into ASCII): block_shape takes
# its ASCII passes (names as whole runs, dates on the lowered text) on these.
ASCII_PIECES = tuple(
    piece for piece in PIECES if (piece.isascii() and piece not in " \t\n\x1c") or piece in "—“”’"
)
ascii_texts = st.lists(
    st.tuples(st.sampled_from(ASCII_PIECES), st.sampled_from(SEPARATORS)), max_size=24
).map(lambda parts: "".join(piece + sep for piece, sep in parts))


@settings(max_examples=3000, deadline=None)
@given(ascii_texts)
@example("Mr J. Smith. J. R. R. Tolkien met A. B and I at x-Men O'Brien-Lee's. Jean-Luc")
@example('Follow Ann. Smith Jones: ("Maria Lopez") -Port said. Port')
@example("MONDAY 3 MAR. 2008, Sept.3 and SEPTEMBER 22ND, 2008 or 2008-07-22T14:05:00Z")
@example("“Maria Lopez” — 3 March 2026’s")
@example("3 Mar.3 Mar. 2008, 22.Mar.22.07.2008 and Monday, 3. 4. March 2008.5 May")
def test_fast_shape_equals_the_reference_on_ascii_text(text: str) -> None:
    assert block_shape(text) == reference_block_shape(text)


# ASCII text as it arrives, not yet collapsed: the ASCII passes skip the split and join only when
# nothing would change (no space at either end, no two spaces, no other whitespace).
SPACINGS = (" ", "  ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", " \n ")
spaced_ascii_texts = st.lists(
    st.tuples(st.sampled_from(ASCII_PIECES), st.sampled_from((*SEPARATORS, *SPACINGS))),
    max_size=16,
).map(lambda parts: "".join(piece + sep for piece, sep in parts))


@settings(max_examples=1500, deadline=None)
@given(spaced_ascii_texts)
@example(" Maria Lopez said ")
@example("Maria\tLopez  said\n3 March\x1c2008")
def test_fast_shape_equals_the_reference_on_ascii_text_with_any_spacing(text: str) -> None:
    assert block_shape(text) == reference_block_shape(text)


# Names after openers and sentence ends: single capitalised words are names unless they open a
# sentence; runs of them always are.  The ASCII pass decides most of them in one substitution by
# the character before (or before its space) and looks past openers in Python.
NAME_PIECES = (
    *words("Maria Lopez Port Amara J. R. A I O'Brien Jean-Luc x-Men said the 3 22.6 March 2008"),
    *words(". ! ? : ; , ' \" ( [ { * - ) / #"),
    "\ue002",
)
name_texts = st.lists(
    st.tuples(st.sampled_from(NAME_PIECES), st.sampled_from(("", " ", " ", ". ", "'", "-"))),
    max_size=20,
).map(lambda parts: "".join(piece + sep for piece, sep in parts))


@settings(max_examples=3000, deadline=None)
@given(name_texts)
@example('said "Maria" and (Port) - Amara. "Port said')
@example("x- 'Ann said. (Port). -Port ( Port; [Port {Port *Port")
@example("1,22 March 2008, 3 mar.2008 and 3 mar.22.07.2008: march 22.22 march")
def test_fast_shape_equals_the_reference_on_names_after_openers(text: str) -> None:
    assert block_shape(text) == reference_block_shape(text)


def test_optional_groups_become_branches_and_nothing_else_changes() -> None:
    assert _optional_as_branch(r"(?:ab)?c(?:d|e)??(f)?[)?](?:g)?+\)?(?:h(?:i)?)?") == (
        r"(?:ab|)c(?:d|e)??(f)?[)?](?:g)?+\)?(?:h(?:i|)|)"
    )


@settings(max_examples=1000, deadline=None)
@given(st.text(max_size=80))
def test_fast_shape_equals_the_reference_on_any_text(text: str) -> None:
    assert block_shape(text) == reference_block_shape(text)


@pytest.mark.parametrize("seed", range(3))
def test_fast_shape_equals_the_reference_on_invented_articles(seed: int) -> None:
    rng = random.Random(seed)
    blocks = [*PROMOS]
    for k in range(60):
        blocks += story(rng, TOPICS[k % len(TOPICS)])
        blocks.append(paragraph(rng, TOPICS[k % len(TOPICS)], DETAILS[k % len(DETAILS)]))
    for block in blocks:
        assert block_shape(block) == reference_block_shape(block)
