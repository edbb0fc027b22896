"""Stories: which archived articles are copies of one another, and which one is the original.

Pure decisions (no I/O); the catalog and the hot index live in ``harvester.dedup.book``.

Relations between two articles, from their fingerprints (``harvester.dedup.fingerprint``):

* ``duplicate``  the same text (exact hash) or near it: resemblance >= RESEMBLANCE;
* ``contained``  A is (mostly) inside B: an excerpt of B, or B with A's paragraphs plus more;
* ``contains``   B is (mostly) inside A: A is B plus commentary, or A is B's original.

A new article joins the story of its strongest relation. Other stories merge into it only when
the new article is a duplicate of, or contained in, one of their members: an article that merely
*contains* two unrelated stories (a round-up, a bridging article) joins one and merges nothing,
so stories never chain through it.

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

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from harvester.dedup.fingerprint import Fingerprint, compare
from harvester.models import EVIDENCE_KINDS, Evidence

__all__ = [
    "CONTAINMENT",
    "MIN_SHARED",
    "RESEMBLANCE",
    "Member",
    "Relation",
    "Resolution",
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
        order = {"duplicate": 3, "contained": 2, "contains": 1}.get(self.kind or "", 0)
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


@dataclass(frozen=True, kw_only=True)
class Resolution:
    """A story's original: a member (``doc``) or an unseen outlet/URL, and why."""

    doc: int | None
    url: str | None
    outlet: str | None
    seen: bool
    decided_by: str
    evidence: tuple[Evidence, ...]


def _vote(
    members: Sequence[Member], kinds: tuple[str, ...], key: Callable[[Evidence], str | None]
) -> tuple[str, Evidence] | None:
    """The most-voted key among each member's strongest evidence of ``kinds``."""
    votes: Counter[str] = Counter()
    best: dict[str, tuple[int, str, Evidence]] = {}
    for member in members:
        own = sorted(
            (e for e in member.evidence if e.kind in kinds and key(e)),
            key=lambda e: _STRENGTH.get(e.kind, 99),
        )
        if not own:
            continue
        evidence = own[0]
        value = key(evidence)
        assert value is not None
        votes[value] += 1
        rank = (_STRENGTH.get(evidence.kind, 99), member.time, evidence)
        if value not in best or rank[:2] < best[value][:2]:
            best[value] = rank
    if not votes:
        return None
    winner = min(votes, key=lambda v: (-votes[v], best[v][0], best[v][1], v))
    return winner, best[winner][2]


def _earliest(members: Sequence[Member]) -> Member:
    return min(members, key=lambda m: (m.time, m.doc))


def resolve_original(
    members: Sequence[Member], *, canonical_name: Callable[[str], str] = lambda n: n
) -> Resolution:
    """The original of a story with these members (see the module docstring)."""
    if not members:
        raise ValueError("a story has at least one member")
    by_url = {m.url: m for m in members}
    voted_url = _vote(members, _URL_KINDS, lambda e: e.url)
    if voted_url is not None:
        url, evidence = voted_url
        target = by_url.get(url)
        if target is not None:
            return Resolution(
                doc=target.doc,
                url=target.url,
                outlet=target.outlet,
                seen=True,
                decided_by=evidence.kind,
                evidence=(evidence,),
            )
        host = (urlsplit(url).hostname or "").removeprefix("www.")
        return Resolution(
            doc=None,
            url=url,
            outlet=canonical_name(evidence.source) if evidence.source else host,
            seen=False,
            decided_by=evidence.kind,
            evidence=(evidence,),
        )
    voted_name = _vote(
        members, _NAME_KINDS, lambda e: canonical_name(e.source).casefold() if e.source else None
    )
    if voted_name is not None:
        name, evidence = voted_name
        own = [m for m in members if canonical_name(m.outlet).casefold() == name]
        if own:
            target = _earliest(own)
            return Resolution(
                doc=target.doc,
                url=target.url,
                outlet=target.outlet,
                seen=True,
                decided_by=evidence.kind,
                evidence=(evidence,),
            )
        assert evidence.source is not None
        return Resolution(
            doc=None,
            url=evidence.url,
            outlet=canonical_name(evidence.source),
            seen=False,
            decided_by=evidence.kind,
            evidence=(evidence,),
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
