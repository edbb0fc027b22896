"""The story book: places each new article into a story and resolves the story's original.

The I/O shell around the pure ``stories`` decisions: doc rows and fingerprints live in the
catalog (the source for rebuilds), candidate lookup goes through the in-memory
``CandidateIndex`` holding the docs of the last ``window`` seconds (older docs leave the hot
index but stay in the catalog), plus an exact-text lookup in the catalog (tier 3).

Several writers: placement runs inside the catalog's fleet-wide critical section
(``Catalog.placement``, taken by the pipeline around place + resolve + the records that follow),
and :meth:`StoryBook.catch_up` first files the docs other writers placed since this book last
looked (every put of a doc takes the next placement sequence number), so each placement sees
every earlier one whichever process made it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from harvester.catalog import Catalog, DocRow
from harvester.dedup.fingerprint import Fingerprint
from harvester.dedup.index import CandidateIndex
from harvester.dedup.stories import (
    Member,
    Relation,
    Resolution,
    epoch,
    relate,
    resolve_original,
)
from harvester.models import Evidence

__all__ = ["Placement", "StoryBook"]

# Why 50: a story rarely has more copies in the window than this; the best relation is among
# the most-shared candidates, and verifying each costs a catalog read.
MAX_CANDIDATES = 50
# Eviction walks the index; every thousand placements keeps it cheap and the window tight.
EVICT_EVERY = 1000


@dataclass(frozen=True, kw_only=True)
class Placement:
    """Where a new article went: its doc id, its story, and the text evidence that put it there."""

    doc: int
    story: str
    evidence: Evidence | None


class StoryBook:
    """Story assignment over the catalog and a hot candidate index."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        window: float,
        now: float,
        canonical_name: Callable[[str], str] = lambda n: n,
        is_wire: Callable[[str], bool] = lambda n: False,
        spill_dir: Path | None = None,
    ) -> None:
        """``spill_dir``: where the candidate index keeps its postings out of the heap (mapped
        unnamed temporary files; see ``CandidateIndex``); None keeps them in memory."""
        self._catalog = catalog
        self.is_wire_name = is_wire
        self._placed = 0
        self._window = window
        self._canonical_name = canonical_name
        self._index = CandidateIndex(spill_dir=spill_dir)
        # The sequence first, then the docs: a doc placed in between is filed twice, not missed.
        self._seen = catalog.max_placed()
        for row in catalog.docs_since(now - window):
            self._index.add(row.doc, Fingerprint.from_bytes(row.fingerprint).samples, row.time)

    def catch_up(self) -> int:
        """File the docs placed (by any writer) since this book last looked; how many
        (:meth:`place` starts with it)."""
        rows = self._catalog.docs_placed_after(self._seen)
        for placed, row in rows:
            self._index.add(row.doc, Fingerprint.from_bytes(row.fingerprint).samples, row.time)
            self._seen = max(self._seen, placed)
        return len(rows)

    def place(
        self,
        *,
        url: str,
        outlet: str,
        wire: bool,
        published: str | None,
        fetched: str,
        evidence: tuple[Evidence, ...],
        fp: Fingerprint,
    ) -> Placement:
        """Record the article (a doc row) and put it in a story; merges stories it copies.
        Call it inside ``Catalog.placement`` when other writers may place at the same time."""
        self.catch_up()
        # The window runs on when we archived it (its fetch), not on its claimed publication
        # date: a page dated last year but fetched today is news to the crawl today.
        time = epoch(fetched) or epoch(published) or 0.0
        existing = self._catalog.doc_by_url(url)
        row = DocRow(
            doc=0,
            final_url=url,
            outlet=outlet,
            wire=wire,
            published=published,
            fetched=fetched,
            time=time,
            text_hash=fp.text_hash,
            fingerprint=fp.to_bytes(),
            evidence=evidence,
            story=existing.story if existing else _new_story(url),
        )
        doc = self._catalog.put_doc(row)
        # Explicit URLs tie articles into one story whatever their texts share (an excerpt
        # that links "read the full story" to its original): both directions, since either
        # side may arrive first.
        named = [
            e.url
            for e in evidence
            if e.kind in ("link", "canonical", "meta", "credit-line") and e.url
        ]
        self._catalog.set_doc_links(doc, named)
        linked = {d for d in self._catalog.docs_linking_to(url) if d != doc}
        for target in named:
            other = self._catalog.doc_by_url(target)
            if other is not None and other.doc != doc:
                linked.add(other.doc)
        found = self._index.query(fp.samples, limit=MAX_CANDIDATES, exclude=doc)
        candidates = {d for d, _ in found}
        candidates.update(d for d in self._catalog.docs_by_text_hash(fp.text_hash) if d != doc)
        related: list[tuple[Relation, DocRow]] = []
        for candidate in sorted(candidates | linked):
            other = self._catalog.doc(candidate)
            if other is None:
                continue
            relation = relate(fp, Fingerprint.from_bytes(other.fingerprint))
            if relation.kind is None and candidate in linked:
                relation = replace(relation, kind="linked")
            if relation.kind is not None:
                related.append((relation, other))
        story, note = row.story, None
        if related:
            relation, best = max(related, key=lambda item: (item[0].strength, -item[1].doc))
            note = Evidence(
                kind="text",
                text=f"{relation.describe()} of {best.final_url}",
                source=best.outlet,
                url=best.final_url,
            )
            story = best.story
            # Merge only stories this article copies (a duplicate of, or contained in, one of
            # their members): an article that merely contains another story (a round-up) joins
            # one story and bridges none.
            merging = {
                other.story
                for rel, other in related
                if rel.kind in ("duplicate", "contained", "linked") and other.story != story
            }
            for old in sorted(merging):
                self._catalog.relabel_story(old, story)
            if story != row.story:
                self._catalog.put_doc(replace(row, story=story))
        self._index.add(doc, fp.samples, time)
        # Our own puts need no catching up (we hold the placement section: nobody else put).
        self._seen = self._catalog.max_placed()
        self._placed += 1
        if self._placed % EVICT_EVERY == 0:
            self._index.evict_before(time - self._window)
        return Placement(doc=doc, story=story, evidence=note)

    def members(self, story: str) -> list[DocRow]:
        """The docs of a story."""
        return self._catalog.story_docs(story)

    def resolve(self, story: str) -> Resolution:
        """The story's original (see ``stories.resolve_original``)."""
        members = [
            Member(
                doc=row.doc,
                url=row.final_url,
                outlet=row.outlet,
                wire=row.wire,
                published=row.published,
                fetched=row.fetched,
                evidence=row.evidence,
            )
            for row in self._catalog.story_docs(story)
        ]
        return resolve_original(members, canonical_name=self._canonical_name)


def _new_story(url: str) -> str:
    return "s-" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
