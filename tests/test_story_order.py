"""Stories do not depend on arrival order: the same articles placed in any order (one writer or
several, fetched in whichever order the crawl met them) give the same partition into stories.

The articles are invented (``pages.invented_story``): wire stories, their verbatim, edited and
excerpted copies (an excerpt links to its original), round-ups of two stories, copies with
commentary, and excerpts so short that a few of their samples also turn up in other stories
(the case that used to bridge two stories when the excerpt arrived after both).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pages import invented_story

from harvester.catalog import open_catalog
from harvester.dedup.book import Placement, StoryBook
from harvester.dedup.fingerprint import fingerprint
from harvester.dedup.stories import relate
from harvester.models import Evidence


@dataclass(frozen=True)
class Article:
    url: str
    outlet: str
    published: str | None
    text: str
    links: tuple[str, ...] = ()


# Invented stories 24 apart share their place and topic: the lead paragraph of 14 also turns up
# (as a few shared samples) in 38, 62 and 86.
NUMBERS = (1, 25, 49, 73, 9, 33, 57, 81, 14, 38, 62, 86)


def newsroom(numbers: Sequence[int] = NUMBERS, seed: int = 5) -> list[Article]:
    """Wire stories with copies of every kind, round-ups and commentary (see the module doc)."""
    rng = random.Random(seed)
    out: list[Article] = []
    bodies = {}
    for n in numbers:
        _, paragraphs = invented_story(n)
        bodies[n] = paragraphs
        original = f"http://wire.test/{n}"
        out.append(Article(original, "Wire", "2026-03-02T08:00:00+00:00", "\n\n".join(paragraphs)))
        day = f"2026-03-0{3 + n % 3}T09:00:00+00:00"
        out.append(Article(f"http://a.test/{n}", "A", day, "\n\n".join(paragraphs)))
        edited = (*paragraphs[:2], *paragraphs[3:], f"Local reaction to report {n} follows.")
        out.append(Article(f"http://b.test/{n}", "B", day, "\n\n".join(edited)))
        for k, cut in enumerate((1, 2)):
            out.append(
                Article(
                    f"http://c{k}.test/{n}",
                    f"C{k}",
                    day,
                    "\n\n".join(paragraphs[:cut]),
                    links=(original,) if rng.random() < 0.5 else (),
                )
            )
        commentary = (*paragraphs, *(f"Our columnist adds note {n}.{i}." for i in range(3)))
        out.append(Article(f"http://d.test/{n}", "D", day, "\n\n".join(commentary)))
    for n, m in zip(numbers[::3], numbers[1::3], strict=False):  # round-ups, a week later
        text = (*bodies[n], *bodies[m])
        out.append(
            Article(f"http://roundup.test/{n}", "R", "2026-03-09T12:00:00+00:00", "\n\n".join(text))
        )
    # Excerpts of the lead alone: a few shared samples with other stories (see NUMBERS).
    for n in numbers:
        out.append(Article(f"http://e.test/{n}", "E", "2026-03-04T10:00:00+00:00", bodies[n][0]))
    return out


def place_all(root: Path, articles: Sequence[Article]) -> dict[str, str]:
    """Place ``articles`` in this order into a fresh catalog; each URL's story afterwards."""
    catalog = open_catalog(None, root)
    try:
        book = StoryBook(catalog, window=30 * 86400.0, now=1772409600.0)
        for i, a in enumerate(articles):
            with catalog.placement():
                book.place(
                    url=a.url,
                    outlet=a.outlet,
                    wire=a.outlet == "Wire",
                    published=a.published,
                    fetched=f"2026-03-10T00:{i // 60:02d}:{i % 60:02d}+00:00",
                    evidence=tuple(
                        Evidence(kind="link", text="full story", url=u, source="Wire")
                        for u in a.links
                    ),
                    fp=fingerprint(a.text),
                )
        return {a.url: catalog.doc_by_url(a.url).story for a in articles}  # type: ignore[union-attr]
    finally:
        catalog.close()


def partition(stories: dict[str, str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for url, story in stories.items():
        groups.setdefault(story, set()).add(url)
    return {frozenset(g) for g in groups.values()}


def orders(articles: list[Article], count: int) -> Iterator[list[Article]]:
    yield articles
    yield articles[::-1]
    rng = random.Random(11)
    for _ in range(count):
        shuffled = list(articles)
        rng.shuffle(shuffled)
        yield shuffled


def test_the_newsroom_has_the_hard_cases() -> None:
    """The set holds what the test is about: a one-sentence excerpt related to a story it is
    not from, and round-ups containing two stories."""
    articles = newsroom()
    fps = {a.url: fingerprint(a.text) for a in articles}
    stray = [
        (e.url, o.url)
        for e in articles
        if e.outlet == "E"
        for o in articles
        if o.outlet == "Wire"
        and o.url.rsplit("/", 1)[1] != e.url.rsplit("/", 1)[1]
        and relate(fps[e.url], fps[o.url]).kind is not None
    ]
    assert stray, "no excerpt relates to a story it is not from: the hard case is missing"
    roundup = next(a for a in articles if a.outlet == "R")
    assert roundup.url == "http://roundup.test/1"
    kinds = {relate(fps[roundup.url], fps[f"http://wire.test/{n}"]).kind for n in (1, 25)}
    assert "contains" in kinds and None not in kinds


def test_any_arrival_order_gives_the_same_stories(tmp_path: Path) -> None:
    articles = newsroom()
    results = [
        partition(place_all(tmp_path / f"order{i}", order))
        for i, order in enumerate(orders(articles, 6))
    ]
    first = results[0]
    for i, other in enumerate(results[1:], 1):
        assert other == first, f"order {i}: {sorted(map(sorted, other ^ first))}"
    # and they are the right stories: every wire story with its copies, round-ups bridging none
    # (a lead paragraph alone keeps too few samples to be matched by text: only its link counts)
    by_url = {url: group for group in first for url in group}
    linking = {a.url for a in articles if a.links}
    for n in NUMBERS:
        group = by_url[f"http://wire.test/{n}"]
        for prefix in ("a", "b", "c1", "d", *(("c0",) if f"http://c0.test/{n}" in linking else ())):
            assert f"http://{prefix}.test/{n}" in group
        assert not any(f"http://wire.test/{m}" in group for m in NUMBERS if m != n)


@settings(max_examples=15, deadline=None)
@given(st.randoms(use_true_random=False))
def test_random_orders_agree(tmp_path_factory: pytest.TempPathFactory, rnd: random.Random) -> None:
    articles = newsroom(NUMBERS[6:], seed=rnd.randrange(1000))
    reference = partition(place_all(tmp_path_factory.mktemp("ref"), articles))
    shuffled = list(articles)
    rnd.shuffle(shuffled)
    assert partition(place_all(tmp_path_factory.mktemp("shuffled"), shuffled)) == reference


def test_a_pick_that_moves_splits_the_story_it_left(tmp_path: Path) -> None:
    """An excerpt placed after a follow-up that repeats two of its paragraphs joins the
    follow-up (the only earlier article it shares with); when its own original arrives, dated
    earlier, the excerpt picks the original and the follow-up's story splits off again, named
    as changed so its original is resolved again."""
    _, story = invented_story(201)
    _, other = invented_story(202)
    original = Article(
        "http://wire.test/o", "Wire", "2026-03-02T08:00:00+00:00", "\n\n".join(story)
    )
    follow_up = Article(
        "http://b.test/f", "B", "2026-03-03T08:00:00+00:00", "\n\n".join((*other, *story[:2]))
    )
    excerpt = Article("http://e.test/x", "E", "2026-03-04T08:00:00+00:00", "\n\n".join(story[:3]))
    catalog = open_catalog(None, tmp_path)
    try:
        book = StoryBook(catalog, window=30 * 86400.0, now=1772409600.0)
        placed = {}
        for a in (follow_up, excerpt, original):
            with catalog.placement():
                placed[a.url] = book.place(
                    url=a.url,
                    outlet=a.outlet,
                    wire=False,
                    published=a.published,
                    fetched="2026-03-10T00:00:00+00:00",
                    evidence=(),
                    fp=fingerprint(a.text),
                )
        assert placed[excerpt.url].story == placed[follow_up.url].story  # its only partner then
        last = placed[original.url]
        three = (follow_up, excerpt, original)
        stories = {a.url: catalog.doc_by_url(a.url).story for a in three}  # type: ignore[union-attr]
        assert stories[excerpt.url] == stories[original.url] == last.story
        assert stories[follow_up.url] != last.story
        assert last.changed == (stories[follow_up.url],)
        assert [d.final_url for d in book.members(stories[follow_up.url])] == [follow_up.url]
    finally:
        catalog.close()
    # the same three in the other orders end the same way
    for order in ((original, follow_up, excerpt), (excerpt, original, follow_up)):
        found = partition(place_all(tmp_path / order[0].outlet, order))
        assert found == {frozenset({original.url, excerpt.url}), frozenset({follow_up.url})}


def test_a_re_placed_article_whose_text_changed_leaves_the_story(tmp_path: Path) -> None:
    """A re-clean (or a refetch) that changes an article's text re-places it: a copy that no
    longer shares anything with its story splits off, and the story it left is named as
    changed."""
    _, story = invented_story(211)
    _, unrelated = invented_story(212)
    text = "\n\n".join(story)
    catalog = open_catalog(None, tmp_path)
    try:
        book = StoryBook(catalog, window=30 * 86400.0, now=1772409600.0)

        def place(url: str, body: str, published: str) -> Placement:
            with catalog.placement():
                return book.place(
                    url=url,
                    outlet=url.split("/")[2],
                    wire=False,
                    published=published,
                    fetched="2026-03-10T00:00:00+00:00",
                    evidence=(),
                    fp=fingerprint(body),
                )

        first = place("http://wire.test/1", text, "2026-03-02T08:00:00+00:00")
        copy = place("http://a.test/1", text, "2026-03-03T08:00:00+00:00")
        assert copy.story == first.story
        again = place("http://a.test/1", "\n\n".join(unrelated), "2026-03-03T08:00:00+00:00")
        assert again.story != first.story
        assert again.changed == (first.story,)
        assert [d.final_url for d in book.members(first.story)] == ["http://wire.test/1"]
        assert [d.final_url for d in book.members(again.story)] == ["http://a.test/1"]
    finally:
        catalog.close()
