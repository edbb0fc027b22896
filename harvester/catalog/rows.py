"""The rows the catalog stores and returns: frozen values, the same for every engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harvester.models import Evidence, ExportRecord

__all__ = [
    "ArticleRow",
    "CaptureRow",
    "CopyLink",
    "DocRow",
    "FleetDue",
    "FrontierItem",
    "OutletLinks",
    "OutletState",
    "RobotsEntry",
    "SearchHit",
    "StoryFilter",
    "StoryMember",
    "StorySummary",
    "Validators",
]


@dataclass(frozen=True, kw_only=True)
class CaptureRow:
    """One archived response (or revisit) record."""

    url: str
    fetched: str
    status: int
    record_type: str
    payload_digest: str
    file: str
    offset: int
    length: int
    record_id: str
    refers_to: str | None = None


@dataclass(frozen=True, kw_only=True)
class OutletState:
    """The daemon's memory of one outlet: when it was polled, when it is due, how it went."""

    outlet: str
    last_poll: str
    next_poll: float
    failures: int = 0
    last_error: str | None = None
    found: int = 0
    archived: int = 0
    interval: float | None = None


@dataclass(frozen=True, kw_only=True)
class FrontierItem:
    """A URL found by discovery and not yet finished: ``pending`` (to fetch once ``not_before``,
    a Unix time, has passed) or ``failed`` (given up on after ``attempts``; discovery may queue
    it again once ``not_before`` has passed). Finished URLs leave the frontier: their captures
    in the catalog are what the seen-check consults."""

    url: str
    host: str
    outlet: str | None = None
    discovery: dict[str, Any] | None = None
    added: float = 0.0
    not_before: float = 0.0
    attempts: int = 0
    state: str = "pending"
    last_error: str | None = None
    seq: int = 0


@dataclass(frozen=True, kw_only=True)
class Validators:
    """What a discovery URL (feed, sitemap, section page) last answered, for conditional
    requests: its ETag / Last-Modified, the digest of its body, and when it was last fetched
    without conditions (a periodic full fetch guards against servers that answer 304 wrongly)."""

    url: str
    etag: str | None
    last_modified: str | None
    digest: str
    full_fetch: float


@dataclass(frozen=True, kw_only=True)
class DocRow:
    """One article as the story stage sees it (one row per final URL, updated in place)."""

    doc: int
    final_url: str
    outlet: str
    wire: bool
    published: str | None
    fetched: str
    time: float
    text_hash: str
    fingerprint: bytes
    evidence: tuple[Evidence, ...]
    story: str


@dataclass(frozen=True, kw_only=True)
class ArticleRow:
    """One archived article: its export record, where its metadata record lies, the cleaned
    blocks before learned templates (so a newly learned template can re-clean it without
    re-parsing), and the metadata record's JSON payload."""

    record: ExportRecord
    capture_record_id: str
    metadata_file: str
    metadata_offset: int
    blocks: tuple[str, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, kw_only=True)
class RobotsEntry:
    """A robots.txt answer shared by the fleet: its final status and body, and how many seconds
    it stays fresh (by the catalog's clock)."""

    origin: str
    status: int
    body: bytes
    fresh_for: float


@dataclass(frozen=True, kw_only=True)
class FleetDue:
    """What the whole fleet still has to do (for ``run --once`` to know when to stop):
    outlets not yet polled in this round or being polled, frontier URLs due by the horizon
    that no live lease holds, and due URLs another writer's live lease holds."""

    outlets_left: int
    urls_due: int
    urls_leased: int

    @property
    def idle(self) -> bool:
        """Nothing left for anyone."""
        return not (self.outlets_left or self.urls_due or self.urls_leased)


# -- what the story desk (``harvester serve``) reads ----------------------------------------------


@dataclass(frozen=True, kw_only=True)
class StoryFilter:
    """Which stories a listing shows: with a member from ``outlet``; whose original is from
    ``wire`` (any outlet named as an original, archived or not); whose newest member was
    archived (fetched) within ``since`` <= t < ``until`` (Unix seconds); only those with
    copies."""

    outlet: str | None = None
    wire: str | None = None
    since: float | None = None
    until: float | None = None
    copies_only: bool = False


@dataclass(frozen=True, kw_only=True)
class StorySummary:
    """One story in a listing: its id, how many articles it has, and when its first and last
    member were archived (Unix seconds, the catalog's fetch times)."""

    story: str
    articles: int
    first: float
    last: float


@dataclass(frozen=True, kw_only=True)
class StoryMember:
    """One member of a story: the id (cursor position) of its newest article row, that row,
    and its doc (the evidence its own page showed, its fingerprint)."""

    row_id: int
    article: ArticleRow
    doc: DocRow


@dataclass(frozen=True, kw_only=True)
class SearchHit:
    """One article a full-text search found: its newest row's id and record, and its story
    as the story stage has it now."""

    row_id: int
    record: ExportRecord
    story: str


@dataclass(frozen=True, kw_only=True)
class CopyLink:
    """One copy between two outlets: the other outlet (the original's, or the copier's) and
    how many seconds the copy ran after the original (None when the original is not archived
    or either time is unknown)."""

    outlet: str
    lag: float | None


@dataclass(frozen=True, kw_only=True)
class OutletLinks:
    """An outlet's place in the syndication graph: its articles, how many of them are copies,
    each copy it ran (``copies_from``: the original's outlet) and each copy others ran of its
    originals (``copied_by``: the copier)."""

    articles: int
    copies: int
    copies_from: tuple[CopyLink, ...]
    copied_by: tuple[CopyLink, ...]
