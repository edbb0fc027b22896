"""Learned outlet templates, persisted in the catalog (the I/O shell around
``harvester.extract.templates.TemplateModel``).

Memory: a model grows with its outlet's retained articles (up to ``max_articles``, each held as
its block keys), so one per outlet kept for the process's life would grow with the number of
outlets. The book keeps the models it used last and at most ``cache_keys`` keys over all of
them (the current one is always kept, whatever its size); a model evicted from memory is read
back from the catalog when its outlet next needs it. The catalog is written per article (what
observing it changed), so evicting costs nothing and the stored copy is always current.

Several writers: each save counts a version of the outlet's stored model; before observing, a
model in memory whose version another writer has moved past is read back, so every writer
learns from the articles all of them archived.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from harvester.catalog import Catalog
from harvester.config import ExtractSettings
from harvester.extract.boilerplate import RemovedBlock
from harvester.extract.templates import Split, TemplateModel

__all__ = ["DEFAULT_CACHE_KEYS", "TemplateBook", "TemplateResult"]

# Block keys held in memory over every cached model (``[extract] template_cache``).
DEFAULT_CACHE_KEYS = ExtractSettings.template_cache


@dataclass(frozen=True, kw_only=True)
class TemplateResult:
    """Blocks after the outlet's learned templates, and what observing this article taught."""

    kept: tuple[str, ...]
    removed: tuple[RemovedBlock, ...]
    newly_learned: tuple[str, ...]


class TemplateBook:
    """One TemplateModel per outlet, loaded from and saved to the catalog; the most recently
    used ones are cached in memory within ``cache_keys`` block keys."""

    def __init__(
        self, catalog: Catalog, *, min_articles: int, cache_keys: int = DEFAULT_CACHE_KEYS
    ) -> None:
        if cache_keys < 0:
            raise ValueError(f"cache_keys must be >= 0, got {cache_keys!r}")
        self._catalog = catalog
        self._min_articles = min_articles
        self._cache_keys = cache_keys
        self._models: OrderedDict[str, TemplateModel] = OrderedDict()
        self._keys = 0  # block keys held by the cached models
        self._versions: dict[str, int] = {}  # the stored version each cached model matches
        self.loads = 0  # models read from the catalog (a first use, or after an eviction)

    @property
    def cached(self) -> tuple[str, ...]:
        """The outlets whose models are in memory, least recently used first."""
        return tuple(self._models)

    @property
    def cached_keys(self) -> int:
        """Block keys held by the models in memory."""
        return self._keys

    def model(self, outlet: str) -> TemplateModel:
        """The outlet's model (empty when nothing was learned yet)."""
        model = self._models.get(outlet)
        if model is None:
            self._versions[outlet] = self._catalog.template_version(outlet)
            stored = self._catalog.template_model(outlet)
            self.loads += 1
            model = (
                TemplateModel.from_json(stored)
                if stored is not None
                else TemplateModel(min_articles=self._min_articles)
            )
            self._models[outlet] = model
            self._keys += model.size
        self._models.move_to_end(outlet)
        self._shrink()
        return model

    def clean(self, outlet: str, blocks: Sequence[str]) -> TemplateResult:
        """Remove the outlet's learned blocks (no learning)."""
        split = self.model(outlet).split(blocks)
        return TemplateResult(kept=split.kept, removed=_removed(split), newly_learned=())

    def observe_and_clean(
        self, outlet: str, article_id: str, blocks: Sequence[str]
    ) -> TemplateResult:
        """Learn from this article, save what changed, then clean the article with the model.

        When the save fails (the catalog is full or locked) the model is dropped from memory, so
        the next use reads the stored copy, which does not have this article: the caller rolls
        the article back and it is observed again when it is retried."""
        cached = self._models.get(outlet)
        if cached is not None and self._catalog.template_version(outlet) != self._versions.get(
            outlet
        ):
            del self._models[outlet]  # another writer changed it: read it back
            self._keys -= cached.size
        model = self.model(outlet)
        before = model.size
        # Observed and split in one call: each block is shaped once (the costly part).
        observation = model.observe_and_split(article_id, blocks)
        self._keys += model.size - before
        try:
            self._catalog.save_template_changes(outlet, model.params(), model.changes())
            self._versions[outlet] = self._versions.get(outlet, 0) + 1
        except BaseException:
            del self._models[outlet]
            self._keys -= model.size
            raise
        self._shrink()
        split = observation.split
        return TemplateResult(
            kept=split.kept, removed=_removed(split), newly_learned=observation.learned
        )

    def _shrink(self) -> None:
        # Least recently used first; the most recent (the one in use) always stays.
        while self._keys > self._cache_keys and len(self._models) > 1:
            _, evicted = self._models.popitem(last=False)
            self._keys -= evicted.size


def _removed(split: Split) -> tuple[RemovedBlock, ...]:
    return tuple(
        RemovedBlock(kind="template", text=text, rule=f"template#{key}")
        for text, key in zip(split.removed, split.removed_keys, strict=True)
    )
