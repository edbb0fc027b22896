"""A story as a reader sees it: the original, every member, and what each copy changed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harvester.catalog import Catalog
from harvester.dedup.diff import ParagraphDiff, paragraph_diff
from harvester.models import ExportRecord

__all__ = ["StoryView", "story_view"]


@dataclass(frozen=True, kw_only=True)
class StoryView:
    """One story: its members' newest records, the lead (original, else best member), diffs."""

    story: str
    members: tuple[ExportRecord, ...]
    lead: ExportRecord
    diffs: dict[str, ParagraphDiff]

    def to_json(self) -> dict[str, Any]:
        """The story as one JSON object."""
        return {
            "story": self.story,
            "original": self.lead.original.to_json(),
            "lead": self.lead.final_url,
            "members": [
                {
                    "url": m.final_url,
                    "outlet": m.outlet,
                    "published": m.published,
                    "fetched": m.fetched,
                    "is_original": m.is_original,
                    "evidence": [e.to_json() for e in m.original.evidence],
                    "changes": _diff_json(self.diffs.get(m.final_url)),
                }
                for m in self.members
            ],
        }

    def to_text(self) -> str:
        """A readable account of the story."""
        original = self.lead.original
        seen = "archived" if original.seen else "NOT archived"
        lines = [
            f"story {self.story}: {len(self.members)} article(s)",
            f"original: {original.outlet} {original.url or '(no URL known)'} ({seen})",
        ]
        for member in self.members:
            role = "ORIGINAL" if member.is_original else "copy"
            when = member.published or member.fetched
            lines.append(f"  [{role}] {member.outlet}  {when}  {member.final_url}")
            kinds = sorted({e.kind for e in member.original.evidence})
            if kinds:
                lines.append(f"      evidence: {', '.join(kinds)}")
            diff = self.diffs.get(member.final_url)
            if diff is not None:
                lines.append(f"      against the original: {diff.summary()}")
        return "\n".join(lines)


def _diff_json(diff: ParagraphDiff | None) -> dict[str, Any] | None:
    if diff is None:
        return None
    return {
        "kept": diff.kept,
        "added": list(diff.added),
        "removed": list(diff.removed),
        "edited": [{"original": a, "copy": b} for a, b in diff.edited],
    }


def story_lead(
    catalog: Catalog, story: str
) -> tuple[ExportRecord, tuple[ExportRecord, ...]] | None:
    """``story``'s lead (its original, or the fullest member when the original is not
    archived) and its members' newest records; None for an unknown story. No diffs: this is
    what ``export --unique`` needs per story."""
    docs = catalog.story_docs(story)
    rows = catalog.latest_article_rows([d.final_url for d in docs])
    records = [rows[d.final_url].record for d in docs if d.final_url in rows]
    if not records:
        return None
    originals = [r for r in records if r.is_original]
    # Unseen original: the fullest member stands in for it (most text is least excerpted).
    lead = originals[0] if originals else max(records, key=lambda r: len(r.text))
    return lead, tuple(records)


def story_view(catalog: Catalog, story: str) -> StoryView | None:
    """The view of ``story`` from the catalog's newest records; None for an unknown story."""
    found = story_lead(catalog, story)
    if found is None:
        return None
    lead, records = found
    base = lead.text.split("\n\n")
    diffs = {
        r.final_url: paragraph_diff(base, r.text.split("\n\n"))
        for r in records
        if r.final_url != lead.final_url
    }
    return StoryView(story=story, members=records, lead=lead, diffs=diffs)
