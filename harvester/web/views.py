"""What each page of the story desk shows, read from the catalog (no HTTP, no HTML).

Every page is a frozen value with ``to_json`` (the page's JSON form carries the same data);
the templates render the same value. Bad input raises :class:`BadRequest` (400), an unknown
id :class:`NotFound` (404): their messages are one line, shown as is.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from harvester.catalog import (
    Catalog,
    CopyLink,
    StoryFilter,
    StoryMember,
    parse_query,
)
from harvester.config import Settings
from harvester.dedup.diff import ParagraphDiff
from harvester.dedup.fingerprint import Fingerprint
from harvester.dedup.stories import epoch, relate
from harvester.errors import ArchiveError
from harvester.models import Evidence, ExportRecord
from harvester.web.charts import Chart, Timeline, articles_chart, duration, stamp, timeline
from harvester.web.marks import DiffRow, Segment, aligned_rows, passage, safe_link

__all__ = [
    "PAGE_SIZE",
    "BadRequest",
    "NotFound",
    "OutletPage",
    "SearchPage",
    "StoriesPage",
    "StoryPage",
    "interval_text",
    "outlet_page",
    "search_page",
    "stories_page",
    "story_filter",
    "story_page",
    "valid_story_id",
]

PAGE_SIZE = 50
MAX_PAGE = 10_000
SEARCH_LIMIT = 100
# What each relation means to a reader (harvester.dedup.stories names them).
RELATIONS = {
    "duplicate": "the same text, or nearly",
    "contained": "an excerpt of the original",
    "contains": "the original plus added text (commentary, notes)",
    "linked": "linked by its credit; texts too different to compare",
    "copy of a copy": "copied from another copy, not from the original",
}


class BadRequest(ValueError):
    """The request asks for something malformed (400)."""


class NotFound(LookupError):
    """The request names something the archive does not hold (404)."""


def _ran(record: ExportRecord) -> float | None:
    """When an article ran: published, else fetched (Unix seconds)."""
    return epoch(record.published) or epoch(record.fetched)


def _evidence_json(e: Evidence) -> dict[str, Any]:
    return {"kind": e.kind, "text": e.text, "source": e.source, "url": e.url}


# --- Stories ---------------------------------------------------------------------------------


def _original_json(outlet: str | None, url: str | None, seen: bool) -> dict[str, Any]:
    """A story's original as the JSON forms give it (archived or only named)."""
    return {"outlet": outlet, "url": url, "seen": seen}


@dataclass(frozen=True, kw_only=True)
class StoryRow:
    """One story in the listing."""

    story: str
    title: str | None
    original_outlet: str | None
    original_url: str | None
    original_link: str | None
    original_seen: bool
    articles: int
    copies: int
    first: float | None
    last: float | None

    @property
    def spread(self) -> str:
        """How long the spread took (first to last article), as a person reads it."""
        if self.first is None or self.last is None:
            return "-"
        return duration(self.last - self.first)

    def to_json(self) -> dict[str, Any]:
        return {
            "story": self.story,
            "title": self.title,
            "original": _original_json(self.original_outlet, self.original_url, self.original_seen),
            "articles": self.articles,
            "copies": self.copies,
            "first_seen": stamp(self.first) or None,
            "last_seen": stamp(self.last) or None,
            "spread_seconds": (
                self.last - self.first if self.first is not None and self.last is not None else None
            ),
        }


@dataclass(frozen=True, kw_only=True)
class StoriesPage:
    """The home page: stories, newest first, with the filters that chose them."""

    rows: tuple[StoryRow, ...]
    filters: dict[str, str]
    page: int
    has_next: bool
    outlets: tuple[str, ...]
    wires: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "stories": [r.to_json() for r in self.rows],
            "filters": self.filters,
            "page": self.page,
            "next_page": self.page + 1 if self.has_next else None,
        }


def _day(value: str, name: str) -> float:
    try:
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise BadRequest(f"{name}: expected a date as YYYY-MM-DD, got {value[:40]!r}") from None
    return day.timestamp()


def _page(params: Mapping[str, str]) -> int:
    raw = params.get("page", "1").strip() or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise BadRequest(f"page: expected a number from 1 to {MAX_PAGE}, got {raw[:20]!r}")
    return int(raw)


def story_filter(params: Mapping[str, str]) -> tuple[StoryFilter, dict[str, str]]:
    """The listing's filter from query parameters (``outlet``, ``wire``, ``from``, ``to``
    (dates, both included), ``copies``), and the parameters as understood."""
    outlet = params.get("outlet", "").strip()[:200] or None
    wire = params.get("wire", "").strip()[:200] or None
    since_text = params.get("from", "").strip()
    until_text = params.get("to", "").strip()
    since = _day(since_text, "from") if since_text else None
    until = _day(until_text, "to") + 86400 if until_text else None
    if since is not None and until is not None and until <= since:
        raise BadRequest("to: the date range ends before it starts")
    copies = params.get("copies", "").strip().lower() in ("1", "on", "yes", "true")
    echoed = {
        k: v
        for k, v in (
            ("outlet", outlet or ""),
            ("wire", wire or ""),
            ("from", since_text),
            ("to", until_text),
            ("copies", "1" if copies else ""),
        )
        if v
    }
    where = StoryFilter(outlet=outlet, wire=wire, since=since, until=until, copies_only=copies)
    return where, echoed


def _story_row(story: str, members: Sequence[StoryMember]) -> StoryRow:
    records = [m.article.record for m in members]
    originals = [r for r in records if r.is_original]
    # Unseen original: the fullest member stands in for it (as harvester.dedup.view does).
    lead = originals[0] if originals else max(records, key=lambda r: len(r.text))
    times = [t for t in (_ran(r) for r in records) if t is not None]
    original = lead.original
    return StoryRow(
        story=story,
        title=lead.title,
        original_outlet=original.outlet or (lead.outlet if originals else None),
        original_url=original.url,
        original_link=safe_link(original.url),
        original_seen=bool(originals),
        articles=len(records),
        copies=len(records) - len(originals[:1]),
        first=min(times) if times else None,
        last=max(times) if times else None,
    )


def stories_page(catalog: Catalog, params: Mapping[str, str]) -> StoriesPage:
    """The stories matching ``params`` (see :func:`story_filter`), page ``page``."""
    where, echoed = story_filter(params)
    page = _page(params)
    found = catalog.story_summaries(where, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    shown = found[:PAGE_SIZE]
    members = catalog.story_members([s.story for s in shown])
    rows = tuple(_story_row(s.story, members[s.story]) for s in shown if s.story in members)
    return StoriesPage(
        rows=rows,
        filters=echoed,
        page=page,
        has_next=len(found) > PAGE_SIZE,
        outlets=tuple(catalog.outlet_names()),
        wires=tuple(catalog.original_outlets()),
    )


# --- Story -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class EvidenceView:
    """One piece of evidence as quoted from the page, with a link only when safe."""

    kind: str
    text: str
    source: str | None
    url: str | None
    link: str | None


def _evidence(items: Sequence[Evidence]) -> tuple[EvidenceView, ...]:
    return tuple(
        EvidenceView(kind=e.kind, text=e.text, source=e.source, url=e.url, link=safe_link(e.url))
        for e in dict.fromkeys(items)
    )


@dataclass(frozen=True, kw_only=True)
class MemberView:
    """One article of a story, as the story page shows it."""

    row_id: int
    url: str
    link: str | None
    outlet: str | None
    title: str | None
    published: str | None
    fetched: str
    ran: float | None
    lag: float | None
    role: str  # "original", "stand-in" (fullest member of a story whose original is unseen), "copy"
    relation: str | None
    via: str | None  # the copy it copied, for a copy of a copy
    evidence: tuple[EvidenceView, ...]
    rows: tuple[DiffRow, ...]
    summary: str | None
    removed: tuple[dict[str, str], ...]
    paragraphs: tuple[str, ...] = ()  # the lead's own text (copies show theirs as a diff)

    @property
    def lag_text(self) -> str:
        return duration(self.lag)

    @property
    def relation_note(self) -> str:
        return RELATIONS.get(self.relation or "", "")

    def to_json(self) -> dict[str, Any]:
        return {
            "article": self.row_id,
            "url": self.url,
            "outlet": self.outlet,
            "title": self.title,
            "published": self.published,
            "fetched": self.fetched,
            "lag_seconds": self.lag,
            "role": self.role,
            "relation": self.relation,
            "via": self.via,
            "evidence": [
                {"kind": e.kind, "text": e.text, "source": e.source, "url": e.url}
                for e in self.evidence
            ],
            "changes": self.summary,
            "diff": [r.to_json() for r in self.rows],
            "removed": list(self.removed),
            "raw": f"/article/{self.row_id}/raw",
        }


@dataclass(frozen=True, kw_only=True)
class StoryPage:
    """One story: its original (archived, or only named), every member, the timeline."""

    story: str
    title: str | None
    original_outlet: str | None
    original_url: str | None
    original_link: str | None
    original_seen: bool
    decided_by: tuple[EvidenceView, ...]
    members: tuple[MemberView, ...]
    timeline: Timeline
    wacz: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "story": self.story,
            "title": self.title,
            "original": _original_json(self.original_outlet, self.original_url, self.original_seen),
            "decided_by": [
                {"kind": e.kind, "text": e.text, "source": e.source, "url": e.url}
                for e in self.decided_by
            ],
            "members": [m.to_json() for m in self.members],
            "spread": {
                "start": self.timeline.start or None,
                "end": self.timeline.end or None,
                "span": self.timeline.span,
            },
            "evidence_package": self.wacz,
        }


def _removed(member: StoryMember) -> tuple[dict[str, str], ...]:
    removed = member.article.payload.get("removed", [])
    return tuple(
        {
            "kind": str(r.get("kind", "")),
            "text": str(r.get("text", "")),
            "rule": str(r.get("rule", "")),
        }
        for r in removed
        if isinstance(r, dict)
    )


def _relation(
    member: StoryMember, lead: StoryMember, by_url: Mapping[str, StoryMember]
) -> tuple[str | None, str | None]:
    """How ``member`` relates to the lead, and the other copy it came from (if any)."""
    record = member.article.record
    named = {e.url for e in (*member.doc.evidence, *record.original.evidence) if e.url}
    via = next(
        (u for u in named if u in by_url and u not in (lead.doc.final_url, record.final_url)),
        None,
    )
    own_names = {e.url for e in member.doc.evidence if e.url}
    if via is not None and lead.doc.final_url not in own_names:
        return "copy of a copy", via
    try:
        kind = relate(
            Fingerprint.from_bytes(member.doc.fingerprint),
            Fingerprint.from_bytes(lead.doc.fingerprint),
        ).kind
    except (ValueError, IndexError):  # a fingerprint this version cannot read
        kind = None
    if kind is None and lead.doc.final_url in named:
        kind = "linked"
    return kind, None


def valid_story_id(story: str) -> bool:
    """Story ids are ``s-`` and hex (harvester.dedup.book); anything else is not one."""
    return (
        story.startswith("s-")
        and 2 < len(story) <= 66
        and all(c in "0123456789abcdef" for c in story[2:])
    )


def story_page(catalog: Catalog, story: str, *, wacz: bool = False) -> StoryPage:
    """The story ``story``; NotFound when there is none."""
    if not valid_story_id(story):
        raise NotFound(f"no story {story[:80]!r}: story ids look like s-0123456789abcdef")
    members = catalog.story_members([story]).get(story)
    if not members:
        raise NotFound(f"no story {story!r} in the archive")
    originals = [m for m in members if m.article.record.is_original]
    lead = originals[0] if originals else max(members, key=lambda m: len(m.article.record.text))
    lead_record = lead.article.record
    lead_time = _ran(lead_record) if originals else None
    base = lead_record.text.split("\n\n")
    by_url = {m.doc.final_url: m for m in members}
    views = []
    for member in sorted(members, key=lambda m: (m is not lead, _ran(m.article.record) or 0.0)):
        record = member.article.record
        is_lead = member is lead
        relation, via = (None, None) if is_lead else _relation(member, lead, by_url)
        rows: tuple[DiffRow, ...] = ()
        summary = None
        if not is_lead:
            copy = record.text.split("\n\n")
            rows = tuple(aligned_rows(base, copy))
            summary = _summary(rows)
        ran = _ran(record)
        own = [*member.doc.evidence, *(e for e in record.original.evidence if e.kind == "text")]
        if is_lead:
            own = list(member.doc.evidence)
        views.append(
            MemberView(
                row_id=member.row_id,
                url=record.final_url,
                link=safe_link(record.final_url),
                outlet=record.outlet,
                title=record.title,
                published=record.published,
                fetched=record.fetched,
                ran=ran,
                lag=ran - lead_time if ran is not None and lead_time is not None else None,
                role="original" if is_lead and originals else ("stand-in" if is_lead else "copy"),
                relation=relation,
                via=via,
                evidence=_evidence(own),
                rows=rows,
                summary=summary,
                removed=_removed(member),
                paragraphs=tuple(p for p in base if p.strip()) if is_lead else (),
            )
        )
    lead_own = set(lead.doc.evidence)
    decided = [e for e in lead_record.original.evidence if e not in lead_own and e.kind != "text"]
    original = lead_record.original
    picture = timeline(
        [(v.outlet or "?", v.ran, v.role == "original") for v in sorted(views, key=_by_time)]
    )
    return StoryPage(
        story=story,
        title=lead_record.title,
        original_outlet=original.outlet or (lead_record.outlet if originals else None),
        original_url=original.url if not originals else lead_record.final_url,
        original_link=safe_link(original.url if not originals else lead_record.final_url),
        original_seen=bool(originals),
        decided_by=_evidence(decided or list(original.evidence)),
        members=tuple(views),
        timeline=picture,
        wacz=f"/story/{story}/evidence.wacz" if wacz else None,
    )


def _summary(rows: Sequence[DiffRow]) -> str:
    """The counts of :meth:`harvester.dedup.diff.ParagraphDiff.summary`, from the aligned rows
    (the same alignment; computing it twice would double the story page's cost)."""
    counts = {
        kind: sum(1 for r in rows if r.kind == kind)
        for kind in ("kept", "edited", "added", "removed")
    }
    return ParagraphDiff(
        added=("",) * counts["added"],
        removed=("",) * counts["removed"],
        edited=(("", ""),) * counts["edited"],
        kept=counts["kept"],
    ).summary()


def _by_time(view: MemberView) -> float:
    return view.ran if view.ran is not None else float("-inf")


# --- Search ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SearchResult:
    """One article found, with its matching passage."""

    row_id: int
    url: str
    outlet: str | None
    title: str | None
    published: str | None
    passage: tuple[Segment, ...]


@dataclass(frozen=True, kw_only=True)
class SearchGroup:
    """The articles found in one story."""

    story: str
    results: tuple[SearchResult, ...]


@dataclass(frozen=True, kw_only=True)
class SearchPage:
    """A search: the query as understood, results grouped by story."""

    query: str
    understood: str
    groups: tuple[SearchGroup, ...]
    hits: int
    capped: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "understood": self.understood,
            "hits": self.hits,
            "capped": self.capped,
            "stories": [
                {
                    "story": g.story,
                    "articles": [
                        {
                            "article": r.row_id,
                            "url": r.url,
                            "outlet": r.outlet,
                            "title": r.title,
                            "published": r.published,
                            "passage": "".join(t for t, _ in r.passage),
                            "marked": [t for t, m in r.passage if m],
                        }
                        for r in g.results
                    ],
                }
                for g in self.groups
            ],
        }


def search_page(catalog: Catalog, params: Mapping[str, str]) -> SearchPage:
    """Articles matching ``q`` (words and "quoted phrases", all required)."""
    text = params.get("q", "").strip()
    if not text:
        return SearchPage(query="", understood="", groups=(), hits=0, capped=False)
    query = parse_query(text)
    if query is None:
        raise BadRequest("q: nothing to search for (type words, or a phrase in quotes)")
    try:
        hits = catalog.search_articles(query, limit=SEARCH_LIMIT)
    except ArchiveError as exc:
        raise BadRequest(f"search is not available: {exc}") from None
    groups: dict[str, list[SearchResult]] = {}
    for hit in hits:
        r = hit.record
        groups.setdefault(hit.story, []).append(
            SearchResult(
                row_id=hit.row_id,
                url=r.final_url,
                outlet=r.outlet,
                title=r.title,
                published=r.published,
                passage=passage(f"{r.title or ''}\n\n{r.text}", query.words),
            )
        )
    return SearchPage(
        query=text,
        understood=query.to_text(),
        groups=tuple(SearchGroup(story=s, results=tuple(rs)) for s, rs in groups.items()),
        hits=len(hits),
        capped=len(hits) >= SEARCH_LIMIT,
    )


# --- Outlet ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LinkSummary:
    """Copies between this outlet and one other: how many, and the median lag."""

    outlet: str
    copies: int
    median_lag: float | None

    @property
    def lag_text(self) -> str:
        return duration(self.median_lag)

    def to_json(self) -> dict[str, Any]:
        return {"outlet": self.outlet, "copies": self.copies, "median_lag_seconds": self.median_lag}


def _summarise(links: Sequence[CopyLink]) -> tuple[LinkSummary, ...]:
    by: dict[str, list[float | None]] = {}
    for link in links:
        by.setdefault(link.outlet or "(unknown)", []).append(link.lag)
    out = []
    for outlet, lags in by.items():
        known = [lag for lag in lags if lag is not None]
        out.append(
            LinkSummary(
                outlet=outlet,
                copies=len(lags),
                median_lag=statistics.median(known) if known else None,
            )
        )
    return tuple(sorted(out, key=lambda s: (-s.copies, s.outlet)))


@dataclass(frozen=True, kw_only=True)
class OutletPage:
    """One outlet: articles over time, share of copies, whom it copies, who copies it."""

    outlet: str
    wire: bool
    articles: int
    copies: int
    chart: Chart
    copies_from: tuple[LinkSummary, ...]
    copied_by: tuple[LinkSummary, ...]

    @property
    def copy_share(self) -> float:
        return self.copies / self.articles if self.articles else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "outlet": self.outlet,
            "wire": self.wire,
            "articles": self.articles,
            "copies": self.copies,
            "copy_share": round(self.copy_share, 4),
            "per_period": {
                "unit": self.chart.unit,
                "counts": [{"period": b.label, "articles": b.count} for b in self.chart.bars],
            },
            "copies_from": [s.to_json() for s in self.copies_from],
            "copied_by": [s.to_json() for s in self.copied_by],
        }


def outlet_page(catalog: Catalog, name: str, settings: Settings) -> OutletPage:
    """The outlet ``name``; NotFound when the archive holds none of its articles."""
    links = catalog.outlet_links(name)
    days = catalog.outlet_days(name)
    if not links.articles and not days and not links.copied_by:
        raise NotFound(f"no outlet {name[:80]!r} in the archive")
    configured = next((o for o in settings.outlets if o.name == name), None)
    return OutletPage(
        outlet=name,
        wire=bool(configured and configured.wire),
        articles=links.articles,
        copies=links.copies,
        chart=articles_chart(days),
        copies_from=_summarise(links.copies_from),
        copied_by=_summarise(links.copied_by),
    )


# --- Status ----------------------------------------------------------------------------------


def interval_text(seconds: float | None) -> str:
    """A poll interval as a person reads it."""
    return duration(seconds) if seconds else "-"
