"""Learned outlet templates, persisted in the catalog (the I/O shell around
``harvester.extract.templates.TemplateModel``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harvester.catalog import Catalog
from harvester.extract.boilerplate import RemovedBlock
from harvester.extract.templates import TemplateModel, shape_key

__all__ = ["TemplateBook", "TemplateResult"]


@dataclass(frozen=True, kw_only=True)
class TemplateResult:
    """Blocks after the outlet's learned templates, and what observing this article taught."""

    kept: tuple[str, ...]
    removed: tuple[RemovedBlock, ...]
    newly_learned: tuple[str, ...]


class TemplateBook:
    """One TemplateModel per outlet, loaded from and saved to the catalog."""

    def __init__(self, catalog: Catalog, *, min_articles: int) -> None:
        self._catalog = catalog
        self._min_articles = min_articles
        self._models: dict[str, TemplateModel] = {}

    def model(self, outlet: str) -> TemplateModel:
        """The outlet's model (empty when nothing was learned yet)."""
        if outlet not in self._models:
            stored = self._catalog.template_model(outlet)
            self._models[outlet] = (
                TemplateModel.from_json(stored)
                if stored is not None
                else TemplateModel(min_articles=self._min_articles)
            )
        return self._models[outlet]

    def clean(self, outlet: str, blocks: Sequence[str]) -> TemplateResult:
        """Remove the outlet's learned blocks (no learning)."""
        kept, removed = self.model(outlet).clean(blocks)
        return TemplateResult(kept=kept, removed=_removed(removed), newly_learned=())

    def observe_and_clean(
        self, outlet: str, article_id: str, blocks: Sequence[str]
    ) -> TemplateResult:
        """Learn from this article, save the model, then clean the article with it."""
        model = self.model(outlet)
        learned = model.observe(article_id, blocks)
        self._catalog.save_template_model(outlet, model.to_json())
        kept, removed = model.clean(blocks)
        return TemplateResult(kept=kept, removed=_removed(removed), newly_learned=learned)


def _removed(texts: Sequence[str]) -> tuple[RemovedBlock, ...]:
    return tuple(
        RemovedBlock(kind="template", text=t, rule=f"template#{shape_key(t)}") for t in texts
    )
