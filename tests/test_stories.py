"""Stories: relations between articles, original resolution, and the pipeline's story
assignment end to end (copies before originals, round-ups that must not bridge stories)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from mockserver import MockServer
from pages import article_page, invented_story

from harvester.cli import main
from harvester.config import Outlet, Settings
from harvester.dedup.fingerprint import fingerprint
from harvester.dedup.stories import Member, relate, resolve_original
from harvester.models import Archived, Evidence, FetchRequest
from harvester.pipeline import Harvester
from harvester.warc.reader import iter_records


def member(doc: int, outlet: str, time: str, *evidence: Evidence, wire: bool = False) -> Member:
    return Member(
        doc=doc,
        url=f"https://{outlet.lower().replace(' ', '')}.example/{doc}",
        outlet=outlet,
        wire=wire,
        published=time,
        fetched=time,
        evidence=evidence,
    )


def test_url_evidence_names_the_member_at_that_url() -> None:
    wire = member(1, "Northwind", "2026-03-03T10:00")
    copy = member(
        2,
        "Courier",
        "2026-03-03T09:00",
        Evidence(kind="canonical", text="canonical", url=wire.url),
    )
    res = resolve_original([wire, copy])
    assert (res.doc, res.seen, res.decided_by) == (1, True, "canonical")


def test_url_evidence_to_an_unseen_page() -> None:
    copy = member(
        2,
        "Courier",
        "2026-03-03T09:00",
        Evidence(kind="link", text="originally at", source="Reuters", url="https://r.example/x"),
    )
    res = resolve_original([copy])
    assert (res.doc, res.url, res.outlet, res.seen) == (
        None,
        "https://r.example/x",
        "Reuters",
        False,
    )


def test_named_outlet_earliest_member_from_it() -> None:
    a = member(1, "RIA Novosti", "2026-03-03T12:00", wire=True)
    b = member(2, "RIA Novosti", "2026-03-03T08:00", wire=True)
    copy = member(
        3,
        "Review",
        "2026-03-03T07:00",
        Evidence(kind="dateline", text="(RIA)", source="RIA Novosti"),
    )
    res = resolve_original([a, b, copy])
    assert (res.doc, res.decided_by) == (2, "dateline")


def test_named_outlet_not_archived_is_unseen() -> None:
    copy = member(
        3, "Review", "2026-03-03T07:00", Evidence(kind="credit-line", text="src", source="TASS")
    )
    res = resolve_original([copy])
    assert (res.doc, res.outlet, res.seen, res.url) == (None, "TASS", False, None)


def test_majority_of_names_wins() -> None:
    ev = lambda s: Evidence(kind="credit-line", text=s, source=s)  # noqa: E731
    members = [
        member(1, "A", "2026-03-03T07:00", ev("AFP")),
        member(2, "B", "2026-03-03T07:00", ev("Reuters")),
        member(3, "C", "2026-03-03T07:00", ev("Reuters")),
    ]
    assert resolve_original(members).outlet == "Reuters"


def test_no_evidence_earliest_wire_member_wins() -> None:
    members = [
        member(1, "Courier", "2026-03-03T07:00"),
        member(2, "Northwind", "2026-03-03T08:00", wire=True),
        member(3, "Gazette", "2026-03-03T06:00"),
    ]
    res = resolve_original(members)
    assert (res.doc, res.decided_by) == (2, "earliest")
    assert resolve_original([members[0], members[2]]).doc == 3


def test_relations() -> None:
    _, paragraphs = invented_story(11)
    text = "\n\n".join(paragraphs)
    excerpt = "\n\n".join(paragraphs[:2])
    commentary = "\n\n".join(
        ("Our editor adds a long note about the council here today.", *paragraphs)
    )
    _, other = invented_story(12)
    assert relate(fingerprint(text), fingerprint(text)).kind == "duplicate"
    assert relate(fingerprint(excerpt), fingerprint(text)).kind == "contained"
    assert relate(fingerprint(text), fingerprint(excerpt)).kind == "contains"
    assert relate(fingerprint(commentary), fingerprint(text)).kind == "duplicate"
    assert relate(fingerprint("\n\n".join(other)), fingerprint(text)).kind is None


# --- the pipeline -----------------------------------------------------------------------------


def newsroom_settings(settings: Settings, *outlets: Outlet) -> Settings:
    return replace(settings, outlets=outlets)


def harvest(settings: Settings, pages: list[tuple[str, str]]) -> list[object]:
    with Harvester(settings) as harvester:
        return [harvester.harvest(FetchRequest(url=u, outlet=o)) for u, o in pages]


def latest(settings: Settings, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, object]]:
    capsys.readouterr()
    assert main(["export", "--archive", str(settings.archive.dir)]) == 0
    return {r["final_url"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}


def test_copy_before_original_is_re_resolved(
    server: MockServer, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    title, paragraphs = invented_story(21)
    server.route(
        "/wire/21", article_page(title=title, paragraphs=paragraphs, published="2026-03-03")
    )
    copy = article_page(
        title="Edited: " + title, paragraphs=(*paragraphs[:-1], "Our readers can comment below."),
        published="2026-03-04",
    )  # fmt: skip
    server.route("/copy/21", copy)
    s = newsroom_settings(
        settings,
        Outlet(name="Northwind", home=server.url("/wire/"), wire=True),
        Outlet(name="Courier", home=server.url("/copy/")),
    )
    first = harvest(s, [(server.url("/copy/21"), "Courier")])[0]
    assert isinstance(first, Archived) and first.record.is_original  # alone, it is its own
    second = harvest(s, [(server.url("/wire/21"), "Northwind")])[0]
    assert isinstance(second, Archived)
    assert second.record.is_original
    records = latest(s, capsys)
    copy_record = records[server.url("/copy/21")]
    assert copy_record["story"] == second.record.story
    assert copy_record["is_original"] is False
    assert copy_record["original"]["outlet"] == "Northwind"  # type: ignore[index]
    assert copy_record["original"]["url"] == server.url("/wire/21")  # type: ignore[index]
    # the re-resolution is an appended metadata record, not an edit
    metas = [
        json.loads(r.content)
        for p in sorted(s.archive.dir.rglob("*.warc.gz"))
        for r in iter_records(p)
        if r.type == "metadata"
    ]
    assert any(
        "re_resolved" in m and m["record"]["final_url"] == server.url("/copy/21") for m in metas
    )

    capsys.readouterr()
    assert main(["story", server.url("/copy/21"), "--archive", str(s.archive.dir)]) == 0
    text = capsys.readouterr().out
    assert "original: Northwind" in text
    assert "[ORIGINAL] Northwind" in text and "[copy] Courier" in text
    assert "edited 0, added 1, removed 1" in text or "added 1" in text

    capsys.readouterr()
    assert main(["export", "--unique", "--archive", str(s.archive.dir)]) == 0
    (unique,) = map(json.loads, capsys.readouterr().out.splitlines())
    assert unique["final_url"] == server.url("/wire/21")
    assert [c["url"] for c in unique["copies"]] == [server.url("/copy/21")]


def test_roundup_does_not_bridge_two_stories(
    server: MockServer, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    _, a = invented_story(31)
    _, b = invented_story(32)
    server.route("/a", article_page(title="A", paragraphs=a))
    server.route("/b", article_page(title="B", paragraphs=b))
    server.route("/roundup", article_page(title="Round-up", paragraphs=(*a[:3], *b[:3])))
    harvest(settings, [(server.url(p), "Courier") for p in ("/a", "/b", "/roundup")])
    records = latest(settings, capsys)
    assert records[server.url("/a")]["story"] != records[server.url("/b")]["story"]


def test_follow_up_sharing_a_background_paragraph_stays_apart(
    server: MockServer, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    _, first = invented_story(41)
    _, second = invented_story(42)
    follow_up = (second[0], first[2], *second[1:])
    server.route("/first", article_page(title="First", paragraphs=first))
    server.route("/follow", article_page(title="Follow", paragraphs=follow_up))
    harvest(settings, [(server.url("/first"), "Courier"), (server.url("/follow"), "Courier")])
    records = latest(settings, capsys)
    assert records[server.url("/first")]["story"] != records[server.url("/follow")]["story"]


def test_story_of_unknown_url_is_a_usage_error(settings: Settings, server: MockServer) -> None:
    server.route("/a", article_page())
    harvest(settings, [(server.url("/a"), "Courier")])
    assert main(["story", "https://nowhere.example/x", "--archive", str(settings.archive.dir)]) == 2


def test_claims_are_followed_along_a_chain_of_copies() -> None:
    wire = member(1, "Northwind", "2026-03-03T07:00", wire=True)
    first_copy = member(
        2,
        "Gazette",
        "2026-03-03T08:00",
        Evidence(kind="dateline", text="(Northwind)", source="Northwind"),
    )
    copy_of_copy = member(
        3,
        "Review",
        "2026-03-03T09:00",
        Evidence(kind="link", text="originally at Gazette", source="Gazette", url=first_copy.url),
    )
    res = resolve_original([wire, first_copy, copy_of_copy])
    assert (res.doc, res.outlet) == (1, "Northwind")
    # a cycle of claims ends inside the cycle instead of looping
    a = member(4, "A", "2026-03-03T07:00", Evidence(kind="credit-line", text="B", source="B"))
    b = member(5, "B", "2026-03-03T08:00", Evidence(kind="credit-line", text="A", source="A"))
    assert resolve_original([a, b]).doc in (4, 5)


def test_follow_attribution_fetches_the_unseen_original(
    server: MockServer, settings: Settings
) -> None:
    title, paragraphs = invented_story(51)
    with MockServer("127.0.0.3") as wire:
        wire.route("/wire/51", article_page(title=title, paragraphs=paragraphs))
        credit = f"This article was originally published at {wire.url('/wire/51')}"
        server.route("/copy/51", article_page(title=title, paragraphs=(*paragraphs, credit)))
        following = replace(settings, dedup=replace(settings.dedup, follow_attribution=True))
        (outcome,) = harvest(following, [(server.url("/copy/51"), "Courier")])
        assert len(wire.requests_for("/wire/51")) == 1
        assert isinstance(outcome, Archived)
        assert outcome.record.original.url == wire.url("/wire/51")
        assert outcome.record.original.seen is True
        assert outcome.record.is_original is False


def test_without_follow_attribution_the_original_stays_unseen(
    server: MockServer, settings: Settings
) -> None:
    title, paragraphs = invented_story(52)
    with MockServer("127.0.0.3") as wire:
        credit = f"This article was originally published at {wire.url('/wire/52')}"
        server.route("/copy/52", article_page(title=title, paragraphs=(*paragraphs, credit)))
        (outcome,) = harvest(settings, [(server.url("/copy/52"), "Courier")])
        assert wire.requests_for("/wire/52") == []
        assert isinstance(outcome, Archived)
        assert outcome.record.original.url == wire.url("/wire/52")
        assert outcome.record.original.seen is False
        assert outcome.record.is_original is False
