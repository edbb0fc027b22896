"""The catalog seam: every method the harvester uses, whichever engine stores it.

Two engines implement it (``harvester.catalog.sqlite`` and ``harvester.catalog.postgres``);
one contract test suite (``tests/test_catalog_contract.py``) runs against both. Callers take
this Protocol, never an engine class.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from harvester.catalog.fulltext import FullTextQuery
from harvester.catalog.rows import (
    ArticleRow,
    CaptureRow,
    DocRow,
    FleetDue,
    FrontierItem,
    OutletLinks,
    OutletState,
    RobotsEntry,
    SearchHit,
    StoryFilter,
    StoryMember,
    StorySummary,
    Validators,
)
from harvester.extract.templates import TemplateChanges
from harvester.models import ExportRecord

__all__ = ["Catalog"]


class Catalog(Protocol):
    """The catalog seam. Every method raises ArchiveError when the store fails, and its subclass
    ArchiveUnavailableError when the failure should pass (a full disk, a lock held too long, a
    database server that does not answer): the daemon pauses and tries again.

    Times named ``now`` or ``due_by`` are the caller's clock (Unix seconds: scheduling);
    lease and host times are the catalog's own clock, so a writer whose clock is wrong cannot
    take over another writer's live lease or skip a host's politeness delay.
    """

    #: how the catalog is named in messages (a path, or a URL without its password)
    name: str

    def close(self) -> None:
        """Release connections (idempotent)."""
        ...

    def add_capture(self, row: CaptureRow) -> None:
        """Record a response or revisit record."""
        ...

    def latest_response(self, url: str) -> CaptureRow | None:
        """The newest ``response`` record for ``url`` (what a revisit refers to), or None."""
        ...

    def latest_capture(self, url: str) -> CaptureRow | None:
        """The newest response or revisit record for ``url``, or None."""
        ...

    def add_article(self, row: ArticleRow) -> None:
        """Record an archived article."""
        ...

    def add_page(self, captures: Sequence[CaptureRow], article: ArticleRow | None = None) -> None:
        """Record a page in one transaction: its captures (in order) and its article, if any;
        all of them or none."""
        ...

    def article(self, final_url: str) -> ExportRecord | None:
        """The newest export record for ``final_url`` (or for a requested ``url``), or None."""
        ...

    def articles(self) -> Iterator[ExportRecord]:
        """The newest record of every archived article, in the order they were first archived."""
        ...

    def latest_articles(self, outlet: str | None = None) -> Iterator[ArticleRow]:
        """The newest row of every article (of ``outlet``, when given), first-archived order."""
        ...

    def template_model(self, outlet: str) -> dict[str, Any] | None:
        """The stored template model (JSON) of ``outlet``, or None."""
        ...

    def save_template_model(self, outlet: str, model: dict[str, Any]) -> None:
        """Store (replace) the template model of ``outlet``."""
        ...

    def save_template_changes(
        self, outlet: str, params: dict[str, Any], changes: TemplateChanges
    ) -> None:
        """Apply what observing changed to the stored model of ``outlet`` (one transaction)."""
        ...

    def counts(self) -> dict[str, int]:
        """Row counts: ``captures`` and ``articles``."""
        ...

    def put_doc(self, row: DocRow) -> int:
        """Insert or update (by final URL) a doc; returns its doc id (``row.doc`` is ignored)."""
        ...

    def doc(self, doc: int) -> DocRow | None:
        """One doc by id."""
        ...

    def docs(self, docs: Sequence[int]) -> list[DocRow]:
        """The docs with these ids (those that exist), in id order: one round trip."""
        ...

    def doc_by_url(self, final_url: str) -> DocRow | None:
        """One doc by final URL."""
        ...

    def docs_by_text_hash(self, text_hash: str) -> list[int]:
        """Docs whose cleaned text is identical (tier 3)."""
        ...

    def set_doc_links(self, doc: int, urls: Sequence[str]) -> None:
        """Record the URLs a doc names as its source (replacing earlier ones)."""
        ...

    def docs_linking_to(self, url: str) -> list[int]:
        """Docs that name ``url`` as their source."""
        ...

    def docs_since(self, time: float) -> Iterator[DocRow]:
        """Docs with ``time >= time``, oldest first (to rebuild the hot index)."""
        ...

    def story_docs(self, story: str) -> list[DocRow]:
        """The docs of one story, in doc order."""
        ...

    def relabel_story(self, old: str, new: str) -> None:
        """Move every doc of story ``old`` into story ``new``."""
        ...

    def move_docs(self, docs: Sequence[int], story: str) -> None:
        """Move the docs ``docs`` into story ``story`` (a story split or regrouped)."""
        ...

    def latest_article_row(self, final_url: str) -> ArticleRow | None:
        """The newest article row for a final URL."""
        ...

    def latest_article_rows(self, final_urls: Sequence[str]) -> dict[str, ArticleRow]:
        """The newest article row of each of these final URLs (those with one): one round
        trip however many (a story's members)."""
        ...

    def save_outlet_state(self, state: OutletState) -> None:
        """Store (replace) one outlet's poll state."""
        ...

    def outlet_states(self) -> dict[str, OutletState]:
        """Every stored outlet poll state, by outlet name."""
        ...

    def article_counts(self) -> dict[str, int]:
        """Archived articles (distinct final URLs) per outlet."""
        ...

    # -- readers ----------------------------------------------------------------------------

    def max_article_id(self) -> int:
        """The id of the newest article row (0 when there is none): the archive's cursor."""
        ...

    def article_row_id(self, final_url: str) -> int:
        """The id (cursor position) of the newest row of the article at ``final_url``."""
        ...

    def changed_articles(
        self,
        after: int,
        upto: int,
        *,
        limit: int = 500,
        outlet: str | None = None,
        story: str | None = None,
    ) -> list[tuple[int, ArticleRow]]:
        """Keyset page of the newest article rows with ``after < id <= upto`` (see Archive)."""
        ...

    # -- the story desk (``harvester serve``: read-only) ----------------------------------------

    def story_summaries(
        self, where: StoryFilter, *, limit: int = 50, offset: int = 0
    ) -> list[StorySummary]:
        """Stories matching ``where``, the most recently archived first (by their newest
        member's fetch time, then its doc id): ``limit`` of them after the first ``offset``.
        A date range keeps the stories whose newest member was archived within it."""
        ...

    def story_members(self, stories: Sequence[str]) -> dict[str, list[StoryMember]]:
        """Each story's members in doc order (newest article row, doc); unknown stories are
        left out."""
        ...

    def article_row_by_id(self, row_id: int) -> ArticleRow | None:
        """The article row at cursor position ``row_id`` (any row), or None."""
        ...

    def outlet_names(self) -> list[str]:
        """Every outlet with an archived article, sorted."""
        ...

    def original_outlets(self) -> list[str]:
        """Every outlet named as some story's original (archived or not), sorted."""
        ...

    def outlet_days(self, outlet: str) -> list[tuple[int, int]]:
        """``outlet``'s articles per UTC day they ran (days since the epoch; published, else
        fetched), oldest first; empty for an unknown outlet."""
        ...

    def outlet_links(self, outlet: str) -> OutletLinks:
        """``outlet``'s articles, its copies by original outlet and others' copies of its
        originals, each with its lag (newest rows only; zeros for an unknown outlet)."""
        ...

    def search_articles(self, query: FullTextQuery, *, limit: int = 100) -> list[SearchHit]:
        """Up to ``limit`` articles (newest rows) whose title or cleaned text holds every
        phrase of ``query``, best match first. Raises ArchiveError when the catalog has no
        full-text index (a catalog older than schema 5 opened read-only)."""
        ...

    # -- the frontier, with leases -------------------------------------------------------------

    def frontier_add(
        self, items: Sequence[FrontierItem], *, owner: str | None = None, lease: float = 0.0
    ) -> list[FrontierItem]:
        """Queue URLs not in the frontier yet (a resting ``failed`` entry whose ``not_before``
        has passed is queued again); returns those queued. With ``owner`` they are leased to it
        for ``lease`` seconds (the writer that found them works them first)."""
        ...

    def frontier(self, state: str = "pending") -> list[FrontierItem]:
        """Every frontier entry in ``state``, in the order they were queued."""
        ...

    def frontier_claim(
        self,
        owner: str,
        *,
        now: float,
        limit: int,
        per_host: int,
        lease: float,
        skip_hosts: Collection[str] = (),
    ) -> list[FrontierItem]:
        """Lease up to ``limit`` pending URLs due at ``now`` that no live lease holds (at most
        ``per_host`` of one host; hosts in turn, each host's oldest first; none of
        ``skip_hosts``), to ``owner`` for ``lease`` seconds. Two writers claiming at once never
        get the same URL."""
        ...

    def frontier_renew(self, owner: str, lease: float) -> int:
        """Extend every lease ``owner`` holds (frontier URLs and outlet polls) by ``lease``
        seconds from now; returns how many frontier leases it holds."""
        ...

    def leases(self) -> dict[str, dict[str, int]]:
        """Live leases per holder (writer id): ``urls`` (frontier URLs), ``polls`` (outlet
        polls) and ``host_slots`` (request slots held at a host), each a count."""
        ...

    def release_leases(self, owner: str) -> int:
        """Drop every lease ``owner`` holds (it stopped, or died): frontier URLs, outlet polls,
        host slots. Returns the frontier URLs released."""
        ...

    def frontier_known(self, urls: Sequence[str], now: float) -> set[str]:
        """Which of ``urls`` are waiting in the frontier (pending, or resting at ``now``)."""
        ...

    def captured(self, urls: Sequence[str]) -> set[str]:
        """Which of ``urls`` have a response or revisit record."""
        ...

    def frontier_done(self, url: str) -> None:
        """``url`` is finished: it leaves the frontier."""
        ...

    def frontier_retry(
        self, url: str, *, not_before: float, attempts: int, error: str, failed: bool
    ) -> None:
        """A transient failure: try again after ``not_before`` (its lease holder keeps it), or
        with ``failed``, give up until then (the lease ends)."""
        ...

    def frontier_counts(self) -> dict[str, int]:
        """Frontier entries per state (``pending``, ``failed``)."""
        ...

    def fleet_due(
        self, *, outlets: Sequence[str], round_start: float, horizon: float, owner: str = ""
    ) -> FleetDue:
        """What is left for the fleet besides ``owner``: ``outlets`` not polled since
        ``round_start`` (or being polled), pending URLs due before ``horizon`` that no live
        lease holds, and those another writer's live lease holds."""
        ...

    # -- outlet polls --------------------------------------------------------------------------

    def poll_claim(
        self, outlet: str, owner: str, *, due_by: float, lease: float, round_start: float | None
    ) -> bool:
        """Lease ``outlet``'s next poll to ``owner`` if it is due (its ``next_poll`` is at most
        ``due_by``, the caller's now; with ``round_start``: no poll started since then) and no
        live lease holds it. True when the caller should poll it now. The poll counts as made
        at ``due_by`` once :meth:`save_outlet_state` records it (an abandoned claim counts for
        nothing)."""
        ...

    def validators(self, url: str) -> Validators | None:
        """The stored validators of a discovery URL, or None."""
        ...

    def save_validators(self, v: Validators) -> None:
        """Store (replace) a discovery URL's validators."""
        ...

    # -- the story stage across writers ----------------------------------------------------------

    def placement(self) -> AbstractContextManager[None]:
        """The fleet-wide critical section of story placement: one writer at a time, whichever
        process or machine; released when the holder dies."""
        ...

    def docs_placed_after(self, placed: int) -> list[tuple[int, DocRow]]:
        """Docs put (inserted or updated) after placement sequence ``placed``, with their
        sequence numbers, in order: what other writers placed since a candidate index looked."""
        ...

    def max_placed(self) -> int:
        """The newest placement sequence number (0 when no doc was placed)."""
        ...

    def template_version(self, outlet: str) -> int:
        """How many times ``outlet``'s stored template model was changed (any writer)."""
        ...

    # -- fleet politeness ----------------------------------------------------------------------

    def host_acquire(
        self, netloc: str, owner: str, *, slots: int, hold: float
    ) -> tuple[str | None, float]:
        """Take one of ``netloc``'s ``slots`` request slots for at most ``hold`` seconds: the
        slot's token and 0, or None and the seconds to wait (its delay since the last request,
        a Retry-After pause, or every slot taken)."""
        ...

    def host_release(self, token: str, netloc: str, *, delay: float) -> None:
        """Give a slot back; the next request to ``netloc`` waits ``delay`` seconds."""
        ...

    def host_pause(self, netloc: str, seconds: float) -> None:
        """No writer sends ``netloc`` a request for ``seconds`` (a Retry-After)."""
        ...

    def host_ready_in(self, netloc: str) -> float:
        """Seconds until ``netloc`` may be asked again by anyone (0 when now)."""
        ...

    def robots_lookup(self, origin: str, owner: str, *, hold: float) -> RobotsEntry | float | None:
        """The fleet's fresh robots.txt answer for ``origin``; else None when ``owner`` is now
        the one to fetch it (for at most ``hold`` seconds), or the seconds to wait while
        another writer fetches it."""
        ...

    def robots_store(self, origin: str, *, status: int, body: bytes, ttl: float) -> None:
        """Share a robots.txt answer with the fleet for ``ttl`` seconds."""
        ...

    # -- reconciling with the WARC files ---------------------------------------------------------

    def mark_warc_complete(self, file: str) -> None:
        """Every record of ``file`` (closed) is known to the catalog."""
        ...

    def complete_warc_files(self) -> set[str]:
        """The WARC files marked complete."""
        ...

    def has_capture(self, record_id: str) -> bool:
        """Whether a response/revisit record with this WARC-Record-ID is indexed."""
        ...

    def has_article_at(self, file: str, offset: int) -> bool:
        """Whether the metadata record at ``file``:``offset`` is indexed as an article row."""
        ...

    def last_indexed_offset(self, file: str) -> int:
        """The offset of the last record of ``file`` the catalog indexes, 0 when none."""
        ...

    def last_capture_offset(self, file: str) -> int | None:
        """The offset of the last capture the catalog knows in ``file``, or None."""
        ...

    def known_record_ids(self, file: str) -> set[str]:
        """Record ids of the captures the catalog holds in ``file``."""
        ...
