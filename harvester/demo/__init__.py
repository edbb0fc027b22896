"""``harvester demo``: harvest a bundled local newsroom and show what harvester made of it.

:func:`run_demo` serves the invented outlets of :mod:`harvester.demo.newsroom` (two wire
services, a republisher, a local paper, an aggregator) on loopback hosts, runs the daemon once
over them (feeds, a Google News sitemap, a section page; robots.txt obeyed), then reads the
archive's catalog and prints every story: its original and each copy, with the relation, the
evidence that linked them and the boilerplate that was cleaned away. It needs no network and no
file outside the package, besides the rule packs that every harvester run uses.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from harvester.catalog import CATALOG_NAME, SqliteCatalog
from harvester.config import (
    ArchiveSettings,
    DedupSettings,
    ExtractSettings,
    FetchSettings,
    Outlet,
    Settings,
)
from harvester.dedup.fingerprint import fingerprint
from harvester.dedup.stories import epoch, relate
from harvester.dedup.view import StoryView, story_view
from harvester.demo.newsroom import DISALLOWED, OUTLETS, DemoOutlet, render_sites
from harvester.demo.server import DemoError, NewsroomServer
from harvester.errors import ConfigError
from harvester.models import Evidence, ExportRecord

__all__ = ["DemoError", "demo_settings", "run_demo"]

log = logging.getLogger("harvester.demo")

# Small but not zero: the demo shows polite fetching without making anyone wait.
PER_HOST_DELAY = 0.05
# What each relation means to a reader (harvester.dedup.stories names them).
_RELATIONS = {
    "duplicate": "the same text, or nearly",
    "contained": "an excerpt of the original",
    "contains": "the original plus added text",
    "linked": "linked by its credit, texts too different to compare",
}
_DISCOVERY = {"feed": "RSS feed", "sitemap": "Google News sitemap", "section": "section page"}


def demo_settings(bases: Mapping[str, str], archive: Path) -> Settings:
    """Settings for the newsroom whose outlets are served at ``bases`` (outlet key -> base URL).

    Only the newsroom's hosts are exempt from the private-address guard; the rule packs and
    the wire registry are the usual ones (``[extract]`` defaults).
    """
    outlets = []
    for site in OUTLETS:
        discovery = (bases[site.key] + site.discovery_path,)
        outlets.append(
            Outlet(
                name=site.name,
                home=bases[site.key] + "/",
                feeds=discovery if site.discovery == "feed" else (),
                sitemaps=discovery if site.discovery == "sitemap" else (),
                sections=discovery if site.discovery == "section" else (),
                wire=site.wire,
                aliases=site.aliases,
            )
        )
    return Settings(
        archive=ArchiveSettings(dir=archive, prefix="demo"),
        fetch=FetchSettings(
            per_host_delay=PER_HOST_DELAY,
            timeout=5.0,
            deadline=15.0,
            allow_hosts=tuple(site.host for site in OUTLETS),
        ),
        extract=ExtractSettings(),
        dedup=DedupSettings(),
        outlets=tuple(outlets),
    )


def run_demo(*, archive: Path | None, out: TextIO) -> int:
    """Harvest the bundled newsroom into ``archive`` (None: a new temporary directory, kept)
    and print each story, its original and its copies to ``out``. Returns the exit code.

    Raises ConfigError when ``archive`` already holds an archive or the rule packs are missing,
    DemoError when the newsroom cannot be served or nothing was harvested, ArchiveError when
    the archive cannot be written.
    """
    from harvester.daemon import run_daemon  # noqa: PLC0415 (APScheduler only when run)

    _check_rule_packs(ExtractSettings())
    root = _archive_root(archive)
    with NewsroomServer([site.host for site in OUTLETS]) as newsroom:
        bases = {site.key: newsroom.base_url(site.host) for site in OUTLETS}
        for key, pages in render_sites(bases).items():
            newsroom.publish(next(s.host for s in OUTLETS if s.key == key), pages)
        settings = demo_settings(bases, root)
        newsroom.start()
        _print_newsroom(out, bases, root, keep=archive is None)
        code = run_daemon(settings, once=True)
        requested = {site.key: newsroom.requested(site.host) for site in OUTLETS}
    if code != 0:
        log.error("the demo harvest failed (exit %d): see the errors above", code)
        return code
    with SqliteCatalog(root / CATALOG_NAME, readonly=True) as catalog:
        views = sorted(_stories(catalog), key=lambda v: _sort_time(v.lead))
        reports = [_story_report(catalog, view) for view in views]
    if not reports:
        raise DemoError(f"the demo harvested no articles into {root}: see the errors above")
    for number, report in enumerate(reports, 1):
        out.write(_format_story(number, report))
    out.write(_format_summary(reports, bases, requested, root))
    out.flush()
    return 0


# --- set-up ----------------------------------------------------------------------------------


def _archive_root(archive: Path | None) -> Path:
    if archive is None:
        return Path(tempfile.mkdtemp(prefix="harvester-demo-"))
    if (archive / CATALOG_NAME).exists():
        raise ConfigError(
            f"{archive}: already holds an archive; the demo writes a new one "
            "(give an empty or new directory, or none for a temporary one)"
        )
    return archive


def _check_rule_packs(extract: ExtractSettings) -> None:
    if not extract.wires.is_file() or not extract.boilerplate.is_dir():
        raise ConfigError(
            f"the demo needs harvester's rule packs (wires.toml and boilerplate/), not found "
            f"in {extract.wires.parent}: set HARVESTER_CONFIG_DIR to the folder holding them"
        )


# --- reading the archive ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _CopyReport:
    """One copy of a story, as the demo prints it."""

    record: ExportRecord
    relation: str | None
    changes: str | None
    evidence: tuple[Evidence, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class _StoryReport:
    """One story: its view (original and members), the lead's title, and every copy."""

    view: StoryView
    decided_by: tuple[Evidence, ...]
    removed: tuple[str, ...]
    copies: tuple[_CopyReport, ...]


def _stories(catalog: SqliteCatalog) -> list[StoryView]:
    """Every story in the archive, in the order its first article was archived."""
    seen: set[str] = set()
    views = []
    for record in catalog.articles():
        if record.story in seen:
            continue
        seen.add(record.story)
        view = story_view(catalog, record.story)
        if view is not None:
            views.append(view)
    return views


def _sort_time(record: ExportRecord) -> float:
    """When the story first ran (its lead's publication, else its fetch), for ordering."""
    return epoch(record.published) or epoch(record.fetched) or 0.0


def _story_report(catalog: SqliteCatalog, view: StoryView) -> _StoryReport:
    own = {doc.final_url: doc.evidence for doc in catalog.story_docs(view.story)}
    lead = view.lead
    original_seen = lead.original.seen
    lead_fp = fingerprint(lead.text)
    copies = []
    for member in sorted(view.members, key=_sort_time):
        if original_seen and member.final_url == lead.final_url:
            continue
        relation: str | None = None
        if member.final_url != lead.final_url:
            relation = relate(fingerprint(member.text), lead_fp).kind
            if relation is None and any(e.url == lead.final_url for e in own[member.final_url]):
                relation = "linked"
        diff = view.diffs.get(member.final_url)
        copies.append(
            _CopyReport(
                record=member,
                relation=relation,
                changes=diff.summary() if diff is not None else None,
                evidence=own.get(member.final_url, ()),
                removed=_removed_kinds(catalog, member.final_url),
            )
        )
    # The original's evidence is its own page's, the text match that placed it (if any), then
    # the resolution's path: the path is what decided the story.
    lead_own = own.get(lead.final_url, ())
    decided = tuple(e for e in lead.original.evidence if e not in lead_own and e.kind != "text")
    return _StoryReport(
        view=view,
        decided_by=decided or lead.original.evidence,
        removed=_removed_kinds(catalog, lead.final_url) if original_seen else (),
        copies=tuple(copies),
    )


def _removed_kinds(catalog: SqliteCatalog, final_url: str) -> tuple[str, ...]:
    """The kinds of boilerplate cleaned from an article (its metadata record's ``removed``)."""
    row = catalog.latest_article_row(final_url)
    removed = row.payload.get("removed", []) if row is not None else []
    return tuple(dict.fromkeys(str(r.get("kind")) for r in removed if isinstance(r, dict)))


# --- printing --------------------------------------------------------------------------------


def _clip(text: str, size: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"


def _kinds(evidence: Sequence[Evidence]) -> str:
    return ", ".join(dict.fromkeys(e.kind for e in evidence)) or "none"


def _print_newsroom(out: TextIO, bases: Mapping[str, str], root: Path, *, keep: bool) -> None:
    out.write(f"harvester demo: a bundled newsroom of {len(OUTLETS)} invented outlets\n")
    width = max(len(site.name) for site in OUTLETS)
    for site in OUTLETS:
        how = f"{_DISCOVERY[site.discovery]} {site.discovery_path}"
        out.write(f"  {site.name:<{width}}  {site.role:<11}  {bases[site.key]}  {how}\n")
    note = " (a new temporary directory, kept)" if keep else ""
    out.write(f"archive: {root}{note}\n")
    out.write("harvesting: one poll of every outlet, until drained ...\n\n")
    out.flush()


def _format_story(number: int, report: _StoryReport) -> str:
    lead = report.view.lead
    original = lead.original
    lines = [f"[{number}] {lead.title or '(untitled)'}"]
    if original.seen:
        lines.append(f"    original  {lead.outlet}  {lead.final_url}  (seen: archived)")
    else:
        lines.append(
            f"    original  {original.outlet}  {original.url or '(no URL known)'}  "
            "(only attributed: not archived)"
        )
    if report.copies:
        first = report.decided_by[0] if report.decided_by else None
        why = f"{first.kind}: {_clip(first.text, 70)}" if first else "-"
        lines.append(f"              decided by {why}")
    else:
        lines.append("              no copies: not syndicated")
    if report.removed:
        lines.append(f"              cleaned away: {', '.join(report.removed)}")
    for copy in report.copies:
        member = copy.record
        lines.append(f"    copy      {member.outlet}  {member.final_url}")
        if copy.relation is not None:
            gloss = _RELATIONS.get(copy.relation, "")
            changes = f"; {copy.changes}" if copy.changes else ""
            lines.append(f"              relation: {copy.relation} ({gloss}{changes})")
        lines.append(f"              evidence: {_kinds(copy.evidence)}")
        if copy.removed:
            lines.append(f"              cleaned away: {', '.join(copy.removed)}")
    return "\n".join(lines) + "\n\n"


def _format_summary(
    reports: Sequence[_StoryReport],
    bases: Mapping[str, str],
    requested: Mapping[str, Sequence[str]],
    root: Path,
) -> str:
    articles = sum(len(r.view.members) for r in reports)
    linked = sum(len(r.copies) for r in reports if r.view.lead.original.outlet)
    wire: DemoOutlet = next(s for s in OUTLETS if s.key == DISALLOWED.outlet)
    draft = bases[wire.key] + DISALLOWED.path
    fetched = DISALLOWED.path in requested.get(wire.key, ())
    robots = f"robots.txt: {draft} is listed in the {wire.name} feed but disallowed: " + (
        "FETCHED ANYWAY (a bug)" if fetched else "not fetched"
    )
    return (
        f"{robots}\n"
        f"{articles} articles, {len(reports)} stories, {linked} copies linked to originals; "
        f"{0 if fetched else 1} URL refused by robots.txt\n"
        f"explore: harvester export --archive {root} --unique\n"
        f"         harvester story URL --archive {root}\n"
        f"in a browser: harvester serve --archive {root}  (then open http://127.0.0.1:8080/)\n"
    )
