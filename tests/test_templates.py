"""The learned-template model: recurring furniture across distinct stories is learned, story
paragraphs (even when copied or updated) are not; normalisation, persistence and bounds."""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.extract.templates import (
    FORMAT,
    LearnedBlock,
    TemplateModel,
    block_shape,
    shape_key,
)

# --- an invented outlet -----------------------------------------------------------------------


def words(text: str) -> tuple[str, ...]:
    """A word list written as one string."""
    return tuple(text.split())


# One topic noun per story and one detail word per paragraph: every (story, paragraph) pair has
# its own lowercase words, so no two paragraphs of different stories share a shape by chance.
TOPICS = words(
    "harbour bridge orchard library railway reservoir vineyard brewery stadium lighthouse "
    "hospital airport museum ferry quarry monastery tramway cannery observatory sawmill "
    "aqueduct bakery glacier market orphanage printworks racecourse shipyard tannery zoo "
    "canal dairy foundry granary"
)
DETAILS = words("budget timetable inspection petition lawsuit audit referendum blueprint")
ADJECTIVES = words("quiet costly disputed temporary ambitious delayed modest overdue")
VERBS = words("approve postpone expand inspect reopen relocate repair replace")
FIRST = words("Maria Jonas Ingrid Tomasz Aiko Kwame Lucia Pavel")
LAST = words("Lopez Berg Haldane Novak Tanaka Mensah Ferreira Orlov")
PLACES = words("Valdoria Kessling Port Amara Ostrava Wenbury Lakemoor")
MONTHS = words("January February March April May June July August September October")

PROMOS = (
    "Support independent journalism: become a member today.",
    "Sign up for the Morning Brief newsletter",
    "Follow us on Telegram",
    "Liked this story? Share it with a friend.",
)


def paragraph(rng: random.Random, topic: str, detail: str) -> str:
    """Two to four invented sentences about ``topic``; names, numbers and dates vary."""
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    place = rng.choice(PLACES)
    date = f"{rng.randint(1, 28)} {rng.choice(MONTHS)} {rng.randint(2019, 2026)}"
    sentences = [
        f"{name} said the {rng.choice(ADJECTIVES)} {topic} {detail} would "
        f"{rng.choice(VERBS)} {rng.randint(2, 900)} jobs in {place}.",
        f"The council voted on {date} to {rng.choice(VERBS)} the {topic} {detail}.",
        f"Officials in {place} expect the {rng.choice(ADJECTIVES)} {detail} to cost "
        f"{rng.randint(1, 99)}.{rng.randint(0, 9)} million.",
        f"Residents near the {topic} were told to {rng.choice(VERBS)} their plans.",
    ]
    return " ".join(sentences[: rng.randint(2, 4)])


def story(rng: random.Random, topic: str) -> list[str]:
    """A distinct invented story: 4-8 paragraphs, one per detail word."""
    return [paragraph(rng, topic, detail) for detail in DETAILS[: rng.randint(4, 8)]]


@dataclass(frozen=True)
class Page:
    article_id: str
    paragraphs: tuple[str, ...]
    injected: tuple[str, ...]
    blocks: tuple[str, ...]


def outlet_pages(seed: int, count: int = 30) -> list[Page]:
    """``count`` distinct stories with the outlet's template injected: rotating promos at varying
    positions, an "Updated <time>, <date>" line and a reader-count promo whose number varies."""
    rng = random.Random(seed)
    pages = []
    for i in range(count):
        paragraphs = story(rng, TOPICS[i])
        injected = [PROMOS[i % 4]]
        if i % 2 == 0:
            injected.append(PROMOS[(i + 2) % 4])
        if i % 3 != 2:
            hour, minute = rng.randint(0, 23), rng.randint(0, 59)
            day, month = rng.randint(1, 28), rng.choice(MONTHS)
            injected.append(f"Updated {hour:02d}:{minute:02d}, {day} {month} 2026")
        if i % 3 == 0:
            injected.append(
                f"Join {rng.randint(1000, 99999):,} readers who get the Evening Digest."
            )
        blocks = list(paragraphs)
        for block in injected:
            blocks.insert(rng.randint(0, len(blocks)), block)
        pages.append(Page(f"story-{i}", tuple(paragraphs), tuple(injected), tuple(blocks)))
    return pages


def observe_all(model: TemplateModel, pages: list[Page]) -> None:
    for page in pages:
        model.observe(page.article_id, page.blocks)


# --- the scenario ---------------------------------------------------------------------


def test_rotating_template_is_learned_and_every_paragraph_survives() -> None:
    pages = outlet_pages(seed=2026)
    model = TemplateModel()
    observe_all(model, pages)
    for page in pages:
        kept, removed = model.clean(page.blocks)
        assert kept == page.paragraphs  # zero loss, original order
        assert sorted(removed) == sorted(page.injected)  # zero survivors
    # Four promos, the "Updated" line and the reader count: six shapes, whatever the numbers.
    assert len(model.learned()) == 6
    assert all(block.articles >= 3 for block in model.learned())


@settings(max_examples=15, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_rotating_template_any_seed(seed: int) -> None:
    pages = outlet_pages(seed)
    model = TemplateModel()
    observe_all(model, pages)
    for page in pages:
        assert model.clean(page.blocks) == (
            page.paragraphs,
            tuple(b for b in page.blocks if b in page.injected),
        )


def test_observe_reports_what_it_learned() -> None:
    model = TemplateModel()
    rng = random.Random(1)
    promo = PROMOS[2]
    assert model.observe("a", [*story(rng, "harbour"), promo]) == ()
    assert model.observe("b", [promo, *story(rng, "bridge")]) == ()
    assert model.observe("c", [*story(rng, "orchard")[:2], promo, "x" * 40]) == (shape_key(promo),)
    assert model.observe("d", [promo, *story(rng, "library")]) == ()  # already learned
    assert model.is_template("Follow us on Telegram!")
    [learned] = model.learned()
    assert learned == LearnedBlock(key=shape_key(promo), sample=promo, articles=4)


# --- copies and updates of one story ---------------------------------------------------------


def bump_numbers(text: str, by: int) -> str:
    return re.sub(r"\d+", lambda m: str(int(m.group()) + by), text)


def edited_copies(rng: random.Random, *, identical: bool) -> list[list[str]]:
    """Six versions of one story: the original, then either identical copies or copies with
    every number updated and one paragraph rewritten (a different one in each copy)."""
    original = [paragraph(rng, "reservoir", detail) for detail in DETAILS[:6]]
    copies = [original]
    for n in range(1, 6):
        if identical:
            copies.append(list(original))
            continue
        edited = [bump_numbers(p, n) for p in original]
        edited[n] = paragraph(rng, "reservoir", "correction")
        assert edited != original
        copies.append(edited)
    return copies


@pytest.mark.parametrize("identical", [True, False])
def test_copies_of_one_story_are_not_learned(identical: bool) -> None:
    rng = random.Random(7)
    copies = edited_copies(rng, identical=identical)
    promos = [PROMOS[0], PROMOS[1]]
    others = [story(rng, "vineyard"), story(rng, "brewery")]
    sequence = [
        ("s0", copies[0]),
        ("t", others[0]),
        ("s1", copies[1]),
        ("s2", copies[2]),
        ("u", others[1]),
        ("s3", copies[3]),
        ("s4", copies[4]),
        ("s5", copies[5]),
    ]
    model = TemplateModel()
    for article_id, paragraphs in sequence:
        model.observe(article_id, [promos[0], *paragraphs, promos[1]])
    learned = {block.key for block in model.learned()}
    # The promos ran under three distinct stories (s*, t, u): furniture.
    assert learned == {shape_key(p) for p in promos}
    for copy in copies:
        assert not any(model.is_template(p) for p in copy)
        assert model.clean([promos[0], *copy, promos[1]]) == (tuple(copy), tuple(promos))


def test_copies_alone_teach_nothing() -> None:
    copies = edited_copies(random.Random(3), identical=False)
    model = TemplateModel()
    for n, copy in enumerate(copies):
        assert model.observe(f"copy-{n}", [PROMOS[3], *copy]) == ()
    assert model.learned() == ()


def test_a_growing_developing_story_stays_one_story() -> None:
    """UPDATE 1, UPDATE 2, ...: each version adds a paragraph; the first version shares only
    half of the last one, but every version is close to the one before it."""
    rng = random.Random(11)
    full = [paragraph(rng, "stadium", detail) for detail in DETAILS]
    model = TemplateModel()
    for n in range(3, 9):
        model.observe(f"update-{n}", [PROMOS[1], *full[:n]])
    model.observe("other-1", [PROMOS[1], *story(rng, "lighthouse")])
    model.observe("other-2", [PROMOS[1], *story(rng, "hospital")])
    assert [block.key for block in model.learned()] == [shape_key(PROMOS[1])]
    assert model.learned()[0].articles == 3
    assert model.clean(full) == (tuple(full), ())


# --- a background paragraph shared by distinct stories ---------------------------------------

BACKGROUND = (
    "The Valdoria reservoir scheme was first proposed in 2011 and has been delayed four times."
)


def test_background_paragraph_in_three_distinct_stories_is_learned() -> None:
    """Chosen behaviour: a paragraph recurring verbatim in ``min_articles`` DISTINCT stories is
    template-like (an "About the scheme" paragraph) and is learned; in two it is not."""
    rng = random.Random(5)
    model = TemplateModel()
    first, second, follow_up = story(rng, "airport"), story(rng, "museum"), story(rng, "ferry")
    assert model.observe("first", [*first, BACKGROUND]) == ()
    assert model.observe("second", [second[0], BACKGROUND, *second[1:]]) == ()
    assert not model.is_template(BACKGROUND)
    assert model.observe("follow-up", [*follow_up, BACKGROUND]) == (shape_key(BACKGROUND),)
    assert model.clean([*follow_up, BACKGROUND]) == (tuple(follow_up), (BACKGROUND,))


def test_background_paragraph_in_an_update_is_not_learned() -> None:
    rng = random.Random(5)
    model = TemplateModel()
    first, second = story(rng, "airport"), story(rng, "museum")
    model.observe("first", [*first, BACKGROUND])
    model.observe("second", [*second, BACKGROUND])
    # The third article is an update of the first one, not a third story.
    assert model.observe("first-updated", [*first[:-1], BACKGROUND, "A new closing line."]) == ()
    assert not model.is_template(BACKGROUND)


def test_long_paragraphs_are_never_learned() -> None:
    rng = random.Random(5)
    model = TemplateModel(max_block_chars=60)
    short = "Follow us on Telegram"
    for n, topic in enumerate(("airport", "museum", "ferry", "quarry")):
        model.observe(f"a{n}", [*story(rng, topic), BACKGROUND, short])
    assert model.is_template(short)
    assert not model.is_template(BACKGROUND)  # longer than 60 characters: article text


# --- block_shape ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("July 22, 2008", "<date>"),
        ("22.07.2008", "<date>"),
        ("2008-07-22", "<date>"),
        ("Posted 2008-07-22T14:05:00Z", "posted <date>"),
        ("3. März 2026", "<date>"),
        ("1er mars 2026", "<date>"),
        ("mardi 3 mars 2026", "<date>"),
        ("3 de marzo de 2026", "<date>"),
        ("3 марта 2026 года", "<date>"),
        ("Tuesday, 3 March 2026", "<date>"),
        ("Updated 14:05, 3 March 2026", "updated #, <date>"),
        ("Up 3.5% to 1,200 tonnes...", "up #% to # tonnes"),
        ("Follow us on Telegram", "follow us on <name>"),
        ("Angela Merkel met Emmanuel Macron in Paris.", "<name> met <name> in <name>"),
        ("By J. R. Smith", "<name>"),
        ("I think I can", "i think i can"),
        ("Владимир Путин заявил в среду", "<name> заявил в среду"),
        (
            "Read https://example.com/a?b=1 or write to desk@example.org!",
            "read <url> or write to <url>",
        ),
        ("“Quoted” — dashed", '"quoted" - dashed'),
        ("  spaced \n\t out  ", "spaced out"),
        ("ＦＵＬＬ　ｗｉｄｔｈ １２３", "full width #"),
        ("Trailing punctuation?!…", "trailing punctuation"),
        ("", ""),
    ],
)
def test_block_shape(text: str, shape: str) -> None:
    assert block_shape(text) == shape


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Updated 14:05, 3 March 2026", "Updated 9:41, 12 April 2025."),
        ("By Maria Lopez", "By Jonas Berg"),
        ("Join 12,408 readers today", "Join 990 readers today"),
        ("It's “free” — really", 'It’s "free" - really'),
        ("Sign up: https://a.example/x", "Sign up: https://b.example/y?z=1"),
    ],
)
def test_shape_key_ignores_details(a: str, b: str) -> None:
    assert shape_key(a) == shape_key(b)
    assert len(shape_key(a)) == 16
    assert int(shape_key(a), 16) >= 0


def test_shape_key_tells_different_blocks_apart() -> None:
    assert shape_key("Follow us on Telegram") != shape_key("Sign up for the newsletter")
    assert shape_key("Follow us on Telegram") == shape_key("Follow us on Mastodon")


# --- bounds, idempotence, persistence ---------------------------------------------------------


def test_eviction_keeps_the_most_recent_articles() -> None:
    rng = random.Random(9)
    model = TemplateModel(max_articles=5)
    for n in range(12):
        blocks = [*story(rng, TOPICS[n]), PROMOS[0]] if n < 4 else story(rng, TOPICS[n])
        model.observe(f"a{n}", blocks)
        assert model.article_count == min(n + 1, 5)
    assert [aid for aid, _ in model.to_json()["articles"]] == [f"a{n}" for n in range(7, 12)]
    # Learned from a0..a3, all evicted now: still learned, reported with its count at learning.
    assert model.is_template(PROMOS[0])
    assert model.learned() == (
        LearnedBlock(key=shape_key(PROMOS[0]), sample=PROMOS[0], articles=3),
    )


def test_reobserving_an_article_is_idempotent_and_replaces_it() -> None:
    rng = random.Random(4)
    pages = outlet_pages(seed=8, count=6)
    model = TemplateModel()
    observe_all(model, pages)
    before = model.to_json()
    assert model.observe(pages[-1].article_id, pages[-1].blocks) == ()
    assert model.to_json() == before
    # Replacing an early article keeps its place and drops its old keys.
    replacement = story(rng, "canal")
    model.observe(pages[0].article_id, replacement)
    articles = model.to_json()["articles"]
    assert [aid for aid, _ in articles] == [page.article_id for page in pages]
    assert articles[0][1] == sorted({shape_key(p) for p in replacement})
    assert model.article_count == 6


def test_learned_counts_are_current() -> None:
    rng = random.Random(2)
    model = TemplateModel()
    for n in range(5):
        model.observe(f"a{n}", [PROMOS[0], *story(rng, TOPICS[n])])
    assert model.learned()[0].articles == 5
    model.observe("a4", story(rng, TOPICS[4]))  # the promo is gone from a4
    assert model.learned()[0].articles == 4
    assert model.is_template(PROMOS[0])  # learned stays learned


def test_bad_input_is_refused() -> None:
    model = TemplateModel()
    with pytest.raises(TypeError):
        model.observe("a", "a whole article as one string")
    with pytest.raises(ValueError, match="article_id"):
        model.observe("", ["x"])
    with pytest.raises(ValueError, match="min_articles"):
        TemplateModel(min_articles=1)
    with pytest.raises(ValueError, match="max_overlap"):
        TemplateModel(max_overlap=1.0)
    with pytest.raises(ValueError, match="format"):
        TemplateModel.from_json({**model.to_json(), "format": "other/9"})
    with pytest.raises(ValueError, match="malformed"):
        TemplateModel.from_json({"format": FORMAT})


def test_blank_blocks_are_ignored_and_kept() -> None:
    model = TemplateModel(min_articles=2)
    rng = random.Random(6)
    model.observe("a", ["", "...", *story(rng, "dairy")])
    model.observe("b", ["", "...", *story(rng, "foundry")])
    assert model.learned() == ()
    assert model.clean(["", "x"]) == (("", "x"), ())


POOL = (
    *PROMOS,
    "Updated 14:05, 3 March 2026",
    "Updated 09:12, 28 May 2026",
    "By Maria Lopez",
    "The harbour budget would approve 14 jobs in Valdoria.",
    "The harbour budget would approve 15 jobs in Valdoria.",
    "Residents near the bridge were told to repair their plans.",
    "The council voted to relocate the orchard lawsuit.",
    "Officials expect the museum audit to cost 4.5 million.",
    "A much longer paragraph about the railway timetable, " * 3,
    "",
)
observations = st.lists(
    st.tuples(
        st.sampled_from([f"a{n}" for n in range(8)]),
        st.lists(st.sampled_from(POOL), max_size=6),
    ),
    max_size=25,
)
params = st.fixed_dictionaries(
    {
        "min_articles": st.integers(2, 4),
        "max_overlap": st.sampled_from([0.0, 0.3, 0.5, 0.8]),
        "max_articles": st.integers(1, 6),
        "max_block_chars": st.sampled_from([30, 60, 600]),
    }
)


def replay(kwargs: dict[str, object], seq: list[tuple[str, list[str]]]) -> TemplateModel:
    model = TemplateModel(**kwargs)  # type: ignore[arg-type]
    for article_id, blocks in seq:
        model.observe(article_id, blocks)
    return model


@settings(max_examples=150, deadline=None)
@given(params, observations, observations)
def test_json_round_trip_behaves_identically(
    kwargs: dict[str, object],
    first: list[tuple[str, list[str]]],
    then: list[tuple[str, list[str]]],
) -> None:
    model = replay(kwargs, first)
    data = model.to_json()
    assert replay(kwargs, first).to_json() == data  # deterministic
    restored = TemplateModel.from_json(json.loads(json.dumps(data, sort_keys=True)))
    assert restored.to_json() == data
    assert restored.learned() == model.learned()
    assert restored.article_count == model.article_count <= kwargs["max_articles"]  # type: ignore[operator]
    for article_id, blocks in then:
        assert restored.observe(article_id, blocks) == model.observe(article_id, blocks)
        assert restored.to_json() == model.to_json()
        assert restored.clean(POOL) == model.clean(POOL)
        assert model.article_count <= kwargs["max_articles"]  # type: ignore[operator]
    assert restored.learned() == model.learned()


@settings(max_examples=100, deadline=None)
@given(params, observations)
def test_observe_twice_in_a_row_changes_nothing(
    kwargs: dict[str, object], seq: list[tuple[str, list[str]]]
) -> None:
    model = replay(kwargs, seq)
    for article_id, blocks in seq[-3:]:
        model.observe(article_id, blocks)
        data = model.to_json()
        assert model.observe(article_id, blocks) == ()
        assert model.to_json() == data


@settings(max_examples=100, deadline=None)
@given(params, observations)
def test_learned_never_unlearns_and_clean_partitions(
    kwargs: dict[str, object], seq: list[tuple[str, list[str]]]
) -> None:
    model = TemplateModel(**kwargs)  # type: ignore[arg-type]
    learned: set[str] = set()
    for article_id, blocks in seq:
        new = model.observe(article_id, blocks)
        assert list(new) == sorted(new)
        assert not learned & set(new)
        learned |= set(new)
        assert {b.key for b in model.learned()} == learned
    kept, removed = model.clean(POOL)
    assert sorted(kept + removed) == sorted(POOL)
    assert all(model.is_template(b) for b in removed)
    assert not any(model.is_template(b) for b in kept)
    assert all(len(block_shape(b)) <= kwargs["max_block_chars"] for b in removed)  # type: ignore[operator]


class NaiveModel:
    """The rules written the slow, obvious way (all pairs, no index, no prefix filter)."""

    def __init__(self, min_articles: int, max_overlap: float, max_articles: int, limit: int):
        self.min_articles, self.max_overlap = min_articles, max_overlap
        self.max_articles, self.limit = max_articles, limit
        self.articles: dict[str, dict[str, int]] = {}  # id -> key -> shape length
        self.learned: set[str] = set()

    def same(self, a: str, b: str) -> bool:
        wa = {k: w for k, w in self.articles[a].items() if k not in self.learned}
        wb = {k: w for k, w in self.articles[b].items() if k not in self.learned}
        inter = sum(w for k, w in wa.items() if k in wb)
        union = sum(wa.values()) + sum(wb.values()) - inter
        return union == 0 or inter > self.max_overlap * union

    def stories(self, key: str) -> int:
        holders = [a for a, keys in self.articles.items() if key in keys]
        return sum(
            1 for n, a in enumerate(holders) if not any(self.same(a, b) for b in holders[:n])
        )

    def observe(self, article_id: str, blocks: list[str]) -> tuple[str, ...]:
        keys = {shape_key(b): len(block_shape(b)) for b in blocks if block_shape(b)}
        if article_id not in self.articles and len(self.articles) >= self.max_articles:
            del self.articles[next(iter(self.articles))]
        self.articles[article_id] = keys
        pending = sorted(k for k, w in keys.items() if k not in self.learned and w <= self.limit)
        newly: list[str] = []
        while True:
            gained = [k for k in pending if self.stories(k) >= self.min_articles]
            if not gained:
                return tuple(sorted(newly))
            self.learned |= set(gained)
            newly += gained
            pending = [k for k in pending if k not in self.learned]


@settings(max_examples=200, deadline=None)
@given(params, observations)
def test_agrees_with_the_naive_all_pairs_model(
    kwargs: dict[str, object], seq: list[tuple[str, list[str]]]
) -> None:
    model = TemplateModel(**kwargs)  # type: ignore[arg-type]
    naive = NaiveModel(
        kwargs["min_articles"],  # type: ignore[arg-type]
        kwargs["max_overlap"],  # type: ignore[arg-type]
        kwargs["max_articles"],  # type: ignore[arg-type]
        kwargs["max_block_chars"],  # type: ignore[arg-type]
    )
    for article_id, blocks in seq:
        assert model.observe(article_id, blocks) == naive.observe(article_id, blocks)
    assert {b.key for b in model.learned()} == naive.learned
    for block in model.learned():
        if any(block.key in keys for keys in naive.articles.values()):
            assert block.articles == naive.stories(block.key)


@settings(max_examples=100, deadline=None)
@given(params, observations)
def test_observe_and_split_is_observe_then_clean(
    kwargs: dict[str, object], seq: list[tuple[str, list[str]]]
) -> None:
    apart = TemplateModel(**kwargs)  # type: ignore[arg-type]
    together = TemplateModel(**kwargs)  # type: ignore[arg-type]
    for article_id, blocks in seq:
        learned = apart.observe(article_id, blocks)
        kept, removed = apart.clean(blocks)
        observation = together.observe_and_split(article_id, blocks)
        assert observation.learned == learned
        assert (observation.split.kept, observation.split.removed) == (kept, removed)
        assert observation.split.removed_keys == tuple(shape_key(b) for b in removed)
        assert together.split(blocks) == observation.split
    assert together.to_json() == apart.to_json()
    assert together.changes() == apart.changes()
