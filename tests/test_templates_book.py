"""The template book: models cached within a key budget, the catalog written per article (what
observing changed), models read back after eviction behaving exactly as if never evicted."""

from __future__ import annotations

import json
import random
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_templates import POOL, PROMOS, story

from harvester.catalog import CATALOG_NAME, SCHEMA_VERSION, SqliteCatalog
from harvester.errors import ArchiveUnavailableError
from harvester.extract.templates import TemplateChanges, TemplateModel
from harvester.templates_book import TemplateBook

OUTLETS = ("north", "south", "east")

steps = st.lists(
    st.tuples(
        st.sampled_from(OUTLETS),
        st.sampled_from([f"https://x.test/{n}" for n in range(9)]),
        st.lists(st.sampled_from(POOL), max_size=6),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(steps, st.sampled_from([0, 4, 12, 10_000]), st.integers(1, 5))
def test_book_agrees_with_models_kept_in_memory(
    seq: list[tuple[str, str, list[str]]], cache_keys: int, window: int
) -> None:
    """Whatever the budget (0: only the model in use keeps keys in memory), every result equals
    that of one model per outlet kept in memory for good, and the catalog's copy of each model
    equals that model's to_json after every article."""
    reference: dict[str, TemplateModel] = {}
    with tempfile.TemporaryDirectory() as tmp, SqliteCatalog(Path(tmp) / CATALOG_NAME) as catalog:
        # A stored empty model with the window under test: the book reads it back (parameters
        # included) on first use.
        for outlet in OUTLETS:
            reference[outlet] = TemplateModel(min_articles=2, max_articles=window)
            catalog.save_template_model(outlet, reference[outlet].to_json())
        book = TemplateBook(catalog, min_articles=2, cache_keys=cache_keys)
        for outlet, url, blocks in seq:
            got = book.observe_and_clean(outlet, url, blocks)
            model = reference[outlet]
            assert got.newly_learned == model.observe(url, blocks)
            assert (got.kept, tuple(r.text for r in got.removed)) == model.clean(blocks)
            assert catalog.template_model(outlet) == model.to_json()
            assert book.clean(outlet, POOL).kept == model.clean(POOL)[0]
            assert book.cached_keys == sum(m.size for m in book._models.values())
            # Within the budget, except for the model in use (the most recent).
            assert book.cached_keys <= max(cache_keys, book.model(book.cached[-1]).size)


def invented(outlet_seed: int, n: int) -> list[tuple[str, list[str]]]:
    """n articles of one invented outlet: distinct stories, each with the outlet's promos."""
    rng = random.Random(outlet_seed)
    topics = ["harbour", "bridge", "orchard", "library", "railway", "reservoir", "museum"]
    return [
        (f"https://o{outlet_seed}.test/{k}", [*story(rng, topics[k % len(topics)]), *PROMOS[:2]])
        for k in range(n)
    ]


def test_the_budget_bounds_memory_and_evicted_models_are_read_back(tmp_path: Path) -> None:
    with SqliteCatalog(tmp_path / CATALOG_NAME) as catalog:
        book = TemplateBook(catalog, min_articles=3, cache_keys=60)
        articles = {o: invented(o, 6) for o in range(8)}
        biggest = 0
        for k in range(6):  # round robin over the outlets, as the frontier serves hosts
            for outlet, items in articles.items():
                url, blocks = items[k]
                book.observe_and_clean(f"outlet{outlet}", url, blocks)
                biggest = max(biggest, book.model(f"outlet{outlet}").size)
                assert book.cached_keys <= max(60, biggest)
        assert book.loads > len(articles)  # evicted models were read back
        # The promos were learned for every outlet despite the evictions.
        for outlet in articles:
            assert book.clean(f"outlet{outlet}", list(PROMOS[:2])).kept == ()

        roomy = TemplateBook(catalog, min_articles=3)
        for outlet in articles:
            roomy.clean(f"outlet{outlet}", ["x"])
        assert roomy.loads == len(articles)
        assert len(roomy.cached) == len(articles)


class FullCatalog:
    """A catalog whose next template save fails as a full disk does."""

    def __init__(self, inner: SqliteCatalog) -> None:
        self.inner = inner
        self.fail = False

    def template_model(self, outlet: str) -> object:
        return self.inner.template_model(outlet)

    def template_version(self, outlet: str) -> int:
        return self.inner.template_version(outlet)

    def save_template_changes(self, outlet: str, params: object, changes: TemplateChanges) -> None:
        if self.fail:
            self.fail = False
            raise ArchiveUnavailableError("disk full")
        self.inner.save_template_changes(outlet, params, changes)  # type: ignore[arg-type]


def test_a_failed_save_leaves_memory_as_the_catalog(tmp_path: Path) -> None:
    """The article whose save failed is rolled back by the pipeline and retried: observing it
    again must give what observing it once gives."""
    items = invented(1, 5)
    with SqliteCatalog(tmp_path / CATALOG_NAME) as inner:
        catalog = FullCatalog(inner)
        book = TemplateBook(catalog, min_articles=3)  # type: ignore[arg-type]
        reference = TemplateModel(min_articles=3)
        for k, (url, blocks) in enumerate(items):
            if k == 3:
                catalog.fail = True
                with pytest.raises(ArchiveUnavailableError):
                    book.observe_and_clean("o", url, blocks)
                assert book.cached == ()
            got = book.observe_and_clean("o", url, blocks)
            assert got.newly_learned == reference.observe(url, blocks)
            assert inner.template_model("o") == reference.to_json()


def test_a_schema_2_catalog_keeps_its_models(tmp_path: Path) -> None:
    """Schema 2 stored each model as one JSON document; opening the catalog splits it into
    rows and reads back the same model."""
    model = TemplateModel(min_articles=3)
    for url, blocks in invented(2, 6):
        model.observe(url, blocks)
    assert model.learned()
    path = tmp_path / CATALOG_NAME
    SqliteCatalog(path).close()
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM template_articles")
        db.execute(
            "INSERT INTO templates (outlet, model) VALUES (?, ?)",
            ("old", json.dumps(model.to_json(), sort_keys=True)),
        )
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    db.close()
    with SqliteCatalog(path) as catalog:
        assert catalog.template_model("old") == model.to_json()
        book = TemplateBook(catalog, min_articles=3)
        url, blocks = invented(2, 7)[6]
        assert book.observe_and_clean("old", url, blocks).newly_learned == model.observe(
            url, blocks
        )
        assert catalog.template_model("old") == model.to_json()
    with sqlite3.connect(path) as db:
        (version,) = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        (stored,) = db.execute("SELECT model FROM templates WHERE outlet = 'old'").fetchone()
    db.close()
    assert version == str(SCHEMA_VERSION)
    assert "articles" not in json.loads(stored)  # the document now holds the parameters only


def test_two_writers_learn_from_each_others_articles(tmp_path: Path) -> None:
    """Two books on one catalog (two writers), taking turns on one outlet: each reads back the
    model the other saved before observing, so a promo under three distinct stories is learned
    by whichever writer archives the third, and both then remove it; the stored model is the
    one a single model observing every article in that order would have."""
    path = tmp_path / CATALOG_NAME
    articles = invented(7, 6)
    reference = TemplateModel(min_articles=3)
    with SqliteCatalog(path) as one, SqliteCatalog(path) as two:
        books = (TemplateBook(one, min_articles=3), TemplateBook(two, min_articles=3))
        learned: list[tuple[str, ...]] = []
        for k, (url, blocks) in enumerate(articles):
            got = books[k % 2].observe_and_clean("north", url, blocks)
            assert got.newly_learned == reference.observe(url, blocks)
            assert got.kept == reference.clean(blocks)[0]
            learned.append(got.newly_learned)
        # The third story (the first writer's second article) taught both promos.
        assert [len(keys) for keys in learned] == [0, 0, 2, 0, 0, 0]
        assert one.template_model("north") == reference.to_json()
        # The writer that saved last holds the stored model (the other reads it back when it
        # next observes); both remove the promos.
        assert books[1].model("north").to_json() == reference.to_json()
        for book in books:
            assert book.clean("north", list(PROMOS[:2])).kept == ()
        # Reading back happens only when the other writer saved since: the first writer reads
        # the second's last article back once, then observes on alone without reloading.
        loads = books[0].loads
        for url, blocks in invented(8, 3):
            books[0].observe_and_clean("north", url, blocks)
        assert books[0].loads == loads + 1
