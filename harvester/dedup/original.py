"""Original resolution from one page's attribution evidence (pure).

This is the single-page rule; the story stage (near-duplicates, earliest member) builds on it.
Evidence arrives strongest first (``EVIDENCE_KINDS`` order). The original is the outlet named by
the strongest evidence that names another outlet; its URL is the first URL any evidence for that
same outlet gives. With no such evidence the page is its own original.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harvester.models import Evidence

__all__ = ["Attribution", "attribute"]


@dataclass(frozen=True, kw_only=True)
class Attribution:
    """Who the page says the story came from (``outlet`` None: the page itself)."""

    outlet: str | None
    url: str | None
    decided_by: str | None


def attribute(evidence: Sequence[Evidence], *, own_outlet: str | None) -> Attribution:
    """The attributed original of a page, or ``Attribution(None, None, None)`` for none."""
    own = (own_outlet or "").casefold()
    external = [e for e in evidence if e.source and e.source.casefold() != own]
    if not external:
        return Attribution(outlet=None, url=None, decided_by=None)
    best = external[0]
    assert best.source is not None
    same = best.source.casefold()
    url = best.url or next(
        (e.url for e in external if e.url and (e.source or "").casefold() == same), None
    )
    return Attribution(outlet=best.source, url=url, decided_by=best.kind)
