"""Article extraction as the pipeline runs it: main text, attribution, boilerplate rules, labels.

``extract_page`` is pure (a function of the page and a picklable ``ExtractContext``), so it can
run in a worker process under a time budget (``harvester.extract.runner``). Order matters:

    main text (trafilatura) + metadata (selectolax)
    -> attribution evidence, on the raw page and the UNCLEANED blocks (cleaning deletes credits)
    -> boilerplate rule packs (removed blocks kept, with kind and rule)
    -> labelled lines become fields (tags, authors, published)
    -> the not-an-article gates, on the cleaned blocks

Learned outlet templates are applied afterwards by the pipeline: they need the catalog.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harvester.config import Settings
from harvester.errors import ConfigError
from harvester.extract.attribution import detect_attribution
from harvester.extract.boilerplate import RemovedBlock, RuleSet
from harvester.extract.content import article_gate, extract_main
from harvester.extract.runner import BudgetExceeded, TimeBudget, WorkerCrashed
from harvester.extract.wires import WireRegistry
from harvester.lifetime import Closeable
from harvester.models import Evidence, Rejected

__all__ = [
    "ArticleExtractor",
    "ContextSpec",
    "ExtractContext",
    "Extraction",
    "PageHints",
    "extract_page",
    "extract_with_spec",
    "load_context",
    "outlet_name_map",
]


@dataclass(frozen=True, kw_only=True)
class ExtractContext:
    """What extraction needs besides the page: rule packs, wire registry, outlet names."""

    rules: RuleSet
    wires: WireRegistry
    outlet_names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ContextSpec:
    """Where an ExtractContext comes from: small and picklable, sent to the worker process
    with every page instead of the compiled rules."""

    boilerplate: Path
    wires: Path
    outlet_names: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> ContextSpec:
        """The spec named by ``[extract]`` and the configured outlets."""
        return cls(
            boilerplate=Path(settings.extract.boilerplate),
            wires=Path(settings.extract.wires),
            outlet_names=tuple(sorted(outlet_name_map(settings).items())),
        )


# One loaded context per spec and process: the worker process loads the packs once, not per
# page. Keyed by the (immutable) spec, so it can never serve stale rules for another config.
@functools.lru_cache(maxsize=4)
def load_context(spec: ContextSpec) -> ExtractContext:
    """Load the rule packs and the wire registry of ``spec`` (ConfigError when invalid)."""
    return ExtractContext(
        rules=RuleSet.load_dir(spec.boilerplate),
        wires=WireRegistry.load(spec.wires),
        outlet_names=dict(spec.outlet_names),
    )


def check_spec(spec: ContextSpec) -> None:
    """Load ``spec``'s context in this process (ConfigError when a pack is invalid)."""
    load_context(spec)


def extract_with_spec(
    html: str, url: str, spec: ContextSpec, hints: PageHints
) -> Extraction | Rejected:
    """:func:`extract_page` with the context of ``spec`` (what the worker process runs)."""
    return extract_page(html, url, load_context(spec), hints)


def outlet_name_map(settings: Settings) -> dict[str, str]:
    """Lower-cased outlet names and aliases -> the configured outlet name."""
    names: dict[str, str] = {}
    for outlet in settings.outlets:
        for name in (outlet.name, *outlet.aliases):
            names.setdefault(name.casefold(), outlet.name)
    return names


@dataclass(frozen=True, kw_only=True)
class PageHints:
    """Per-page facts from outside the page: who published it, what the feed said."""

    self_names: tuple[str, ...] = ()
    feed_source: tuple[str | None, str | None] | None = None


@dataclass(frozen=True, kw_only=True)
class Extraction:
    """An article after rule cleaning (learned templates not applied yet)."""

    title: str | None
    authors: tuple[str, ...]
    published: str | None
    language: str | None
    blocks: tuple[str, ...]
    tags: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    removed: tuple[RemovedBlock, ...]
    canonical: str | None
    sitename: str | None
    description: str | None


def extract_page(
    html: str, url: str, context: ExtractContext, hints: PageHints
) -> Extraction | Rejected:
    """Extract, attribute and clean one page (see the module docstring for the order)."""
    main = extract_main(html, url=url)
    if isinstance(main, Rejected):
        return main
    meta = main.meta
    self_names = tuple(dict.fromkeys((*hints.self_names, *(n for n in [meta.sitename] if n))))
    evidence = detect_attribution(
        html=html,
        url=url,
        blocks=main.blocks,
        registry=context.wires,
        outlet_names=context.outlet_names,
        self_names=self_names,
        feed_source=hints.feed_source,
        tree=main.dom,
        head=main.head,
    )
    cleaned = context.rules.clean(main.blocks)
    rejected = article_gate(cleaned.blocks, meta)
    if rejected is not None:
        return rejected
    labels = cleaned.labels
    return Extraction(
        title=meta.title,
        authors=meta.authors or labels.authors,
        published=meta.published or labels.published,
        language=meta.language,
        blocks=cleaned.blocks,
        tags=labels.tags,
        evidence=evidence,
        removed=cleaned.removed,
        canonical=meta.canonical,
        sitename=meta.sitename,
        description=meta.description,
    )


# Loading and compiling the rule packs takes ~0.3 s; a page's budget may be far smaller.
LOAD_SECONDS = 120.0


class ArticleExtractor(Closeable):
    """Runs :func:`extract_page` under the ``[extract] budget`` (a worker process).

    A page that exceeds the budget becomes ``Rejected("extraction exceeded ...")``: the raw
    capture is archived all the same and the metadata record says why the text is missing.
    """

    def __init__(self, settings: Settings) -> None:
        self.spec = ContextSpec.from_settings(settings)
        # What the calling process needs itself: wire names and outlet names (stories).
        self.wires = WireRegistry.load(self.spec.wires)
        self.outlet_names = dict(self.spec.outlet_names)
        self._budget = TimeBudget(settings.extract.budget)
        # The rule packs are loaded where pages are extracted (the worker, or this process with
        # no budget), once, now: a bad rule pack is a config error at start, not per page, and
        # the calling process does not compile ~1,300 patterns it never uses (~0.3 s).
        try:
            self._budget.call(check_spec, self.spec, limit=LOAD_SECONDS)
        except (BudgetExceeded, WorkerCrashed) as exc:
            self._budget.close()
            raise ConfigError(f"cannot load the extraction rules: {exc}") from None
        except BaseException:
            self._budget.close()
            raise

    def extract(self, html: str, url: str, hints: PageHints) -> Extraction | Rejected:
        """Extract one page within the budget."""
        try:
            return self._budget.call(extract_with_spec, html, url, self.spec, hints)
        except (BudgetExceeded, WorkerCrashed) as exc:
            return Rejected(reason=f"extraction {exc}")

    def close(self) -> None:
        """Stop the worker process."""
        self._budget.close()
