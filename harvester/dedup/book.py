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
    Partner,
    Resolution,
    as_partner,
    beats,
    best_partner,
    epoch,
    links_between,
    name_groups,
    named_sources,
    order_key,
    regroup,
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
    # Other stories whose members changed (a story split when a pick moved): their originals
    # need resolving again too.
    changed: tuple[str, ...] = ()


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
        """Record the article (a doc row) and put it in a story (``stories.py``: the rule that
        makes stories independent of arrival order). Call it inside ``Catalog.placement`` when
        other writers may place at the same time."""
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
        row = replace(row, doc=doc)
        partners = self._partners(row, fp)
        me = order_key(row)
        join = [p for p in partners if p.joined]
        pick = best_partner(p for p in partners if order_key(p.row) < me)
        if pick is not None and not pick.joined:
            join.append(pick)
        # A re-placed article whose text, date or links changed may have lost relations; one
        # whose relations cannot have changed changes no pick either.
        rebuild = existing is not None and _relations_may_change(existing, row)
        unchanged = existing is not None and not rebuild
        # Articles dated after this one may now pick it in place of what they picked.
        for partner in partners:
            if unchanged or order_key(partner.row) < me:
                continue
            held = self._current_pick(partner.row, skip=doc)
            # Seen from the later article: we are the partner (the relation reads the same).
            us = Partner(row=row, relation=partner.relation, joined=partner.joined)
            if held is not None and not beats(us, held):
                continue
            if not partner.joined:
                join.append(partner)
            if held is not None and not held.joined:
                rebuild = True  # its old pick no longer ties it: the story may split
        story, note = row.story, None
        changed: tuple[str, ...] = ()
        if join:
            best = max(join, key=lambda p: (p.relation.strength, -p.row.doc))
            note = Evidence(
                kind="text",
                text=f"{best.relation.describe()} of {best.row.final_url}",
                source=best.row.outlet,
                url=best.row.final_url,
            )
        if rebuild:
            stories = {row.story, *(p.row.story for p in join)}
            story, changed = self._regroup(row, stories)
        elif join:
            story = best.row.story
            for old in sorted({p.row.story for p in join} - {story}):
                self._catalog.relabel_story(old, story)
            if story != row.story:
                self._catalog.put_doc(replace(row, story=story))
        self._index.add(doc, fp.samples, time)
        # Our own puts need no catching up (we hold the placement section: nobody else put).
        self._seen = self._catalog.max_placed()
        self._placed += 1
        if self._placed % EVICT_EVERY == 0:
            self._index.evict_before(time - self._window)
        return Placement(doc=doc, story=story, evidence=note, changed=changed)

    def _partners(self, row: DocRow, fp: Fingerprint) -> list[Partner]:
        """The docs the article relates to: text candidates from the hot index and exact-text
        twins (tier 3), plus the docs it names as its source and those naming it."""
        named = named_sources(row.evidence)
        self._catalog.set_doc_links(row.doc, named)
        # Explicit URLs tie articles into one story whatever their texts share (an excerpt
        # that links "read the full story" to its original): both directions, since either
        # side may arrive first.
        linked = {d for d in self._catalog.docs_linking_to(row.final_url) if d != row.doc}
        for target in named:
            other = self._catalog.doc_by_url(target)
            if other is not None and other.doc != row.doc:
                linked.add(other.doc)
        found = self._index.query(fp.samples, limit=MAX_CANDIDATES, exclude=row.doc)
        candidates = {d for d, _ in found}
        candidates.update(d for d in self._catalog.docs_by_text_hash(fp.text_hash) if d != row.doc)
        partners = []
        for other in self._catalog.docs(sorted(candidates | linked)):  # one round trip
            relation = relate(fp, Fingerprint.from_bytes(other.fingerprint))
            partner = as_partner(other, relation, linked=other.doc in linked)
            if partner is not None:
                partners.append(partner)
        return partners

    def _current_pick(self, row: DocRow, *, skip: int) -> Partner | None:
        """What ``row`` picks today among the earlier members of its story (its pick is always
        one of them: a pick ties the two into one story), leaving out doc ``skip``."""
        fp = Fingerprint.from_bytes(row.fingerprint)
        mine = order_key(row)
        held = []
        for other in self._catalog.story_docs(row.story):
            if other.doc in (row.doc, skip) or order_key(other) >= mine:
                continue
            relation = relate(fp, Fingerprint.from_bytes(other.fingerprint))
            partner = as_partner(other, relation, linked=links_between(row, other))
            if partner is not None:
                held.append(partner)
        return best_partner(held)

    def _regroup(self, row: DocRow, stories: set[str]) -> tuple[str, tuple[str, ...]]:
        """Recompute the stories ``stories`` (now holding ``row``) from their members'
        relations, after an edge between two of them went away; moves the docs whose story
        changed and returns ``row``'s story and the other stories whose members changed."""
        members = {row.doc: row}
        for story in sorted(stories):
            for member in self._catalog.story_docs(story):
                members.setdefault(member.doc, member)
        members[row.doc] = row
        groups = regroup(list(members.values()))
        named = name_groups(groups)
        # The stories that gained or lost members (an old id no group kept is left empty).
        names = {name for name, _ in named}
        changed: set[str] = set()
        for name, group in named:
            moved = [m for m in group if m.story != name]
            if moved:
                self._catalog.move_docs([m.doc for m in moved], name)
                changed.add(name)
                changed.update(m.story for m in moved if m.story in names)
        story = next(name for name, group in named if any(m.doc == row.doc for m in group))
        changed.discard(story)
        return story, tuple(sorted(changed))

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


def _relations_may_change(old: DocRow, new: DocRow) -> bool:
    """Whether a re-placed doc may have lost a relation: its text, its date (the order that
    decides who picks whom) or the sources it names changed."""
    return (
        old.fingerprint != new.fingerprint
        or order_key(old) != order_key(new)
        or named_sources(old.evidence) != named_sources(new.evidence)
    )
