"""Stories: which archived articles are copies of one another, and which one is the original.

Pure decisions (no I/O); the catalog and the hot index live in ``harvester.dedup.book``.

Relations between two articles, from their fingerprints (``harvester.dedup.fingerprint``):

* ``duplicate``  the same text (exact hash) or near it: resemblance >= RESEMBLANCE;
* ``contained``  A is (mostly) inside B: an excerpt of B, or B with A's paragraphs plus more;
* ``contains``   B is (mostly) inside A: A is B plus commentary, or A is B's original;
* ``linked``     (decided by the story book, not the texts) one names the other's URL as its
  source in a credit link, a cross-domain canonical or original-source / isBasedOn meta.

Stories are the connected groups of one graph over the articles, so they do not depend on the
order articles arrive in (one daemon or three, whichever fetched what first):

* a duplicate or a link (either way) always ties two articles;
* besides, each article *picks* one earlier article it shares containment with and is tied to it:
  its duplicate or linked partner if it has an earlier one (nothing new), else the one it shares
  the most with (containment, then shared samples, then the earliest). "Earlier" is the order of
  ``order_key``: the publication date (the fetch when there is none), then the URL.

So an excerpt joins the one story it was taken from, however many others a few of its sentences
also turn up in; a round-up (a later page containing two earlier stories) joins one of them and
bridges none; an original that arrives after its excerpts is picked by them, as if it had come
first. ``regroup`` computes the groups of a set of articles from scratch; ``StoryBook.place``
keeps them incrementally and regroups a story only when a pick moved away from an earlier one.

Original resolution, strongest rule first (DESIGN.md "Provenance model"):

1. an explicit URL (credit-line link, cross-domain canonical, original-source meta, isBasedOn)
   given by any member: the member at that URL, else an unseen original at that URL;
2. an explicit name (dateline, credit line, wire byline, feed source), resolved to an outlet:
   the earliest member from that outlet, else an unseen original naming it;
3. the earliest published member (page metadata, then feed date, then first fetch), wire
   outlets first.

Votes: each member's strongest URL (rule 1) or name (rule 2) counts once; the most-voted wins,
ties go to the stronger evidence kind, then the earlier member.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

from harvester.catalog.rows import DocRow
from harvester.dedup.fingerprint import Fingerprint, compare
from harvester.models import EVIDENCE_KINDS, Evidence

__all__ = [
    "CONTAINMENT",
    "MIN_SHARED",
    "RESEMBLANCE",
    "Member",
    "Partner",
    "Relation",
    "Resolution",
    "as_partner",
    "beats",
    "best_partner",
    "epoch",
    "links_between",
    "name_groups",
    "named_sources",
    "order_key",
    "regroup",
    "relate",
    "resolve_original",
]

# Why 0.5: copies with edited headlines, dropped paragraphs or added commentary keep well over
# half their sampled shingles; independent reports of one event share a quote or two (< 0.1).
RESEMBLANCE = 0.5
# Why 0.6: an excerpt ("first three paragraphs, read the full story at ...") keeps nearly all of
# its shingles inside the original; a follow-up repeating one background paragraph of an
# eight-paragraph story shares about an eighth.
CONTAINMENT = 0.6
# Why 3: one or two shared samples are a stock phrase or a shared quote, not a copy.
MIN_SHARED = 3

_URL_KINDS = ("link", "canonical", "meta")
_NAME_KINDS = ("feed", "dateline", "credit-line", "author")
_STRENGTH = {kind: rank for rank, kind in enumerate(EVIDENCE_KINDS)}


def epoch(iso: str | None) -> float | None:
    """Seconds since the epoch for an ISO date or datetime (a date alone: midnight UTC)."""
    if not iso:
        return None
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass(frozen=True, kw_only=True)
class Relation:
    """How article A relates to article B (``kind`` None: unrelated)."""

    kind: str | None
    resemblance: float = 0.0
    a_in_b: float = 0.0
    b_in_a: float = 0.0
    shared: int = 0

    @property
    def strength(self) -> tuple[int, float]:
        """Sort key: duplicates first, then containment, then by score."""
        order = {"duplicate": 4, "linked": 3, "contained": 2, "contains": 1}.get(self.kind or "", 0)
        return order, max(self.resemblance, self.a_in_b, self.b_in_a)

    def describe(self) -> str:
        """A short human-readable account, for evidence of kind ``text``."""
        return (
            f"{self.kind} (resemblance {self.resemblance:.2f}, "
            f"containment {self.a_in_b:.2f}/{self.b_in_a:.2f})"
        )


def relate(a: Fingerprint, b: Fingerprint) -> Relation:
    """The relation of A to B (see the module docstring for the thresholds)."""
    if a.text_hash == b.text_hash and a.words > 0:
        return Relation(kind="duplicate", resemblance=1.0, a_in_b=1.0, b_in_a=1.0)
    s = compare(a, b)
    kind: str | None = None
    # A short excerpt keeps only a few comparable samples: all of them shared is enough, but
    # never fewer than two (one shared shingle is a stock phrase).
    smaller = round(s.shared / max(s.a_in_b, s.b_in_a)) if s.shared else 0
    if s.shared >= min(MIN_SHARED, max(2, smaller)):
        if s.resemblance >= RESEMBLANCE:
            kind = "duplicate"
        elif s.a_in_b >= CONTAINMENT and s.a_in_b >= s.b_in_a:
            kind = "contained"
        elif s.b_in_a >= CONTAINMENT:
            kind = "contains"
    return Relation(
        kind=kind, resemblance=s.resemblance, a_in_b=s.a_in_b, b_in_a=s.b_in_a, shared=s.shared
    )


# Evidence kinds whose URL names the article's source: they tie it to the article at that URL
# (a credit line that spells out the original's address is as explicit as a link).
SOURCE_KINDS = (*_URL_KINDS, "credit-line")


@dataclass(frozen=True, kw_only=True)
class Partner:
    """An article related to the one being placed: its doc row, the relation, and whether the
    two are tied whatever else holds (a duplicate, or a link either way)."""

    row: DocRow
    relation: Relation
    joined: bool


def named_sources(evidence: Iterable[Evidence]) -> list[str]:
    """The URLs an article names as its source (credit links, canonicals, source metas)."""
    return [e.url for e in evidence if e.kind in SOURCE_KINDS and e.url]


def links_between(a: DocRow, b: DocRow) -> bool:
    """Whether either article names the other's URL as its source."""
    return b.final_url in named_sources(a.evidence) or a.final_url in named_sources(b.evidence)


def as_partner(other: DocRow, relation: Relation, *, linked: bool) -> Partner | None:
    """``other`` as a partner (None: unrelated); a link ties it whatever the texts share."""
    if linked:
        if relation.kind is None:
            relation = replace(relation, kind="linked")
        return Partner(row=other, relation=relation, joined=True)
    if relation.kind is None:
        return None
    return Partner(row=other, relation=relation, joined=relation.kind == "duplicate")


def order_key(row: DocRow) -> tuple[float, str]:
    """Which of two articles is the earlier one: publication date (else the fetch), then URL."""
    return epoch(row.published) or row.time, row.final_url


def _rank(partner: Partner) -> tuple[bool, float, int, float, str]:
    """Pick order, best first: tied partners, then the most contained, the most shared, the
    earliest (every part reads the same from either side of the pair)."""
    r = partner.relation
    return (not partner.joined, -max(r.a_in_b, r.b_in_a), -r.shared, *order_key(partner.row))


def best_partner(partners: Iterable[Partner]) -> Partner | None:
    """The partner an article picks among its earlier ones (None: there are none)."""
    return min(partners, key=_rank, default=None)


def beats(a: Partner, b: Partner) -> bool:
    """Whether ``a`` would be picked over ``b``."""
    return _rank(a) < _rank(b)


def regroup(members: Sequence[DocRow]) -> list[list[DocRow]]:
    """The stories of ``members`` from scratch: the connected groups of the graph the module
    docstring describes, each in the order given."""
    fps = [Fingerprint.from_bytes(m.fingerprint) for m in members]
    keys = [order_key(m) for m in members]
    parent = list(range(len(members)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def tie(i: int, j: int) -> None:
        parent[root(i)] = root(j)

    picks: list[list[tuple[Partner, int]]] = [[] for _ in members]
    for i, a in enumerate(members):
        for j in range(i + 1, len(members)):
            b = members[j]
            relation = relate(fps[i], fps[j])
            partner = as_partner(b, relation, linked=links_between(a, b))
            if partner is None:
                continue
            if partner.joined:
                tie(i, j)
            if keys[j] < keys[i]:
                picks[i].append((partner, j))
            else:
                picks[j].append((replace(partner, row=a), i))
    for i, options in enumerate(picks):
        if options:
            partner, j = min(options, key=lambda option: _rank(option[0]))
            tie(i, j)
    groups: dict[int, list[DocRow]] = {}
    for i, member in enumerate(members):
        groups.setdefault(root(i), []).append(member)
    return list(groups.values())


def name_groups(groups: Sequence[Sequence[DocRow]]) -> list[tuple[str, Sequence[DocRow]]]:
    """A story id for each group: the id most of its members had (the largest group chooses
    first, then the one with the earliest article; each id goes to one group), else a new one
    made from its members' URLs."""
    named: list[tuple[str, Sequence[DocRow]]] = []
    used: set[str] = set()
    for group in sorted(groups, key=lambda g: (-len(g), min(map(order_key, g)))):
        counts = Counter(m.story for m in group if m.story not in used)
        if counts:
            name = min(counts, key=lambda story: (-counts[story], story))
        else:  # (never a founding URL's id: those hash the URL alone)
            urls = "group\n" + "\n".join(sorted(m.final_url for m in group))
            name = "s-" + hashlib.sha256(urls.encode("utf-8")).hexdigest()[:16]
        used.add(name)
        named.append((name, group))
    return named


@dataclass(frozen=True, kw_only=True)
class Member:
    """One article of a story, as original resolution sees it."""

    doc: int
    url: str
    outlet: str
    wire: bool
    published: str | None
    fetched: str
    evidence: tuple[Evidence, ...] = ()

    @property
    def time(self) -> str:
        """The best known publication time (page metadata, else first fetch), ISO text."""
        return self.published or self.fetched

    @property
    def sort_time(self) -> float:
        """``time`` as seconds since the epoch, for ordering (unparsable: last)."""
        return epoch(self.published) or epoch(self.fetched) or float("inf")


@dataclass(frozen=True, kw_only=True)
class Resolution:
    """A story's original: a member (``doc``) or an unseen outlet/URL, and why."""

    doc: int | None
    url: str | None
    outlet: str | None
    seen: bool
    decided_by: str
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, kw_only=True)
class _Claim:
    """What one member says about its source: another member, or an unseen outlet/URL."""

    evidence: Evidence
    member: Member | None = None
    outlet: str | None = None
    url: str | None = None


def _claim(
    member: Member,
    members: Sequence[Member],
    by_url: dict[str, Member],
    canonical_name: Callable[[str], str],
) -> _Claim | None:
    """The member's strongest usable claim (URL kinds first, then names), or None."""
    usable = sorted(
        (e for e in member.evidence if e.kind in _URL_KINDS + _NAME_KINDS),
        key=lambda e: _STRENGTH.get(e.kind, 99),
    )
    own_name = canonical_name(member.outlet).casefold()
    for evidence in usable:
        if evidence.url and evidence.kind in SOURCE_KINDS:
            target = by_url.get(evidence.url)
            if target is member:
                continue
            if target is not None:
                return _Claim(evidence=evidence, member=target)
            host = (urlsplit(evidence.url).hostname or "").removeprefix("www.")
            outlet = canonical_name(evidence.source) if evidence.source else host
            return _Claim(evidence=evidence, outlet=outlet, url=evidence.url)
        if evidence.kind in _NAME_KINDS and evidence.source:
            name = canonical_name(evidence.source)
            if name.casefold() == own_name:
                continue
            same = [m for m in members if canonical_name(m.outlet).casefold() == name.casefold()]
            if same:
                return _Claim(evidence=evidence, member=_earliest(same))
            return _Claim(evidence=evidence, outlet=name, url=evidence.url)
    return None


def _earliest(members: Sequence[Member]) -> Member:
    return min(members, key=lambda m: (m.sort_time, m.doc))


def _chain_end(
    member: Member, first: _Claim, claims: dict[int, _Claim | None], members: Sequence[Member]
) -> tuple[Member | None, _Claim, list[Evidence]]:
    """Follow ``member``'s claims to the end: a member with no claim of its own, a cycle, or an
    unseen outlet (member None). Returns the end, the last claim, and the evidence on the way."""
    chain: list[Evidence] = []
    claim, seen = first, {member.doc}
    while True:
        chain.append(claim.evidence)
        target = claim.member
        if target is None or target.doc in seen:
            break
        seen.add(target.doc)
        nxt = claims[target.doc]
        if nxt is None:
            break
        claim = nxt
    end = claim.member
    if end is not None and not end.wire:
        # An uncredited republisher copy is no original when a wire ran the story first.
        earlier = [m for m in members if m.wire and m.sort_time <= end.sort_time]
        if earlier:
            end = _earliest(earlier)
    return end, claim, chain


def resolve_original(
    members: Sequence[Member], *, canonical_name: Callable[[str], str] = lambda n: n
) -> Resolution:
    """The original of a story with these members (see the module docstring).

    Claims are followed as chains (a copy of a copy credits the republisher it copied, which
    credits the wire): each member that claims a source votes for the end of its chain; the
    most-voted end wins, ties to the stronger evidence, then the earlier member.
    """
    if not members:
        raise ValueError("a story has at least one member")
    by_url = {m.url: m for m in members}
    claims = {m.doc: _claim(m, members, by_url, canonical_name) for m in members}
    votes: Counter[tuple[str, str]] = Counter()
    ends: dict[tuple[str, str], tuple[int, float, Member | None, _Claim, tuple[Evidence, ...]]] = {}
    for member in members:
        first = claims[member.doc]
        if first is None:
            continue
        end_member, claim, chain = _chain_end(member, first, claims, members)
        if end_member is not None:
            key = ("doc", str(end_member.doc))
        else:
            key = ("unseen", (claim.outlet or "").casefold())
        votes[key] += 1
        rank = (_STRENGTH.get(first.evidence.kind, 99), member.sort_time)
        if key not in ends or rank < ends[key][:2]:
            ends[key] = (*rank, end_member, claim, tuple(dict.fromkeys(chain)))
    if votes:
        key = min(votes, key=lambda k: (-votes[k], ends[k][0], ends[k][1], k))
        _, _, end_member, claim, path = ends[key]
        decided_by = path[0].kind
        if end_member is not None:
            return Resolution(
                doc=end_member.doc,
                url=end_member.url,
                outlet=end_member.outlet,
                seen=True,
                decided_by=decided_by,
                evidence=path,
            )
        url = claim.url or next(
            (c.url for c in claims.values() if c and c.url and c.member is None
             and (c.outlet or "").casefold() == key[1]),
            None,
        )  # fmt: skip
        return Resolution(
            doc=None,
            url=url,
            outlet=claim.outlet,
            seen=False,
            decided_by=decided_by,
            evidence=path,
        )
    wires = [m for m in members if m.wire]
    target = _earliest(wires or members)
    note = Evidence(
        kind="earliest",
        text=f"earliest published {'wire ' if wires else ''}member ({target.time})",
        source=target.outlet,
        url=target.url,
    )
    return Resolution(
        doc=target.doc,
        url=target.url,
        outlet=target.outlet,
        seen=True,
        decided_by="earliest",
        evidence=(note,),
    )
