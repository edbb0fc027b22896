"""Paragraph diffs of a copy against its original."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harvester.dedup.diff import paragraph_diff

ORIGINAL = (
    "The harbour authority approved a second terminal on Tuesday.",
    "The board voted seven to two after a four-hour session.",
    "Construction is expected to start next spring and employ 1,200 people.",
    "Two environmental groups said they would examine the decision.",
)


def test_identical_copy_keeps_everything() -> None:
    d = paragraph_diff(ORIGINAL, ORIGINAL)
    assert (d.kept, d.added, d.removed, d.edited) == (4, (), (), ())


def test_added_commentary_removed_paragraph_and_edited_number() -> None:
    copy = (
        "Our view: the port needs this.",
        ORIGINAL[0],
        ORIGINAL[1],
        "Construction is expected to start next spring and employ 1,500 people.",
    )
    d = paragraph_diff(ORIGINAL, copy)
    assert d.added == ("Our view: the port needs this.",)
    assert d.removed == (ORIGINAL[3],)
    assert d.edited == ((ORIGINAL[2], copy[3]),)
    assert d.kept == 2
    assert d.summary() == "kept 2, edited 1, added 1, removed 1"


def test_whitespace_and_case_do_not_count_as_edits() -> None:
    copy = tuple(p.upper().replace(" ", "  ") for p in ORIGINAL)
    assert paragraph_diff(ORIGINAL, copy).kept == 4


@given(st.lists(st.sampled_from((*ORIGINAL, "Something else entirely, unrelated.")), max_size=8))
def test_every_paragraph_is_accounted_for(copy: list[str]) -> None:
    d = paragraph_diff(ORIGINAL, copy)
    assert d.kept + len(d.removed) + len(d.edited) == len(ORIGINAL)
    assert d.kept + len(d.added) + len(d.edited) == len(copy)
