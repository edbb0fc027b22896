"""`harvester demo`: the bundled newsroom is harvested, its copies linked to their originals.

One demo run (module fixture) is checked from the archive itself (catalog, `export --unique`),
not only from what it prints.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from harvester.catalog import CATALOG_NAME, SqliteCatalog
from harvester.cli import main
from harvester.dedup.view import story_view
from harvester.demo import DemoError, run_demo
from harvester.demo.newsroom import COPIES, DISALLOWED, OUTLETS, STORIES, outlet, story
from harvester.demo.server import NewsroomServer
from harvester.errors import ConfigError
from harvester.models import ExportRecord

# What the republisher wraps around wire copy; none of it may survive cleaning.
BOILERPLATE = (
    "Please support independent journalism",  # donation appeal
    "Sign up for our daily newsletter",  # newsletter box
    "Share this article",  # share prompt
    "originally published by",  # credit line (kept as evidence, not as text)
    "Copyright ©",  # copyright notice
    "All rights reserved",
    "Fair use notice",  # fair-use notice
)


@dataclass(frozen=True)
class DemoRun:
    root: Path
    output: str
    records: dict[tuple[str, str], ExportRecord]  # (outlet name, URL path) -> newest record

    def record(self, outlet_key: str, path: str) -> ExportRecord:
        return self.records[(outlet(outlet_key).name, path)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    root = tmp_path_factory.mktemp("demo") / "a"
    out = io.StringIO()
    assert run_demo(archive=root, out=out) == 0
    with SqliteCatalog(root / CATALOG_NAME, readonly=True) as catalog:
        records = {(r.outlet or "", urlsplit(r.final_url).path): r for r in catalog.articles()}
    yield DemoRun(root=root, output=out.getvalue(), records=records)


def test_every_article_archived_and_the_disallowed_draft_not(demo: DemoRun) -> None:
    expected = {(outlet(s.outlet).name, s.path) for s in STORIES}
    expected |= {(outlet(c.outlet).name, c.path) for c in COPIES}
    assert set(demo.records) == expected
    assert not any(path.startswith("/drafts/") for _, path in demo.records)
    assert f"{DISALLOWED.path} is listed in the Northwind Press Agency feed" in demo.output
    assert "disallowed: not fetched" in demo.output


def test_copies_join_their_original_and_the_wire_is_the_original(demo: DemoRun) -> None:
    for item in COPIES:
        original = story(item.story)
        wire = outlet(original.outlet)
        assert wire.wire
        source = demo.record(original.outlet, original.path)
        copy = demo.record(item.outlet, item.path)
        assert copy.story == source.story, (item.outlet, item.path)
        assert source.is_original and not copy.is_original
        for record in (source, copy):
            assert record.original.outlet == wire.name
            assert record.original.url == source.final_url
            assert record.original.seen


def test_story_view_leads_with_the_original(demo: DemoRun) -> None:
    with SqliteCatalog(demo.root / CATALOG_NAME, readonly=True) as catalog:
        for item in STORIES:
            source = demo.record(item.outlet, item.path)
            view = story_view(catalog, source.story)
            assert view is not None
            assert view.lead.final_url == source.final_url
            members = {(m.outlet, urlsplit(m.final_url).path) for m in view.members}
            copies = {(outlet(c.outlet).name, c.path) for c in COPIES if c.story == item.key}
            assert members == {(outlet(item.outlet).name, item.path)} | copies


def test_aggregator_excerpt_is_linked_to_its_original(demo: DemoRun) -> None:
    excerpts = [c for c in COPIES if c.how == "excerpt"]
    assert excerpts
    for item in excerpts:
        original = story(item.story)
        source = demo.record(original.outlet, original.path)
        copy = demo.record(item.outlet, item.path)
        links = [e for e in copy.original.evidence if e.kind == "link"]
        assert any(e.url == source.final_url for e in links), copy.original.evidence
        assert copy.story == source.story
        # the excerpt's paragraphs are the original's first ones
        assert copy.text.startswith("\n\n".join(original.paragraphs[: item.keep]))


def test_republishers_own_story_stands_alone(demo: DemoRun) -> None:
    own = [s for s in STORIES if not outlet(s.outlet).wire]
    assert own
    for item in own:
        record = demo.record(item.outlet, item.path)
        assert record.is_original
        assert record.original.outlet == outlet(item.outlet).name
        others = [r for r in demo.records.values() if r.story == record.story and r is not record]
        assert others == []


def test_boilerplate_is_cleaned_from_the_copies(demo: DemoRun) -> None:
    republished = [c for c in COPIES if c.outlet == "ledger"]
    assert republished
    for item in republished:
        text = demo.record(item.outlet, item.path).text
        for phrase in BOILERPLATE:
            assert phrase.casefold() not in text.casefold(), (item.path, phrase)
        # verbatim: what is left is exactly the wire's text
        original = story(item.story)
        assert text == demo.record(original.outlet, original.path).text
    for own in STORIES:  # the republisher's own story wears the same furniture
        text = demo.record(own.outlet, own.path).text
        assert not any(phrase.casefold() in text.casefold() for phrase in BOILERPLATE)


def test_output_names_each_stories_original(demo: DemoRun) -> None:
    for item in STORIES:
        source = demo.record(item.outlet, item.path)
        line = f"original  {outlet(item.outlet).name}  {source.final_url}  (seen: archived)"
        assert line in demo.output
    assert "13 articles, 6 stories, 7 copies linked to originals" in demo.output
    assert f"archive: {demo.root}" in demo.output


def test_export_unique_lists_each_story_once_with_its_copies(
    demo: DemoRun, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--archive", str(demo.root), "--unique"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_path = {urlsplit(r["final_url"]).path: r for r in lines}
    assert set(by_path) == {s.path for s in STORIES}
    for item in STORIES:
        copies = {(c["outlet"], urlsplit(c["url"]).path) for c in by_path[item.path]["copies"]}
        assert copies == {(outlet(c.outlet).name, c.path) for c in COPIES if c.story == item.key}


def test_aggregator_read_more_line_is_cleaned(demo: DemoRun) -> None:
    for item in (c for c in COPIES if c.how == "excerpt"):
        assert "Read the full story" not in demo.record(item.outlet, item.path).text


def test_demo_refuses_an_existing_archive(demo: DemoRun) -> None:
    with pytest.raises(ConfigError, match="already holds an archive"):
        run_demo(archive=demo.root, out=io.StringIO())


def test_unbindable_host_is_one_clear_error() -> None:
    # 192.0.2.1 (TEST-NET-1) is never a local address: binding to it fails.
    with pytest.raises(DemoError, match=r"cannot serve the demo newsroom on 192\.0\.2\.1"):
        NewsroomServer([OUTLETS[0].host, "192.0.2.1"])
